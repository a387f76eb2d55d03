"""The audit log (owners and admins): who did what to which target, from where; filtered by
actor, kind of action, patient, study and date range, and exported as CSV with the same filters."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from autoscribe.audit import service as audit
from autoscribe.audit.models import AuditEvent
from autoscribe.auth import service as keys
from autoscribe.auth.context import SessionDep
from autoscribe.db import get_sessionmaker, utcnow
from autoscribe.errors import InvalidRequest
from autoscribe.express import service as express
from autoscribe.pagination import Page
from autoscribe.studies import service as studies
from autoscribe.users.models import User
from autoscribe.web.dashboard.common import (
    AuditViewer,
    actor_of,
    day_after,
    day_start,
    parse_day,
    query_url,
)
from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

BASE = "/audit-log"
EXPORT = BASE + "/export.csv"
PAGE_SIZE = 50
EXPORT_BATCH = 500

# Filter by kind of action (a prefix), or one action exactly; "read." stands for every read of
# patient data (audit.READ_ACTIONS: the "read." actions and the workspace being opened).
READS = audit.READ_PREFIX
ACTION_GROUPS = (
    (READS, "Reads of patient data"),
    ("auth.", "Sign-ins and sign-outs"),
    ("user.", "Users"),
    ("invitation.", "Invitations"),
    ("study.", "Studies"),
    ("report.", "Reports"),
    ("workspace.", "Workspace links"),
    ("api_key.", "API keys"),
    ("express_customer.", "Express customers"),
    ("clinical_reference.", "Clinical references"),
    ("webhook_event.", "Webhooks"),
    ("scribe_", "Dictation templates and macros"),
    ("clinic.", "Clinic settings"),
)
ACTION_LABELS = {
    "auth.login": "Signed in",
    "auth.login_failed": "Sign-in failed",
    "auth.logout": "Signed out",
    "clinic.created": "Clinic created",
    "user.updated": "User changed",
    "user.access_revoked": "Access revoked",
    "user.access_reactivated": "Access restored",
    "user.password_reset": "Password reset",
    "user.password_reset_requested": "Password reset requested",
    "invitation.sent": "Invitation sent",
    "invitation.resent": "Invitation sent again",
    "invitation.updated": "Invitation changed",
    "invitation.revoked": "Invitation revoked",
    "invitation.accepted": "Invitation accepted",
    "invitation.rejected": "Invitation declined",
    "study.created": "Study created",
    "study.updated": "Study changed",
    "study.assigned": "Study assigned",
    "study.cancelled": "Study cancelled",
    "study.uncancelled": "Study restored",
    "study.external_created": "External study imported",
    "study.external_deleted": "External study deleted",
    "study.external_report_added": "External report imported",
    "report.started": "Report started",
    "report.signed": "Report signed",
    "report.addendum_opened": "Addendum opened",
    "report.addendum_cancelled": "Addendum discarded",
    "workspace.link_created": "Workspace link created",
    "workspace.opened": "Study opened in the workspace",
    "workspace.key_image_saved": "Key image saved",
    "workspace.key_image_refused": "Key image refused by the integrator",
    "workspace.key_image_failed": "Key image not saved (error)",
    "api_key.created": "API key created",
    "api_key.endpoints_updated": "Webhook endpoints changed",
    "api_key.endpoints_reenabled": "Webhook endpoints re-enabled",
    "api_key.secret_viewed": "JWT secret viewed",
    "api_key.secret_rotated": "JWT secret rotated",
    "api_key.revoked": "API key revoked",
    "api_key.clinical_context_enabled": "Clinical-context enrichment enabled",
    "api_key.clinical_context_disabled": "Clinical-context enrichment disabled",
    "api_key.viewer_enabled": "Viewer API enabled",
    "api_key.viewer_disabled": "Viewer API disabled",
    "clinic.dicom_updated": "DICOM settings changed",
    "scribe_template.created": "Dictation template created",
    "scribe_template.updated": "Dictation template changed",
    "scribe_template.deleted": "Dictation template deleted",
    "scribe_macro.created": "Dictation macro created",
    "scribe_macro.updated": "Dictation macro changed",
    "scribe_macro.deleted": "Dictation macro deleted",
    "express_customer.created": "Express customer created",
    "express_customer.updated": "Express customer changed",
    "express_customer.deactivated": "Express customer deactivated",
    "express_customer.reactivated": "Express customer reactivated",
    "express_customer.user_added": "User linked to Express customer",
    "express_customer.user_removed": "User unlinked from Express customer",
    "clinical_reference.created": "Clinical reference created",
    "clinical_reference.updated": "Clinical reference changed",
    "clinical_reference.deleted": "Clinical reference deleted",
    "webhook_event.replayed": "Webhook replayed",
    "audit_log.exported": "Audit log exported",
    # Reads of patient data, whatever the door.
    "read.study": "Study viewed",
    "read.study_list": "Studies listed",
    "read.report_list": "Reports listed",
    "read.report_text": "Report text read",
    "read.report_pdf": "Report PDF requested",
    "read.external_report": "External report read",
    "read.external_report_list": "External reports listed",
    "read.clinical_reference": "Clinical reference read",
    "read.clinical_reference_list": "Clinical references listed",
    "read.file": "File downloaded",
    "read.workspace": "Workspace page viewed",
    "read.workspace_report": "Report viewed in the workspace",
    "read.dicom": "Images retrieved (DICOMweb)",
    "read.dicom_search": "Images searched (DICOMweb)",
}
TARGET_LINKS = {
    "study": "/worklist/studies/{}",
    "user": "/users/{}",
    "express_customer": "/express-customers/{}",
    "webhook_event": "/deliveries/{}",
}
STUDY_ID = re.compile(r"^stu_[0-9a-f]{32}$")


def _actor_filter(raw: str) -> tuple[str | None, str | None, bool]:
    """'user:usr_...', 'api_key:<uuid>', 'system', 'link' -> (actor_type, actor_id, understood)."""
    if not raw:
        return None, None, True
    if raw in ("system", "link"):
        return raw, None, True
    found = audit.Actor.from_ref(raw)
    if found is not None:
        return found.type, found.id, True
    return None, None, False


@dataclass
class Filters:
    """The audit log's filters as the query string gives them, once checked."""

    actor: str = ""
    action: str = ""
    patient: str = ""
    study: str = ""
    date_from: str = ""
    date_to: str = ""
    problems: list[str] = field(default_factory=list)
    _patient_studies: list[str] | None = None

    @property
    def params(self) -> dict[str, str]:
        return {
            "actor": self.actor,
            "action": self.action,
            "patient": self.patient,
            "study": self.study,
            "from": self.date_from,
            "to": self.date_to,
        }

    def load(
        self, session: Session, clinic_id: uuid.UUID, cursor: str | None, limit: int
    ) -> Page[AuditEvent]:
        actor_type, actor_id, _ = _actor_filter(self.actor)
        return audit.list_events(
            session,
            clinic_id,
            action_prefix=audit.READ_ACTIONS if self.action == READS else (self.action or None),
            actor_type=actor_type,
            actor_id=actor_id,
            target_id=self.study or None,
            patient=self.patient or None,
            patient_studies=self._studies_of_patient(session, clinic_id),
            occurred_from=day_start(parse_day(self.date_from)),
            occurred_before=day_after(parse_day(self.date_to)),
            cursor=cursor,
            limit=limit,
        )

    def _studies_of_patient(self, session: Session, clinic_id: uuid.UUID) -> list[str]:
        """The patient's studies as they are now: their other events (created, signed, ...),
        and reads recorded under another of the patient's identifiers (or before a correction)."""
        if not self.patient:
            return []
        if self._patient_studies is None:
            self._patient_studies = studies.studies_of_patient(session, clinic_id, self.patient)
        return self._patient_studies


