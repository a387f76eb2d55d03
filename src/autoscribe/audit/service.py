"""Writing to the audit log. Rows are only ever inserted, never updated or deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autoscribe.audit.models import AuditEvent
from autoscribe.pagination import Page, paginate


@dataclass(frozen=True)
class Actor:
    type: str  # "user" | "api_key" | "system"
    id: str | None = None
    address: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


def record(
    session: Session,
    *,
    clinic_id: uuid.UUID | None,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the caller's transaction (committed with the change it describes)."""
    session.add(
        AuditEvent(
            clinic_id=clinic_id,
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            address=actor.address,
            details=details,
        )
    )


def list_events(
    session: Session,
    clinic_id: uuid.UUID,
    *,
    action_prefix: str | None = None,
    actor_id: str | None = None,
    target_id: str | None = None,
    actor_type: str | None = None,
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditEvent]:
    """A clinic's audit log, newest first (for the dashboard's audit view). `action_prefix`
    "auth." gives sign-ins and sign-outs, "invitation." invitations, and so on; an action without
    a trailing dot ("study.created") matches exactly. Time range: [occurred_from, occurred_before)."""
    stmt = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if action_prefix:
        if action_prefix.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action_prefix)
    if actor_type:
        stmt = stmt.where(AuditEvent.actor_type == actor_type)
    if occurred_from is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= occurred_from)
    if occurred_before is not None:
        stmt = stmt.where(AuditEvent.occurred_at < occurred_before)
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if target_id:
        stmt = stmt.where(AuditEvent.target_id == target_id)
    return paginate(session, stmt, AuditEvent.id, cursor=cursor, limit=limit)
