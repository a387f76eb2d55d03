"""The archive's index: one row per DICOM instance received (C-STORE or STOW-RS).

The bytes live in the storage backend under `storage_key`, exactly as received (file meta and
data set in the transfer syntax the sender chose). The row carries what routing, seeding and
QIDO-RS need without reading them back: the UIDs, the transfer syntax, a few matching keys, and
the QIDO attributes of the instance as a DICOM JSON fragment.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, UTCDateTime, utcnow

SOURCE_DIMSE = "dimse"
SOURCE_STOW = "stow"


class DicomInstance(IdMixin, Base):
    __tablename__ = "dicom_instances"
    __table_args__ = (
        # A re-sent instance replaces the one stored, it is not stored twice.
        Index("uq_dicom_instances_clinic_sop", "clinic_id", "sop_instance_uid", unique=True),
        Index(
            "ix_dicom_instances_clinic_study_series", "clinic_id", "study_instance_uid", "series_instance_uid"
        ),
        Index("ix_dicom_instances_clinic_patient", "clinic_id", "patient_id"),
        Index("ix_dicom_instances_clinic_study_date", "clinic_id", "study_date"),
        Index("ix_dicom_instances_study_id", "study_id"),
        # Instances not yet part of a seeded study (dicom.service.finalize_idle_studies).
        Index(
            "ix_dicom_instances_pending",
            "clinic_id",
            "study_instance_uid",
            sqlite_where=text("seeded_at IS NULL"),
            postgresql_where=text("seeded_at IS NULL"),
        ),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    study_instance_uid: Mapped[str] = mapped_column(String(64), nullable=False)
    series_instance_uid: Mapped[str] = mapped_column(String(64), nullable=False)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), nullable=False)
    sop_class_uid: Mapped[str] = mapped_column(String(64), nullable=False)
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    storage_key: Mapped[str] = mapped_column(String(512), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    # How it came: "dimse" (C-STORE from calling_ae at source_address) or "stow" (STOW-RS by an API key).
    source: Mapped[str] = mapped_column(String(10), nullable=False, default=SOURCE_DIMSE)
    calling_ae: Mapped[str | None] = mapped_column(String(16))
    source_address: Mapped[str | None] = mapped_column(String(64))
    source_api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("api_keys.id"))

    # The AutoScribe study it belongs to (set when the study exists or is seeded), and when the
    # instance was last part of a seeding; NULL: received since, seeding due once the study is idle.
    study_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("studies.id"))
    seeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Matching keys (QIDO-RS filters, seeding) copied from the header.
    modality: Mapped[str | None] = mapped_column(String(16))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    patient_name: Mapped[str | None] = mapped_column(String(324))
    study_date: Mapped[str | None] = mapped_column(String(8))
    accession_number: Mapped[str | None] = mapped_column(String(16))
    series_number: Mapped[int | None] = mapped_column(Integer)
    instance_number: Mapped[int | None] = mapped_column(Integer)
    # Study, series and instance attributes for QIDO-RS and seeding, in the DICOM JSON model
    # ({"00100010": {"vr": "PN", "Value": [...]}, ...}); no pixel data, no bulk data.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
