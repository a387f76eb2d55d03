"""Express customers: sub-tenants inside a clinic (an integrator's own customers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime, utcnow


class ExpressCustomer(IdMixin, TimestampMixin, Base):
    __tablename__ = "express_customers"
    __table_args__ = (Index("ix_express_customers_clinic_id_id", "clinic_id", "id"),)

    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)
    custom_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    created_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class ExpressCustomerUser(Base):
    __tablename__ = "express_customer_users"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("express_customers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
