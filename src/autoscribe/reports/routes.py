"""/v1/autoScribe/reports (reference 4.7): list, text, pdf, addendum, cancel-addendum.

Integrators act through API keys; radiologists draft and sign in the workspace (a user
session), so there is no API route that drafts or signs. Decisions the reference leaves open:
- text/pdf choose their response by the selector: reportId → one object; studyId or
  studyInstanceUid → {reports: [...], studyId, studyInstanceUid}.
- Unsigned reports have no PDF: pdf?reportId=<draft> is 409 with a message saying so; the
  list form lists signed reports only (presignedUrl is required on every item).
- text of an unsigned report carries no plainText (and isCritical null): drafts are not
  results. The list endpoint likewise gives reportPlainText for signed reports only.
- addendum accepts any signed report of the study (the original or a signed addendum);
  cancel-addendum accepts the addendum in progress or any signed report of its study.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from autoscribe.audit import service as audit
from autoscribe.auth.context import ApiContext, ApiContextDep, SessionDep
from autoscribe.errors import InvalidRequest, NotFound
from autoscribe.ids import Prefix, brand
from autoscribe.reports import service
from autoscribe.reports.models import Report
from autoscribe.reports.pdf import pdf_url
from autoscribe.reports.schemas import (
    ReportList,
    ReportOut,
    ReportPdfItem,
    ReportPdfList,
    ReportTextItem,
    ReportTextList,
)
from autoscribe.schemas import Success
from autoscribe.studies.models import Study
from autoscribe.studies.routes import scope_for
from autoscribe.studies.service import get_study, scoped, select_study, validate_uid_param

router = APIRouter(prefix="/v1/autoScribe/reports", tags=["reports"])


def report_out(report: Report, study: Study) -> ReportOut:
    return ReportOut(
        created_at=report.created_at,
        is_addendum=report.is_addendum,
        is_critical=report.is_critical if report.status == "completed" else None,
        report_id=service.rid(report),
        signed_at=report.signed_at,
        snapshot_metadata=service.snapshot_metadata(report, study),
        status=report.status,  # type: ignore[arg-type]
        study_id=brand(Prefix.STUDY, study.id),
        updated_at=report.updated_at,
        user_id=brand(Prefix.USER, report.user_id),
        report_plain_text=report.plain_text if report.status == "completed" else None,
    )


def _report_in_scope(session: Session, ctx: ApiContext, report_id: str) -> tuple[Report, Study]:
    report = service.get_report(session, ctx.clinic_id, report_id)
    study = session.scalars(scoped(scope_for(ctx)).where(Study.id == report.study_id)).first()
    if study is None:
        # A "self" key does not see reports of studies it did not create.
        raise NotFound(f"No report {report_id}", param="reportId")
    return report, study


def _study_from_query(
    session: Session, ctx: ApiContext, study_id: str | None, study_instance_uid: str | None
) -> Study:
    if study_instance_uid:
        validate_uid_param(study_instance_uid)
    if not study_id and not study_instance_uid:
        raise InvalidRequest("Give studyId or studyInstanceUid", param="studyId")
    return select_study(session, scope_for(ctx), study_id or None, study_instance_uid or None)


def _single_selector(
    session: Session, ctx: ApiContext, report_id: str, study_id: str | None, uid: str | None
) -> tuple[Report, Study]:
    report, study = _report_in_scope(session, ctx, report_id)
    if study_id and get_study(session, scope_for(ctx), study_id).id != study.id:
        raise InvalidRequest("reportId belongs to a different study than studyId", param="studyId")
    if uid and uid != study.study_instance_uid:
        raise InvalidRequest(
            "reportId belongs to a different study than studyInstanceUid", param="studyInstanceUid"
        )
    return report, study


def _audit_read(session: Session, ctx: ApiContext, study: Study, action: str, reports: list[Report]) -> None:
    """One audit row per call, naming the study and the reports it returned."""
    audit.record_read(
        session, ctx.actor, study, action, details={"reportIds": [service.rid(r) for r in reports]}
    )


@router.get("", response_model=ReportList)
def list_reports(
    ctx: ApiContextDep,
    session: SessionDep,
    study_id: str | None = Query(None, alias="studyId"),
    study_instance_uid: str | None = Query(None, alias="studyInstanceUid"),
) -> ReportList:
    study = _study_from_query(session, ctx, study_id, study_instance_uid)
    reports = service.reports_of_study(session, study)
    out = ReportList(
        reports=[report_out(r, study) for r in reports],
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
    )
    _audit_read(session, ctx, study, "read.report_list", reports)
    return out


def _text_item(report: Report, study: Study) -> ReportTextItem:
    signed = report.status == "completed"
    return ReportTextItem(
        is_critical=report.is_critical if signed else None,
        report_id=service.rid(report),
        snapshot_metadata=service.snapshot_metadata(report, study),
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
        plain_text=report.plain_text if signed else None,
    )


@router.get("/text", response_model=ReportTextItem | ReportTextList)
def report_text(
    ctx: ApiContextDep,
    session: SessionDep,
    report_id: str | None = Query(None, alias="reportId"),
    study_id: str | None = Query(None, alias="studyId"),
    study_instance_uid: str | None = Query(None, alias="studyInstanceUid"),
) -> ReportTextItem | ReportTextList:
    if report_id:
        report, study = _single_selector(session, ctx, report_id, study_id, study_instance_uid)
        item = _text_item(report, study)
        _audit_read(session, ctx, study, "read.report_text", [report])
        return item
    if not study_id and not study_instance_uid:
        raise InvalidRequest("Give reportId, studyId or studyInstanceUid", param="reportId")
    study = _study_from_query(session, ctx, study_id, study_instance_uid)
    reports = service.reports_of_study(session, study)
    out = ReportTextList(
        reports=[_text_item(r, study) for r in reports],
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
    )
    _audit_read(session, ctx, study, "read.report_text", reports)
    return out


def _pdf_item(session: Session, ctx: ApiContext, report: Report, study: Study) -> ReportPdfItem:
    return ReportPdfItem(
        is_critical=report.is_critical,
        # The link names the key it was issued for: its downloads are audited as that key's.
        presigned_url=pdf_url(session, report, issued_for=ctx.actor.ref),
        report_id=service.rid(report),
        snapshot_metadata=service.snapshot_metadata(report, study),
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
    )


@router.get("/pdf", response_model=ReportPdfItem | ReportPdfList)
def report_pdf(
    ctx: ApiContextDep,
    session: SessionDep,
    report_id: str | None = Query(None, alias="reportId"),
    study_id: str | None = Query(None, alias="studyId"),
    study_instance_uid: str | None = Query(None, alias="studyInstanceUid"),
) -> ReportPdfItem | ReportPdfList:
    if report_id:
        report, study = _single_selector(session, ctx, report_id, study_id, study_instance_uid)
        item = _pdf_item(session, ctx, report, study)
        _audit_read(session, ctx, study, "read.report_pdf", [report])
        return item
    if not study_id and not study_instance_uid:
        raise InvalidRequest("Give reportId, studyId or studyInstanceUid", param="reportId")
    study = _study_from_query(session, ctx, study_id, study_instance_uid)
    signed = [r for r in service.reports_of_study(session, study) if r.status == "completed"]
    out = ReportPdfList(
        reports=[_pdf_item(session, ctx, r, study) for r in signed],
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
    )
    _audit_read(session, ctx, study, "read.report_pdf", signed)
    return out


@router.post("/{report_id}/addendum", response_model=Success)
def addendum(report_id: str, ctx: ApiContextDep, session: SessionDep) -> Success:
    report, _study = _report_in_scope(session, ctx, report_id)
    opened = service.open_addendum(session, report, ctx.actor)
    return Success(message=f"Addendum {service.rid(opened)} opened; the study is now addendum_active")


@router.post("/{report_id}/cancel-addendum", response_model=Success)
def cancel_addendum(report_id: str, ctx: ApiContextDep, session: SessionDep) -> Success:
    report, _study = _report_in_scope(session, ctx, report_id)
    discarded = service.cancel_addendum(session, report, ctx.actor)
    return Success(message=f"Addendum {service.rid(discarded)} cancelled; the study is completed again")
