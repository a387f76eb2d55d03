"""API keys: how integrators authenticate; each carries its scopes and webhook endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow


class ApiKey(TimestampMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_clinic_id", "clinic_id"),)

    # The reference exposes apiKeyId as a UUIDv4.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    # SHA-256 of the key; the key itself is shown once and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    study_scope: Mapped[str] = mapped_column(String(10), nullable=False)  # self | all
    user_access: Mapped[str] = mapped_column(String(10), nullable=False)  # none | read | write
    express_access: Mapped[str] = mapped_column(String(10), nullable=False)  # none | read | write
    study_webhook_url: Mapped[str | None] = mapped_column(String(2048))
    report_webhook_url: Mapped[str | None] = mapped_column(String(2048))
    # Viewable any time, so it cannot be hashed: encrypted with the deployment's secret key.
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    is_viewer_enabled: Mapped[bool] = mapped_column(default=True, nullable=False)
    # clinical_context.enrichment_requested is sent when a study this key created is first read.
    is_clinical_context_enrichment_enabled: Mapped[bool] = mapped_column(default=False, nullable=False)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebSession(IdMixin, Base):
    """A browser session, kept in the database so that every API process sees it and revoking
    a user ends it at once. Only a SHA-256 of the cookie value is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    # None only for workspace sessions opened without a person: viewer-only links minted without
    # a userId, and ephemeral sessions.
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # "dashboard" (signed in with a password). Other kinds (the workspace's temporary access,
    # bound to one study and a mode) are scoped by study_id and mode and never open the dashboard.
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="dashboard")
    study_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("studies.id"))
    mode: Mapped[str | None] = mapped_column(String(20))
    # Workspace sessions: the temporary access link they were opened with (its API key, and for
    # ephemeral sessions the retrievalId, options and hanging protocol).
    access_link_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("access_links.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class LoginAttempt(IdMixin, Base):
    """Sign-in attempts, for throttling across processes. The account is kept as a SHA-256 of
    the lower-cased email typed, so mistyped addresses (or passwords typed into the email
    field) are not stored in clear."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_account_at", "account_hash", "attempted_at"),
        Index("ix_login_attempts_address_at", "address", "attempted_at"),
    )

    account_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class PasswordReset(IdMixin, Base):
    """A one-time password-reset link (SHA-256 of the token stored)."""

    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_user_id", "user_id"),)

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
