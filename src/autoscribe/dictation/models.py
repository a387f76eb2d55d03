"""Scribe tables: clinic templates and macros, and dictation sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime


class ScribeTemplate(IdMixin, TimestampMixin, Base):
    """A clinic-defined report template; `content` is `Template.to_dict()`."""

    __tablename__ = "scribe_templates"
    __table_args__ = (
        Index("uq_scribe_templates_clinic_name", "clinic_id", func.lower("name"), unique=True),
        Index("ix_scribe_templates_clinic_id_id", "clinic_id", "id"),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    modality: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)


class ScribeMacro(IdMixin, TimestampMixin, Base):
    """Dictating "insert <name>" (or "macro <name>") expands to `text`."""

    __tablename__ = "scribe_macros"
    __table_args__ = (
        Index("uq_scribe_macros_clinic_name", "clinic_id", "name", unique=True),
        Index("ix_scribe_macros_clinic_id_id", "clinic_id", "id"),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)  # lower case, single spaces
    text: Mapped[str] = mapped_column(Text, nullable=False)


class Dictation(IdMixin, TimestampMixin, Base):
    """One recording for one study: audio arrives in chunks, partial text follows, a draft at the end."""

    __tablename__ = "dictations"
    __table_args__ = (
        Index("ix_dictations_clinic_study_id", "clinic_id", "study_id", "id"),
        Index("ix_dictations_signed_at", "signed_at"),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    study_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("studies.id"), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # recording → processing → done | failed
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="recording")
    template_id: Mapped[str | None] = mapped_column(String(100))
    content_type: Mapped[str | None] = mapped_column(String(100))
    audio_key: Mapped[str | None] = mapped_column(String(500))
    audio_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    partial_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # How many chunks the partial text covers (the client shows it is catching up).
    partial_chunks: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    final_text: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Audio is kept until the report is signed, then AUTOSCRIBE_AUDIO_RETENTION_DAYS.
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The report (or addendum) whose signing started the clock: the audio belongs to it.
    report_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("reports.id"), index=True)
    audio_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
