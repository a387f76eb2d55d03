"""Dashboard sign-in with email and password: throttling, audit, sessions, lastLoginAt.

One email may belong to accounts in several clinics; when the password opens more than one, the
caller asks which clinic and tries again with `clinic_id`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth import permissions as perms
from autoscribe.auth import throttle
from autoscribe.auth.models import WebSession
from autoscribe.auth.passwords import verify_password
from autoscribe.auth.sessions import NewSession, create_session, end_session
from autoscribe.clinics.models import Clinic
from autoscribe.db import utcnow
from autoscribe.ids import Prefix, brand
from autoscribe.users.models import User


@dataclass
class SignIn:
    # ok | bad_credentials | throttled | choose_clinic | revoked | no_dashboard
    outcome: str
    user: User | None = None
    new_session: NewSession | None = None
    throttle: throttle.Throttle | None = None
    clinics: list[tuple[str, str]] = field(default_factory=list)  # (clinic id, name)


def _failed(
    session: Session,
    *,
    reason: str,
    address: str,
    user: User | None = None,
    clinic_id: uuid.UUID | None = None,
) -> None:
    record(
        session,
        clinic_id=user.clinic_id if user else clinic_id,
        actor=Actor("user", brand(Prefix.USER, user.id) if user else None, address),
        action="auth.login_failed",
        target_type="user" if user else None,
        target_id=brand(Prefix.USER, user.id) if user else None,
        details={"reason": reason},
    )


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    address: str,
    clinic_id: str | None = None,
    user_agent: str | None = None,
) -> SignIn:
    email = email.strip()[:320]
    limited = throttle.check(session, email=email, address=address)
    if limited is not None:
        _failed(session, reason=f"throttled_{limited.scope}", address=address)
        return SignIn("throttled", throttle=limited)
    accounts = list(
        session.scalars(
            select(User)
            .where(
                func.lower(User.email) == email.lower(),
                User.joined.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(User.id)
        )
    )
    if clinic_id:
        accounts = [u for u in accounts if str(u.clinic_id) == clinic_id]
    if not accounts:
        verify_password(password, None)  # same time as a real check: unknown emails do not show
    matches = [u for u in accounts if verify_password(password, u.password_hash)]
    if not matches:
        throttle.note(session, email=email, address=address, succeeded=False)
        only = accounts[0] if len(accounts) == 1 else None
        _failed(session, reason="bad_password" if accounts else "unknown_account", address=address, user=only)
        return SignIn("bad_credentials")
    if len(matches) > 1:
        names = {
            c.id: c.name
            for c in session.scalars(select(Clinic).where(Clinic.id.in_([u.clinic_id for u in matches])))
        }
        return SignIn(
            "choose_clinic", clinics=[(str(u.clinic_id), names.get(u.clinic_id, "")) for u in matches]
        )
    user = matches[0]
    if not user.is_active:
        _failed(session, reason="access_revoked", address=address, user=user)
        return SignIn("revoked", user=user)
    if not perms.has_dashboard_access(user):
        _failed(session, reason="no_dashboard_access", address=address, user=user)
        return SignIn("no_dashboard", user=user)
    new = open_dashboard_session(session, user, address=address, user_agent=user_agent, how="password")
    return SignIn("ok", user=user, new_session=new)


def open_dashboard_session(
    session: Session, user: User, *, address: str, user_agent: str | None, how: str
) -> NewSession:
    """Sign a user in (after a password check, or on accepting an invitation): session,
    lastLoginAt, throttle reset, audit. Commits."""
    new = create_session(session, user, address=address, user_agent=user_agent)
    user.last_login_at = utcnow()
    throttle.note(session, email=user.email, address=address, succeeded=True)
    record(
        session,
        clinic_id=user.clinic_id,
        actor=Actor("user", brand(Prefix.USER, user.id), address),
        action="auth.login",
        target_type="user",
        target_id=brand(Prefix.USER, user.id),
        details={"method": how},
    )
    return new


def sign_out(session: Session, row: WebSession, user: User, *, address: str | None) -> None:
    end_session(session, row)
    record(
        session,
        clinic_id=user.clinic_id,
        actor=Actor("user", brand(Prefix.USER, user.id), address),
        action="auth.logout",
        target_type="user",
        target_id=brand(Prefix.USER, user.id),
    )
