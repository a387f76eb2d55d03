"""Invitations: inviting people, the one-time link (accept or decline), revoking, resending and
editing a pending invitation, and the invitations list.

Inviting creates (or, for someone who never joined, reuses) the User row at once: its usr_ id is
usable immediately. The Invitation row holds the link (hashed, auth.tokens), its status
(sent → accepted | rejected | revoked) and expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import permissions as perms
from autoscribe.auth import tokens
from autoscribe.auth.models import ApiKey
from autoscribe.auth.passwords import hash_password
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Unprocessable,
)
from autoscribe.ids import Prefix, brand, brand_opt, new_id, parse
from autoscribe.mail.messages import invitation_mail
from autoscribe.mail.tasks import queue_mail
from autoscribe.pagination import Page, paginate
from autoscribe.users.models import Invitation, User
from autoscribe.users.schemas import InvitationOut, ProfileUpdate, UserInvite, invitation_out
from autoscribe.users.service import (
    apply_profile_update,
    check_new_password,
    clinic_name,
    get_user,
    standing,
)

# ---- lookups -------------------------------------------------------------------------------------


def get_invitation(
    session: Session, clinic_id: uuid.UUID, invitation_id: str, param: str = "invitationId"
) -> Invitation:
    invitation = session.get(Invitation, parse(Prefix.INVITATION, invitation_id, param))
    if invitation is None or invitation.clinic_id != clinic_id:
        raise NotFound(f"No invitation {invitation_id} in this clinic", param=param)
    return invitation


def latest_invitation(session: Session, user: User) -> Invitation | None:
    return session.scalars(
        select(Invitation).where(Invitation.user_id == user.id).order_by(Invitation.id.desc()).limit(1)
    ).first()


def invitation_by_token(session: Session, token: str | None) -> tuple[Invitation, User] | None:
    invitation = tokens.find(session, Invitation, token)
    if invitation is None:
        return None
    user = session.get(User, invitation.user_id)
    assert user is not None  # user_id is a non-null foreign key
    return invitation, user


# ---- on the wire ---------------------------------------------------------------------------------


def inviter_ids(session: Session, invitations: list[Invitation]) -> dict[uuid.UUID, str]:
    """inviterId of each invitation (the SDK types it as a usr_ string, never null): the person
    who sent it from the dashboard; for an invitation sent through the API, the person
    answerable for that API key: the user who created the key in API Config, else (keys made
    with the CLI) the clinic's owner. invitedByApiKeyId names the key itself. Two queries at
    most, whatever the number of invitations."""
    out = {inv.id: brand(Prefix.USER, inv.inviter_user_id) for inv in invitations if inv.inviter_user_id}
    rest = [inv for inv in invitations if inv.id not in out]
    if not rest:
        return out
    key_ids = {inv.invited_by_api_key_id for inv in rest if inv.invited_by_api_key_id}
    creators: dict[uuid.UUID, uuid.UUID] = {}
    if key_ids:
        creators.update(
            session.execute(
                select(ApiKey.id, User.id)
                .join(User, User.id == ApiKey.created_by_user_id)
                .where(ApiKey.id.in_(key_ids), User.clinic_id == ApiKey.clinic_id)
            )
            .tuples()
            .all()
        )
    by_key = {
        inv.id: creators[inv.invited_by_api_key_id] for inv in rest if inv.invited_by_api_key_id in creators
    }
    clinics = {inv.clinic_id for inv in rest if inv.id not in by_key}
    owners: dict[uuid.UUID, uuid.UUID] = {}
    if clinics:
        for clinic_id, owner_id in session.execute(
            select(User.clinic_id, User.id)
            .where(User.clinic_id.in_(clinics), User.level == "owner")
            .order_by(User.id.desc())
        ).tuples():
            owners[clinic_id] = owner_id  # the oldest owner wins (ids are time-ordered)
    for inv in rest:
        # Every clinic has an owner (bootstrap makes one; the API cannot change it).
        out[inv.id] = brand_opt(Prefix.USER, by_key.get(inv.id) or owners.get(inv.clinic_id)) or ""
    return out


def invited_people(session: Session, invitations: list[Invitation]) -> dict[uuid.UUID, User]:
    """The invited user of each invitation, by id, in one query."""
    ids = {inv.user_id for inv in invitations}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def invitations_out(session: Session, invitations: list[Invitation]) -> list[InvitationOut]:
    """Invitations on the wire (schemas.invitation_out), with what they need loaded in a few
    queries whatever their number."""
    users = invited_people(session, invitations)
    inviters = inviter_ids(session, invitations)
    return [invitation_out(inv, users[inv.user_id], inviters[inv.id]) for inv in invitations]


# ---- inviting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inviter:
    """Who sends an invitation: an API key (source "api") or a dashboard user (source "dashboard")."""

    actor: Actor
    source: str
    api_key_id: uuid.UUID | None = None
    user: User | None = None


# The invitation's email, a task on the mail queue (declared in users/tasks.py).
INVITATION_MAIL = "mail.invitation"


def invitation_link(token: str) -> str:
    return f"{get_settings().public_url_base}/invitations/accept?token={token}"


def _expiry(now: datetime) -> datetime | None:
    hours = get_settings().invitation_ttl_hours
    return now + timedelta(hours=hours) if hours > 0 else None


def _queue_invitation_email(
    session: Session, invitation: Invitation, user: User, inviter: Inviter, token: str
) -> None:
    mail = invitation_mail(
        to=invitation.email,
        first_name=user.first_name,
        clinic_name=clinic_name(session, invitation.clinic_id),
        inviter_name=inviter.user.display_name if inviter.user else None,
        link=invitation_link(token),
        expires_at=invitation.expires_at,
    )
    # users.tasks sends it only while this link still works (not revoked, replaced or expired).
    queue_mail(
        session,
        mail,
        clinic_id=invitation.clinic_id,
        kind=INVITATION_MAIL,
        ref={"tokenHash": invitation.token_hash},
    )


def invite_user(
    session: Session, clinic_id: uuid.UUID, body: UserInvite, inviter: Inviter
) -> tuple[User, Invitation]:
    """Create (or, for someone who never joined, reuse) the user and the invitation, and queue its
    email, in one commit: a worker sends the email and tries again until the mail server takes it
    (mail.tasks), so a mail server that is down delays the email but loses nothing."""
    if inviter.user is not None and not perms.can_manage_users(inviter.user):
        raise PermissionDenied("You are not allowed to invite users", param="email")
    level = perms.check_assignable_level(body.level)
    perms.check_profile(
        level=level,
        has_dashboard_access=body.has_dashboard_access,
        can_create_reports=body.can_create_reports,
        npi=body.npi_number,
    )
    existing = session.scalars(
        select(User).where(User.clinic_id == clinic_id, func.lower(User.email) == body.email.lower())
    ).first()
    if existing is not None:
        state = standing(session, existing)
        ref = brand(Prefix.USER, existing.id)
        if state == "active":
            raise Conflict(
                f"A user with email {body.email} already exists in this clinic ({ref})", param="email"
            )
        if state == "invited":
            raise Conflict(
                f"{body.email} already has a pending invitation ({ref}); update or revoke it instead",
                param="email",
            )
        if state == "revoked":
            raise Conflict(
                f"A user with email {body.email} exists with access revoked ({ref}); reactivate them instead",
                param="email",
            )
    now = utcnow()
    token, token_hash = tokens.new_token()
    user = existing
    if user is None:
        user = User(id=new_id(), clinic_id=clinic_id)
        session.add(user)
    user.email = body.email
    user.joined = False
    user.password_hash = None
    user.first_name = body.first_name
    user.last_name = body.last_name
    user.middle_name = body.middle_name
    user.suffix1 = body.suffix1
    user.suffix2 = body.suffix2
    user.phone_number = body.phone_number
    user.npi_number = body.npi_number
    user.clinic_role = body.clinic_role
    user.level = level
    user.can_create_reports = body.can_create_reports
    user.can_manage_studies = body.can_manage_studies
    user.has_dashboard_access = body.has_dashboard_access
    user.invited_source = inviter.source
    try:
        # The user row first: without relationship() the unit of work does not order the inserts.
        session.flush()
    except IntegrityError:
        # Two invitations for one address raced; the unique email index let one through.
        session.rollback()
        raise Conflict(
            f"A user with email {body.email} already exists in this clinic", param="email"
        ) from None
    invitation = Invitation(
        id=new_id(),
        clinic_id=clinic_id,
        user_id=user.id,
        email=body.email,
        status="sent",
        invited_source=inviter.source,
        inviter_user_id=inviter.user.id if inviter.user else None,
        invited_by_api_key_id=inviter.api_key_id,
        token_hash=token_hash,
        expires_at=_expiry(now),
        email_sent_at=now,
    )
    session.add(invitation)
    _queue_invitation_email(session, invitation, user, inviter, token)
    record(
        session,
        clinic_id=clinic_id,
        actor=inviter.actor,
        action="invitation.sent",
        target_type="invitation",
        target_id=brand(Prefix.INVITATION, invitation.id),
        details={"userId": brand(Prefix.USER, user.id), "email": body.email, "level": level},
    )
    return user, invitation


def resend_invitation(session: Session, invitation: Invitation, inviter: Inviter) -> Invitation:
    """A new link (the old one stops working) with a fresh expiry, for an invitation not yet
    accepted, rejected or revoked (expired ones included)."""
    ref = brand(Prefix.INVITATION, invitation.id)
    if invitation.status != "sent":
        raise Unprocessable(
            f"Invitation {ref} was {invitation.status}; invite the person again", param="invitationId"
        )
    user = session.get(User, invitation.user_id)
    assert user is not None
    if not user.is_active:
        raise Unprocessable(
            f"User {brand(Prefix.USER, user.id)} has had their access revoked", param="invitationId"
        )
    now = utcnow()
    token, token_hash = tokens.new_token()
    invitation.token_hash = token_hash
    invitation.expires_at = _expiry(now)
    invitation.email_sent_at = now
    _queue_invitation_email(session, invitation, user, inviter, token)
    record(
        session,
        clinic_id=invitation.clinic_id,
        actor=inviter.actor,
        action="invitation.resent",
        target_type="invitation",
        target_id=ref,
    )
    return invitation


# ---- a pending invitation ------------------------------------------------------------------------


def _ensure_pending(invitation: Invitation, verb: str) -> None:
    ref = brand(Prefix.INVITATION, invitation.id)
    if invitation.status != "sent":
        raise Unprocessable(
            f"Invitation {ref} was {invitation.status} and can no longer be {verb}", param="invitationId"
        )
    if invitation.is_expired(utcnow()):
        raise Unprocessable(
            f"Invitation {ref} has expired and can no longer be {verb}; send a new one", param="invitationId"
        )


def update_invitation(session: Session, invitation: Invitation, body: ProfileUpdate, *, actor: Actor) -> User:
    """Edit a pending invitation: the invited user's profile and permissions."""
    _ensure_pending(invitation, "changed")
    user = session.get(User, invitation.user_id)
    assert user is not None
    changed = apply_profile_update(user, body)
    if changed:
        invitation.updated_at = utcnow()
        record(
            session,
            clinic_id=invitation.clinic_id,
            actor=actor,
            action="invitation.updated",
            target_type="invitation",
            target_id=brand(Prefix.INVITATION, invitation.id),
            details={"changed": changed},
        )
    return user


