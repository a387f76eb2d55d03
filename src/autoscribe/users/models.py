"""Users of a clinic: radiologists, schedulers, administrators."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Uuid, func, true
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, TimestampMixin, UTCDateTime

LEVELS: tuple[str, ...] = ("owner", "admin", "member")
ASSIGNABLE_LEVELS: tuple[str, ...] = ("admin", "member")
INVITED_SOURCES: tuple[str, ...] = ("dashboard", "api")
INVITATION_STATUSES: tuple[str, ...] = ("sent", "accepted", "rejected", "revoked")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Email is unique per clinic, case-insensitively.
        Index("uq_users_clinic_email", "clinic_id", func.lower("email"), unique=True),
        Index("ix_users_clinic_id_id", "clinic_id", "id"),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    middle_name: Mapped[str | None] = mapped_column(String(100))
    suffix1: Mapped[str | None] = mapped_column(String(50))
    suffix2: Mapped[str | None] = mapped_column(String(50))
    phone_number: Mapped[str | None] = mapped_column(String(15))
    npi_number: Mapped[str | None] = mapped_column(String(10))
    clinic_role: Mapped[str] = mapped_column(String(60), nullable=False, default="Other")
    level: Mapped[str] = mapped_column(String(10), nullable=False, default="member")
    can_create_reports: Mapped[bool] = mapped_column(default=False, nullable=False)
    can_manage_studies: Mapped[bool] = mapped_column(default=False, nullable=False)
    has_dashboard_access: Mapped[bool] = mapped_column(default=False, nullable=False)
    invited_source: Mapped[str] = mapped_column(String(10), nullable=False, default="dashboard")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Revoked users keep their data and permission flags; reactivation just clears this.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False from an invitation until it is accepted. An invited user's row exists from the
    # invitation on, so that its usr_ id can be used at once (e.g. to assign studies), but has no
    # password and cannot sign in until then. Rows made any other way (bootstrap) are joined.
    joined: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), nullable=False)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def display_name(self) -> str:
        parts = [self.first_name, self.middle_name, self.last_name]
        name = " ".join(p for p in parts if p)
        suffixes = ", ".join(s for s in (self.suffix1, self.suffix2) if s)
        return f"{name}, {suffixes}" if suffixes else name


class Invitation(IdMixin, TimestampMixin, Base):
    """One emailed invitation. The invited person's profile and permissions live on the User row
    (created with the invitation, so the usr_ id never changes); the invitation holds the link."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_clinic_id_id", "clinic_id", "id"),
        Index("ix_invitations_user_id", "user_id"),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), nullable=False)
    # The address the link was sent to (the user's email cannot change through the API).
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="sent")
    invited_source: Mapped[str] = mapped_column(String(10), nullable=False)
    inviter_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    invited_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("api_keys.id"))
    # SHA-256 of the one-time link token; the token itself is only ever in the email.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def is_pending(self, now: datetime) -> bool:
        """Still usable: sent, and neither expired nor processed."""
        return self.status == "sent" and not self.is_expired(now)
