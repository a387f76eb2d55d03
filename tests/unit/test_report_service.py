"""The report service's rules, driven directly (as the workspace will): permissions, versions,
concurrency, immutability, audit, priors."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from autoscribe.audit.models import AuditEvent
from autoscribe.db import session_scope
from autoscribe.errors import Conflict, PermissionDenied, Unprocessable
from autoscribe.reports import service
from autoscribe.reports.models import Report
from tests.conftest import ClinicFixture
from tests.helpers import make_user, new_uid
from tests.reporting import content, report_row, save, sign, start, study_row, user_row


def _study(clinic: ClinicFixture, assignee: str | None, **fields: Any) -> str:
    """Create a study through the study service (no server needed for these tests)."""
    from autoscribe.audit.service import Actor
    from autoscribe.studies.schemas import StudyCreate
    from autoscribe.studies.service import Creator, StudyScope, create_study

    body: dict[str, Any] = {
        "severity": "normal",
        "studyDescription": "CT Abdomen",
        "studyInstanceUid": new_uid(),
        "reportMetadata": {"patientName": "Pat Example", "studyDate": fields.pop("study_date", "2026-11-01")},
        **fields,
    }
    if assignee:
        body["assignedTo"] = assignee
    with session_scope() as session:
        study = create_study(
            session,
            StudyScope(clinic_id=uuid.UUID(clinic.clinic_id)),
            StudyCreate.model_validate(body),
            Creator(actor=Actor.system()),
        )
        return f"stu_{study.id.hex}"


@pytest.mark.parametrize(
    ("user_kwargs", "why"),
    [
        ({"can_create_reports": False}, "canCreateReports is false"),
        ({"npi": "1234567890"}, "no valid NPI"),
        ({"npi": None}, "no valid NPI"),
        ({"revoked": True}, "revoked"),
    ],
)
def test_start_requires_a_radiologist_with_valid_npi(
    database: str, clinic: ClinicFixture, user_kwargs: dict[str, Any], why: str
) -> None:
    good = make_user(clinic.clinic_id)
    study_id = _study(clinic, good)
    bad = make_user(clinic.clinic_id, **user_kwargs)
    with session_scope() as session:
        study_row(session, study_id).assigned_to_user_id = uuid.UUID(hex=bad[4:])
    with pytest.raises(PermissionDenied) as err:
        start(study_id, bad)
    assert why in err.value.message
    with session_scope() as session:
        assert study_row(session, study_id).study_report_status == "assigned"


def test_only_the_assigned_radiologist_reads(database: str, clinic: ClinicFixture) -> None:
    assignee = make_user(clinic.clinic_id)
    other = make_user(clinic.clinic_id)
    study_id = _study(clinic, assignee)
    with pytest.raises(PermissionDenied) as err:
        start(study_id, other)
    assert "not assigned to user" in err.value.message
    report_id, version = start(study_id, assignee)
    with pytest.raises(PermissionDenied):
        save(report_id, other, content(), version)
    with pytest.raises(PermissionDenied):
        sign(report_id, other)
    # Reassigned mid-read: the new assignee resumes the same draft.
    with session_scope() as session:
        study_row(session, study_id).assigned_to_user_id = uuid.UUID(hex=other[4:])
    assert start(study_id, other) == (report_id, version)


def test_start_is_idempotent_and_prefills_the_order(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    study_id = _study(
        clinic, rad, clinicalIndication="RLQ pain", technologistTechnique="Portal venous phase CT"
    )
    first = start(study_id, rad)
    assert start(study_id, rad) == first
    with session_scope() as session:
        report = report_row(session, first[0])
        assert report.content["clinicalIndication"] == "RLQ pain"
        assert report.content["technique"] == "Portal venous phase CT"
        assert study_row(session, study_id).study_report_status == "in_progress"
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == first[0])).all()
        assert events == ["report.started"]


def test_unassigned_study_cannot_be_started(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    study_id = _study(clinic, None)
    with pytest.raises(PermissionDenied):
        start(study_id, rad)


def test_stale_save_is_refused_and_versions_are_kept(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    report_id, v1 = start(_study(clinic, rad), rad)
    v2 = save(report_id, rad, content(findings="first"), v1)
    assert v2 == v1 + 1
    with pytest.raises(Conflict) as err:
        save(report_id, rad, content(findings="written on a stale copy"), v1)
    assert err.value.param == "baseVersion"
    assert f"now at version {v2}" in err.value.message
    v3 = save(report_id, rad, content(findings="second"), v2)
    with session_scope() as session:
        report = report_row(session, report_id)
        assert report.content["findings"]["text"] == "second"
        kept = [(r.version, r.content["findings"]["text"]) for r in service.revisions(session, report)]
    assert kept == [(v2, "first"), (v3, "second")]


def test_two_concurrent_saves_never_silently_lose_text(database: str, clinic: ClinicFixture) -> None:
    """Two editors append lines to the same draft at once, each retrying on 409 after reloading:
    every line either of them saved is in the final text."""
    rad = make_user(clinic.clinic_id)
    report_id, _ = start(_study(clinic, rad), rad)
    rounds = 12
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    conflicts = [0, 0]

    def editor(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(rounds):
                line = f"editor{index}-line{n}"
                while True:
                    with session_scope() as session:
                        report = report_row(session, report_id)
                        base, findings = report.version, report.content["findings"]["text"]
                    try:
                        save(report_id, rad, content(findings=f"{findings}\n{line}".strip()), base)
                        break
                    except Conflict:
                        conflicts[index] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=editor, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    with session_scope() as session:
        report = report_row(session, report_id)
        final = report.content["findings"]["text"].split("\n")
        assert report.version == 1 + 2 * rounds
    assert sorted(final) == sorted(f"editor{i}-line{n}" for i in (0, 1) for n in range(rounds))


def test_concurrent_saves_from_one_base_have_exactly_one_winner(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    report_id, base = start(_study(clinic, rad), rad)
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def attempt(name: str) -> None:
        barrier.wait(timeout=30)
        try:
            save(report_id, rad, content(findings=f"text from {name}"), base)
            outcome[name] = "saved"
        except Conflict:
            outcome[name] = "conflict"

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcome.values()) == ["conflict", "saved"]
    winner = next(n for n, o in outcome.items() if o == "saved")
    with session_scope() as session:
        assert report_row(session, report_id).content["findings"]["text"] == f"text from {winner}"


def test_a_signed_report_never_changes(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    study_id = _study(clinic, rad)
    report_id, version = start(study_id, rad)
    version = save(report_id, rad, content(), version)
    sign(report_id, rad, is_critical=True)
    with pytest.raises(Conflict):
        save(report_id, rad, content(findings="changed after signing"), version + 1)
    with pytest.raises(Conflict):
        sign(report_id, rad)
    with pytest.raises(Conflict):
        start(study_id, rad)
    # The database itself refuses, whatever code tries.
    raw_id = uuid.UUID(hex=report_id[4:])
    for statement in (
        update(Report).where(Report.id == raw_id).values(plain_text="tampered"),
        delete(Report).where(Report.id == raw_id),
    ):
        with pytest.raises(DBAPIError, match="signed"), session_scope() as session:
            session.execute(statement)
    with session_scope() as session:
        report = report_row(session, report_id)
        assert report.status == "completed" and report.is_critical is True
        assert "tampered" not in (report.plain_text or "")
        assert report.signature["npi"] == "1234567893"
        assert report.snapshot_metadata["patientName"] == "Pat Example"
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == report_id).order_by(AuditEvent.id)
        ).all()
    assert actions == ["report.started", "report.signed"]


def test_empty_report_is_not_signed(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    report_id, _ = start(_study(clinic, rad), rad)
    with pytest.raises(Unprocessable):
        sign(report_id, rad)


def test_sign_with_stale_base_version_is_refused(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    report_id, version = start(_study(clinic, rad), rad)
    save(report_id, rad, content(), version)
    with session_scope() as session, pytest.raises(Conflict) as err:
        service.sign_report(
            session, report_row(session, report_id), user_row(session, rad), base_version=version
        )
    assert err.value.param == "baseVersion"


def test_priors_for_comparison(database: str, clinic: ClinicFixture) -> None:
    from autoscribe.archive.models import ExternalReport

    rad = make_user(clinic.clinic_id)
    old = _study(clinic, rad, externalPatientId="PAT-1", study_date="2025-01-10")
    old_report, v = start(old, rad)
    save(old_report, rad, content(impression="Old impression: stable nodule."), v)
    sign(old_report, rad)
    archive = _study(clinic, None, externalPatientId="PAT-1", study_date="2020-03-03", modality="CT")
    with session_scope() as session:
        row = study_row(session, archive)
        row.study_type = "external"
        session.add(
            ExternalReport(
                clinic_id=row.clinic_id,
                study_id=row.id,
                report_text="Archive: 4 mm nodule.",
                reader_name="Dr. Old",
            )
        )
    _study(clinic, None, externalPatientId="PAT-2")  # another patient
    current = _study(
        clinic,
        rad,
        externalPatientId="PAT-1",
        study_date="2026-11-01",
        priorReports=[{"reportText": "Sent by the RIS.", "modality": "XR", "studyDate": "2019-05-05"}],
    )
    with session_scope() as session:
        priors = service.priors_for(session, study_row(session, current))
    assert [(p.source, p.study_date) for p in priors] == [
        ("study", "2025-01-10"),
        ("external", "2020-03-03"),
        ("prior_report", "2019-05-05"),
    ]
    assert priors[0].report_text is not None and "stable nodule" in priors[0].report_text
    assert priors[1].report_text == "Archive: 4 mm nodule." and priors[1].reader_name == "Dr. Old"
    assert priors[2].report_text == "Sent by the RIS."


def test_study_document_shows_drafts_for_the_workspace(database: str, clinic: ClinicFixture) -> None:
    from autoscribe.documents.render import render_fragment

    rad = make_user(clinic.clinic_id)
    study_id = _study(clinic, rad)
    report_id, version = start(study_id, rad)
    save(report_id, rad, content(findings="Draft findings here."), version)
    with session_scope() as session:
        doc = service.study_document(session, study_row(session, study_id))
        html = str(render_fragment(doc))
    assert not doc.is_final
    assert "Draft findings here." in html and "DRAFT" in html and "Pat Example" in html


def test_signed_rows_list_in_order(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    study_id = _study(clinic, rad)
    report_id, version = start(study_id, rad)
    save(report_id, rad, content(), version)
    sign(report_id, rad)
    with session_scope() as session:
        rows = session.scalars(select(Report).where(Report.study_id == study_row(session, study_id).id)).all()
        assert [service.rid(r) for r in rows] == [report_id]


def test_study_lists_load_report_ids_with_one_extra_query(database: str, clinic: ClinicFixture) -> None:
    from sqlalchemy import event

    from autoscribe.db import get_engine
    from autoscribe.studies.schemas import study_out as to_out
    from autoscribe.studies.service import StudyFilters, StudyScope, list_studies

    rad = make_user(clinic.clinic_id)
    for _ in range(4):
        study_id = _study(clinic, rad)
        report_id, version = start(study_id, rad)
        save(report_id, rad, content(), version)
        sign(report_id, rad)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope() as session:
            page = list_studies(
                session,
                StudyScope(clinic_id=uuid.UUID(clinic.clinic_id)),
                StudyFilters(),
                cursor=None,
                limit=10,
            )
            outs = [to_out(s) for s in page.items]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(outs) == 4 and all(len(o.report_ids) == 1 for o in outs)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects


def test_a_cancelled_study_is_not_signed(database: str, clinic: ClinicFixture) -> None:
    rad = make_user(clinic.clinic_id)
    study_id = _study(clinic, rad)
    report_id, version = start(study_id, rad)
    save(report_id, rad, content(), version)
    with session_scope() as session:
        study_row(session, study_id).is_cancelled = True
    with pytest.raises(Conflict) as err:
        sign(report_id, rad)
    assert "cancelled" in err.value.message


def test_invalid_draft_content_names_the_field(database: str, clinic: ClinicFixture) -> None:
    from autoscribe.errors import InvalidRequest

    rad = make_user(clinic.clinic_id)
    report_id, version = start(_study(clinic, rad), rad)
    with pytest.raises(InvalidRequest) as err:
        save(report_id, rad, {"findings": {"subsections": [{"heading": "Liver", "text": 5}]}}, version)
    assert err.value.param == "findings.subsections.0.text"
    with pytest.raises(InvalidRequest) as err:
        save(report_id, rad, {"impresion": "typo"}, version)
    assert err.value.param == "impresion"
    # Findings may be plain text.
    assert save(report_id, rad, {"findings": "Plain findings."}, version) == version + 1
