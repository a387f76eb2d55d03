"""Users: the rules of changing, revoking and reactivating people, who may be assigned studies,
and who is listed. Invitations (how people arrive) are users.invitations'.

An invitation creates the User row at once (no password, `joined` false) so that its usr_ id is
usable immediately and never changes. The profile and permissions live on the User row; the
Invitation row holds the one-time link, its status and expiry.

Who appears where:

- users.retrieve finds every user of the clinic by id, whatever their state (ids handed out in
  invitations or study assignments always resolve);
- users.list shows people who joined (active or with revoked access) and people whose invitation
  is still live (sent, not expired). People whose invitation was rejected, revoked, or expired
  unused never joined and are left out; inviting the same email again reuses their row and id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import permissions as perms
from autoscribe.auth.passwords import MIN_PASSWORD_LENGTH
from autoscribe.auth.sessions import end_user_sessions
from autoscribe.clinics.models import Clinic
from autoscribe.db import ulower, utcnow
from autoscribe.errors import InvalidRequest, NotFound, PermissionDenied, Unprocessable
from autoscribe.express.models import ExpressCustomerUser
from autoscribe.ids import Prefix, brand, parse
from autoscribe.pagination import Page, paginate
from autoscribe.users.models import Invitation, User
from autoscribe.users.schemas import ProfileUpdate

MAX_PASSWORD_LENGTH = 1024


# ---- lookups -------------------------------------------------------------------------------------


def get_user(session: Session, clinic_id: uuid.UUID, user_id: str, param: str = "userId") -> User:
    user = session.get(User, parse(Prefix.USER, user_id, param))
    if user is None or user.clinic_id != clinic_id:
        raise NotFound(f"No user {user_id} in this clinic", param=param)
    return user


def _live_invitation_clause(now: datetime) -> ColumnElement[bool]:
    return and_(
        Invitation.status == "sent",
        or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
    )


def live_invitation(session: Session, user: User) -> Invitation | None:
    """The user's invitation that can still be accepted, if any (at most one is live)."""
    return session.scalars(
        select(Invitation)
        .where(Invitation.user_id == user.id, _live_invitation_clause(utcnow()))
        .order_by(Invitation.id.desc())
        .limit(1)
    ).first()


def standing(session: Session, user: User) -> str:
    """'revoked', 'active' (joined), 'invited' (live invitation) or 'lapsed' (never joined and
    the invitation was rejected, revoked or expired)."""
    if not user.is_active:
        return "revoked"
    if user.joined:
        return "active"
    return "invited" if live_invitation(session, user) is not None else "lapsed"


def assignable_radiologist(
    session: Session,
    clinic_id: uuid.UUID,
    user_id: str,
    param: str,
    *,
    for_customer: uuid.UUID | None,
    reports: bool = True,
) -> User:
    """A study can be assigned to a user allowed to report, with a valid NPI, not revoked, who
    joined or whose invitation is still live (integrators invite radiologists through the API and
    send them studies before they ever sign in), and who would see it: `for_customer` is the
    study's Express customer (None: clinic-wide), and a user linked to other customers only sees
    theirs (the same rule as `assignable_radiologists` and studies.service.scope_for_user).
    With `reports` false (Viewer studies: images only, nothing to sign) the reporting rules
    (canCreateReports, NPI) do not apply."""
    user = get_user(session, clinic_id, user_id, param)
    state = standing(session, user)
    if state == "revoked":
        raise Unprocessable(f"User {user_id} has had their access revoked", param=param)
    if state == "lapsed":
        raise Unprocessable(
            f"User {user_id} never accepted their invitation and it is no longer valid "
            "(rejected, revoked or expired): invite them again",
            param=param,
        )
    if reports and not user.can_create_reports:
        raise Unprocessable(f"User {user_id} is not allowed to create reports", param=param)
    if reports and not perms.can_create_reports(user):
        raise Unprocessable(f"User {user_id} has no valid NPI number", param=param)
    linked = set(
        session.scalars(select(ExpressCustomerUser.customer_id).where(ExpressCustomerUser.user_id == user.id))
    )
    if linked and for_customer not in linked:
        raise Unprocessable(
            f"User {user_id} belongs to other Express customers and could not open this study", param=param
        )
    return user


