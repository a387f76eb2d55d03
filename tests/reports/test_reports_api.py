"""Reports through the official SDK: list, text, pdf, addendum, cancel-addendum (reference 4.7),
with the drafting and signing done by the report service the way the workspace does it."""

from __future__ import annotations

import avara
import httpx
import pytest
from avara.types.auto_scribe.report_pdf_response import ListReportsPdfResponse, SingleReportPdfResponse
from avara.types.auto_scribe.report_text_response import ListReportsTextResponse, SingleReportTextResponse

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_key, make_user, sdk
from tests.reporting import (
    FINDINGS,
    IMPRESSION,
    content,
    create_study,
    dictate_and_sign,
    pdf_text,
    save,
    sign,
    start,
)


def test_report_lifecycle_is_visible_through_the_sdk(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id, first_name="Rita", last_name="Reader")
    study_id = create_study(client, rad)
    assert client.auto_scribe.reports.list(study_id=study_id).reports == []

    report_id, version = start(study_id, rad)
    study = client.auto_scribe.studies.retrieve(study_id)
    assert study.study_report_status == "in_progress"
    assert [(r.report_id, r.status, r.is_critical) for r in study.report_ids or []] == [
        (report_id, "in_progress", None)
    ]
    listed = client.auto_scribe.reports.list(study_id=study_id)
    draft = listed.reports[0]
    assert (draft.status, draft.is_addendum, draft.signed_at, draft.is_critical) == (
        "in_progress",
        False,
        None,
        None,
    )
    assert draft.user_id == rad
    assert draft.report_plain_text is None  # drafts are not results

    version = save(report_id, rad, content(isCritical=True), version)
    sign(report_id, rad, is_critical=None)  # None: the draft's own flag

    study = client.auto_scribe.studies.retrieve(study_id)
    assert study.study_report_status == "completed"
    assert study.is_critical is True
    assert [(r.report_id, r.status, r.is_critical) for r in study.report_ids or []] == [
        (report_id, "completed", True)
    ]
    by_uid = client.auto_scribe.reports.list(study_instance_uid=study.study_instance_uid)
    assert by_uid.study_id == study_id
    signed = by_uid.reports[0]
    assert signed.status == "completed" and signed.is_critical is True and signed.signed_at is not None
    assert signed.snapshot_metadata.patient_name == "Johanna Testpatient"
    assert signed.report_plain_text is not None and FINDINGS in signed.report_plain_text
    assert "NPI 1234567893" in signed.report_plain_text

    text = client.auto_scribe.reports.text(report_id=report_id)
    assert isinstance(text, SingleReportTextResponse)
    assert text.plain_text == signed.report_plain_text and text.is_critical is True
    texts = client.auto_scribe.reports.text(study_id=study_id)
    assert isinstance(texts, ListReportsTextResponse)
    assert [t.report_id for t in texts.reports] == [report_id]


def test_snapshot_metadata_is_frozen_at_signing(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, rad)
    report_id = dictate_and_sign(study_id, rad)
    client.auto_scribe.studies.update(study_id, report_metadata={"patient_name": "Renamed Later"})
    report = client.auto_scribe.reports.list(study_id=study_id).reports[0]
    assert report.snapshot_metadata.patient_name == "Johanna Testpatient"
    pdf = client.auto_scribe.reports.pdf(report_id=report_id)
    assert pdf.snapshot_metadata.patient_name == "Johanna Testpatient"
    assert "Johanna Testpatient" in pdf_text(httpx.get(pdf.presigned_url).content)


