"""Archive reports attached to external studies: signed elsewhere, imported as priors."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, TimestampMixin


class ExternalReport(IdMixin, TimestampMixin, Base):
    __tablename__ = "external_reports"
    __table_args__ = (Index("ix_external_reports_clinic_id_id", "clinic_id", "id"),)

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    # One archive report per external study.
    study_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("studies.id"), nullable=False, unique=True)
    # Shown as-is; overwritten by later report creates that send them.
    reader_name: Mapped[str | None] = mapped_column(String(256))
    signed_at: Mapped[str | None] = mapped_column(String(256))
    # Write-once.
    report_text: Mapped[str | None] = mapped_column(Text)
    file_key: Mapped[str | None] = mapped_column(String(512))
    file_name: Mapped[str | None] = mapped_column(String(256))
    file_content_type: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column(Integer)