_ANY_STUDY: object = object()


def assignable_radiologists(
    session: Session,
    clinic_id: uuid.UUID,
    *,
    for_customer: uuid.UUID | object | None = _ANY_STUDY,
    reports: bool = True,
) -> list[User]:
    """Everyone `assignable_radiologist` accepts, by name: what the dashboard offers when assigning.
    With `reports` false (a Viewer study) the reporting rules (canCreateReports, NPI) do not apply.

    With `for_customer` (the study's Express customer id, or None for a clinic-wide study) only
    those who would see the study: users linked to that customer, and platform users (linked to
    no customer). A user linked to other customers would be handed a study they cannot open.
    """
    now = utcnow()
    live = exists().where(Invitation.user_id == User.id, _live_invitation_clause(now))
    stmt = select(User).where(
        User.clinic_id == clinic_id,
        User.revoked_at.is_(None),
        or_(User.joined.is_(True), live),
    )
    if reports:
        stmt = stmt.where(User.can_create_reports.is_(True), User.npi_number.is_not(None))
    if for_customer is not _ANY_STUDY:
        linked = select(ExpressCustomerUser.user_id)
        visible: ColumnElement[bool] = User.id.not_in(linked)
        if isinstance(for_customer, uuid.UUID):
            visible = or_(visible, User.id.in_(linked.where(ExpressCustomerUser.customer_id == for_customer)))
        stmt = stmt.where(visible)
    users = session.scalars(stmt.order_by(User.last_name, User.first_name, User.id))
    return [user for user in users if not reports or perms.can_create_reports(user)]


def find_users_by_email(session: Session, email: str) -> list[User]:
    """Every account with this email, across clinics (sign-in and password reset)."""
    return list(
        session.scalars(select(User).where(func.lower(User.email) == email.strip().lower()).order_by(User.id))
    )


def clinic_name(session: Session, clinic_id: uuid.UUID) -> str:
    clinic = session.get(Clinic, clinic_id)
    return clinic.name if clinic else "your clinic"


# ---- changing people -----------------------------------------------------------------------------

_WIRE_NAMES = {
    "can_create_reports": "canCreateReports",
    "can_manage_studies": "canManageStudies",
    "clinic_role": "clinicRole",
    "first_name": "firstName",
    "has_dashboard_access": "hasDashboardAccess",
    "last_name": "lastName",
    "level": "level",
    "middle_name": "middleName",
    "npi_number": "npiNumber",
    "phone_number": "phoneNumber",
    "suffix1": "suffix1",
    "suffix2": "suffix2",
}


def apply_profile_update(user: User, body: ProfileUpdate) -> dict[str, object]:
    """Check the profile as it will be after the change, then apply it; returns what changed
    (wire names). Does not commit."""
    sent = body.provided()
    values: dict[str, object] = {name: getattr(body, name) for name in sent}
    if "level" in values:
        perms.check_assignable_level(str(values["level"]))
    if "clinic_role" in values and values["clinic_role"] is None:
        values["clinic_role"] = "Other"  # the role is required on a user; null means "no particular role"

    def after(name: str) -> object:
        return values[name] if name in values else getattr(user, name)

    perms.check_profile(
        level=str(after("level")),
        has_dashboard_access=bool(after("has_dashboard_access")),
        can_create_reports=bool(after("can_create_reports")),
        npi=after("npi_number"),  # type: ignore[arg-type]
    )
    changed: dict[str, object] = {}
    for name, value in values.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed[_WIRE_NAMES[name]] = value
    return changed


def _ensure_may(by: User | None, target: User, rule: Callable[[User, User], bool]) -> None:
    """`by` None: an API key acting (which may not touch the owner); otherwise a dashboard user,
    who needs the permission rule."""
    if by is None:
        perms.ensure_api_may_change(target)
    elif not rule(by, target):
        raise PermissionDenied("You are not allowed to change this user", param="userId")


