"""Pre-sign checks on the report as written: the sign dialog's endpoint, and the results recorded
with the report when it is signed (what the radiologist signed through)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from autoscribe.audit.models import AuditEvent
from autoscribe.db import session_scope
from autoscribe.dictation import service as scribe
from autoscribe.dictation.models import Dictation
from autoscribe.dictation.routes import DictationContext, dictation_context
from autoscribe.reports import checks
from autoscribe.reports.schemas import ReportContent
from autoscribe.studies.models import Study
from tests.conftest import ClinicFixture
from tests.dictation.test_service import make_study
from tests.helpers import make_user
from tests.reporting import report_row, save, sign, start

# One side only (a decubitus chest film shows both sides): a left finding is questioned.
RIGHT_RIBS = "XR RIBS RIGHT 2 VIEWS"


def _report(findings: str = "", impression: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "clinicalIndication": "Shortness of breath.",
        "technique": "Right rib series, two views.",
        "findings": {"text": findings, "subsections": extra.pop("subsections", [])},
        "impression": impression,
        **extra,
    }


def _assigned_study(clinic: ClinicFixture, radiologist: str) -> uuid.UUID:
    study_id = make_study(clinic.clinic_id, RIGHT_RIBS, report_metadata={"sex": "male"})
    with session_scope() as session:
        study = session.get(Study, study_id)
        assert study is not None
        study.assigned_to_user_id = uuid.UUID(hex=radiologist[4:])
        study.study_report_status = "assigned"
    return study_id


def _codes(results: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in results]


def _check(clinic: ClinicFixture, body: dict[str, Any], description: str = RIGHT_RIBS, **kw: Any) -> Any:
    study_id = make_study(clinic.clinic_id, description, report_metadata=kw.pop("metadata", {"sex": "male"}))
    with session_scope() as session:
        study = session.get(Study, study_id)
        assert study is not None
        return checks.check_content(ReportContent.model_validate(body), checks.study_context(study), **kw)


def test_each_check_on_the_written_report(clinic: ClinicFixture) -> None:
    laterality = _check(clinic, _report("There is a small left pleural effusion.", "Left pleural effusion."))
    assert _codes(laterality) == ["laterality_mismatch", "laterality_mismatch"]
    assert [r["section"] for r in laterality] == ["Findings", "Impression"]
    assert all(r["level"] == "warning" and '"left"' in r["message"] for r in laterality)

    # Subsections are named by their heading; numbered impression items are read without numbers.
    organs = _check(
        clinic,
        _report(
            subsections=[
                {"heading": "Pelvis", "text": "The uterus is normal."},
                {"heading": "Pleura", "text": "No pleural effusion. Small right pleural effusion."},
                {"heading": "Lungs", "text": "A nodule measuring 2.3 in the right upper lobe."},
            ],
            impression="1. Small right pleural effusion.\n2. Right upper lobe nodule.",
        ),
    )
    by_code = {r["code"]: r for r in organs}
    assert by_code["sex_mismatch"]["section"] == "Findings: Pelvis"
    assert by_code["negation_conflict"]["section"] == "Findings: Pleura"
    assert by_code["unit_missing"]["section"] == "Findings: Lungs"
    assert "impression_omission" not in by_code and "laterality_mismatch" not in by_code

    omitted = _check(
        clinic,
        _report("Large right pneumothorax. Moderate right pleural effusion.", "Right pleural effusion."),
    )
    assert "impression_omission" in _codes(omitted) and "critical_finding" in _codes(omitted)
    marked = _check(
        clinic,
        _report("Large right pneumothorax.", "Large right pneumothorax.", isCritical=True),
    )
    assert "critical_finding" not in _codes(marked)

    empty = _check(clinic, _report(impression="See findings [***]."))
    assert {(r["code"], r["level"]) for r in empty} == {
        ("empty_section", "error"),
        ("unfilled_placeholder", "error"),
    }
    # An addendum amends a signed report: it need not repeat Findings.
    assert _check(clinic, _report(impression="Correction: no fracture."), is_addendum=True) == []


@pytest.fixture
def app_client(database: str) -> Iterator[tuple[TestClient, dict[str, DictationContext]]]:
    from autoscribe.app import create_app

    app = create_app()
    current: dict[str, DictationContext] = {}
    app.dependency_overrides[dictation_context] = lambda: current["ctx"]
    with TestClient(app) as client:
        yield client, current


def test_the_sign_dialog_endpoint(
    app_client: tuple[TestClient, dict[str, DictationContext]],
    clinic: ClinicFixture,
    other_clinic: ClinicFixture,
) -> None:
    client, current = app_client
    radiologist = make_user(clinic.clinic_id)
    study_id = _assigned_study(clinic, radiologist)
    report_id, _ = start(f"stu_{study_id.hex}", radiologist)
    current["ctx"] = DictationContext(uuid.UUID(clinic.clinic_id), None, study_id)

    answer = client.post(
        "/workspace/api/scribe/checks",
        json={"reportId": report_id, "content": _report("Small left pleural effusion.", "Effusion.")},
    )
    assert answer.status_code == 200, answer.text
    assert {
        "code": "laterality_mismatch",
        "level": "warning",
        "section": "Findings",
    }.items() <= answer.json()["data"][0].items()

    bad = client.post(
        "/workspace/api/scribe/checks",
        json={"content": {"findings": {"text": "x", "subsections": [{"text": 5}]}}},
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "findings.subsections.0.text"
    missing = client.post("/workspace/api/scribe/checks", json={"reportId": report_id})
    assert missing.status_code == 400 and "content" in missing.text

    # Another study's report, or another clinic: not found.
    current["ctx"] = DictationContext(uuid.UUID(clinic.clinic_id), None, make_study(clinic.clinic_id))
    other = client.post("/workspace/api/scribe/checks", json={"reportId": report_id, "content": _report()})
    assert other.status_code == 404 and other.json()["error"]["param"] == "reportId"
    current["ctx"] = DictationContext(uuid.UUID(other_clinic.clinic_id), None, study_id)
    assert client.post("/workspace/api/scribe/checks", json={"content": _report()}).status_code == 404


def test_signing_records_the_checks_on_the_signed_text(clinic: ClinicFixture) -> None:
    radiologist = make_user(clinic.clinic_id)
    study_uuid = _assigned_study(clinic, radiologist)
    study_id = f"stu_{study_uuid.hex}"
    cid = uuid.UUID(clinic.clinic_id)
    with session_scope() as session:
        dictation = scribe.create_dictation(session, clinic_id=cid, study_id=study_uuid, user_id=None)
        dictation_id = dictation.id
    report_id, version = start(study_id, radiologist)
    # The dictated draft said "right"; the radiologist's edit says "left": the edit is what counts.
    version = save(report_id, radiologist, _report("Small right pleural effusion.", "Effusion."), version)
    save(report_id, radiologist, _report("Small left pleural effusion.", "Left effusion."), version)
    sign(report_id, radiologist)

    with session_scope() as session:
        report = report_row(session, report_id)
        assert _codes(report.sign_checks) == ["laterality_mismatch", "laterality_mismatch"]
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.signed", AuditEvent.target_id == report_id)
        ).one()
        assert audit.details["checks"] == ["laterality_mismatch"]
        # The study's dictations belong to the signed report; their retention clock starts at its
        # signature (recorded by the dictation domain's hourly purge, from the reports). The purge
        # covers the whole database, so other tests' signed studies may be recorded alongside.
        assert scribe.record_signatures(session) >= 1
        row = session.get(Dictation, dictation_id)
        assert row is not None and row.report_id == report.id and row.signed_at == report.signed_at

    # The workspace shows them with the signed report (to the signer and to viewers alike).
    from autoscribe.web.templating import templates
    from autoscribe.workspace import report_pane as workspace

    with session_scope() as session:
        from tests.reporting import study_row

        study = study_row(session, study_id)
        shown = workspace.signed_checks(session, study)
        assert [(s.label, s.report_id, _codes(s.results)) for s in shown] == [
            ("Report", report_id, ["laterality_mismatch", "laterality_mismatch"])
        ]
        pane = workspace.Pane(
            mode="view",
            editable=False,
            header=None,  # type: ignore[arg-type]
            draft=None,
            content=None,
            document="<p>report</p>",  # type: ignore[arg-type]
            has_signed=True,
            can_open_addendum=False,
            status="completed",
            signer_name=None,
            signer_npi=None,
            checks_at_signing=shown,
        )
        html = templates().env.get_template("workspace/_report.html").render(pane=pane, study_id=study_id)
    assert "Checks at signing" in html and "signed with 2 check results" in html
    assert 'data-code="laterality_mismatch"' in html and "(Findings)" in html


def test_a_failing_check_never_blocks_signing(clinic: ClinicFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    radiologist = make_user(clinic.clinic_id)
    study_uuid = _assigned_study(clinic, radiologist)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("checks bug")

    monkeypatch.setattr("autoscribe.reports.checks.run_checks", broken)
    report_id, version = start(f"stu_{study_uuid.hex}", radiologist)
    save(report_id, radiologist, _report("Small left pleural effusion.", "Effusion."), version)
    sign(report_id, radiologist)
    with session_scope() as session:
        report = report_row(session, report_id)
        assert report.status == "completed" and report.sign_checks is None


def test_what_the_sign_dialog_calls_must_fix_also_blocks_signing_on_the_server(clinic: ClinicFixture) -> None:
    """The page's "Must fix" items are refused by the report service too, so no client can sign
    an incomplete report; warnings are signed through and recorded."""
    from autoscribe.errors import Unprocessable

    radiologist = make_user(clinic.clinic_id)
    study_uuid = _assigned_study(clinic, radiologist)
    report_id, version = start(f"stu_{study_uuid.hex}", radiologist)
    version = save(report_id, radiologist, _report("No acute cardiopulmonary process.", ""), version)
    with pytest.raises(Unprocessable) as refused:
        sign(report_id, radiologist)
    assert refused.value.param == "reportId" and "Impression is empty" in str(refused.value)
    version = save(
        report_id, radiologist, _report("Heart size [***].", "No acute cardiopulmonary process."), version
    )
    with pytest.raises(Unprocessable, match="placeholder in Findings has not been filled in"):
        sign(report_id, radiologist)
    with session_scope() as session:
        assert report_row(session, report_id).status == "in_progress"  # nothing was frozen

    save(
        report_id, radiologist, _report("Heart size is normal.", "No acute cardiopulmonary process."), version
    )
    sign(report_id, radiologist)
    with session_scope() as session:
        assert report_row(session, report_id).status == "completed"
