"""Creating a clinic with its owner and first API key (the CLI's bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from autoscribe.auth.service import NewApiKey, create_api_key
from autoscribe.clinics.models import Clinic
from autoscribe.errors import Conflict, InvalidRequest
from autoscribe.users.models import User

# The owner `autoscribe bootstrap` creates is named after their role until they give their own
# name (Users, their page); the home page welcomes them to the clinic meanwhile (web.routes).
BOOTSTRAP_OWNER_NAME = ("Clinic", "Owner")


@dataclass(frozen=True)
class Bootstrapped:
    clinic: Clinic
    owner: User
    key: NewApiKey


def clinic_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Clinic)) or 0


def bootstrap_clinic(
    session: Session,
    *,
    clinic_name: str,
    owner_email: str,
    owner_password: str,
    owner_first_name: str = BOOTSTRAP_OWNER_NAME[0],
    owner_last_name: str = BOOTSTRAP_OWNER_NAME[1],
) -> Bootstrapped:
    clinic_name = clinic_name.strip()
    if not clinic_name or len(clinic_name) > 200:
        raise InvalidRequest("clinic name must be 1 to 200 characters", param="clinicName")
    email = owner_email.strip()
    if "@" not in email or len(email) > 320:
        raise InvalidRequest("owner email is not an email address", param="ownerEmail")
    if len(owner_password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"owner password must be at least {MIN_PASSWORD_LENGTH} characters", param="ownerPassword"
        )
    clinic = Clinic(name=clinic_name)
    session.add(clinic)
    session.flush()
    if session.scalar(
        select(User.id).where(User.clinic_id == clinic.id, func.lower(User.email) == email.lower())
    ):
        raise Conflict("owner email already used in this clinic", param="ownerEmail")
    owner = User(
        clinic_id=clinic.id,
        email=email,
        first_name=owner_first_name,
        last_name=owner_last_name,
        clinic_role="Administrative Director",
        level="owner",
        can_manage_studies=True,
        has_dashboard_access=True,
        invited_source="dashboard",
        password_hash=hash_password(owner_password),
    )
    session.add(owner)
    session.flush()
    actor = Actor.system()
    record(
        session,
        clinic_id=clinic.id,
        actor=actor,
        action="clinic.created",
        target_type="clinic",
        target_id=str(clinic.id),
    )
    key = create_api_key(
        session,
        clinic_id=clinic.id,
        description="First API key",
        study_scope="all",
        user_access="write",
        express_access="write",
        actor=actor,
        created_by_user_id=owner.id,
    )
    return Bootstrapped(clinic, owner, key)