def test_pdf_single_and_list_download_a_real_pdf(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id, first_name="Paula", last_name="Pdfwright")
    study_id = create_study(client, rad)
    report_id = dictate_and_sign(study_id, rad, is_critical=True)

    single = client.auto_scribe.reports.pdf(report_id=report_id)
    assert isinstance(single, SingleReportPdfResponse)
    assert single.report_id == report_id and single.study_id == study_id and single.is_critical is True
    response = httpx.get(single.presigned_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in ("Johanna Testpatient", "MRN-778899", "Paula Pdfwright", "1234567893", "CRITICAL"):
        assert expected in text
    assert "right frontal lobe" in text and "high-grade glioma" in text

    listed = client.auto_scribe.reports.pdf(study_id=study_id)
    assert isinstance(listed, ListReportsPdfResponse)
    assert [r.report_id for r in listed.reports] == [report_id]
    assert httpx.get(listed.reports[0].presigned_url).content[:5] == b"%PDF-"


def test_unsigned_report_has_no_pdf(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, rad)
    report_id, _ = start(study_id, rad)
    with pytest.raises(avara.ConflictError) as err:
        client.auto_scribe.reports.pdf(report_id=report_id)
    assert "not signed yet" in err.value.body["error"]["message"]
    assert err.value.body["error"]["param"] == "reportId"
    # The list form lists signed reports only.
    listed = client.auto_scribe.reports.pdf(study_id=study_id)
    assert isinstance(listed, ListReportsPdfResponse) and listed.reports == []
    # The text of a draft has no plainText.
    draft_text = client.auto_scribe.reports.text(report_id=report_id)
    assert isinstance(draft_text, SingleReportTextResponse)
    assert draft_text.plain_text is None and draft_text.is_critical is None


def test_addendum_lifecycle(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id, first_name="Ada", last_name="Amender")
    study_id = create_study(client, rad)
    original = dictate_and_sign(study_id, rad)

    result = client.auto_scribe.reports.addendum(original)
    assert result.success is True
    study = client.auto_scribe.studies.retrieve(study_id)
    assert study.study_report_status == "addendum_active"
    ids = study.report_ids or []
    assert [r.status for r in ids] == ["completed", "in_progress"]
    addendum_id = ids[1].report_id
    listed = client.auto_scribe.reports.list(study_id=study_id).reports
    assert [r.is_addendum for r in listed] == [False, True]

    # A second addendum while one is open is refused.
    with pytest.raises(avara.ConflictError) as err:
        client.auto_scribe.reports.addendum(original)
    assert addendum_id in err.value.body["error"]["message"]

    # The radiologist dictates and signs the addendum (resuming it like a draft).
    resumed, version = start(study_id, rad)
    assert resumed == addendum_id
    save(addendum_id, rad, {"findings": "Outside CT from 2025 shows the lesion was 1.5 cm."}, version)
    sign(addendum_id, rad)
    study = client.auto_scribe.studies.retrieve(study_id)
    assert study.study_report_status == "completed"
    assert [r.status for r in study.report_ids or []] == ["completed", "completed"]

    # The original's PDF stays as it was signed; the addendum's PDF appends the addendum.
    original_pdf = pdf_text(
        httpx.get(client.auto_scribe.reports.pdf(report_id=original).presigned_url).content
    )
    addendum_pdf = pdf_text(
        httpx.get(client.auto_scribe.reports.pdf(report_id=addendum_id).presigned_url).content
    )
    assert "1.5 cm" not in original_pdf
    assert "Addendum" in addendum_pdf and "1.5 cm" in addendum_pdf and "high-grade glioma" in addendum_pdf
    addendum_text = client.auto_scribe.reports.text(report_id=addendum_id)
    assert isinstance(addendum_text, SingleReportTextResponse)
    assert addendum_text.plain_text is not None and addendum_text.plain_text.startswith("ADDENDUM")

    # A further addendum may be opened from the signed addendum too.
    assert client.auto_scribe.reports.addendum(addendum_id).success is True
    assert client.auto_scribe.studies.retrieve(study_id).study_report_status == "addendum_active"


def test_cancel_addendum_accepts_the_addendum_or_the_original(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, rad)
    original = dictate_and_sign(study_id, rad)

    with pytest.raises(avara.ConflictError) as err:
        client.auto_scribe.reports.cancel_addendum(original)
    assert "No addendum" in err.value.body["error"]["message"]

    client.auto_scribe.reports.addendum(original)
    addendum_id = (client.auto_scribe.studies.retrieve(study_id).report_ids or [])[1].report_id
    result = client.auto_scribe.reports.cancel_addendum(addendum_id)
    assert result.success is True
    study = client.auto_scribe.studies.retrieve(study_id)
    assert study.study_report_status == "completed"
    assert [r.report_id for r in study.report_ids or []] == [original]

    client.auto_scribe.reports.addendum(original)
    assert client.auto_scribe.reports.cancel_addendum(original).success is True
    assert client.auto_scribe.studies.retrieve(study_id).study_report_status == "completed"
    # The original is untouched.
    assert client.auto_scribe.reports.list(study_id=study_id).reports[0].report_id == original

    # Who did what is in the audit log: the radiologist signed, the API key opened and cancelled.
    from sqlalchemy import select

    from autoscribe.audit.models import AuditEvent
    from tests.reporting import scope

    with scope() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.actor_type, AuditEvent.actor_id)
            .where(AuditEvent.action.like("report.%"), AuditEvent.details["studyId"].as_string() == study_id)
            .order_by(AuditEvent.id)
        ).all()
    key_id = clinic.api_key_id
    assert [tuple(r) for r in rows] == [
        ("report.started", "user", rad),
        ("report.signed", "user", rad),
        ("report.addendum_opened", "api_key", key_id),
        ("report.addendum_cancelled", "api_key", key_id),
        ("report.addendum_opened", "api_key", key_id),
        ("report.addendum_cancelled", "api_key", key_id),
    ]


