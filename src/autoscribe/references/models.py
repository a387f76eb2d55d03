"""Clinical references: canonical pick-list values (facilities, referring providers, study
descriptions, procedures), clinic-wide or for one Express customer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from autoscribe.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime
from autoscribe.express.models import ExpressCustomer

CLINIC_WIDE = "clinic"


class ClinicalReference(IdMixin, TimestampMixin, Base):
    __tablename__ = "clinical_references"
    __table_args__ = (
        Index("ix_clinical_references_clinic_id_id", "clinic_id", "id"),
        # A name is unique per type and scope (clinic-wide, or one customer), case-insensitively.
        # Deleting a reference renames it, which frees the name (name_key follows the name).
        Index(
            "uq_clinical_references_name",
            "clinic_id",
            "type",
            "scope_key",
            "name_key",
            unique=True,
        ),
        # The integrator's id finds one live reference.
        Index(
            "uq_clinical_references_external_id",
            "clinic_id",
            "external_reference_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL AND external_reference_id IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND external_reference_id IS NOT NULL"),
        ),
    )

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(512), nullable=False)
    name_key: Mapped[str] = mapped_column(String(512), nullable=False)
    express_customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("express_customers.id"))
    # "clinic" or the customer's hex id: NULLs never collide in unique indexes, this does.
    scope_key: Mapped[str] = mapped_column(String(32), nullable=False, default=CLINIC_WIDE)
    external_reference_id: Mapped[str | None] = mapped_column(String(256))
    custom_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    express_customer: Mapped[ExpressCustomer | None] = relationship(lazy="joined")
