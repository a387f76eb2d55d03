"""Users and invitations on the wire (reference sections 3.7, 3.8, 4.5, 4.6)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, field_validator

from autoscribe.ids import Prefix, brand
from autoscribe.schemas import ApiModel, ApiResponse, Timestamp
from autoscribe.users.models import Invitation, User

CLINIC_ROLES: tuple[str, ...] = (
    "Doctor", "Physician", "Surgeon", "Radiologist", "Cardiologist", "Neurologist", "Urologist",
    "Gynecologist", "Endocrinologist", "Oncologist", "Radiation Oncologist", "Hematologist",
    "Gastroenterologist", "Pulmonologist", "Nephrologist", "Rheumatologist", "Dermatologist",
    "Ophthalmologist", "Otolaryngologist", "Pediatrician", "Obstetrician", "Psychiatrist",
    "Anesthesiologist", "Emergency Medicine Physician", "Family Medicine Physician",
    "Internal Medicine Physician", "Pathologist", "Nuclear Medicine Physician",
    "Pain Management Specialist", "Infectious Disease Specialist", "Immunologist",
    "Physician Assistant", "Nurse Practitioner", "Certified Registered Nurse Anesthetist",
    "Psychologist", "Medical Assistant", "Scribe", "Registered Nurse", "Nurse Manager",
    "Patient Care Coordinator", "Imaging Technologist", "Laboratory Technician",
    "Medical Laboratory Scientist", "Pathologists' Assistant", "Phlebotomist", "Pharmacist",
    "Pharmacy Technician", "Physical Therapist", "Occupational Therapist",
    "Speech-Language Pathologist", "Respiratory Therapist", "Nutritionist", "Front Desk Operator",
    "Revenue Cycle Manager", "Administrative Director", "Administrative Assistant",
    "Legal Administrator", "IT Administrator", "IT Support", "Software Engineer", "Other",
)  # fmt: skip
# Clients built against the January-May 2026 docs may still send the one role since removed.
LEGACY_CLINIC_ROLES = {"PACS Administrator": "IT Administrator"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def check_clinic_role(value: str) -> str:
    value = LEGACY_CLINIC_ROLES.get(value, value)
    if value not in CLINIC_ROLES:
        raise ValueError(
            "must be one of the clinic roles of the API reference, e.g. 'Radiologist', "
            "'Imaging Technologist', 'Administrative Director' or 'Other'"
        )
    return value


def normalize_email(value: str) -> str:
    value = value.strip()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("must be an email address such as name@example.com")
    return value


def normalize_phone(value: str) -> str:
    """10-15 digits; spaces, dashes, dots, brackets and a leading + are accepted and dropped."""
    digits = _PHONE_SEPARATORS.sub("", value.strip()).removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 10 <= len(digits) <= 15:
        raise ValueError("must be a phone number of 10 to 15 digits")
    return digits


def _strip_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_strip_name)]
Suffix = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_strip_name)]
ClinicRoleIn = Annotated[str, AfterValidator(check_clinic_role)]
Email = Annotated[str, AfterValidator(normalize_email)]
Phone = Annotated[str, AfterValidator(normalize_phone)]
Npi = Annotated[str, Field(max_length=64)]

UserLevel = Literal["owner", "admin", "member"]
InvitedSource = Literal["dashboard", "api"]
InvitationStatus = Literal["sent", "accepted", "rejected", "revoked"]


class UserInvite(ApiModel):
    can_create_reports: StrictBool
    can_manage_studies: StrictBool
    clinic_role: ClinicRoleIn
    email: Email
    first_name: Name
    has_dashboard_access: StrictBool
    last_name: Name
    # Checked by the permission rules so that 'owner' gets its own explanation.
    level: Annotated[str, Field(max_length=20)]
    middle_name: Name | None = None
    npi_number: Npi | None = None
    phone_number: Phone | None = None
    suffix1: Suffix | None = None
    suffix2: Suffix | None = None


_NOT_NULL = (
    "can_create_reports",
    "can_manage_studies",
    "first_name",
    "has_dashboard_access",
    "last_name",
    "level",
)


class ProfileUpdate(ApiModel):
    """PATCH body of users.update and invitations.update: absent = unchanged, null = cleared."""

    can_create_reports: StrictBool | None = None
    can_manage_studies: StrictBool | None = None
    clinic_role: ClinicRoleIn | None = None
    first_name: Name | None = None
    has_dashboard_access: StrictBool | None = None
    last_name: Name | None = None
    level: Annotated[str, Field(max_length=20)] | None = None
    middle_name: Name | None = None
    npi_number: Npi | None = None
    phone_number: Phone | None = None
    suffix1: Suffix | None = None
    suffix2: Suffix | None = None

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value


class UserIdBody(ApiModel):
    user_id: Annotated[str, Field(max_length=64)]


class InvitationRevokeBody(ApiModel):
    invitation_id: Annotated[str, Field(max_length=64)] | None = None
    user_id: Annotated[str, Field(max_length=64)] | None = None


class UserOut(ApiResponse):
    can_create_reports: bool
    can_manage_studies: bool
    clinic_role: str
    created_at: Timestamp | None
    email: str
    first_name: str
    has_dashboard_access: bool
    invited_source: InvitedSource
    last_login_at: Timestamp | None
    last_name: str
    level: UserLevel
    user_id: str
    middle_name: str | None = None
    npi_number: str | None = None
    phone_number: str | None = None
    suffix1: str | None = None
    suffix2: str | None = None


class UserList(ApiResponse):
    users: list[UserOut]
    has_more: bool
    cursor: str | None = None


class InvitationOut(ApiResponse):
    can_create_reports: bool
    can_manage_studies: bool
    clinic_id: str
    clinic_role: str
    created_at: Timestamp | None
    email: str
    expiry: Timestamp | None
    first_name: str
    has_dashboard_access: bool
    invitation_id: str
    invited_source: InvitedSource
    # A usr_ id, never null (the SDK types it as a string): see users.invitations.inviter_ids.
    inviter_id: str
    last_name: str
    level: UserLevel
    status: InvitationStatus
    updated_at: Timestamp | None
    user_id: str
    invited_by_api_key_id: str | None = None
    middle_name: str | None = None
    npi_number: str | None = None
    phone_number: str | None = None
    suffix1: str | None = None
    suffix2: str | None = None


class InvitationList(ApiResponse):
    invitations: list[InvitationOut]
    has_more: bool
    cursor: str | None = None


# ---- from rows ------------------------------------------------------------------------------------


def user_out(user: User) -> UserOut:
    return UserOut(
        can_create_reports=user.can_create_reports,
        can_manage_studies=user.can_manage_studies,
        clinic_role=user.clinic_role,
        created_at=user.created_at,
        email=user.email,
        first_name=user.first_name,
        has_dashboard_access=user.has_dashboard_access,
        invited_source=user.invited_source,  # type: ignore[arg-type]
        last_login_at=user.last_login_at,
        last_name=user.last_name,
        level=user.level,  # type: ignore[arg-type]
        user_id=brand(Prefix.USER, user.id),
        middle_name=user.middle_name,
        npi_number=user.npi_number,
        phone_number=user.phone_number,
        suffix1=user.suffix1,
        suffix2=user.suffix2,
    )


def invitation_out(invitation: Invitation, user: User, inviter_id: str) -> InvitationOut:
    """Profile fields come from the invited user's row (the one source of truth); `inviter_id`
    from `users.invitations.inviter_ids`."""
    return InvitationOut(
        can_create_reports=user.can_create_reports,
        can_manage_studies=user.can_manage_studies,
        clinic_id=str(invitation.clinic_id),
        clinic_role=user.clinic_role,
        created_at=invitation.created_at,
        email=invitation.email,
        expiry=invitation.expires_at,
        first_name=user.first_name,
        has_dashboard_access=user.has_dashboard_access,
        invitation_id=brand(Prefix.INVITATION, invitation.id),
        invited_source=invitation.invited_source,  # type: ignore[arg-type]
        inviter_id=inviter_id,
        last_name=user.last_name,
        level=user.level,  # type: ignore[arg-type]
        status=invitation.status,  # type: ignore[arg-type]
        updated_at=invitation.updated_at,
        user_id=brand(Prefix.USER, user.id),
        invited_by_api_key_id=str(invitation.invited_by_api_key_id)
        if invitation.invited_by_api_key_id
        else None,
        middle_name=user.middle_name,
        npi_number=user.npi_number,
        phone_number=user.phone_number,
        suffix1=user.suffix1,
        suffix2=user.suffix2,
    )
