"""Browser sessions kept in the database (shared by every API process).

The cookie holds a random token; the table holds its SHA-256. A session ends at the first of:
sign-out, its absolute lifetime (AUTOSCRIBE_SESSION_MAX_HOURS), inactivity
(AUTOSCRIBE_SESSION_IDLE_MINUTES), the user's access being revoked, or a password reset.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from autoscribe.auth import crypto
from autoscribe.auth.models import WebSession
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.users.models import User

SESSION_COOKIE = "as_session"
DASHBOARD = "dashboard"
# Writing last_seen_at on every request would turn each page view into a write.
TOUCH_GRANULARITY = timedelta(seconds=60)
RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class NewSession:
    row: WebSession
    token: str  # goes into the cookie, never stored


def create_session(
    session: Session,
    user: User | None,
    *,
    kind: str = DASHBOARD,
    lifetime: timedelta | None = None,
    study_id: uuid.UUID | None = None,
    mode: str | None = None,
    address: str | None = None,
    user_agent: str | None = None,
    clinic_id: uuid.UUID | None = None,
    access_link_id: uuid.UUID | None = None,
) -> NewSession:
    """Add a session to the caller's transaction. `kind`, `study_id` and `mode` let other parts
    (the workspace's temporary access) open sessions scoped to one study; those may have no user
    (viewer-only links without a userId, ephemeral sessions), given `clinic_id` instead."""
    if user is None and (kind == DASHBOARD or clinic_id is None):
        raise ValueError("only workspace sessions may be opened without a user, and they need clinic_id")
    settings = get_settings()
    now = utcnow()
    # Old rows are of no further use (sign-ins and workspace opens stay in the audit log).
    if user is not None:
        session.execute(
            delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at < now - RETENTION)
        )
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=crypto.hash_token(token),
        clinic_id=user.clinic_id if user is not None else clinic_id,
        user_id=user.id if user is not None else None,
        kind=kind,
        study_id=study_id,
        mode=mode,
        access_link_id=access_link_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + (lifetime or timedelta(hours=settings.session_max_hours)),
        address=address,
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(row)
    session.flush()
    return NewSession(row, token)


def _still_live(session: Session, row: WebSession) -> bool:
    """Not ended, not past its absolute or idle expiry (ending it when it is)."""
    if row.ended_at is not None:
        return False
    now = utcnow()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        row.ended_at = now
        session.commit()  # ended for good, whatever the request then does (it is refused)
        return False
    return True


def _touch(session: Session, row: WebSession) -> None:
    now = utcnow()
    if now - row.last_seen_at >= TOUCH_GRANULARITY:
        row.last_seen_at = now
        session.commit()  # bookkeeping of the session, kept even when the request then fails


def resolve_session(
    session: Session, token: str | None, *, kind: str = DASHBOARD
) -> tuple[WebSession, User] | None:
    """The live session and its user for a cookie value, or None. Touches last_seen_at."""
    if not token or len(token) > 200:
        return None
    digest = crypto.hash_token(token)
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == digest)
    ).first()
    if found is None:
        return None
    row, user = found
    if not crypto.tokens_match(token, row.token_hash) or row.kind != kind or not _still_live(session, row):
        return None
    # Checked on every request so that revoking a user ends their sessions at once.
    if not user.is_active or not user.joined:
        return None
    _touch(session, row)
    return row, user


def resolve_scoped_session(
    session: Session, token: str | None, *, kind: str
) -> tuple[WebSession, User | None] | None:
    """Like resolve_session for sessions that may have no user (the workspace's). A session with
    a user stops working the moment that user's access is revoked; whether an invited user's
    invitation still counts is the caller's rule (users.service.standing)."""
    if kind == DASHBOARD:
        raise ValueError("dashboard sessions always have a user: use resolve_session")
    if not token or len(token) > 200:
        return None
    digest = crypto.hash_token(token)
    row = session.scalars(select(WebSession).where(WebSession.token_hash == digest)).first()
    if row is None or not crypto.tokens_match(token, row.token_hash) or row.kind != kind:
        return None
    if not _still_live(session, row):
        return None
    user = session.get(User, row.user_id) if row.user_id is not None else None
    if user is not None and not user.is_active:
        return None
    _touch(session, row)
    return row, user


def end_session(session: Session, row: WebSession) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()
        session.flush()


def end_user_sessions(session: Session, user_id: uuid.UUID) -> int:
    """End every open session of one user (revocation, password reset). Part of the caller's
    transaction."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
