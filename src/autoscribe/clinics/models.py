"""The clinic is the tenant: every other row carries its clinic_id."""

from __future__ import annotations

import uuid

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, TimestampMixin


class Clinic(IdMixin, TimestampMixin, Base):
    __tablename__ = "clinics"
    # One DICOM listener serves every clinic and routes associations by called AE title.
    __table_args__ = (Index("uq_clinics_ae_title", "ae_title", unique=True),)

    name: Mapped[str] = mapped_column(String(200), nullable=False)

    # ---- DICOM edge (autoscribe.dicom) ----
    # The AE title modalities call to reach this clinic; None: the clinic takes no DICOM.
    ae_title: Mapped[str | None] = mapped_column(String(16))
    # The API key whose study webhook receives patient_study.enrichment_requested and
    # modality_worklist.requested, and which is recorded as the creator of received studies.
    # No foreign key (api_keys already points at clinics); checked by dicom.service.
    dicom_api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Optional allow-lists: calling AE titles, and addresses or networks (CIDR). None or []: any.
    dicom_allowed_calling_aes: Mapped[list[str] | None] = mapped_column(JSONType)
    dicom_allowed_addresses: Mapped[list[str] | None] = mapped_column(JSONType)
