"""Answers to the DICOM edge's synchronous events (reference 7.2)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EnrichmentAnswer(BaseModel):
    """`patient_study.enrichment_requested` (soft): any subset of the fields, `{}` allowed.

    Kept loose on purpose: each field is checked on its own when merged (dicom.service), so one
    bad field is dropped (and logged) rather than losing the whole answer."""

    model_config = ConfigDict(extra="allow")


ENRICHMENT_FIELDS = (
    "dateOfBirth",
    "expressCustomerId",
    "externalPatientId",
    "facilityName",
    "height",
    "mrn",
    "patientName",
    "procedure",
    "referringPhysicianName",
    "severity",
    "sex",
    "studyDate",
    "studyDescription",
    "studyTime",
    "weight",
)


class WorklistAnswer(BaseModel):
    """`modality_worklist.requested`: `authorized` and the scheduled exams (PascalCase DICOM
    keywords); `authorized: false` is answered to the modality as a failure."""

    model_config = ConfigDict(extra="ignore")

    authorized: bool
    items: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