def _read_filters(request: Request) -> Filters:
    qp = request.query_params
    found = Filters(
        actor=qp.get("actor", "")[:80],
        action=qp.get("action", "")[:64],
        patient=qp.get("patient", "").strip()[:256],
        study=qp.get("study", "").strip()[:64],
        date_from=qp.get("from", "")[:10],
        date_to=qp.get("to", "")[:10],
    )
    if not _actor_filter(found.actor)[2]:
        found.problems.append("The “Who” filter was not understood and is not applied.")
        found.actor = ""
    if found.action and not (found.action in dict(ACTION_GROUPS) or found.action in ACTION_LABELS):
        found.problems.append("The “What” filter was not understood and is not applied.")
        found.action = ""
    if not found.patient.isprintable():
        found.problems.append("The patient filter holds characters no identifier has; it is not applied.")
        found.patient = ""
    if found.study and not STUDY_ID.match(found.study):
        found.problems.append("The study is not a study id (stu_…); it is not applied.")
        found.study = ""
    start, end = parse_day(found.date_from), parse_day(found.date_to)
    if (found.date_from and not start) or (found.date_to and not end):
        found.problems.append("A date was not understood and is not applied.")
    return found


@dataclass
class Names:
    """Who is who in a clinic's audit rows (users, API keys, customers), for the page and the CSV."""

    people: list[User]
    api_keys: list[Any]
    users: dict[str, str]
    keys: dict[str, str]
    customers: dict[str, str]

    @classmethod
    def of(cls, session: Session, clinic_id: uuid.UUID) -> Names:
        people = list(
            session.scalars(
                select(User).where(User.clinic_id == clinic_id).order_by(User.last_name, User.first_name)
            )
        )
        api_keys = keys.list_api_keys(session, clinic_id)
        return cls(
            people,
            api_keys,
            {f"usr_{p.id.hex}": p.display_name for p in people},
            {str(k.id): k.description for k in api_keys},
            {f"cus_{c.id.hex}": c.name for c in express.customers_by_name(session, clinic_id)},
        )

    def actor(self, event: AuditEvent) -> str:
        if event.actor_type == "user":
            return self.users.get(event.actor_id or "", event.actor_id or "Someone not signed in")
        if event.actor_type == "api_key":
            return f"API key “{self.keys.get(event.actor_id or '', event.actor_id)}”"
        if event.actor_type == "link":
            return "Download link" + (f" ({_link_holder(event.actor_id)})" if event.actor_id else "")
        return "System" + (f" ({event.actor_id})" if event.actor_id else "")


