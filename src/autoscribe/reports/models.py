"""Reports: a study's original report and its addenda, each a versioned draft until signed.

A signed report (status "completed") never changes: the service refuses it and the database
refuses it too (triggers in the migration reject UPDATE and DELETE of completed rows).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime, utcnow


class Report(IdMixin, TimestampMixin, Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_study_id_id", "study_id", "id"),
        Index("ix_reports_clinic_id_id", "clinic_id", "id"),
        # At most one draft per study at a time (the original, or the one active addendum).
        Index(
            "uq_reports_one_draft_per_study",
            "study_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    study_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("studies.id"), nullable=False)
    # Addenda point at the original report they amend.
    parent_report_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("reports.id"))
    is_addendum: Mapped[bool] = mapped_column(default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="in_progress")
    # Optimistic concurrency: every save must name the version it was based on.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Structured sections (reports.schemas.ReportContent, camelCase as stored).
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    author_user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), nullable=False)

    # Frozen at signing.
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # The signer's name, suffixes and NPI as they were when signing (documents.model.Signature).
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    is_critical: Mapped[bool | None] = mapped_column()
    snapshot_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    plain_text: Mapped[str | None] = mapped_column(Text)
    # The pre-sign checks run on the signed text (reports.checks wire dicts: code, level,
    # message, section): what the radiologist signed through. None: signed before they existed.
    sign_checks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)

    @property
    def user_id(self) -> uuid.UUID:
        """The wire's userId: the signer once signed, the author before."""
        return self.signed_by_user_id or self.author_user_id


class ReportRevision(IdMixin, Base):
    """Every saved draft version, so that no text a radiologist saved is ever lost."""

    __tablename__ = "report_revisions"
    __table_args__ = (UniqueConstraint("report_id", "version"),)

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    report_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    saved_by_user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), nullable=False)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
