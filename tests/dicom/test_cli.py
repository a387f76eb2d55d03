"""`autoscribe clinics update`: AE titles, the DICOM key and the allow-lists, as operators run it."""

from __future__ import annotations

import secrets

from tests.cli.test_cli import run, run_json
from tests.conftest import ClinicFixture
from tests.helpers import make_key


def test_clinics_update_sets_the_dicom_settings(clinic: ClinicFixture, other_clinic: ClinicFixture) -> None:
    title = "CLI" + secrets.token_hex(4).upper()
    key = make_key(clinic.clinic_id, description="DICOM key")
    shown = run_json(
        "clinics",
        "update",
        "--clinic-id",
        clinic.clinic_id,
        "--ae-title",
        f" {title} ",
        "--dicom-api-key-id",
        key.api_key_id,
        "--allowed-calling-aes",
        "CT01, MR02",
        "--allowed-addresses",
        "10.1.2.3,192.168.0.0/24",
    )
    assert shown["aeTitle"] == title
    assert shown["dicomApiKeyId"] == key.api_key_id
    assert shown["dicomAllowedCallingAes"] == ["CT01", "MR02"]
    assert shown["dicomAllowedAddresses"] == ["10.1.2.3/32", "192.168.0.0/24"]

    # Only what is given changes; empty strings clear.
    shown = run_json("clinics", "update", "--clinic-id", clinic.clinic_id, "--allowed-addresses", "")
    assert shown["aeTitle"] == title and shown["dicomAllowedAddresses"] == []

    # One AE title, one clinic; keys of another clinic are refused; titles are AE titles.
    taken = run("clinics", "update", "--clinic-id", other_clinic.clinic_id, "--ae-title", title, expect=1)
    assert "used by another clinic" in taken.stderr
    foreign = run(
        "clinics",
        "update",
        "--clinic-id",
        other_clinic.clinic_id,
        "--dicom-api-key-id",
        key.api_key_id,
        expect=1,
    )
    assert "No such API key" in foreign.stderr
    bad = run(
        "clinics", "update", "--clinic-id", clinic.clinic_id, "--ae-title", "WAY_TOO_LONG_AE_TITLE", expect=1
    )
    assert "AE title" in bad.stderr
    assert (
        "AE title"
        in run("clinics", "update", "--clinic-id", clinic.clinic_id, "--ae-title", "A\\B", expect=1).stderr
    )

    human = run("clinics", "update", "--clinic-id", clinic.clinic_id, "--ae-title", "").stdout
    assert "AE title: (none: takes no DICOM)" in human
