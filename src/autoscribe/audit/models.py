"""Append-only audit log: who (user or API key) did what to which target, from where."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, UTCDateTime, utcnow


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_clinic_id_id", "clinic_id", "id"),
        # The audit log's filters (newest first within each): by patient, by target, by actor.
        # Reads of patient data make this table grow fast, so none of them scans the clinic.
        Index(
            "ix_audit_events_clinic_patient_id",
            "clinic_id",
            "patient_key",
            "id",
            sqlite_where=text("patient_key IS NOT NULL"),
            postgresql_where=text("patient_key IS NOT NULL"),
        ),
        Index("ix_audit_events_clinic_target_id", "clinic_id", "target_id", "id"),
        Index("ix_audit_events_clinic_actor_id", "clinic_id", "actor_id", "id"),
    )

    clinic_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clinics.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    actor_type: Mapped[str] = mapped_column(String(10), nullable=False)  # user | api_key | link | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    # The patient an event concerns, as the study named them when it was written (its MRN, else
    # the integrator's externalPatientId): what the audit log's patient filter looks up.
    patient_key: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
