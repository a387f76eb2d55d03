"""/v1/autoScribe/studies: thin routes over the study service (reference section 4.3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from autoscribe.audit import service as audit
from autoscribe.auth.context import ApiContext, ApiContextDep, SessionDep
from autoscribe.ids import Prefix
from autoscribe.pagination import (
    CursorQuery,
    LimitQuery,
    bool_schema,
    choice_list_schema,
    choice_schema,
    id_or_null_schema,
    parse_bool,
    parse_choice,
    parse_choice_list,
    parse_id_filter,
    parse_limit,
    parse_text,
)
from autoscribe.schemas import Success, UrlResponse, json_response
from autoscribe.studies import schemas, service
from autoscribe.studies.models import AUTOSCRIBE_STUDY_TYPES
from autoscribe.studies.schemas import (
    REPORT_STATUSES,
    SEVERITIES,
    STUDY_TYPES,
    UID_PATTERN,
    StudyCreate,
    StudyList,
    StudyOut,
    StudySelector,
    StudyUpdate,
)
from autoscribe.studies.service import Creator, StudyFilters, StudyScope
from autoscribe.workspace import links
from autoscribe.workspace.schemas import RerouteUrlRequest, ViewerOnlyRerouteUrlRequest

router = APIRouter(prefix="/v1/autoScribe/studies", tags=["studies"])


def scope_for(ctx: ApiContext) -> StudyScope:
    """The key's AutoScribe studies (Viewer studies are the Viewer API's: viewer.service.scope_for)."""
    return StudyScope(
        clinic_id=ctx.clinic_id,
        api_key_id=ctx.api_key.id if ctx.own_studies_only else None,
        study_types=AUTOSCRIBE_STUDY_TYPES,
    )


@router.post("", response_model=StudyOut)
def create_study(body: StudyCreate, ctx: ApiContextDep, session: SessionDep) -> Response:
    creator = Creator(actor=ctx.actor, api_key_id=ctx.api_key.id)
    return json_response(schemas.study_out(service.create_study(session, scope_for(ctx), body, creator)))


@router.get("", response_model=StudyList)
def list_studies(
    request: Request,
    ctx: ApiContextDep,
    session: SessionDep,
    assigned_to: Annotated[
        str | None,
        Query(alias="assignedTo", description="usr_ id; null = only unassigned studies"),
        id_or_null_schema(Prefix.USER),
    ] = None,
    cursor: CursorQuery = None,
    express_customer_id: Annotated[
        str | None,
        Query(alias="expressCustomerId", description="cus_ id; null = only studies without a customer"),
        id_or_null_schema(Prefix.CUSTOMER),
    ] = None,
    is_cancelled: Annotated[str | None, Query(alias="isCancelled"), bool_schema()] = None,
    limit: LimitQuery = None,
    severity: Annotated[str | None, Query(), choice_schema(SEVERITIES)] = None,
    study_description: Annotated[
        str | None,
        Query(alias="studyDescription", max_length=1000, description="Case-insensitive substring"),
    ] = None,
    study_report_status: Annotated[
        str | None,
        Query(alias="studyReportStatus", description="Comma-separated, e.g. assigned,in_progress"),
        choice_list_schema(REPORT_STATUSES),
    ] = None,
    study_type: Annotated[str | None, Query(alias="studyType"), choice_schema(STUDY_TYPES)] = None,
) -> Response:
    filters = StudyFilters(
        assigned_to=parse_id_filter(assigned_to, Prefix.USER, "assignedTo"),
        express_customer=parse_id_filter(express_customer_id, Prefix.CUSTOMER, "expressCustomerId"),
        is_cancelled=parse_bool(is_cancelled, "isCancelled"),
        severity=parse_choice(severity, SEVERITIES, "severity"),
        description_contains=parse_text(study_description, "studyDescription"),
        report_statuses=parse_choice_list(study_report_status, REPORT_STATUSES, "studyReportStatus"),
        study_type=parse_choice(study_type, STUDY_TYPES, "studyType"),
    )
    page = service.list_studies(session, scope_for(ctx), filters, cursor=cursor, limit=parse_limit(limit))
    out = StudyList(
        studies=[schemas.study_out(s) for s in page.items], has_more=page.has_more, cursor=page.cursor
    )
    audit.record_list(
        session,
        ctx.actor,
        ctx.clinic_id,
        "read.study_list",
        query=request.query_params,
        count=len(page.items),
    )
    return json_response(out)


@router.post("/cancel", response_model=Success)
def cancel_study(body: StudySelector, ctx: ApiContextDep, session: SessionDep) -> Success:
    study = service.select_study(session, scope_for(ctx), body.study_id, body.study_instance_uid)
    service.cancel_study(session, study, ctx.actor)
    return Success(message="Study cancelled")


@router.post("/uncancel", response_model=Success)
def uncancel_study(body: StudySelector, ctx: ApiContextDep, session: SessionDep) -> Success:
    study = service.select_study(session, scope_for(ctx), body.study_id, body.study_instance_uid)
    service.uncancel_study(session, study, ctx.actor)
    return Success(message="Study restored")


@router.post("/reroute-url", response_model=UrlResponse)
def reroute_url(body: RerouteUrlRequest, ctx: ApiContextDep, session: SessionDep) -> UrlResponse:
    return UrlResponse(url=links.create_reroute_link(session, ctx, scope_for(ctx), body))


@router.post("/viewer-only-reroute-url", response_model=UrlResponse)
def viewer_only_reroute_url(
    body: ViewerOnlyRerouteUrlRequest, ctx: ApiContextDep, session: SessionDep
) -> UrlResponse:
    return UrlResponse(url=links.create_viewer_link(session, ctx, scope_for(ctx), body))


@router.get("/by-uid/{studyInstanceUid}", response_model=StudyOut)
def retrieve_study_by_uid(
    ctx: ApiContextDep,
    session: SessionDep,
    study_instance_uid: str = Path(
        alias="studyInstanceUid",
        description="DICOM UID, e.g. 1.2.840.10008.5.1.4.1.1.2",
        json_schema_extra={"pattern": f"^{UID_PATTERN}$", "maxLength": 64},
    ),
) -> Response:
    uid = service.validate_uid_param(study_instance_uid)
    study = service.get_study_by_uid(session, scope_for(ctx), uid)
    out = schemas.study_out(study)
    audit.record_read(session, ctx.actor, study, "read.study")
    return json_response(out)


STUDY_ID = Path(alias="studyId", json_schema_extra={"pattern": "^stu_[0-9a-f]{32}$"})


@router.get("/{studyId}", response_model=StudyOut)
def retrieve_study(ctx: ApiContextDep, session: SessionDep, study_id: str = STUDY_ID) -> Response:
    study = service.get_study(session, scope_for(ctx), study_id)
    out = schemas.study_out(study)
    audit.record_read(session, ctx.actor, study, "read.study")
    return json_response(out)


@router.patch("/{studyId}", response_model=StudyOut)
def update_study(
    body: StudyUpdate, ctx: ApiContextDep, session: SessionDep, study_id: str = STUDY_ID
) -> Response:
    study = service.get_study(session, scope_for(ctx), study_id)
    return json_response(schemas.study_out(service.update_study(session, study, body, ctx.actor)))