def test_addendum_on_unsigned_report_is_409(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, rad)
    report_id, _ = start(study_id, rad)
    with pytest.raises(avara.ConflictError) as err:
        client.auto_scribe.reports.addendum(report_id)
    assert "not signed yet" in err.value.body["error"]["message"]
    assert client.auto_scribe.studies.retrieve(study_id).study_report_status == "in_progress"


def test_selectors_and_scoping(server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, rad)
    report_id = dictate_and_sign(study_id, rad)

    with pytest.raises(avara.BadRequestError) as bad:
        client.auto_scribe.reports.list()
    assert bad.value.body["error"]["param"] == "studyId"
    with pytest.raises(avara.BadRequestError):
        client.auto_scribe.reports.pdf()
    with pytest.raises(avara.BadRequestError) as bad:
        client.auto_scribe.reports.text(report_id="rep_nothex")
    assert bad.value.body["error"]["param"] == "reportId"
    with pytest.raises(avara.BadRequestError):
        client.auto_scribe.reports.list(study_instance_uid="not-a-uid")
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.reports.pdf(report_id="rep_" + "0" * 32)

    other_study = create_study(client, rad)
    with pytest.raises(avara.BadRequestError):
        client.auto_scribe.reports.text(report_id=report_id, study_id=other_study)

    # Another clinic cannot see the report at all.
    stranger = sdk(server.url, other_clinic.api_key)
    with pytest.raises(avara.NotFoundError):
        stranger.auto_scribe.reports.text(report_id=report_id)
    with pytest.raises(avara.NotFoundError):
        stranger.auto_scribe.reports.addendum(report_id)
    # A "self" key only sees reports of studies it created.
    own_only = sdk(server.url, make_key(clinic.clinic_id, study_scope="self").api_key)
    with pytest.raises(avara.NotFoundError):
        own_only.auto_scribe.reports.pdf(report_id=report_id)
    with pytest.raises(avara.NotFoundError):
        own_only.auto_scribe.reports.list(study_id=study_id)


def test_study_lists_carry_report_ids(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    signed_study = create_study(client, rad)
    report_id = dictate_and_sign(signed_study, rad, is_critical=False)
    fresh_study = create_study(client, rad)
    page = {s.study_id: s for s in client.auto_scribe.studies.list(limit=10)}
    assert [(r.report_id, r.status, r.is_critical) for r in page[signed_study].report_ids or []] == [
        (report_id, "completed", False)
    ]
    assert page[signed_study].is_critical is False
    assert page[fresh_study].report_ids == []
    assert page[fresh_study].is_critical is None
    completed = client.auto_scribe.studies.list(study_report_status=["completed"])
    assert [s.study_id for s in completed] == [signed_study]


def test_download_links_refuse_tampering_and_expiry(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    report_id = dictate_and_sign(create_study(client, rad), rad)
    url = client.auto_scribe.reports.pdf(report_id=report_id).presigned_url
    assert url.startswith(server.url + "/files/")
    tampered = url.replace("expires=", "expires=9")
    refused = httpx.get(tampered)
    assert refused.status_code == 403
    assert "signature does not match" in refused.json()["error"]["message"]
    assert httpx.get(url.split("?")[0]).status_code == 403

    # An expired link, signed with the deployment's key exactly as the server would.
    from autoscribe.storage.local import LocalStorage

    key = url.split("/files/", 1)[1].split("?")[0]
    expired = LocalStorage(server_dir(), server.url).presign(key, expires_in=-5)
    gone = httpx.get(expired)
    assert gone.status_code == 403
    assert "expired" in gone.json()["error"]["message"]
    fresh = LocalStorage(server_dir(), server.url).presign(key, expires_in=60)
    assert httpx.get(fresh).content[:5] == b"%PDF-"


def server_dir():  # type: ignore[no-untyped-def]
    from autoscribe.config import get_settings

    return get_settings().effective_storage_dir


def test_sign_is_refused_without_permission(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    study_id = create_study(client, rad)
    report_id, version = start(study_id, rad)
    save(report_id, rad, content(), version)

    from autoscribe.db import session_scope
    from autoscribe.errors import PermissionDenied
    from tests.reporting import user_row

    with session_scope() as session:
        user_row(session, rad).npi_number = "1234567890"  # fails the NPI check digit
    with pytest.raises(PermissionDenied) as err:
        sign(report_id, rad)
    assert err.value.status_code == 403
    assert "NPI" in err.value.message
    assert client.auto_scribe.reports.list(study_id=study_id).reports[0].status == "in_progress"
    # Once the NPI is fixed, the same draft signs.
    with session_scope() as session:
        user_row(session, rad).npi_number = "1234567893"
    sign(report_id, rad)
    text = client.auto_scribe.reports.text(report_id=report_id)
    assert isinstance(text, SingleReportTextResponse)
    assert text.plain_text is not None and IMPRESSION in text.plain_text