def revoke_invitation(
    session: Session, clinic_id: uuid.UUID, *, invitation_id: str | None, user_id: str | None, actor: Actor
) -> Invitation:
    if invitation_id is None and user_id is None:
        raise InvalidRequest(
            "Give invitationId or userId (the user whose pending invitation to revoke)", param="invitationId"
        )
    if invitation_id is not None:
        invitation = get_invitation(session, clinic_id, invitation_id)
        if user_id is not None and get_user(session, clinic_id, user_id).id != invitation.user_id:
            raise InvalidRequest(
                f"Invitation {invitation_id} is not the invitation of user {user_id}", param="userId"
            )
    else:
        assert user_id is not None
        user = get_user(session, clinic_id, user_id)
        found = session.scalars(
            select(Invitation)
            .where(Invitation.user_id == user.id, Invitation.status == "sent")
            .order_by(Invitation.id.desc())
            .limit(1)
        ).first()
        if found is None:
            raise Unprocessable(f"User {user_id} has no pending invitation", param="userId")
        invitation = found
    ref = brand(Prefix.INVITATION, invitation.id)
    if invitation.status != "sent":
        raise Unprocessable(f"Invitation {ref} was already {invitation.status}", param="invitationId")
    now = utcnow()
    # Conditional update: an acceptance racing with the revocation wins or loses as a whole.
    result = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == "sent")
        .values(status="revoked", processed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise Unprocessable(f"Invitation {ref} was processed meanwhile", param="invitationId")
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="invitation.revoked",
        target_type="invitation",
        target_id=ref,
        details={"userId": brand(Prefix.USER, invitation.user_id)},
    )
    session.flush()
    session.refresh(invitation)
    return invitation


