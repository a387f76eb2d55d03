"""/v1/viewer: the Viewer product (reference section 5; SDK 0.3.0 `client.viewer.*`).

Every route needs an API key with the Viewer enabled (isViewerEnabled; 403 otherwise, before
anything else), then the same access as its AutoScribe twin: study scope for studies, user
access for users and invitations. The routes are thin: studies go through the study service in
the key's Viewer scope (viewer.service.scope_for), people through AutoScribe's user routes and
service with the reporting fields left out, ephemeral sessions and reroute links through the
workspace's links.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from autoscribe.audit import service as audit
from autoscribe.auth.context import ApiContextDep, SessionDep
from autoscribe.auth.permissions import UsersReader, UsersWriter, viewer_enabled
from autoscribe.ids import Prefix
from autoscribe.pagination import (
    CursorQuery,
    LimitQuery,
    bool_schema,
    choice_schema,
    id_or_null_schema,
    parse_bool,
    parse_choice,
    parse_id_filter,
    parse_limit,
    parse_text,
)
from autoscribe.schemas import Success, UrlResponse, json_response
from autoscribe.studies import service as studies
from autoscribe.studies.routes import STUDY_ID
from autoscribe.studies.schemas import SEVERITIES, UID_PATTERN, StudySelector
from autoscribe.studies.service import StudyFilters
from autoscribe.users import invitations
from autoscribe.users import routes as autoscribe_users
from autoscribe.users import service as users
from autoscribe.users.schemas import InvitationRevokeBody, UserIdBody
from autoscribe.viewer import schemas as viewer_schemas
from autoscribe.viewer import service
from autoscribe.viewer.schemas import (
    VIEWER_STATUSES,
    ViewerInvitationList,
    ViewerInvitationOut,
    ViewerProfileUpdate,
    ViewerStudyCreate,
    ViewerStudyList,
    ViewerStudyOut,
    ViewerStudyUpdate,
    ViewerUserInvite,
    ViewerUserList,
    ViewerUserOut,
)
from autoscribe.workspace import links
from autoscribe.workspace.schemas import EphemeralSessionCreate

# Route functions are named viewer_*: their names are the operation ids (viewerCreateStudy, ...),
# unique beside AutoScribe's.
router = APIRouter(prefix="/v1/viewer", tags=["viewer"], dependencies=[Depends(viewer_enabled)])


# ---- studies -----------------------------------------------------------------------------------------


@router.post("/studies", response_model=ViewerStudyOut)
def viewer_create_study(body: ViewerStudyCreate, ctx: ApiContextDep, session: SessionDep) -> Response:
    return json_response(service.to_out(service.create_study(session, ctx, body)))


@router.get("/studies", response_model=ViewerStudyList)
def viewer_list_studies(
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
    study_viewer_status: Annotated[
        str | None, Query(alias="studyViewerStatus"), choice_schema(VIEWER_STATUSES)
    ] = None,
) -> Response:
    viewer_status = parse_choice(study_viewer_status, VIEWER_STATUSES, "studyViewerStatus")
    filters = StudyFilters(
        assigned_to=parse_id_filter(assigned_to, Prefix.USER, "assignedTo"),
        express_customer=parse_id_filter(express_customer_id, Prefix.CUSTOMER, "expressCustomerId"),
        is_cancelled=parse_bool(is_cancelled, "isCancelled"),
        severity=parse_choice(severity, SEVERITIES, "severity"),
        description_contains=parse_text(study_description, "studyDescription"),
        report_statuses=studies.VIEWER_STATUSES[viewer_status] if viewer_status else None,
    )
    scope = service.scope_for(ctx)
    page = studies.list_studies(session, scope, filters, cursor=cursor, limit=parse_limit(limit))
    out = ViewerStudyList(
        studies=[service.to_out(s) for s in page.items], has_more=page.has_more, cursor=page.cursor
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


@router.post("/studies/cancel", response_model=Success)
def viewer_cancel_study(body: StudySelector, ctx: ApiContextDep, session: SessionDep) -> Success:
    study = studies.select_study(session, service.scope_for(ctx), body.study_id, body.study_instance_uid)
    studies.cancel_study(session, study, ctx.actor)
    return Success(message="Study cancelled")


@router.post("/studies/uncancel", response_model=Success)
def viewer_uncancel_study(body: StudySelector, ctx: ApiContextDep, session: SessionDep) -> Success:
    study = studies.select_study(session, service.scope_for(ctx), body.study_id, body.study_instance_uid)
    studies.uncancel_study(session, study, ctx.actor)
    return Success(message="Study restored")


@router.post("/studies/reroute-url", response_model=UrlResponse)
def viewer_reroute_url(body: StudySelector, ctx: ApiContextDep, session: SessionDep) -> UrlResponse:
    """A one-time, short-lived link to the study's images (no user, no report)."""
    return UrlResponse(url=links.create_images_link(session, ctx, service.scope_for(ctx), body))


