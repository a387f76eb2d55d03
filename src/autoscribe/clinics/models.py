"""The clinic is the tenant: every other row carries its clinic_id."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, TimestampMixin


class Clinic(IdMixin, TimestampMixin, Base):
    __tablename__ = "clinics"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