# ---- the list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationFilters:
    statuses: list[str] | None = None
    expired: str | None = None  # all | expired | not-expired
    start_date: date | None = None
    end_date: date | None = None
    user_id: uuid.UUID | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def list_invitations(
    session: Session, clinic_id: uuid.UUID, filters: InvitationFilters, *, cursor: str | None, limit: int
) -> Page[Invitation]:
    now = utcnow()
    stmt = select(Invitation).where(Invitation.clinic_id == clinic_id)
    if filters.statuses:
        stmt = stmt.where(Invitation.status.in_(filters.statuses))
    if filters.expired == "expired":
        stmt = stmt.where(Invitation.expires_at.is_not(None), Invitation.expires_at <= now)
    elif filters.expired == "not-expired":
        stmt = stmt.where(or_(Invitation.expires_at.is_(None), Invitation.expires_at > now))
    if filters.start_date is not None:
        stmt = stmt.where(Invitation.created_at >= _day_start(filters.start_date))
    if filters.end_date is not None:
        stmt = stmt.where(Invitation.created_at < _day_start(filters.end_date + timedelta(days=1)))
    if filters.user_id is not None:
        stmt = stmt.where(Invitation.user_id == filters.user_id)
    return paginate(session, stmt, Invitation.id, cursor=cursor, limit=limit)


