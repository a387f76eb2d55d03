"""The outbox (one row per event) and the attempt log (one row per HTTP request made for it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime, utcnow
from autoscribe.observability import requestid

# Event status: pending (waiting for its next attempt, or being attempted), succeeded, failed
# (retries exhausted, endpoint gone, or a synchronous call that failed).
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"

# How the event was sent: "async" via the dispatcher with retries, "sync" inline by call_sync,
# "test" inline by send_test. Only async events are retried and replayable.
KIND_ASYNC = "async"
KIND_SYNC = "sync"
KIND_TEST = "test"


class WebhookEvent(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        # The dispatcher's claim query: due, pending events, oldest first.
        Index(
            "ix_webhook_events_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # The Deliveries page: a clinic's events newest first, optionally one key's.
        Index("ix_webhook_events_clinic_id_id", "clinic_id", "id"),
        Index("ix_webhook_events_clinic_key_id", "clinic_id", "api_key_id", "id"),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id"), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default=KIND_ASYNC)
    # As written by the emitter; a registered refresher rebuilds what each attempt sends.
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=PENDING)
    attempt_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Position in the retry schedule; a replay starts the schedule again.
    schedule_index: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # Lease: a worker owns the event until locked_until; a dead worker's lease simply expires.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_token: Mapped[str | None] = mapped_column(String(32))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The API request that caused the event (directly, or through a task it queued), for the logs:
    # the dispatcher logs each attempt under it. Never sent to the receiver.
    request_id: Mapped[str | None] = mapped_column(String(64), default=requestid.get)


class WebhookAttempt(IdMixin, Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_event_id_id", "event_id", "id"),)

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False
    )
    attempt_number: Mapped[int] = mapped_column(Integer, nullable=False)
    # scheduled (dispatcher), replay (first attempt after a replay), sync, test
    trigger: Mapped[str] = mapped_column(String(10), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Without its query string: presigned or tokenised URLs must not end up in logs.
    url: Mapped[str | None] = mapped_column(String(2048))
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    succeeded: Mapped[bool] = mapped_column(nullable=False)
    # First 2 KB of the answer, decoded as UTF-8 (invalid bytes replaced).
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(64))


class DisabledEndpoint(Base):
    """An endpoint that answered 410 Gone: nothing more is sent to it until the key's endpoints
    are edited (or the endpoint is re-enabled), because 410 says it is gone for good."""

    __tablename__ = "webhook_disabled_endpoints"

    api_key_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    disabled_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
