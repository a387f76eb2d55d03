"""/v1/autoScribe/users and /v1/autoScribe/users/invitations (reference sections 4.5 and 4.6).

The API key's user access gates every route (none: 403 everywhere, read: reads only), before the
body is validated.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from autoscribe.auth.context import SessionDep
from autoscribe.auth.permissions import UsersReader, UsersWriter
from autoscribe.errors import InvalidRequest
from autoscribe.ids import Prefix, brand, parse
from autoscribe.pagination import parse_bool, parse_choice, parse_choice_list, parse_limit
from autoscribe.schemas import Success
from autoscribe.users import invitations, schemas, service
from autoscribe.users.models import INVITATION_STATUSES, INVITED_SOURCES, LEVELS
from autoscribe.users.schemas import (
    InvitationList,
    InvitationOut,
    InvitationRevokeBody,
    ProfileUpdate,
    UserIdBody,
    UserInvite,
    UserList,
    UserOut,
)

router = APIRouter(prefix="/v1/autoScribe/users", tags=["users"])

EXPIRED_FILTERS = ("all", "expired", "not-expired")


def _parse_date(value: str | None, param: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{param} must be a date in the form YYYY-MM-DD", param=param) from None


# Invitations first: "/invitations" must not be taken for a {user_id}.


@router.get("/invitations", response_model=InvitationList)
def list_invitations(
    ctx: UsersReader,
    session: SessionDep,
    cursor: str | None = Query(None),
    end_date: str | None = Query(None, alias="endDate", description="YYYY-MM-DD, created on or before"),
    expired: str | None = Query(None, description="all | expired | not-expired"),
    limit: str | None = Query(None, description="1-100, default 20"),
    start_date: str | None = Query(None, alias="startDate", description="YYYY-MM-DD, created on or after"),
    status: str | None = Query(None, description="comma-separated: sent,accepted,rejected,revoked"),
    user_id: str | None = Query(None, alias="userId"),
) -> InvitationList:
    start = _parse_date(start_date, "startDate")
    end = _parse_date(end_date, "endDate")
    if start and end and start > end:
        raise InvalidRequest("startDate is after endDate", param="startDate")
    expired_choice = parse_choice(expired, EXPIRED_FILTERS, "expired")
    filters = invitations.InvitationFilters(
        statuses=parse_choice_list(status, INVITATION_STATUSES, "status"),
        expired=None if expired_choice == "all" else expired_choice,
        start_date=start,
        end_date=end,
        user_id=parse(Prefix.USER, user_id, "userId") if user_id else None,
    )
    page = invitations.list_invitations(
        session, ctx.clinic_id, filters, cursor=cursor, limit=parse_limit(limit)
    )
    return InvitationList(
        invitations=invitations.invitations_out(session, list(page.items)),
        has_more=page.has_more,
        cursor=page.cursor,
    )


@router.post("/invitations/revoke", response_model=Success)
def revoke_invitation(body: InvitationRevokeBody, ctx: UsersWriter, session: SessionDep) -> Success:
    invitation = invitations.revoke_invitation(
        session, ctx.clinic_id, invitation_id=body.invitation_id, user_id=body.user_id, actor=ctx.actor
    )
    return Success(message=f"Invitation {brand(Prefix.INVITATION, invitation.id)} revoked")


@router.get("/invitations/{invitation_id}", response_model=InvitationOut)
def retrieve_invitation(invitation_id: str, ctx: UsersReader, session: SessionDep) -> InvitationOut:
    invitation = invitations.get_invitation(session, ctx.clinic_id, invitation_id)
    return invitations.invitations_out(session, [invitation])[0]


@router.patch("/invitations/{invitation_id}", response_model=InvitationOut)
def update_invitation(
    invitation_id: str, body: ProfileUpdate, ctx: UsersWriter, session: SessionDep
) -> InvitationOut:
    invitation = invitations.get_invitation(session, ctx.clinic_id, invitation_id)
    invitations.update_invitation(session, invitation, body, actor=ctx.actor)
    return invitations.invitations_out(session, [invitation])[0]


@router.get("", response_model=UserList)
def list_users(
    ctx: UsersReader,
    session: SessionDep,
    can_create_reports: str | None = Query(None, alias="canCreateReports"),
    cursor: str | None = Query(None),
    email: str | None = Query(None, max_length=320, description="exact match, case-insensitive"),
    first_name: str | None = Query(None, alias="firstName", max_length=100, description="contains"),
    invited_source: str | None = Query(None, alias="invitedSource"),
    last_name: str | None = Query(None, alias="lastName", max_length=100, description="contains"),
    level: str | None = Query(None),
    limit: str | None = Query(None, description="1-100, default 20"),
) -> UserList:
    filters = service.UserFilters(
        can_create_reports=parse_bool(can_create_reports, "canCreateReports"),
        email=email or None,
        first_name=first_name or None,
        last_name=last_name or None,
        invited_source=parse_choice(invited_source, INVITED_SOURCES, "invitedSource"),
        level=parse_choice(level, LEVELS, "level"),
    )
    page = service.list_users(session, ctx.clinic_id, filters, cursor=cursor, limit=parse_limit(limit))
    return UserList(
        users=[schemas.user_out(u) for u in page.items], has_more=page.has_more, cursor=page.cursor
    )


@router.post("", response_model=UserOut)
def invite_user(body: UserInvite, ctx: UsersWriter, session: SessionDep) -> UserOut:
    inviter = invitations.Inviter(actor=ctx.actor, source="api", api_key_id=ctx.api_key.id)
    user, _invitation = invitations.invite_user(session, ctx.clinic_id, body, inviter)
    return schemas.user_out(user)


@router.post("/reactivate", response_model=Success)
def reactivate_user(body: UserIdBody, ctx: UsersWriter, session: SessionDep) -> Success:
    user = service.get_user(session, ctx.clinic_id, body.user_id)
    return Success(message=service.reactivate(session, user, actor=ctx.actor))


@router.post("/revoke-access", response_model=Success)
def revoke_access(body: UserIdBody, ctx: UsersWriter, session: SessionDep) -> Success:
    user = service.get_user(session, ctx.clinic_id, body.user_id)
    return Success(message=service.revoke_access(session, user, actor=ctx.actor))


@router.get("/{user_id}", response_model=UserOut)
def retrieve_user(user_id: str, ctx: UsersReader, session: SessionDep) -> UserOut:
    return schemas.user_out(service.get_user(session, ctx.clinic_id, user_id))


@router.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: str, body: ProfileUpdate, ctx: UsersWriter, session: SessionDep) -> UserOut:
    user = service.get_user(session, ctx.clinic_id, user_id)
    return schemas.user_out(service.update_user(session, user, body, actor=ctx.actor))
