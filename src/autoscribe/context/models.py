"""What the integrator's EHR said about a study when its report was first started.

One row per study: inserting it is the claim that the event is being sent (so that it is sent
once per study, whichever process starts the report first), and it then holds the answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, UTCDateTime, utcnow

REQUESTED = "requested"  # claimed, the call is under way (or its process died)
RECEIVED = "received"  # the integrator answered; its answer is below
FAILED = "failed"  # error, timeout or invalid answer: treated as an empty answer


class ClinicalContext(IdMixin, Base):
    __tablename__ = "clinical_contexts"
    __table_args__ = (Index("ix_clinical_contexts_clinic_id", "clinic_id"),)

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    study_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("studies.id"), nullable=False, unique=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    event_id: Mapped[str | None] = mapped_column(String(40))  # whe_..., as in the webhook log
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clinical_indication: Mapped[str | None] = mapped_column(Text)
    technologist_technique: Mapped[str | None] = mapped_column(Text)
    technologist_notes: Mapped[list[str] | None] = mapped_column(JSONType)
    # [{reportText, externalStudyId?, modality?, studyDate?, studyDescription?}]
    prior_reports: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    # Inline ones: {fileName, content: [text, ...]}; fetched ones: {fileName, url (redacted),
    # storageKey, contentType, size} or {fileName, url, error}.
    documents: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