def is_owner_change(user: User, body: ProfileUpdate) -> bool:
    """Ownership is not transferred by editing a profile: the owner's level stays 'owner'."""
    return perms.is_owner(user) and "level" in body.provided()


def update_user(
    session: Session, user: User, body: ProfileUpdate, *, actor: Actor, by: User | None = None
) -> User:
    _ensure_may(by, user, perms.can_edit_user)
    if by is not None and is_owner_change(user, body):
        raise PermissionDenied("The owner's level cannot be changed", param="level")
    changed = apply_profile_update(user, body)
    if changed:
        record(
            session,
            clinic_id=user.clinic_id,
            actor=actor,
            action="user.updated",
            target_type="user",
            target_id=brand(Prefix.USER, user.id),
            details={"changed": changed},
        )
    return user


def revoke_access(session: Session, user: User, *, actor: Actor, by: User | None = None) -> str:
    """Block sign-in, reporting and study access at once (open sessions end); keep all data."""
    _ensure_may(by, user, perms.can_change_access)
    ref = brand(Prefix.USER, user.id)
    if not user.is_active:
        return f"User {ref} already had their access revoked"
    user.revoked_at = utcnow()
    ended = end_user_sessions(session, user.id)
    record(
        session,
        clinic_id=user.clinic_id,
        actor=actor,
        action="user.access_revoked",
        target_type="user",
        target_id=ref,
        details={"sessionsEnded": ended},
    )
    return f"Access revoked for user {ref}"


def reactivate(session: Session, user: User, *, actor: Actor, by: User | None = None) -> str:
    """Restore access with the permissions the user had (revocation never touched them)."""
    _ensure_may(by, user, perms.can_change_access)
    ref = brand(Prefix.USER, user.id)
    if user.is_active:
        return f"User {ref} already had access"
    user.revoked_at = None
    record(
        session,
        clinic_id=user.clinic_id,
        actor=actor,
        action="user.access_reactivated",
        target_type="user",
        target_id=ref,
    )
    return f"Access restored for user {ref}"


# ---- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFilters:
    can_create_reports: bool | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    invited_source: str | None = None
    level: str | None = None
    # The dashboard's search box: part of the first name, last name or email.
    search: str | None = None


def list_users(
    session: Session, clinic_id: uuid.UUID, filters: UserFilters, *, cursor: str | None, limit: int
) -> Page[User]:
    now = utcnow()
    live = exists().where(Invitation.user_id == User.id, _live_invitation_clause(now))
    stmt = select(User).where(User.clinic_id == clinic_id, or_(User.joined.is_(True), live))
    if filters.can_create_reports is not None:
        stmt = stmt.where(User.can_create_reports.is_(filters.can_create_reports))
    if filters.email:
        stmt = stmt.where(func.lower(User.email) == filters.email.strip().lower())
    if filters.first_name:
        stmt = stmt.where(func.lower(User.first_name).contains(filters.first_name.lower(), autoescape=True))
    if filters.last_name:
        stmt = stmt.where(func.lower(User.last_name).contains(filters.last_name.lower(), autoescape=True))
    if filters.invited_source:
        stmt = stmt.where(User.invited_source == filters.invited_source)
    if filters.level:
        stmt = stmt.where(User.level == filters.level)
    if filters.search and filters.search.strip():
        needle = filters.search.strip().lower()
        stmt = stmt.where(
            or_(
                ulower(User.first_name).contains(needle, autoescape=True),
                ulower(User.last_name).contains(needle, autoescape=True),
                ulower(User.email).contains(needle, autoescape=True),
                ulower(User.first_name + " " + User.last_name).contains(needle, autoescape=True),
            )
        )
    return paginate(session, stmt, User.id, cursor=cursor, limit=limit)


# ---- passwords -----------------------------------------------------------------------------------------


def check_new_password(password: str, confirm: str, *, email: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters", param="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters", param="password"
        )
    if password.strip().lower() == email.strip().lower():
        raise InvalidRequest("Your password cannot be your email address", param="password")
    if password != confirm:
        raise InvalidRequest("The two passwords do not match", param="passwordConfirm")