@router.get("/studies/by-uid/{studyInstanceUid}", response_model=ViewerStudyOut)
def viewer_retrieve_study_by_uid(
    ctx: ApiContextDep,
    session: SessionDep,
    study_instance_uid: str = Path(
        alias="studyInstanceUid",
        description="DICOM UID, e.g. 1.2.840.10008.5.1.4.1.1.2",
        json_schema_extra={"pattern": f"^{UID_PATTERN}$", "maxLength": 64},
    ),
) -> Response:
    uid = studies.validate_uid_param(study_instance_uid)
    study = studies.get_study_by_uid(session, service.scope_for(ctx), uid)
    audit.record_read(session, ctx.actor, study, "read.study")
    return json_response(service.to_out(study))


@router.get("/studies/{studyId}", response_model=ViewerStudyOut)
def viewer_retrieve_study(ctx: ApiContextDep, session: SessionDep, study_id: str = STUDY_ID) -> Response:
    study = studies.get_study(session, service.scope_for(ctx), study_id)
    audit.record_read(session, ctx.actor, study, "read.study")
    return json_response(service.to_out(study))


@router.patch("/studies/{studyId}", response_model=ViewerStudyOut)
def viewer_update_study(
    body: ViewerStudyUpdate, ctx: ApiContextDep, session: SessionDep, study_id: str = STUDY_ID
) -> Response:
    study = studies.get_study(session, service.scope_for(ctx), study_id)
    return json_response(service.to_out(service.update_study(session, ctx, study, body)))


# ---- ephemeral sessions ------------------------------------------------------------------------------


@router.post("/ephemeral-sessions", response_model=UrlResponse)
def viewer_create_ephemeral_session(
    body: EphemeralSessionCreate, ctx: ApiContextDep, session: SessionDep
) -> UrlResponse:
    return UrlResponse(url=links.create_ephemeral_link(session, ctx, body))


# ---- users and invitations (AutoScribe's, without canCreateReports and npiNumber) -------------------
# Invitations first: "/users/invitations" must not be taken for a {user_id}.


@router.get("/users/invitations", response_model=ViewerInvitationList)
def viewer_list_invitations(
    ctx: UsersReader,
    session: SessionDep,
    cursor: str | None = Query(None),
    end_date: str | None = Query(None, alias="endDate", description="YYYY-MM-DD, created on or before"),
    expired: str | None = Query(None, description="all | expired | not-expired"),
    limit: str | None = Query(None, description="1-100, default 20"),
    start_date: str | None = Query(None, alias="startDate", description="YYYY-MM-DD, created on or after"),
    status: str | None = Query(None, description="comma-separated: sent,accepted,rejected,revoked"),
    user_id: str | None = Query(None, alias="userId"),
) -> Any:
    page = autoscribe_users.list_invitations(
        ctx=ctx,
        session=session,
        cursor=cursor,
        end_date=end_date,
        expired=expired,
        limit=limit,
        start_date=start_date,
        status=status,
        user_id=user_id,
    )
    return ViewerInvitationList(
        invitations=[viewer_schemas.as_viewer_invitation(i) for i in page.invitations],
        has_more=page.has_more,
        cursor=page.cursor,
    )


