"""Writing to the audit log. Rows are only ever inserted, never updated or deleted.

Reads of patient data are audited too, one row per read whatever the door (API, dashboard,
workspace, download link): `record_read` for one study's data, `record_list` for a list call.
Their actions start with "read." (the workspace's own "workspace.opened" is a read as well,
see READ_ACTIONS); each names the actor, the study as target, the patient (`patient_key`, the
study's MRN or else its externalPatientId, with both identifiers in the details), the time and
the client address.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from autoscribe.audit.models import AuditEvent
from autoscribe.db import has_writes
from autoscribe.ids import Prefix, brand
from autoscribe.pagination import Page, paginate

# What the audit log shows as "reads of patient data": every "read." action, and the workspace
# being opened (by a link, or by a radiologist from the dashboard).
READ_PREFIX = "read."
READ_ACTIONS = (READ_PREFIX, "workspace.opened")


@dataclass(frozen=True)
class Actor:
    type: str  # "user" | "api_key" | "link" | "system"
    id: str | None = None
    address: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @property
    def ref(self) -> str:
        """ "api_key:<uuid>", "user:usr_...": who, without the address (e.g. whom a link is for)."""
        return f"{self.type}:{self.id}" if self.id else self.type

    @classmethod
    def from_ref(cls, ref: str, address: str | None = None) -> Actor | None:
        """The actor a `ref` names (None unless it names a user or an API key)."""
        kind, _, ident = ref.partition(":")
        if kind in ("user", "api_key") and ident and len(ident) <= 64 and ident.isprintable():
            return cls(kind, ident, address)
        return None


class PatientRecord(Protocol):
    """What the audit log needs of a study (autoscribe.studies.models.Study)."""

    id: uuid.UUID
    clinic_id: uuid.UUID
    report_metadata: dict[str, Any]
    external_patient_id: str | None


def patient_of(study: PatientRecord) -> tuple[str | None, dict[str, str]]:
    """The study's patient as the audit log keeps it: the key the patient filter looks up (the
    MRN, else the externalPatientId) and the identifiers themselves (no names, no dates)."""
    mrn = (study.report_metadata or {}).get("mrn")
    mrn = mrn.strip() if isinstance(mrn, str) else None
    patient_id = (study.external_patient_id or "").strip() or None
    ids = {name: value for name, value in (("mrn", mrn), ("patientId", patient_id)) if value}
    return (mrn or patient_id or None), ids


def record(
    session: Session,
    *,
    clinic_id: uuid.UUID | None,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
    patient: PatientRecord | None = None,
) -> None:
    """Add an audit row to the caller's transaction (committed with the change it describes).
    `patient`: the study whose patient the event concerns (see patient_of)."""
    patient_key = None
    if patient is not None:
        patient_key, ids = patient_of(patient)
        details = {**ids, **(details or {})} or None
    session.add(
        AuditEvent(
            clinic_id=clinic_id,
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            address=actor.address,
            patient_key=patient_key,
            details=details,
        )
    )


def record_read(
    session: Session,
    actor: Actor,
    study: PatientRecord,
    action: str,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    """One read of one study's data (the study, its reports, a file of it): one row, committed
    at once (a read has nothing else to commit). Call it once the data is in hand, so that
    refused and failed reads leave no row."""
    only_reads = not has_writes(session)
    record(
        session,
        clinic_id=study.clinic_id,
        actor=actor,
        action=action,
        target_type="study",
        target_id=brand(Prefix.STUDY, study.id),
        details=details,
        patient=study,
    )
    commit_read(session, only_reads)


def record_read_of(
    session: Session,
    actor: Actor,
    clinic_id: uuid.UUID,
    action: str,
    *,
    target_type: str,
    target_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    """One read of something that is not a study (and names no patient), committed at once."""
    only_reads = not has_writes(session)
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )
    commit_read(session, only_reads)


def record_list(
    session: Session,
    actor: Actor,
    clinic_id: uuid.UUID,
    action: str,
    *,
    query: Mapping[str, str],
    count: int,
    study: PatientRecord | None = None,
) -> None:
    """One list call (not one row per item): what was asked (`query`, see list_query) and how
    many items were returned. A list limited to one study (`study`) names it as the target."""
    details: dict[str, Any] = {"query": list_query(query), "returned": count}
    if study is None:
        only_reads = not has_writes(session)
        record(session, clinic_id=clinic_id, actor=actor, action=action, details=details)
        commit_read(session, only_reads)
    else:
        record_read(session, actor, study, action, details=details)


def commit_read(session: Session, only_reads: bool = True) -> None:
    """Commit a read's audit row. `only_reads`: the transaction holds nothing else (reads change
    nothing; a caller with pending changes gets an ordinary commit).

    On PostgreSQL such a transaction does not wait for its WAL record to reach the disk
    (synchronous_commit off, for it alone): a read then costs about one insert instead of one
    insert plus a flush (~4 ms on the test machine, more than the read itself). A crash of the
    database server (not of the application) may lose the last fraction of a second of read
    rows (at most three wal_writer_delay, 600 ms by default); never a change, and nothing is
    ever half-written. Changes keep their synchronous commits."""
    if only_reads and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    session.commit()


def list_query(params: Mapping[str, str]) -> dict[str, str]:
    """A list's query parameters as its audit row keeps them: cursors are opaque and say only
    that a later page was asked for; long values are cut, NUL (which PostgreSQL's JSON cannot
    hold) is dropped."""
    kept: dict[str, str] = {}
    for name, value in list(params.items())[:20]:
        if value == "":
            continue
        kept[name[:40].replace("\x00", "")] = (
            "(next page)" if name == "cursor" else value[:200].replace("\x00", "")
        )
    return kept


def list_events(
    session: Session,
    clinic_id: uuid.UUID,
    *,
    action_prefix: str | Sequence[str] | None = None,
    actor_id: str | None = None,
    target_id: str | None = None,
    actor_type: str | None = None,
    patient: str | None = None,
    patient_studies: Sequence[str] = (),
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditEvent]:
    """A clinic's audit log, newest first (for the dashboard's audit view). `action_prefix`
    "auth." gives sign-ins and sign-outs, "invitation." invitations, and so on; an action without
    a trailing dot ("study.created") matches exactly; several (READ_ACTIONS) match any of them.
    `patient`: events recorded for that patient key, and events of `patient_studies` (stu_ ids,
    the studies that carry that patient identifier now). Time range: [occurred_from, occurred_before)."""
    stmt = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if action_prefix:
        prefixes = [action_prefix] if isinstance(action_prefix, str) else list(action_prefix)
        stmt = stmt.where(
            or_(
                *(
                    AuditEvent.action.startswith(p, autoescape=True)
                    if p.endswith(".")
                    else AuditEvent.action == p
                    for p in prefixes
                )
            )
        )
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
    if patient:
        if patient_studies:
            stmt = stmt.where(
                or_(AuditEvent.patient_key == patient, AuditEvent.target_id.in_(list(patient_studies)))
            )
        else:
            stmt = stmt.where(AuditEvent.patient_key == patient)
    return paginate(session, stmt, AuditEvent.id, cursor=cursor, limit=limit)
