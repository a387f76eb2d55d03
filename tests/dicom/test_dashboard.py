"""The dashboard's DICOM page: owners set the AE title, the DICOM key and the allow-lists, and see
what to configure on a modality."""

from __future__ import annotations

import secrets

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import field_error, flash_of, owner_client, sign_in_as, submit
from tests.helpers import make_key


def test_owners_configure_dicom_in_the_dashboard(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    owner = owner_client(server, clinic)
    page = owner.get("/dicom")
    assert page.status_code == 200
    assert "takes no DICOM" in page.text
    assert 'href="/dicom"' in page.text  # in the sidebar

    key = make_key(clinic.clinic_id, description="PACS key")
    title = "D" + secrets.token_hex(5).upper()
    saved = submit(
        owner,
        "/dicom",
        "/dicom",
        {
            "aeTitle": title,
            "dicomApiKeyId": key.api_key_id,
            "dicomAllowedCallingAes": "CT01, MR02",
            "dicomAllowedAddresses": "",
        },
    )
    assert flash_of(owner, saved) == "DICOM settings saved."
    shown = owner.get("/dicom").text
    assert (
        f"<code>{title}</code>" in shown
        and "<code>11112</code>" in shown
        and "<code>127.0.0.1</code>" in shown
    )
    assert f'<option value="{key.api_key_id}" selected' in shown
    assert "/dicomweb</code>" in shown

    # Another clinic cannot take the title; mistakes are shown next to the field.
    other = owner_client(server, other_clinic)
    taken = submit(other, "/dicom", "/dicom", {"aeTitle": title, "dicomApiKeyId": ""})
    assert taken.status_code == 400
    assert "used by another clinic" in (field_error(taken.text, "aeTitle") or "")
    bad = submit(owner, "/dicom", "/dicom", {"aeTitle": title, "dicomAllowedAddresses": "not-an-ip"})
    assert bad.status_code == 400 and field_error(bad.text, "dicomAllowedAddresses")

    # Owners only (like API Config).
    member = sign_in_as(server, clinic, level="member")
    assert member.client.get("/dicom").status_code in (403, 404)