@router.post("/users/invitations/revoke", response_model=Success)
def viewer_revoke_invitation(body: InvitationRevokeBody, ctx: UsersWriter, session: SessionDep) -> Success:
    return autoscribe_users.revoke_invitation(body, ctx, session)


@router.get("/users/invitations/{invitation_id}", response_model=ViewerInvitationOut)
def viewer_retrieve_invitation(invitation_id: str, ctx: UsersReader, session: SessionDep) -> Any:
    invitation = invitations.get_invitation(session, ctx.clinic_id, invitation_id)
    return service.invitations_out(session, [invitation])[0]


@router.patch("/users/invitations/{invitation_id}", response_model=ViewerInvitationOut)
def viewer_update_invitation(
    invitation_id: str, body: ViewerProfileUpdate, ctx: UsersWriter, session: SessionDep
) -> Any:
    invitation = invitations.get_invitation(session, ctx.clinic_id, invitation_id)
    invitations.update_invitation(session, invitation, service.profile_update(body), actor=ctx.actor)
    return service.invitations_out(session, [invitation])[0]


@router.get("/users", response_model=ViewerUserList)
def viewer_list_users(
    ctx: UsersReader,
    session: SessionDep,
    cursor: str | None = Query(None),
    email: str | None = Query(None, max_length=320, description="exact match, case-insensitive"),
    first_name: str | None = Query(None, alias="firstName", max_length=100, description="contains"),
    invited_source: str | None = Query(None, alias="invitedSource"),
    last_name: str | None = Query(None, alias="lastName", max_length=100, description="contains"),
    level: str | None = Query(None),
    limit: str | None = Query(None, description="1-100, default 20"),
) -> Any:
    page = autoscribe_users.list_users(
        ctx=ctx,
        session=session,
        can_create_reports=None,
        cursor=cursor,
        email=email,
        first_name=first_name,
        invited_source=invited_source,
        last_name=last_name,
        level=level,
        limit=limit,
    )
    return ViewerUserList(
        users=[viewer_schemas.as_viewer_user(u) for u in page.users],
        has_more=page.has_more,
        cursor=page.cursor,
    )


@router.post("/users", response_model=ViewerUserOut)
def viewer_invite_user(body: ViewerUserInvite, ctx: UsersWriter, session: SessionDep) -> Any:
    inviter = invitations.Inviter(actor=ctx.actor, source="api", api_key_id=ctx.api_key.id)
    user, _invitation = invitations.invite_user(session, ctx.clinic_id, service.invite(body), inviter)
    return viewer_schemas.user_out(user)


@router.post("/users/reactivate", response_model=Success)
def viewer_reactivate_user(body: UserIdBody, ctx: UsersWriter, session: SessionDep) -> Success:
    return autoscribe_users.reactivate_user(body, ctx, session)


@router.post("/users/revoke-access", response_model=Success)
def viewer_revoke_access(body: UserIdBody, ctx: UsersWriter, session: SessionDep) -> Success:
    return autoscribe_users.revoke_access(body, ctx, session)


@router.get("/users/{user_id}", response_model=ViewerUserOut)
def viewer_retrieve_user(user_id: str, ctx: UsersReader, session: SessionDep) -> Any:
    return viewer_schemas.user_out(users.get_user(session, ctx.clinic_id, user_id))


@router.patch("/users/{user_id}", response_model=ViewerUserOut)
def viewer_update_user(user_id: str, body: ViewerProfileUpdate, ctx: UsersWriter, session: SessionDep) -> Any:
    user = users.get_user(session, ctx.clinic_id, user_id)
    return viewer_schemas.user_out(
        users.update_user(session, user, service.profile_update(body), actor=ctx.actor)
    )
