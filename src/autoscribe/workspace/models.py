"""Temporary access links (reroute URLs and ephemeral-session URLs).

A link is a one-time token, stored as its SHA-256 only, bound to a clinic, a mode and the API key
that minted it, and to a user and a study (reroute URLs) or an integrator's retrievalId
(ephemeral sessions). Opening it once trades it for a workspace session cookie.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoscribe.db import Base, IdMixin, JSONType, UTCDateTime, utcnow

DICTATE = "dictate"  # reroute-url: viewer + report editor, for the assigned radiologist
VIEW = "view"  # viewer-only-reroute-url: images and the report, read-only
EPHEMERAL = "ephemeral"  # ephemeral-sessions: images of an integrator retrievalId, no study, no user
IMAGES = "images"  # the Viewer product's reroute-url: a Viewer study's images, no report, no user
MODES: tuple[str, ...] = (DICTATE, VIEW, EPHEMERAL, IMAGES)


class AccessLink(IdMixin, Base):
    __tablename__ = "access_links"
    __table_args__ = (
        Index("ix_access_links_clinic_id_id", "clinic_id", "id"),
        Index("ix_access_links_expires_at", "expires_at"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clinics.id"), nullable=False)
    mode: Mapped[str] = mapped_column(String(20), nullable=False)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id"), nullable=False)
    # The radiologist (dictate), the person named for audit (view, optional), none (ephemeral).
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    study_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("studies.id"))
    # Ephemeral sessions: the integrator's handle, its hanging protocol and options (echoed back).
    retrieval_id: Mapped[str | None] = mapped_column(String(512))
    hanging_protocol: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_address: Mapped[str | None] = mapped_column(String(64))
