"""Every read of patient data is audited (issue 12, item 3): through the API with the official
SDK, through the dashboard and the workspace, and through download links. Each read is one audit
row naming the actor, the study, the patient (MRN, else externalPatientId), the time and the
client address; a key of another clinic reads nothing and leaves no row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import avara
import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_user, new_uid, random_loopback, sdk, web_login
from tests.reporting import PATIENT, create_study, dictate_and_sign

MRN = PATIENT["mrn"]
PATIENT_ID = "PAT-4711"
PASSWORD = "read audit test password"


@contextmanager
def sdk_from(server: Server, api_key: str, address: str) -> Iterator[avara.Avara]:
    """The official SDK, connecting from a chosen loopback address (the audit's "from where")."""
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as http:
        yield avara.Avara(api_key=api_key, base_url=server.url, max_retries=0, http_client=http)


def get_from(address: str, url: str) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as http:
        return http.get(url)


def last_event_id(clinic_id: str | None = None) -> uuid.UUID:
    """The newest audit row so far (ids are time-ordered), to look at what a test adds after it."""
    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        stmt = select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)
        if clinic_id:
            stmt = stmt.where(AuditEvent.clinic_id == uuid.UUID(clinic_id))
        return session.scalars(stmt).first() or uuid.UUID(int=0)


def events_after(after: uuid.UUID, clinic_id: str | None = None, **equal: Any) -> list[Any]:
    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        stmt = select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
        if clinic_id:
            stmt = stmt.where(AuditEvent.clinic_id == uuid.UUID(clinic_id))
        for column, value in equal.items():
            stmt = stmt.where(getattr(AuditEvent, column) == value)
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def reads_after(after: uuid.UUID, clinic_id: str) -> list[Any]:
    return [
        e
        for e in events_after(after, clinic_id)
        if e.action.startswith("read.") or e.action == "workspace.opened"
    ]


def assert_read(
    event: Any, action: str, *, actor: tuple[str, str | None], study_id: str, address: str
) -> None:
    assert event.action == action
    assert (event.actor_type, event.actor_id) == actor
    assert (event.target_type, event.target_id) == ("study", study_id)
    assert event.address == address
    assert event.occurred_at is not None
    # The patient, minimal: the key the audit log filters by, and the two identifiers.
    assert event.patient_key == MRN
    assert event.details["mrn"] == MRN and event.details["patientId"] == PATIENT_ID
    assert "patientName" not in event.details and PATIENT["patient_name"] not in str(event.details)


@pytest.fixture
def signed(server: Server, clinic: ClinicFixture) -> tuple[str, str, str]:
    """A study with a signed report: (radiologist, study id, report id)."""
    rad = make_user(clinic.clinic_id, email=f"rad-{uuid.uuid4().hex[:8]}@example.test", password=PASSWORD)
    study_id = create_study(sdk(server.url, clinic.api_key), rad, external_patient_id=PATIENT_ID)
    return rad, study_id, dictate_and_sign(study_id, rad)


def test_reading_a_report_through_the_api_is_audited(
    server: Server, clinic: ClinicFixture, signed: tuple[str, str, str]
) -> None:
    _rad, study_id, report_id = signed
    key = ("api_key", clinic.api_key_id)
    address = random_loopback()
    before = last_event_id(clinic.clinic_id)
    with sdk_from(server, clinic.api_key, address) as client:
        studies, reports = client.auto_scribe.studies, client.auto_scribe.reports
        uid = studies.retrieve(study_id).study_instance_uid
        assert studies.retrieve_by_uid(uid).study_id == study_id
        assert "glioma" in (reports.text(report_id=report_id).plain_text or "")
        assert [r.report_id for r in reports.text(study_id=study_id).reports] == [report_id]
        assert [r.report_id for r in reports.list(study_id=study_id).reports] == [report_id]
        pdf = reports.pdf(report_id=report_id)

    reads = reads_after(before, clinic.clinic_id)
    # One row per read, in the request's order, each complete.
    assert [e.action for e in reads] == [
        "read.study",
        "read.study",
        "read.report_text",
        "read.report_text",
        "read.report_list",
        "read.report_pdf",
    ]
    for event in reads:
        assert_read(event, event.action, actor=key, study_id=study_id, address=address)
    assert reads[2].details["reportIds"] == [report_id]
    assert reads[-1].details["reportIds"] == [report_id]

    # The PDF link names the key it was issued for (signed with the rest of the link): whoever
    # downloads with it is audited under that key, from their own address.
    assert f"for=api_key%3A{clinic.api_key_id}" in pdf.presigned_url
    downloader = random_loopback()
    before = last_event_id(clinic.clinic_id)
    assert get_from(downloader, pdf.presigned_url).content[:5] == b"%PDF-"
    (download,) = reads_after(before, clinic.clinic_id)
    assert_read(download, "read.file", actor=key, study_id=study_id, address=downloader)
    assert download.details["via"] == "download_link" and download.details["file"] == f"{report_id}.pdf"
    # Naming someone else in the link breaks its signature.
    forged = pdf.presigned_url.replace(clinic.api_key_id, str(uuid.uuid4()))
    assert get_from(downloader, forged).status_code == 403
    assert [e.id for e in reads_after(before, clinic.clinic_id)] == [download.id]


