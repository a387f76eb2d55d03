"""The task table: one row per unit of background work (transcription, PDF rendering, ...)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Task(IdMixin, TimestampMixin, Base):
    """Claimed atomically by one runner at a time, under a lease that expires if it dies."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_queue_status_run_after", "queue", "status", "run_after"),
        Index("ix_tasks_dedupe_key", "dedupe_key"),
    )

    clinic_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clinics.id"))
    queue: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    # At most one queued task per dedupe key (e.g. one pending partial transcription per dictation).
    dedupe_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
