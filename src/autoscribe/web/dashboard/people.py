"""Users and invitations (owners and admins: auth.permissions.can_manage_users): list and search,
invite with the NPI checked as it is typed, edit profile and permissions, revoke and reactivate
access, the invitations list with revoke and resend. Every rule is the users service's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from autoscribe.auth import permissions as perms
from autoscribe.auth.context import SessionDep
from autoscribe.db import utcnow
from autoscribe.errors import APIError, InvalidRequest
from autoscribe.ids import Prefix, brand
from autoscribe.users import invitations
from autoscribe.users import service as users
from autoscribe.users.invitations import InvitationFilters, Inviter
from autoscribe.users.models import ASSIGNABLE_LEVELS, INVITATION_STATUSES, Invitation, User
from autoscribe.users.npi import is_valid_npi
from autoscribe.users.schemas import CLINIC_ROLES, ProfileUpdate, UserInvite
from autoscribe.users.service import UserFilters
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.dashboard.common import (
    Form,
    UserManager,
    actor_of,
    checked,
    done,
    errors_from,
    not_found,
    query_url,
    text,
)
from autoscribe.web.deps import PageError, WebUser
from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
LEVEL_LABELS = {"owner": "Owner", "admin": "Admin", "member": "Member"}
STANDING_LABELS = {
    "active": "Active",
    "invited": "Invited",
    "revoked": "Access revoked",
    "lapsed": "Invitation ended",
}
PROFILE_FIELDS = (
    "firstName",
    "middleName",
    "lastName",
    "suffix1",
    "suffix2",
    "phoneNumber",
    "npiNumber",
    "clinicRole",
)
FLAGS = (
    ("canCreateReports", "Can create reports", "Dictates and signs reports; needs a valid NPI."),
    ("canManageStudies", "Can manage studies", "Creates, edits and assigns studies in the worklist."),
    ("hasDashboardAccess", "Dashboard access", "Signs in to the dashboard (admins need it)."),
)


def _user(session: SessionDep, manager: WebUser, user_id: str) -> User:
    try:
        return users.get_user(session, manager.user.clinic_id, user_id)
    except APIError:
        raise not_found("User") from None


def _common(**extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "active": "users",
        "level_labels": LEVEL_LABELS,
        "standing_labels": STANDING_LABELS,
        "roles": CLINIC_ROLES,
        "flags": FLAGS,
    }
    context.update(extra)
    return context


# ---- the list ------------------------------------------------------------------------------------------


@router.get("/users")
def users_page(request: Request, session: SessionDep, manager: UserManager) -> Response:
    qp = request.query_params
    q = qp.get("q", "")[:200].strip()
    level = qp.get("level", "")
    if level not in LEVEL_LABELS:
        level = ""
    cursor = qp.get("cursor", "")[:500] or None
    filters = UserFilters(search=q or None, level=level or None)
    try:
        page = users.list_users(session, manager.user.clinic_id, filters, cursor=cursor, limit=PAGE_SIZE)
    except InvalidRequest:
        cursor = None
        page = users.list_users(session, manager.user.clinic_id, filters, cursor=None, limit=PAGE_SIZE)
    rows = [(person, users.standing(session, person)) for person in page.items]
    return render(
        request,
        "dashboard/users.html",
        _common(
            rows=rows,
            q=q,
            level=level,
            tab="people",
            next_url=query_url("/users", {"q": q, "level": level, "cursor": page.cursor})
            if page.has_more
            else None,
            first_url=query_url("/users", {"q": q, "level": level}) if cursor else None,
            me=manager.user,
        ),
    )


# ---- NPI as you type ------------------------------------------------------------------------------------


@router.get("/users/npi-check")
def npi_check(request: Request, manager: UserManager, npiNumber: str = "") -> Response:
    """A small fragment under the NPI field, fetched by htmx while the NPI is typed."""
    npi = npiNumber.strip()[:64]
    if not npi:
        state, message = "", ""
    elif not (npi.isascii() and npi.isdigit()):
        state, message = "bad", "An NPI has digits only."
    elif len(npi) < 10:
        state, message = "", f"{len(npi)} of 10 digits."
    elif len(npi) > 10:
        state, message = "bad", "An NPI has exactly 10 digits."
    elif is_valid_npi(npi):
        state, message = "ok", "Valid NPI."
    else:
        state, message = "bad", "Not a valid NPI: the check digit does not match. Check for a typo."
    return render(request, "dashboard/_npi_feedback.html", {"state": state, "message": message})


# ---- invite ---------------------------------------------------------------------------------------------


def _profile_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name, 400) for name in (*PROFILE_FIELDS, "email", "level")}
    for name, _label, _help in FLAGS:
        values[name] = checked(form, name)
    return values


def _invite_page(
    request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "dashboard/user_invite.html",
        _common(values=values, errors=errors, levels=ASSIGNABLE_LEVELS),
        status_code=status,
    )


@router.get("/users/invite")
def invite_form(request: Request, manager: UserManager) -> Response:
    values = {"level": "member", "clinicRole": "Radiologist", "hasDashboardAccess": True}
    return _invite_page(request, values, {})


@router.post("/users/invite", dependencies=[CsrfProtected])
def invite(request: Request, session: SessionDep, manager: UserManager, form: Form) -> Response:
    values = _profile_values(form)
    body: dict[str, Any] = {k: v for k, v in values.items() if v not in ("", None)}
    for name, _label, _help in FLAGS:
        body[name] = bool(values[name])
    try:
        invite_body = UserInvite.model_validate(body)
        inviter = Inviter(actor=actor_of(request, manager), source="dashboard", user=manager.user)
        person, _invitation = invitations.invite_user(session, manager.user.clinic_id, invite_body, inviter)
    except (ValidationError, APIError) as exc:
        session.rollback()
        return _invite_page(request, values, errors_from(exc), status=400)
    return done(request, f"/users/{brand(Prefix.USER, person.id)}", _invited_message(person))


def _invited_message(person: User) -> str:
    """What the invitation made possible, and only that (assignment: users.assignable_radiologist)."""
    sent = f"Invitation sent to {person.email}."
    if perms.can_create_reports(person):
        return f"{sent} {person.first_name} can be assigned studies right away."
    return (
        f"{sent} {person.first_name} cannot be assigned studies: that needs “Can create reports” "
        "and a valid NPI."
    )


# ---- one user ---------------------------------------------------------------------------------------


def _values_of(person: User) -> dict[str, Any]:
    return {
        "firstName": person.first_name,
        "middleName": person.middle_name or "",
        "lastName": person.last_name,
        "suffix1": person.suffix1 or "",
        "suffix2": person.suffix2 or "",
        "phoneNumber": person.phone_number or "",
        "npiNumber": person.npi_number or "",
        "clinicRole": person.clinic_role,
        "level": person.level,
        "canCreateReports": person.can_create_reports,
        "canManageStudies": person.can_manage_studies,
        "hasDashboardAccess": person.has_dashboard_access,
        "email": person.email,
    }


def _user_page(
    request: Request,
    session: SessionDep,
    manager: WebUser,
    person: User,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    invitation = invitations.latest_invitation(session, person)
    return render(
        request,
        "dashboard/user.html",
        _common(
            person=person,
            ref=brand(Prefix.USER, person.id),
            state=users.standing(session, person),
            invitation=invitation,
            invitation_ref=brand(Prefix.INVITATION, invitation.id) if invitation else None,
            invitation_pending=invitation is not None and invitation.status == "sent",
            invitation_expired=invitation is not None and invitation.is_expired(utcnow()),
            values=values or _values_of(person),
            errors=errors or {},
            levels=ASSIGNABLE_LEVELS,
            can_edit=perms.can_edit_user(manager.user, person),
            can_change_access=perms.can_change_access(manager.user, person),
            is_owner=perms.is_owner(person),
        ),
        status_code=status,
    )


@router.get("/users/{user_id}")
def user_page(request: Request, session: SessionDep, manager: UserManager, user_id: str) -> Response:
    return _user_page(request, session, manager, _user(session, manager, user_id))


@router.post("/users/{user_id}", dependencies=[CsrfProtected])
def save_user(
    request: Request, session: SessionDep, manager: UserManager, user_id: str, form: Form
) -> Response:
    person = _user(session, manager, user_id)
    if not perms.can_edit_user(manager.user, person):
        raise PageError(
            403,
            "You cannot change this user",
            "Only the owner can change the owner's profile and permissions.",
        )
    values = _profile_values(form)
    values["email"] = person.email
    if perms.is_owner(person):
        values["level"] = person.level  # the owner stays the owner
    errors = {name: "Required" for name in ("firstName", "lastName") if not values[name]}
    if errors:
        return _user_page(request, session, manager, person, values=values, errors=errors, status=400)
    # Blank optional fields clear the value, as null does in the API.
    body: dict[str, Any] = {name: values[name] or None for name in PROFILE_FIELDS}
    body["clinicRole"] = values["clinicRole"] or person.clinic_role
    for name, _label, _help in FLAGS:
        body[name] = bool(values[name])
    if not perms.is_owner(person):
        body["level"] = values["level"] or person.level
    try:
        update = ProfileUpdate.model_validate(body)
        users.update_user(session, person, update, actor=actor_of(request, manager), by=manager.user)
    except (ValidationError, APIError) as exc:
        session.rollback()
        person = _user(session, manager, user_id)
        return _user_page(
            request, session, manager, person, values=values, errors=errors_from(exc), status=400
        )
    return done(
        request, f"/users/{brand(Prefix.USER, person.id)}", f"Changes to {person.display_name} saved."
    )


@router.get("/users/{user_id}/revoke-access")
def revoke_confirm(request: Request, session: SessionDep, manager: UserManager, user_id: str) -> Response:
    person = _user(session, manager, user_id)
    return render(
        request,
        "dashboard/user_access.html",
        _common(person=person, ref=brand(Prefix.USER, person.id), revoke=True),
    )


@router.post("/users/{user_id}/revoke-access", dependencies=[CsrfProtected])
def revoke_access(request: Request, session: SessionDep, manager: UserManager, user_id: str) -> Response:
    person = _user(session, manager, user_id)
    try:
        users.revoke_access(session, person, actor=actor_of(request, manager), by=manager.user)
    except APIError as exc:
        session.rollback()
        return done(request, f"/users/{brand(Prefix.USER, person.id)}", f"Access not revoked: {exc.message}.")
    return done(
        request,
        f"/users/{brand(Prefix.USER, person.id)}",
        f"Access revoked for {person.display_name}: signed out everywhere; they can no longer sign in.",
    )


@router.get("/users/{user_id}/reactivate")
def reactivate_confirm(request: Request, session: SessionDep, manager: UserManager, user_id: str) -> Response:
    person = _user(session, manager, user_id)
    return render(
        request,
        "dashboard/user_access.html",
        _common(person=person, ref=brand(Prefix.USER, person.id), revoke=False),
    )


@router.post("/users/{user_id}/reactivate", dependencies=[CsrfProtected])
def reactivate(request: Request, session: SessionDep, manager: UserManager, user_id: str) -> Response:
    person = _user(session, manager, user_id)
    try:
        users.reactivate(session, person, actor=actor_of(request, manager), by=manager.user)
    except APIError as exc:
        session.rollback()
        return done(
            request, f"/users/{brand(Prefix.USER, person.id)}", f"Access not restored: {exc.message}."
        )
    return done(
        request,
        f"/users/{brand(Prefix.USER, person.id)}",
        f"Access restored for {person.display_name}, with the permissions they had.",
    )


# ---- invitations ----------------------------------------------------------------------------------


@router.get("/invitations")
def invitations_page(request: Request, session: SessionDep, manager: UserManager) -> Response:
    qp = request.query_params
    status = qp.get("status", "")
    if status not in INVITATION_STATUSES:
        status = ""
    cursor = qp.get("cursor", "")[:500] or None
    filters = InvitationFilters(statuses=[status] if status else None)
    try:
        page = invitations.list_invitations(
            session, manager.user.clinic_id, filters, cursor=cursor, limit=PAGE_SIZE
        )
    except InvalidRequest:
        cursor = None
        page = invitations.list_invitations(
            session, manager.user.clinic_id, filters, cursor=None, limit=PAGE_SIZE
        )
    listed = list(page.items)
    people = invitations.invited_people(session, listed)
    now = utcnow()
    rows = [
        {
            "invitation": inv,
            "ref": brand(Prefix.INVITATION, inv.id),
            "person": people.get(inv.user_id),
            "expired": inv.status == "sent" and inv.is_expired(now),
            "pending": inv.is_pending(now),
        }
        for inv in listed
    ]
    return render(
        request,
        "dashboard/invitations.html",
        _common(
            rows=rows,
            status=status,
            statuses=INVITATION_STATUSES,
            tab="invitations",
            next_url=query_url("/invitations", {"status": status, "cursor": page.cursor})
            if page.has_more
            else None,
            first_url=query_url("/invitations", {"status": status}) if cursor else None,
        ),
    )


def _invitation(session: SessionDep, manager: WebUser, invitation_id: str) -> Invitation:
    try:
        return invitations.get_invitation(session, manager.user.clinic_id, invitation_id)
    except APIError:
        raise not_found("Invitation") from None


def _back(request: Request, fallback: str = "/invitations") -> str:
    target = request.query_params.get("back", "")
    return target if target in ("/invitations",) or target.startswith("/users/usr_") else fallback


@router.post("/invitations/{invitation_id}/revoke", dependencies=[CsrfProtected])
def revoke_invitation(
    request: Request, session: SessionDep, manager: UserManager, invitation_id: str
) -> Response:
    invitation = _invitation(session, manager, invitation_id)
    try:
        invitations.revoke_invitation(
            session,
            manager.user.clinic_id,
            invitation_id=brand(Prefix.INVITATION, invitation.id),
            user_id=None,
            actor=actor_of(request, manager),
        )
    except APIError as exc:
        session.rollback()
        return done(request, _back(request), f"Not revoked: {exc.message}.")
    return done(
        request, _back(request), f"Invitation to {invitation.email} revoked: its link no longer works."
    )


@router.post("/invitations/{invitation_id}/resend", dependencies=[CsrfProtected])
def resend_invitation(
    request: Request, session: SessionDep, manager: UserManager, invitation_id: str
) -> Response:
    invitation = _invitation(session, manager, invitation_id)
    inviter = Inviter(actor=actor_of(request, manager), source="dashboard", user=manager.user)
    try:
        invitations.resend_invitation(session, invitation, inviter)
    except APIError as exc:
        session.rollback()
        return done(request, _back(request), f"Not sent: {exc.message}.")
    return done(
        request,
        _back(request),
        f"A new invitation link was sent to {invitation.email}; the old link stops working.",
    )