def test_a_list_call_is_one_row_naming_its_query(
    server: Server, clinic: ClinicFixture, signed: tuple[str, str, str]
) -> None:
    _rad, study_id, _report_id = signed
    address = random_loopback()
    before = last_event_id(clinic.clinic_id)
    with sdk_from(server, clinic.api_key, address) as client:
        page = client.auto_scribe.studies.list(severity="normal", limit=5)
        assert study_id in [s.study_id for s in page.studies]
    (listed,) = reads_after(before, clinic.clinic_id)
    assert listed.action == "read.study_list"
    assert (listed.actor_type, listed.actor_id, listed.address) == ("api_key", clinic.api_key_id, address)
    assert listed.target_id is None and listed.patient_key is None
    assert listed.details["query"]["severity"] == "normal" and listed.details["query"]["limit"] == "5"
    assert listed.details["returned"] == len(page.studies)


def test_external_reports_and_clinical_references_are_audited(server: Server, clinic: ClinicFixture) -> None:
    writer = sdk(server.url, clinic.api_key)
    external = writer.auto_scribe.studies.external.create(
        severity="normal",
        study_description="CT Chest (2019, outside hospital)",
        study_instance_uid=new_uid(),
        report_metadata={"patient_name": "Archie Archive"},
        external_patient_id="PAT-ARCH-9",
        report_text="No acute findings.",
    )
    ref = writer.auto_scribe.clinical_references.create(
        name=f"Facility {uuid.uuid4().hex[:6]}", type="facility"
    )
    address = random_loopback()
    before = last_event_id(clinic.clinic_id)
    with sdk_from(server, clinic.api_key, address) as client:
        assert external.external_report_id is not None
        client.auto_scribe.studies.external.reports.retrieve(external.external_report_id)
        list(client.auto_scribe.studies.external.reports.list(study_id=external.study_id))
        client.auto_scribe.clinical_references.retrieve(ref.clinical_reference_id)
        client.auto_scribe.clinical_references.list(type="facility")
    reads = reads_after(before, clinic.clinic_id)
    assert [(e.action, e.target_type, e.target_id) for e in reads] == [
        ("read.external_report", "study", external.study_id),
        ("read.external_report_list", "study", external.study_id),  # one study: its read
        ("read.clinical_reference", "clinical_reference", ref.clinical_reference_id),
        ("read.clinical_reference_list", None, None),
    ]
    # No MRN: the patient is the integrator's patient id. References name no patient.
    assert [e.patient_key for e in reads] == ["PAT-ARCH-9", "PAT-ARCH-9", None, None]
    assert {(e.actor_type, e.actor_id, e.address) for e in reads} == {("api_key", clinic.api_key_id, address)}


def test_links_not_issued_to_a_key_are_audited_as_the_link(
    server: Server, clinic: ClinicFixture, signed: tuple[str, str, str]
) -> None:
    """report.delivered links go to whichever keys receive the webhook: the download names the
    link (its holder "webhook:report.delivered"); a link issued for no one names no one."""
    _rad, study_id, report_id = signed
    client = sdk(server.url, clinic.api_key)
    url = client.auto_scribe.reports.pdf(report_id=report_id).presigned_url  # renders the PDF
    from autoscribe.reports.delivery import LINK_HOLDER
    from autoscribe.storage.local import LocalStorage

    key = url.split("/files/", 1)[1].split("?")[0]
    storage = LocalStorage(_storage_dir(), server.url)
    address = random_loopback()
    before = last_event_id(clinic.clinic_id)
    assert get_from(address, storage.presign(key, issued_for=LINK_HOLDER)).status_code == 200
    assert get_from(address, storage.presign(key)).status_code == 200
    by_webhook, anonymous = reads_after(before, clinic.clinic_id)
    assert_read(
        by_webhook,
        "read.file",
        actor=("link", "webhook:report.delivered"),
        study_id=study_id,
        address=address,
    )
    assert_read(anonymous, "read.file", actor=("link", None), study_id=study_id, address=address)