# ---- the link: accept or decline -----------------------------------------------------------------


def why_unusable(invitation: Invitation, user: User) -> str | None:
    """None when the link can be used; otherwise one of accepted, rejected, revoked, expired,
    access_revoked (for the page that explains it)."""
    if invitation.status != "sent":
        return invitation.status
    if invitation.is_expired(utcnow()):
        return "expired"
    if not user.is_active:
        return "access_revoked"
    return None


def _close_invitation(session: Session, invitation: Invitation, status: str) -> bool:
    now = utcnow()
    result = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.status == "sent",
            or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
        )
        .values(status=status, processed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


class InvitationUnusable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def accept_invitation(
    session: Session, invitation: Invitation, user: User, *, password: str, confirm: str, address: str | None
) -> User:
    reason = why_unusable(invitation, user)
    if reason:
        raise InvitationUnusable(reason)
    check_new_password(password, confirm, email=user.email)
    password_hash = hash_password(password)  # slow on purpose: before any write
    if not _close_invitation(session, invitation, "accepted"):
        session.rollback()
        raise InvitationUnusable("accepted")
    user.password_hash = password_hash
    user.joined = True
    ref = brand(Prefix.USER, user.id)
    record(
        session,
        clinic_id=user.clinic_id,
        actor=Actor("user", ref, address),
        action="invitation.accepted",
        target_type="invitation",
        target_id=brand(Prefix.INVITATION, invitation.id),
    )
    return user


def reject_invitation(session: Session, invitation: Invitation, user: User, *, address: str | None) -> None:
    reason = why_unusable(invitation, user)
    if reason and reason != "access_revoked":
        raise InvitationUnusable(reason)
    if not _close_invitation(session, invitation, "rejected"):
        session.rollback()
        raise InvitationUnusable("accepted")
    record(
        session,
        clinic_id=user.clinic_id,
        actor=Actor("user", brand(Prefix.USER, user.id), address),
        action="invitation.rejected",
        target_type="invitation",
        target_id=brand(Prefix.INVITATION, invitation.id),
    )