def _link_holder(ref: str) -> str:
    return {"webhook:report.delivered": "report.delivered webhook"}.get(ref, ref)


@router.get(BASE)
def audit_page(request: Request, session: SessionDep, viewer: AuditViewer) -> Response:
    clinic_id = viewer.user.clinic_id
    filters = _read_filters(request)
    cursor = request.query_params.get("cursor", "")[:500] or None
    try:
        page = filters.load(session, clinic_id, cursor, PAGE_SIZE)
    except InvalidRequest:
        cursor = None
        page = filters.load(session, clinic_id, None, PAGE_SIZE)
    names = Names.of(session, clinic_id)
    params = filters.params
    return render(
        request,
        "dashboard/audit_log.html",
        {
            "active": "audit",
            "events": list(page.items),
            "people": names.people,
            "api_keys": names.api_keys,
            "user_names": names.users,
            "key_names": names.keys,
            "customer_names": names.customers,
            "actor_name": names.actor,
            "actor": filters.actor,
            "action": filters.action,
            "patient": filters.patient,
            "study": filters.study,
            "date_from": filters.date_from,
            "date_to": filters.date_to,
            "problems": filters.problems,
            "groups": ACTION_GROUPS,
            "labels": ACTION_LABELS,
            "target_links": TARGET_LINKS,
            "filtered": any(params.values()),
            "export_url": query_url(EXPORT, params),
            "patient_url": lambda key: query_url(BASE, {**params, "patient": key, "study": ""}),
            "next_url": query_url(BASE, {**params, "cursor": page.cursor}) if page.has_more else None,
            "first_url": query_url(BASE, params) if cursor else None,
        },
    )


# ---- CSV export -------------------------------------------------------------------------------------

CSV_HEADER = (
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor",
    "action",
    "what",
    "target_type",
    "target_id",
    "patient",
    "address",
    "details",
)
# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet shows as text: formulas get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(event: AuditEvent, names: Names) -> list[str]:
    return [
        csv_cell(value)
        for value in (
            event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            event.actor_type,
            event.actor_id,
            names.actor(event),
            event.action,
            ACTION_LABELS.get(event.action, event.action),
            event.target_type,
            event.target_id,
            event.patient_key,
            event.address,
            json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else "",
        )
    ]


def _csv_lines(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _export(clinic_id: uuid.UUID, filters: Filters) -> Iterator[str]:
    """The whole filtered log, newest first, a batch at a time (its own session: the request's
    is closed before the response is streamed)."""
    with get_sessionmaker()() as session:
        names = Names.of(session, clinic_id)
        yield _csv_lines([list(CSV_HEADER)])
        cursor: str | None = None
        while True:
            page = filters.load(session, clinic_id, cursor, EXPORT_BATCH)
            yield _csv_lines([csv_row(event, names) for event in page.items])
            if not page.has_more:
                return
            cursor = page.cursor


@router.get(EXPORT)
def audit_export(request: Request, session: SessionDep, viewer: AuditViewer) -> Response:
    clinic_id = viewer.user.clinic_id
    filters = _read_filters(request)
    # The export holds patient identifiers: it is itself audited, with the filters it used.
    audit.record(
        session,
        clinic_id=clinic_id,
        actor=actor_of(request, viewer),
        action="audit_log.exported",
        details={"filters": {k: v for k, v in filters.params.items() if v}},
    )
    name = f"audit-log-{utcnow().strftime('%Y%m%d-%H%M%S')}.csv"
    return StreamingResponse(
        _export(clinic_id, filters),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