def _storage_dir() -> Any:
    from autoscribe.config import get_settings

    return get_settings().effective_storage_dir


def test_reading_through_the_dashboard_and_the_workspace_is_audited(
    server: Server, clinic: ClinicFixture, signed: tuple[str, str, str]
) -> None:
    rad, study_id, report_id = signed
    owner_address, rad_address = random_loopback(), random_loopback()
    owner = web_login(server.url, clinic.owner_email, clinic.owner_password, local_address=owner_address)
    from tests.reporting import scope, user_row

    with scope() as session:
        email = user_row(session, rad).email
    radiologist = web_login(server.url, email, PASSWORD, local_address=rad_address)

    before = last_event_id(clinic.clinic_id)
    study_page = owner.get(f"/worklist/studies/{study_id}")
    assert study_page.status_code == 200 and "glioma" in study_page.text  # the signed report
    assert owner.get("/worklist").status_code == 200
    page = radiologist.get(f"/workspace/{study_id}")
    assert page.status_code == 200 and "glioma" in page.text  # the signed report, on screen
    assert radiologist.get(f"/workspace/{study_id}/report").status_code == 200

    viewed, listed, opened, report = reads_after(before, clinic.clinic_id)
    assert_read(
        viewed, "read.study", actor=("user", clinic.owner_id), study_id=study_id, address=owner_address
    )
    assert viewed.details["reportIds"] == [report_id]
    assert (listed.action, listed.actor_id, listed.address) == (
        "read.study_list",
        clinic.owner_id,
        owner_address,
    )
    assert_read(opened, "workspace.opened", actor=("user", rad), study_id=study_id, address=rad_address)
    assert opened.details["via"] == "dashboard"
    assert_read(report, "read.workspace_report", actor=("user", rad), study_id=study_id, address=rad_address)

    # And the audit log shows both kinds of read, by whom.
    with sdk_from(server, clinic.api_key, random_loopback()) as client:
        client.auto_scribe.reports.text(report_id=report_id)
    log = owner.get("/audit-log", params={"action": "read.", "study": study_id}).text
    assert "Report text read" in log and "API key “First API key”" in log
    assert "Study viewed" in log and "Clinic Owner" in log
    assert "Study opened in the workspace" in log and "Rita Radiologist" in log
    assert f"Patient {MRN}" in log


def test_a_key_of_another_clinic_reads_nothing_and_leaves_no_row(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture, signed: tuple[str, str, str]
) -> None:
    _rad, study_id, report_id = signed
    uid = sdk(server.url, clinic.api_key).auto_scribe.studies.retrieve(study_id).study_instance_uid
    before = last_event_id()
    with sdk_from(server, other_clinic.api_key, random_loopback()) as stranger:
        for read in (
            lambda: stranger.auto_scribe.studies.retrieve(study_id),
            lambda: stranger.auto_scribe.studies.retrieve_by_uid(uid),
            lambda: stranger.auto_scribe.reports.text(report_id=report_id),
            lambda: stranger.auto_scribe.reports.text(study_id=study_id),
            lambda: stranger.auto_scribe.reports.pdf(report_id=report_id),
            lambda: stranger.auto_scribe.reports.list(study_id=study_id),
        ):
            with pytest.raises(avara.NotFoundError):
                read()
    assert events_after(before, clinic.clinic_id) == []
    assert events_after(before, target_id=study_id) == []


def test_a_download_link_of_another_clinic_is_refused_unaudited(
    server: Server, clinic: ClinicFixture, signed: tuple[str, str, str]
) -> None:
    """A link's path names its clinic and study: changing it breaks the signature, so a link
    can never read (or be audited against) another study."""
    _rad, _study_id, report_id = signed
    url = sdk(server.url, clinic.api_key).auto_scribe.reports.pdf(report_id=report_id).presigned_url
    path = url.split("/files/", 1)[1].split("?")[0]
    moved = url.replace(quote(path), quote(path.replace(clinic.clinic_id.replace("-", ""), uuid.uuid4().hex)))
    before = last_event_id()
    assert httpx.get(moved).status_code == 403
    assert events_after(before) == []
