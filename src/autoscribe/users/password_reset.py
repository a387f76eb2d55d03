"""Password reset by email: a one-time link (SHA-256 stored), valid AUTOSCRIBE_PASSWORD_RESET_TTL_MINUTES.

Asking never reveals whether an account exists. A completed reset ends every open session of
the account and lifts the sign-in throttle on it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import throttle, tokens
from autoscribe.auth.models import PasswordReset
from autoscribe.auth.passwords import hash_password
from autoscribe.auth.sessions import end_user_sessions
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.ids import Prefix, brand
from autoscribe.mail.messages import password_reset_mail
from autoscribe.mail.tasks import queue_mail
from autoscribe.users.models import User
from autoscribe.users.service import check_new_password, clinic_name, find_users_by_email

# At most this many reset emails per account per window: the form cannot be used to flood an inbox.
MAX_REQUESTS = 3
REQUEST_WINDOW = timedelta(minutes=15)
RETENTION = timedelta(days=7)
# The reset's email, a task on the mail queue (declared in users/tasks.py).
RESET_MAIL = "mail.password_reset"


def reset_link(token: str) -> str:
    return f"{get_settings().public_url_base}/reset-password?token={token}"


def request_reset(session: Session, email: str, *, address: str | None) -> int:
    """Email a link to every active account with this address (each queued with its reset, in
    one commit: mail.tasks sends it); returns how many were queued."""
    now = utcnow()
    queued = 0
    ttl = timedelta(minutes=get_settings().password_reset_ttl_minutes)
    for user in find_users_by_email(session, email):
        if not (user.joined and user.is_active and user.password_hash):
            continue
        recent = session.scalar(
            select(func.count())
            .select_from(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - REQUEST_WINDOW)
        )
        if (recent or 0) >= MAX_REQUESTS:
            continue
        session.execute(
            delete(PasswordReset).where(
                PasswordReset.user_id == user.id, PasswordReset.expires_at < now - RETENTION
            )
        )
        token, token_hash = tokens.new_token()
        expires_at = now + ttl
        mail = password_reset_mail(
            to=user.email,
            first_name=user.first_name,
            clinic_name=clinic_name(session, user.clinic_id),
            link=reset_link(token),
            expires_at=expires_at,
        )
        # users.tasks sends it only while the link still works (not used, not expired).
        queue_mail(session, mail, clinic_id=user.clinic_id, kind=RESET_MAIL, ref={"tokenHash": token_hash})
        session.add(
            PasswordReset(
                clinic_id=user.clinic_id,
                user_id=user.id,
                token_hash=token_hash,
                created_at=now,
                expires_at=expires_at,
                address=address,
            )
        )
        record(
            session,
            clinic_id=user.clinic_id,
            actor=Actor("user", None, address),
            action="user.password_reset_requested",
            target_type="user",
            target_id=brand(Prefix.USER, user.id),
        )
        queued += 1
    return queued


def reset_by_token(session: Session, token: str | None) -> tuple[PasswordReset, User] | None:
    reset = tokens.find(session, PasswordReset, token)
    if reset is None:
        return None
    user = session.get(User, reset.user_id)
    assert user is not None  # user_id is a non-null foreign key
    return reset, user


def why_unusable(reset: PasswordReset, user: User) -> str | None:
    """None, or: used, expired, access_revoked."""
    if reset.used_at is not None:
        return "used"
    if reset.expires_at <= utcnow():
        return "expired"
    if not user.is_active:
        return "access_revoked"
    return None


class ResetUnusable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def complete_reset(
    session: Session, reset: PasswordReset, user: User, *, password: str, confirm: str, address: str | None
) -> None:
    reason = why_unusable(reset, user)
    if reason:
        raise ResetUnusable(reason)
    check_new_password(password, confirm, email=user.email)
    password_hash = hash_password(password)
    now = utcnow()
    result = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise ResetUnusable("used")
    # Other links sent before this one stop working too.
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    user.password_hash = password_hash
    ended = end_user_sessions(session, user.id)
    throttle.note(session, email=user.email, address=address or "unknown", succeeded=True)
    record(
        session,
        clinic_id=user.clinic_id,
        actor=Actor("user", brand(Prefix.USER, user.id), address),
        action="user.password_reset",
        target_type="user",
        target_id=brand(Prefix.USER, user.id),
        details={"sessionsEnded": ended},
    )
