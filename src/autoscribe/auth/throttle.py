"""Failed sign-in throttling, per account and per client address, kept in the database so that
every API process enforces the same limits.

Within a sliding window (AUTOSCRIBE_LOGIN_WINDOW_MINUTES) an account accepts at most
AUTOSCRIBE_LOGIN_MAX_FAILURES_PER_ACCOUNT failures since its last successful sign-in, and an
address at most AUTOSCRIBE_LOGIN_MAX_FAILURES_PER_ADDRESS failures whatever the account. While
throttled, attempts are refused without checking the password (and are not counted, so waiting
always helps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from autoscribe.auth import crypto
from autoscribe.auth.models import LoginAttempt
from autoscribe.config import get_settings
from autoscribe.db import utcnow

# Rows older than this are of no use to any window: pruned as new ones are written.
RETENTION = timedelta(days=1)


def account_key(email: str) -> str:
    return crypto.hash_token("login-account:" + email.strip().lower())


@dataclass(frozen=True)
class Throttle:
    scope: str  # "account" | "address"
    retry_at: datetime


def _retry_at(times: list[datetime], limit: int, window: timedelta) -> datetime | None:
    if len(times) < limit:
        return None
    # Newest first: once the limit-th newest failure leaves the window, one more try is allowed.
    return times[limit - 1] + window


def check(session: Session, *, email: str, address: str) -> Throttle | None:
    settings = get_settings()
    now = utcnow()
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    key = account_key(email)
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.account_hash == key, LoginAttempt.succeeded.is_(True)
        )
    )
    account_since = max(since, last_success) if last_success else since
    limit = settings.login_max_failures_per_account
    account_failures = list(
        session.scalars(
            select(LoginAttempt.attempted_at)
            .where(
                LoginAttempt.account_hash == key,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.attempted_at > account_since,
            )
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(limit)
        )
    )
    retry = _retry_at(account_failures, limit, window)
    if retry is not None and retry > now:
        return Throttle("account", retry)
    limit = settings.login_max_failures_per_address
    address_failures = list(
        session.scalars(
            select(LoginAttempt.attempted_at)
            .where(
                LoginAttempt.address == address,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.attempted_at > since,
            )
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(limit)
        )
    )
    retry = _retry_at(address_failures, limit, window)
    if retry is not None and retry > now:
        return Throttle("address", retry)
    return None


def note(session: Session, *, email: str, address: str, succeeded: bool) -> None:
    """Record an attempt in the caller's transaction."""
    now = utcnow()
    keep = max(RETENTION, timedelta(minutes=get_settings().login_window_minutes))
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - keep))
    session.add(
        LoginAttempt(
            account_hash=account_key(email), address=address[:64], attempted_at=now, succeeded=succeeded
        )
    )
