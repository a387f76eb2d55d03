"""The worklist: studies by priority (stat, high, normal; newest first within each), filtered by
status, severity, assignee, Express customer, date received and text; counts per status; live
refresh; a study's page with assignment, editing, cancellation and the way into the workspace;
manual creation with the API's validation.

What a user sees is `studies.service.scope_for_user` (Express customers, own assignments for
members); who may change studies is `auth.permissions.can_manage_studies`."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from autoscribe.audit import service as audit
from autoscribe.auth import permissions as perms
from autoscribe.auth.context import SessionDep
from autoscribe.errors import APIError, InvalidRequest
from autoscribe.express import service as express
from autoscribe.express.models import ExpressCustomer
from autoscribe.ids import Prefix, brand, parse
from autoscribe.pagination import IdFilter
from autoscribe.studies import service as studies
from autoscribe.studies.models import Study
from autoscribe.studies.schemas import REPORT_STATUSES, SEVERITIES, StudyCreate, StudyUpdate
from autoscribe.studies.service import Creator, StudyFilters, StudyScope, reads_need_reports
from autoscribe.users import service as users
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.dashboard.common import (
    Form,
    StudyManager,
    WorklistUser,
    actor_of,
    day_after,
    day_start,
    done,
    errors_from,
    not_found,
    parse_day,
    query_url,
    text,
)
from autoscribe.web.dashboard.study_reports import reports_view
from autoscribe.web.deps import WebUser
from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# Seconds between live refreshes; each one is a small conditional request (204 when nothing changed).
POLL_SECONDS = 4

STATUS_LABELS = {
    "unassigned": "Unassigned",
    "assigned": "Assigned",
    "in_progress": "In progress",
    "completed": "Completed",
    "addendum_active": "Addendum",
}
SEVERITY_LABELS = {"stat": "STAT", "high": "High", "normal": "Normal"}
SEX_OPTIONS = [("", "Not given"), ("female", "Female"), ("male", "Male"), ("other", "Other")]
# reportMetadata fields the dashboard edits (height and weight stay API-only, and are kept).
METADATA_FIELDS = (
    "patientName",
    "dateOfBirth",
    "sex",
    "mrn",
    "age",
    "facilityName",
    "referringPhysicianName",
    "procedure",
    "studyDate",
    "studyTime",
)
STUDY_TEXT_FIELDS = (
    "modality",
    "clinicalIndication",
    "clinicalHistory",
    "technologistTechnique",
    "externalPatientId",
)


# ---- the list ------------------------------------------------------------------------------------------


@dataclass
class WorklistQuery:
    status: str = ""  # "" (every status, not cancelled), a report status, or "cancelled"
    severity: str = ""
    assignee: str = ""  # "", "none", usr_...
    customer: str = ""  # "", "none", cus_...
    date_from: str = ""
    date_to: str = ""
    q: str = ""
    cursor: str = ""
    problems: list[str] = field(default_factory=list)

    def params(self, **override: str) -> dict[str, str]:
        values = {
            "status": self.status,
            "severity": self.severity,
            "assignee": self.assignee,
            "customer": self.customer,
            "from": self.date_from,
            "to": self.date_to,
            "q": self.q,
            "cursor": self.cursor,
        }
        values.update(override)
        return values

    @property
    def has_filters(self) -> bool:
        return any((self.severity, self.assignee, self.customer, self.date_from, self.date_to, self.q))


def _read_query(request: Request) -> WorklistQuery:
    qp = request.query_params
    query = WorklistQuery(
        status=qp.get("status", ""),
        severity=qp.get("severity", ""),
        assignee=qp.get("assignee", ""),
        customer=qp.get("customer", ""),
        date_from=qp.get("from", "")[:10],
        date_to=qp.get("to", "")[:10],
        q=qp.get("q", "")[:200].strip(),
        cursor=qp.get("cursor", "")[:500],
    )
    if query.status not in (*REPORT_STATUSES, "cancelled"):
        query.status = ""
    if query.severity not in SEVERITIES:
        query.severity = ""
    return query


def _id_filter(raw: str, prefix: Prefix, what: str, query: WorklistQuery) -> IdFilter:
    if not raw:
        return IdFilter()
    if raw == "none":
        return IdFilter(only_null=True)
    try:
        return IdFilter(value=parse(prefix, raw, what))
    except InvalidRequest:
        query.problems.append(f"The {what} filter was not understood and is not applied.")
        return IdFilter()


def _filters(query: WorklistQuery) -> StudyFilters:
    start, end = parse_day(query.date_from), parse_day(query.date_to)
    if query.date_from and start is None:
        query.problems.append("“From” is not a date; it is not applied.")
    if query.date_to and end is None:
        query.problems.append("“To” is not a date; it is not applied.")
    if start and end and end < start:
        query.problems.append("“To” is before “From”: no study can match.")
    return StudyFilters(
        assigned_to=_id_filter(query.assignee, Prefix.USER, "assignee", query),
        express_customer=_id_filter(query.customer, Prefix.CUSTOMER, "Express customer", query),
        severity=query.severity or None,
        is_cancelled=query.status == "cancelled",
        report_statuses=[query.status] if query.status in REPORT_STATUSES else None,
        created_from=day_start(start),
        created_before=day_after(end),
        text=query.q or None,
    )


@dataclass
class Listing:
    query: WorklistQuery
    studies: list[Study]
    counts: dict[str, int]
    next_cursor: str | None
    fingerprint: str


def _listing(session: SessionDep, scope: StudyScope, query: WorklistQuery) -> Listing:
    filters = _filters(query)
    try:
        page = studies.list_studies(
            session,
            scope,
            filters,
            cursor=query.cursor or None,
            limit=PAGE_SIZE,
            order=studies.ORDER_PRIORITY,
        )
    except InvalidRequest:
        # A stale or edited cursor: start again at the first page.
        query.cursor = ""
        page = studies.list_studies(
            session, scope, filters, cursor=None, limit=PAGE_SIZE, order=studies.ORDER_PRIORITY
        )
    counts = studies.count_by_status(session, scope, filters)
    digest = hashlib.sha256()
    for study in page.items:
        digest.update(f"{study.id}|{study.updated_at.isoformat()}|{study.study_report_status};".encode())
    digest.update(repr(sorted(counts.items())).encode())
    return Listing(
        query, list(page.items), counts, page.cursor if page.has_more else None, digest.hexdigest()[:16]
    )


def _filter_options(session: SessionDep, web_user: WebUser, scope: StudyScope) -> dict[str, Any]:
    user = web_user.user
    customers = express.customers_by_name(session, user.clinic_id, only_ids=scope.express_customer_ids)
    return {
        "assignees": users.assignable_radiologists(session, user.clinic_id)
        if perms.sees_whole_worklist(user)
        else [],
        "customers": customers,
    }


def _context(request: Request, web_user: WebUser, listing: Listing) -> dict[str, Any]:
    query = listing.query
    total = sum(v for k, v in listing.counts.items() if k != "cancelled")
    tabs = [("", "All", total)] + [(s, STATUS_LABELS[s], listing.counts[s]) for s in REPORT_STATUSES]
    tabs.append(("cancelled", "Cancelled", listing.counts["cancelled"]))
    return {
        "active": "worklist",
        "listing": listing,
        "query": query,
        "tabs": tabs,
        "status_labels": STATUS_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "tab_url": lambda status: query_url("/worklist", query.params(status=status, cursor="")),
        "next_url": query_url("/worklist", query.params(cursor=listing.next_cursor))
        if listing.next_cursor
        else None,
        "first_url": query_url("/worklist", query.params(cursor="")) if query.cursor else None,
        "live_url": query_url("/worklist/live", {**query.params(), "fp": listing.fingerprint}),
        "poll_seconds": POLL_SECONDS,
        "can_manage": perms.can_manage_studies(web_user.user),
        "can_read": perms.can_open_workspace(web_user.user),
        "own_only": not perms.sees_whole_worklist(web_user.user),
    }


def _sees_part_of_clinic(scope: StudyScope) -> bool:
    return scope.assigned_user_id is not None or scope.express_customer_ids is not None


@router.get("/worklist")
def worklist(request: Request, session: SessionDep, web_user: WorklistUser) -> Response:
    scope = studies.scope_for_user(session, web_user.user)
    # Read before the list: a change made in between shows at the next refresh.
    marker = None if _sees_part_of_clinic(scope) else studies.change_marker(session, scope.clinic_id)
    listing = _listing(session, scope, _read_query(request))
    context = _context(request, web_user, listing)
    context.update(_filter_options(session, web_user, scope), marker=marker or listing.fingerprint)
    page = render(request, "dashboard/worklist.html", context)
    # One audit row per worklist page (its filters), not per patient listed; the live refresh
    # of an open page is not audited again.
    actor, query = actor_of(request, web_user), listing.query.params()
    audit.record_list(
        session, actor, scope.clinic_id, "read.study_list", query=query, count=len(listing.studies)
    )
    return page


@router.get("/worklist/live")
def worklist_live(request: Request, session: SessionDep, web_user: WorklistUser) -> Response:
    """The live part of the worklist (tabs with counts, table, pager), polled by htmx.

    - Nothing changed in the clinic since the page's marker: 204 after two index lookups.
    - Something changed, but not what this page shows (its fingerprint): the new marker only,
      swapped out of band, so the next polls are cheap again; nothing moves under the user.
    - Otherwise the new rows and counts.

    Someone who sees only part of the clinic (their assignments, their Express customers) never
    gets the clinic-wide marker, which would tell them about studies they may not see: their
    marker is their own list's fingerprint, recomputed at each poll (a short, indexed query).
    """
    no_store = {"Cache-Control": "no-store"}
    scope = studies.scope_for_user(session, web_user.user)
    seen = request.query_params.get("m")
    if _sees_part_of_clinic(scope):
        listing = _listing(session, scope, _read_query(request))
        marker = listing.fingerprint
        if seen == marker:
            return Response(status_code=204, headers=no_store)
    else:
        marker = studies.change_marker(session, scope.clinic_id)
        if seen == marker:
            return Response(status_code=204, headers=no_store)
        listing = _listing(session, scope, _read_query(request))
        if request.query_params.get("fp") == listing.fingerprint:
            return render(
                request,
                "dashboard/_worklist_marker.html",
                {"marker": marker, "oob": True},
                headers={**no_store, "HX-Reswap": "none"},
            )
    context = _context(request, web_user, listing)
    context.update(_filter_options(session, web_user, scope), marker=marker)
    return render(request, "dashboard/_worklist_live.html", context)


# ---- one study -------------------------------------------------------------------------------------------


def _study(session: SessionDep, web_user: WebUser, study_id: str) -> tuple[Study, StudyScope]:
    scope = studies.scope_for_user(session, web_user.user)
    try:
        return studies.get_study(session, scope, study_id), scope
    except APIError:
        raise not_found("Study") from None


def _creator_label(study: Study) -> str:
    if study.created_by_api_key is not None:
        return f"API key “{study.created_by_api_key.description}”"
    if study.created_by_user is not None:
        return study.created_by_user.display_name
    return "—"


def workspace_url(study: Study) -> str:
    """Where a radiologist reads and reports this study (the workspace's route)."""
    return f"/workspace/{brand(Prefix.STUDY, study.id)}"


def _study_page(
    request: Request,
    session: SessionDep,
    web_user: WebUser,
    study: Study,
    *,
    assign_error: str | None = None,
    status: int = 200,
) -> Response:
    user = web_user.user
    can_manage = perms.can_manage_studies(user)
    assignees = (
        users.assignable_radiologists(
            session,
            user.clinic_id,
            for_customer=study.express_customer_id,
            reports=reads_need_reports(study.study_type),
        )
        if can_manage
        else []
    )
    return render(
        request,
        "dashboard/study.html",
        {
            "active": "worklist",
            "study": study,
            "study_ref": brand(Prefix.STUDY, study.id),
            "meta": study.report_metadata or {},
            "creator": _creator_label(study),
            "status_labels": STATUS_LABELS,
            "severity_labels": SEVERITY_LABELS,
            "can_manage": can_manage,
            "can_read": perms.can_open_study(user, study.study_type) and not study.is_cancelled,
            "workspace_url": workspace_url(study),
            "assignees": assignees,
            "assign_error": assign_error,
            "read_started": study.study_report_status not in ("unassigned", "assigned"),
            "reports_view": reports_view(session, user, study),
        },
        status_code=status,
    )


@router.get("/worklist/studies/{study_id}")
def study_page(request: Request, session: SessionDep, web_user: WorklistUser, study_id: str) -> Response:
    study, _ = _study(session, web_user, study_id)
    page = _study_page(request, session, web_user, study)
    # The page shows the signed report to those who may read reports: the row names it.
    signed = [brand(Prefix.REPORT, r.id) for r in study.reports if r.status == "completed"]
    shown = {"reportIds": signed} if signed and perms.can_read_reports(web_user.user) else None
    audit.record_read(session, actor_of(request, web_user), study, "read.study", details=shown)
    return page


@router.post("/worklist/studies/{study_id}/assign", dependencies=[CsrfProtected])
def assign(
    request: Request, session: SessionDep, web_user: StudyManager, study_id: str, form: Form
) -> Response:
    study, scope = _study(session, web_user, study_id)
    assignee = text(form, "assignedTo", 64)
    try:
        body = StudyUpdate.model_validate({"assignedTo": assignee or None})
        study = studies.update_study(session, study, body, actor_of(request, web_user), scope=scope)
    except APIError as exc:
        session.rollback()
        study, _ = _study(session, web_user, study_id)
        return _study_page(request, session, web_user, study, assign_error=exc.message, status=400)
    url = f"/worklist/studies/{brand(Prefix.STUDY, study.id)}"
    who = study.assigned_to.display_name if study.assigned_to else None
    return done(request, url, f"Assigned to {who}." if who else "The study is unassigned.")


@router.get("/worklist/studies/{study_id}/cancel")
def cancel_confirm(request: Request, session: SessionDep, web_user: StudyManager, study_id: str) -> Response:
    study, _ = _study(session, web_user, study_id)
    return render(
        request,
        "dashboard/study_cancel.html",
        {"active": "worklist", "study": study, "study_ref": brand(Prefix.STUDY, study.id)},
    )


@router.post("/worklist/studies/{study_id}/cancel", dependencies=[CsrfProtected])
def cancel(request: Request, session: SessionDep, web_user: StudyManager, study_id: str) -> Response:
    study, _ = _study(session, web_user, study_id)
    url = f"/worklist/studies/{brand(Prefix.STUDY, study.id)}"
    try:
        studies.cancel_study(session, study, actor_of(request, web_user))
    except APIError as exc:
        session.rollback()
        return done(request, url, f"Not cancelled: {exc.message}.")
    return done(request, url, "Study cancelled. It stays in the Cancelled tab and can be restored.")


@router.post("/worklist/studies/{study_id}/uncancel", dependencies=[CsrfProtected])
def uncancel(request: Request, session: SessionDep, web_user: StudyManager, study_id: str) -> Response:
    study, _ = _study(session, web_user, study_id)
    url = f"/worklist/studies/{brand(Prefix.STUDY, study.id)}"
    try:
        studies.uncancel_study(session, study, actor_of(request, web_user))
    except APIError as exc:
        session.rollback()
        return done(request, url, f"Not restored: {exc.message}.")
    return done(request, url, "Study restored to the worklist.")


# ---- create and edit ------------------------------------------------------------------------------------


def _form_values(form: FormData) -> dict[str, str]:
    names = (
        "studyInstanceUid",
        "studyDescription",
        "severity",
        "assignedTo",
        "expressCustomerId",
        *STUDY_TEXT_FIELDS,
        *(f"reportMetadata.{name}" for name in METADATA_FIELDS),
    )
    return {name: text(form, name) for name in names}


def _body(values: dict[str, str], *, for_update: bool) -> dict[str, Any]:
    """The API's JSON body from the form: blank fields are left out on creation and cleared on
    an edit (null), exactly as an integrator would send them."""
    body: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith("reportMetadata."):
            if value or for_update:
                metadata[name.split(".", 1)[1]] = value or None
        elif value or (for_update and name in (*STUDY_TEXT_FIELDS, "expressCustomerId")):
            body[name] = value or None
    body["reportMetadata"] = metadata
    return body


def _form_page(
    request: Request,
    session: SessionDep,
    web_user: WebUser,
    scope: StudyScope,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    study: Study | None = None,
    status: int = 200,
) -> Response:
    clinic_id = web_user.user.clinic_id
    customers: list[ExpressCustomer] = express.customers_by_name(
        session, clinic_id, only_ids=scope.express_customer_ids, active_only=True
    )
    return render(
        request,
        "dashboard/study_form.html",
        {
            "active": "worklist",
            "study": study,
            "study_ref": brand(Prefix.STUDY, study.id) if study else None,
            "values": values,
            "errors": errors,
            "severities": [(s, SEVERITY_LABELS[s]) for s in ("normal", "high", "stat")],
            "sex_options": SEX_OPTIONS,
            "assignees": users.assignable_radiologists(session, clinic_id) if study is None else [],
            "customers": customers,
            "customer_required": scope.express_customer_ids is not None,
        },
        status_code=status,
    )


@router.get("/worklist/new")
def new_study_form(request: Request, session: SessionDep, web_user: StudyManager) -> Response:
    scope = studies.scope_for_user(session, web_user.user)
    values = {"severity": "normal", "studyInstanceUid": f"2.25.{uuid.uuid4().int}"}
    return _form_page(request, session, web_user, scope, values=values, errors={})


@router.post("/worklist/new", dependencies=[CsrfProtected])
def create_study(request: Request, session: SessionDep, web_user: StudyManager, form: Form) -> Response:
    scope = studies.scope_for_user(session, web_user.user)
    values = _form_values(form)
    try:
        body = StudyCreate.model_validate(_body(values, for_update=False))
        creator = Creator(actor=actor_of(request, web_user), user_id=web_user.user.id)
        study = studies.create_study(session, scope, body, creator)
    except (ValidationError, APIError) as exc:
        session.rollback()
        return _form_page(
            request, session, web_user, scope, values=values, errors=errors_from(exc), status=400
        )
    return done(request, f"/worklist/studies/{brand(Prefix.STUDY, study.id)}", "Study created.")


def _values_of(study: Study) -> dict[str, str]:
    meta = study.report_metadata or {}
    values = {
        "studyInstanceUid": study.study_instance_uid,
        "studyDescription": study.study_description,
        "severity": study.severity,
        "expressCustomerId": brand(Prefix.CUSTOMER, study.express_customer_id)
        if study.express_customer_id
        else "",
        "modality": study.modality or "",
        "clinicalIndication": study.clinical_indication or "",
        "clinicalHistory": study.clinical_history or "",
        "technologistTechnique": study.technologist_technique or "",
        "externalPatientId": study.external_patient_id or "",
    }
    for name in METADATA_FIELDS:
        value = meta.get(name)
        values[f"reportMetadata.{name}"] = "" if value is None else str(value)
    return values


@router.get("/worklist/studies/{study_id}/edit")
def edit_study_form(request: Request, session: SessionDep, web_user: StudyManager, study_id: str) -> Response:
    study, scope = _study(session, web_user, study_id)
    page = _form_page(request, session, web_user, scope, values=_values_of(study), errors={}, study=study)
    audit.record_read(session, actor_of(request, web_user), study, "read.study")
    return page


@router.post("/worklist/studies/{study_id}/edit", dependencies=[CsrfProtected])
def edit_study(
    request: Request, session: SessionDep, web_user: StudyManager, study_id: str, form: Form
) -> Response:
    study, scope = _study(session, web_user, study_id)
    values = _form_values(form)
    values["studyInstanceUid"] = study.study_instance_uid
    body_values = {k: v for k, v in values.items() if k not in ("studyInstanceUid", "assignedTo")}
    try:
        body = StudyUpdate.model_validate(_body(body_values, for_update=True))
        study = studies.update_study(session, study, body, actor_of(request, web_user), scope=scope)
    except (ValidationError, APIError) as exc:
        session.rollback()
        study, scope = _study(session, web_user, study_id)
        return _form_page(
            request, session, web_user, scope, values=values, errors=errors_from(exc), study=study, status=400
        )
    return done(request, f"/worklist/studies/{brand(Prefix.STUDY, study.id)}", "Changes saved.")
