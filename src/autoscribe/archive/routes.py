"""/v1/autoScribe/studies/external (reference 4.4): archive studies and their reports."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from autoscribe.archive import service
from autoscribe.archive.schemas import (
    ExternalReportCreate,
    ExternalReportCreated,
    ExternalReportList,
    ExternalReportOut,
    ExternalStudyCreate,
)
from autoscribe.audit import service as audit
from autoscribe.auth.context import ApiContextDep, SessionDep
from autoscribe.ids import Prefix, brand
from autoscribe.pagination import parse_limit
from autoscribe.schemas import Success
from autoscribe.studies import service as studies
from autoscribe.studies.routes import scope_for
from autoscribe.studies.schemas import StudyOut, StudySelector, study_out
from autoscribe.studies.service import Creator

router = APIRouter(prefix="/v1/autoScribe/studies/external", tags=["external studies"])


@router.post("", response_model=StudyOut)
def create_external_study(body: ExternalStudyCreate, ctx: ApiContextDep, session: SessionDep) -> StudyOut:
    creator = Creator(actor=ctx.actor, api_key_id=ctx.api_key.id)
    return study_out(service.create_external_study(session, scope_for(ctx), body, creator))


@router.post("/delete", response_model=Success)
def delete_external_study(body: StudySelector, ctx: ApiContextDep, session: SessionDep) -> Success:
    study = studies.select_study(session, scope_for(ctx), body.study_id, body.study_instance_uid)
    service.delete_external_study(session, study, ctx.actor)
    return Success(message="External study deleted")


@router.post("/reports", response_model=ExternalReportCreated)
def create_external_report(
    body: ExternalReportCreate, ctx: ApiContextDep, session: SessionDep
) -> ExternalReportCreated:
    report, study = service.add_external_report(session, scope_for(ctx), body, ctx.actor)
    return ExternalReportCreated(
        external_report_id=brand(Prefix.EXTERNAL_REPORT, report.id),
        study_id=brand(Prefix.STUDY, study.id),
        study_instance_uid=study.study_instance_uid,
    )


@router.get("/reports", response_model=ExternalReportList)
def list_external_reports(
    request: Request,
    ctx: ApiContextDep,
    session: SessionDep,
    cursor: str | None = Query(None),
    limit: str | None = Query(None, description="1-100, default 20"),
    study_id: str | None = Query(None, alias="studyId"),
) -> ExternalReportList:
    page = service.list_external_reports(
        session, scope_for(ctx), study_id=study_id or None, cursor=cursor, limit=parse_limit(limit)
    )
    by_id = service.studies_by_id(session, [r.study_id for r in page.items])
    out = ExternalReportList(
        reports=[service.to_list_item(r, by_id[r.study_id]) for r in page.items],
        has_more=page.has_more,
        cursor=page.cursor,
    )
    # Limited to one study (studyId), the list is a read of that study.
    one_study = next(iter(by_id.values())) if study_id and len(by_id) == 1 else None
    audit.record_list(
        session,
        ctx.actor,
        ctx.clinic_id,
        "read.external_report_list",
        query=request.query_params,
        count=len(page.items),
        study=one_study,
    )
    return out


@router.get("/reports/{external_report_id}", response_model=ExternalReportOut)
def retrieve_external_report(
    external_report_id: str, ctx: ApiContextDep, session: SessionDep
) -> ExternalReportOut:
    report, study = service.get_external_report(session, scope_for(ctx), external_report_id)
    out = service.to_out(report, study, issued_for=ctx.actor.ref)
    audit.record_read(
        session,
        ctx.actor,
        study,
        "read.external_report",
        details={"externalReportId": out.external_report_id},
    )
    return out
