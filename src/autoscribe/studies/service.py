"""Study rules: creation, lookups within a scope, updates, listing, cancellation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ORMOption

from autoscribe.archive.models import ExternalReport
from autoscribe.audit.service import Actor, record
from autoscribe.auth import permissions as perms
from autoscribe.auth.models import ApiKey
from autoscribe.db import ulower, utcnow
from autoscribe.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from autoscribe.express.models import ExpressCustomer, ExpressCustomerUser
from autoscribe.express.service import usable_customer
from autoscribe.ids import Prefix, brand, brand_opt, new_id, parse
from autoscribe.pagination import IdFilter, Page, paginate, paginate_ordered
from autoscribe.reports.models import Report
from autoscribe.studies.models import AUTOSCRIBE_STUDY_TYPES, VIEWER, Study
from autoscribe.studies.schemas import (
    REPORT_STATUSES,
    StudyCreate,
    StudyUpdate,
    check_dicom_uid,
)
from autoscribe.users.models import User
from autoscribe.users.service import assignable_radiologist


@dataclass(frozen=True)
class StudyScope:
    """Which studies a caller may see: its clinic, narrowed by key ("self"), by Express customers
    (users linked to customers see only those customers' studies), or to one assignee (members
    who do not manage studies see the studies assigned to them)."""

    clinic_id: uuid.UUID
    api_key_id: uuid.UUID | None = None
    express_customer_ids: frozenset[uuid.UUID] | None = None
    assigned_user_id: uuid.UUID | None = None
    # The product's studies (models.AUTOSCRIBE_STUDY_TYPES, or (VIEWER,)); None: every study
    # (the dashboard, which shows both products).
    study_types: tuple[str, ...] | None = None


def scope_for_user(session: Session, user: User) -> StudyScope:
    """The studies a dashboard user may see: the one place this rule is built.

    - A user linked to Express customers sees only studies of those customers (the reference's
      "strong isolation"); a user linked to none is a platform user and sees the whole clinic.
    - Someone who may manage studies (auth.permissions.sees_whole_worklist) sees every study in
      that range; anyone else only the studies assigned to them.
    """
    customer_ids = frozenset(
        session.scalars(select(ExpressCustomerUser.customer_id).where(ExpressCustomerUser.user_id == user.id))
    )
    return StudyScope(
        clinic_id=user.clinic_id,
        express_customer_ids=customer_ids or None,
        assigned_user_id=None if perms.sees_whole_worklist(user) else user.id,
    )


@dataclass(frozen=True)
class Creator:
    actor: Actor
    api_key_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None


@dataclass(frozen=True)
class StudyFilters:
    assigned_to: IdFilter = field(default_factory=IdFilter)
    express_customer: IdFilter = field(default_factory=IdFilter)
    is_cancelled: bool | None = None
    severity: str | None = None
    description_contains: str | None = None
    report_statuses: Sequence[str] | None = None
    study_type: str | None = None
    # Received (created) in [created_from, created_before).
    created_from: datetime | None = None
    created_before: datetime | None = None
    # The dashboard's search box: description, Study Instance UID, patient name, MRN, patient id.
    text: str | None = None


ORDER_NEWEST = "newest"
# The worklist: stat first, then high, then normal; newest first within each.
ORDER_PRIORITY = "priority"


# The columns a study response shows of its related rows (not password hashes, secrets, ...).
_USER_REFERENCE = (User.email, User.first_name, User.last_name, User.middle_name, User.suffix1, User.suffix2)


@cache
def _response_relations() -> tuple[ORMOption, ...]:
    """Built once (loader options are immutable), on first use rather than at import: building
    them configures every mapper, which needs all models imported."""
    return (
        joinedload(Study.assigned_to).load_only(*_USER_REFERENCE),
        joinedload(Study.created_by_user).load_only(*_USER_REFERENCE),
        joinedload(Study.created_by_api_key).load_only(
            ApiKey.description, ApiKey.is_viewer_enabled, ApiKey.is_clinical_context_enrichment_enabled
        ),
        joinedload(Study.express_customer).load_only(ExpressCustomer.name),
        # externalReportId rides along in the same query (one-to-one); reportIds take one
        # extra query per page, for all of its studies at once.
        joinedload(Study.external_report).load_only(ExternalReport.id),
        selectinload(Study.reports).load_only(Report.id, Report.status, Report.is_critical),
    )


def scoped(scope: StudyScope) -> Select[Study]:
    return _within(select(Study).options(*_response_relations()), scope)


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _within(stmt: S, scope: StudyScope) -> S:
    stmt = stmt.where(Study.clinic_id == scope.clinic_id, Study.deleted_at.is_(None))
    if scope.api_key_id is not None:
        stmt = stmt.where(Study.created_by_api_key_id == scope.api_key_id)
    if scope.express_customer_ids is not None:
        stmt = stmt.where(Study.express_customer_id.in_(scope.express_customer_ids))
    if scope.assigned_user_id is not None:
        stmt = stmt.where(Study.assigned_to_user_id == scope.assigned_user_id)
    if scope.study_types is not None:
        stmt = stmt.where(Study.study_type.in_(scope.study_types))
    return stmt


def within_scope(stmt: S, scope: StudyScope) -> S:
    """Any select over studies (columns, aggregates) narrowed to what `scope` may see."""
    return _within(stmt, scope)


def check_customer_in_scope(scope: StudyScope, customer_id: uuid.UUID | None, param: str) -> None:
    """Someone who sees only some Express customers' studies cannot put a study elsewhere (they
    would lose sight of it)."""
    if scope.express_customer_ids is None:
        return
    if customer_id is None:
        raise Unprocessable(
            "Choose one of your Express customers: you only see studies of your customers", param=param
        )
    if customer_id not in scope.express_customer_ids:
        raise Unprocessable("You can only use the Express customers you belong to", param=param)


def get_study(session: Session, scope: StudyScope, study_id: str, param: str = "studyId") -> Study:
    key = parse(Prefix.STUDY, study_id, param)
    study = session.scalars(scoped(scope).where(Study.id == key)).first()
    if study is None:
        raise NotFound(f"No study {study_id}", param=param)
    return study


def get_study_by_uid(session: Session, scope: StudyScope, uid: str, param: str = "studyInstanceUid") -> Study:
    study = session.scalars(scoped(scope).where(Study.study_instance_uid == uid)).first()
    if study is None:
        raise NotFound(f"No study with studyInstanceUid {uid}", param=param)
    return study


def select_study(session: Session, scope: StudyScope, study_id: str | None, uid: str | None) -> Study:
    """Bodies that accept studyId and/or studyInstanceUid: one is needed, both must agree."""
    if study_id is not None:
        study = get_study(session, scope, study_id)
        if uid is not None and study.study_instance_uid != uid:
            raise InvalidRequest(
                "studyId and studyInstanceUid name different studies", param="studyInstanceUid"
            )
        return study
    if uid is not None:
        return get_study_by_uid(session, scope, uid)
    raise InvalidRequest("Give studyId or studyInstanceUid", param="studyId")


def _duplicate_uid(exc: IntegrityError) -> bool:
    """Whether the insert hit the one-live-study-per-UID index (PostgreSQL and SQLite wording)."""
    text = str(exc.orig)
    return "uq_studies_clinic_uid_live" in text or "studies.study_instance_uid" in text


def _duplicate_uid_conflict(session: Session, clinic_id: uuid.UUID, uid: str, study_type: str) -> Conflict:
    """One live study per UID in a clinic, whatever the product: say which product holds it when
    it is the other one (a Viewer study of an AutoScribe study is its viewer-only-reroute-url)."""
    holder = session.scalars(
        select(Study.study_type).where(
            Study.clinic_id == clinic_id, Study.study_instance_uid == uid, Study.deleted_at.is_(None)
        )
    ).first()
    message = f"A study with studyInstanceUid {uid} already exists in this clinic"
    if holder == VIEWER and study_type != VIEWER:
        message += " as a Viewer study (/v1/viewer/studies)"
    elif holder in AUTOSCRIBE_STUDY_TYPES and study_type == VIEWER:
        message += (
            " as an AutoScribe study (/v1/autoScribe/studies); show it without reporting with "
            "viewer-only-reroute-url"
        )
    return Conflict(message, param="studyInstanceUid")


def reads_need_reports(study_type: str) -> bool:
    """Whether whoever is assigned a study of this type reads it to report (AutoScribe), rather
    than only to look at the images (Viewer)."""
    return study_type != VIEWER


def _prior_reports(items: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    return [item.model_dump(by_alias=True, exclude_none=True) for item in items]


def create_study(
    session: Session, scope: StudyScope, body: StudyCreate, creator: Creator, *, study_type: str = "standard"
) -> Study:
    customer = (
        usable_customer(session, scope.clinic_id, body.express_customer_id, "expressCustomerId")
        if body.express_customer_id
        else None
    )
    check_customer_in_scope(scope, customer.id if customer else None, "expressCustomerId")
    assignee = (
        assignable_radiologist(
            session,
            scope.clinic_id,
            body.assigned_to,
            "assignedTo",
            for_customer=customer.id if customer else None,
            reports=reads_need_reports(study_type),
        )
        if body.assigned_to
        else None
    )
    metadata = {k: v for k, v in body.report_metadata.as_stored().items() if v is not None}
    study = Study(
        id=new_id(),
        clinic_id=scope.clinic_id,
        study_instance_uid=body.study_instance_uid,
        study_description=body.study_description,
        severity=body.severity,
        study_type=study_type,
        study_report_status="assigned" if assignee else "unassigned",
        assigned_to_user_id=assignee.id if assignee else None,
        express_customer_id=customer.id if customer else None,
        created_by_api_key_id=creator.api_key_id,
        created_by_user_id=creator.user_id,
        report_metadata=metadata,
        custom_metadata=body.metadata,
        modality=body.modality,
        clinical_history=body.clinical_history,
        clinical_indication=body.clinical_indication,
        technologist_technique=body.technologist_technique,
        technologist_notes=body.technologist_notes,
        prior_reports=_prior_reports(body.prior_reports),
        external_patient_id=body.external_patient_id,
    )
    session.add(study)
    record(
        session,
        clinic_id=scope.clinic_id,
        actor=creator.actor,
        action="study.created",
        target_type="study",
        target_id=brand(Prefix.STUDY, study.id),
    )
    try:
        # The unique index decides duplicates, also between concurrent requests.
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        if not _duplicate_uid(exc):
            raise
        raise _duplicate_uid_conflict(session, scope.clinic_id, body.study_instance_uid, study_type) from None
    # The response shows these related rows; this session already holds them (the caller's API
    # key was loaded by authentication), so they are attached without another query and without
    # making the related objects part of the insert.
    set_committed_value(study, "assigned_to", assignee)
    set_committed_value(study, "express_customer", customer)
    set_committed_value(
        study, "created_by_api_key", session.get(ApiKey, creator.api_key_id) if creator.api_key_id else None
    )
    set_committed_value(
        study, "created_by_user", session.get(User, creator.user_id) if creator.user_id else None
    )
    set_committed_value(study, "reports", [])
    set_committed_value(study, "external_report", None)
    return study


def reload(session: Session, study: Study) -> Study:
    """Fetch again with the relationships a response needs (after changes made elsewhere)."""
    fresh = session.scalars(
        scoped(StudyScope(clinic_id=study.clinic_id))
        .where(Study.id == study.id)
        .execution_options(populate_existing=True)
    ).first()
    assert fresh is not None
    return fresh


# Assigning or unassigning moves a study between these two states only; once reading has
# started the assignee may change but the status stays.
_PRE_READ = ("unassigned", "assigned")


# Foreign keys are what gets written; the related objects are attached for the response with
# set_committed_value so that they do not take part in the flush.
def _apply_assignment(
    session: Session, study: Study, assignee_id: str | None, param: str = "assignedTo"
) -> User | None:
    reports = reads_need_reports(study.study_type)
    if assignee_id is None:
        if study.study_report_status not in _PRE_READ and reports:
            raise Conflict(
                f"Study is {study.study_report_status}; it cannot be unassigned once reading has started",
                param=param,
            )
        study.assigned_to_user_id = None
        set_committed_value(study, "assigned_to", None)
        if study.study_report_status in _PRE_READ:
            study.study_report_status = "unassigned"
        return None
    user: User = assignable_radiologist(
        session, study.clinic_id, assignee_id, param, for_customer=study.express_customer_id, reports=reports
    )
    study.assigned_to_user_id = user.id
    set_committed_value(study, "assigned_to", user)
    if study.study_report_status in _PRE_READ:
        study.study_report_status = "assigned"
    return user


def assign(
    session: Session, study: Study, assignee_id: str, actor: Actor, *, param: str = "assignedTo"
) -> User:
    """Assign a study to a radiologist under the same rules as `assignedTo` (reroute URLs do this).
    Audited when the assignee changes; part of the caller's transaction (not committed)."""
    previous = study.assigned_to_user_id
    user = _apply_assignment(session, study, assignee_id, param)
    assert user is not None
    if previous != user.id:
        study.updated_at = utcnow()
        record(
            session,
            clinic_id=study.clinic_id,
            actor=actor,
            action="study.assigned",
            target_type="study",
            target_id=brand(Prefix.STUDY, study.id),
            details={"assignedTo": brand(Prefix.USER, user.id), "previous": brand_opt(Prefix.USER, previous)},
        )
    return user


def update_study(
    session: Session,
    study: Study,
    body: StudyUpdate,
    actor: Actor,
    *,
    scope: StudyScope | None = None,
    viewer_status: str | None = None,
) -> Study:
    """`scope`: the caller's (dashboard users narrowed to Express customers may only move a study
    between their own customers). `viewer_status`: a Viewer study's studyViewerStatus."""
    sent = body.provided()
    if "express_customer_id" in sent:
        if body.express_customer_id is None:
            study.express_customer_id = None
            set_committed_value(study, "express_customer", None)
        elif parse(Prefix.CUSTOMER, body.express_customer_id, "") != study.express_customer_id:
            # Moving a study to a customer needs an active one; re-sending the current one is a no-op.
            customer = usable_customer(
                session, study.clinic_id, body.express_customer_id, "expressCustomerId"
            )
            study.express_customer_id = customer.id
            set_committed_value(study, "express_customer", customer)
        if scope is not None:
            check_customer_in_scope(scope, study.express_customer_id, "expressCustomerId")
    # After the customer: the assignee must be someone who sees the study where it now is.
    if "assigned_to" in sent:
        _apply_assignment(session, study, body.assigned_to)
    if "report_metadata" in sent:
        merged = dict(study.report_metadata or {})
        if body.report_metadata is None:
            merged = {}
        else:
            for key, value in body.report_metadata.as_stored().items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
        study.report_metadata = merged
    if "severity" in sent and body.severity is not None:
        study.severity = body.severity
    if "study_description" in sent and body.study_description is not None:
        study.study_description = body.study_description
    if "prior_reports" in sent:
        study.prior_reports = _prior_reports(body.prior_reports)
    if "metadata" in sent:
        study.custom_metadata = body.metadata
    if viewer_status is not None:
        set_viewer_status(study, viewer_status)
    for name in (
        "clinical_history",
        "clinical_indication",
        "external_patient_id",
        "modality",
        "technologist_notes",
        "technologist_technique",
    ):
        if name in sent:
            setattr(study, name, getattr(body, name))
    study.updated_at = utcnow()
    record(
        session,
        clinic_id=study.clinic_id,
        actor=actor,
        action="study.updated",
        target_type="study",
        target_id=brand(Prefix.STUDY, study.id),
        details={
            "fields": sorted(
                [*body.model_dump(by_alias=True, include=sent).keys()]
                + (["studyViewerStatus"] if viewer_status is not None else [])
            )
        },
    )
    return study


def _escape_like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filtered(scope: StudyScope, filters: StudyFilters) -> Select[Study]:
    return _filter(scoped(scope), filters)


def _filter(stmt: S, filters: StudyFilters) -> S:
    for column, wanted in (
        (Study.assigned_to_user_id, filters.assigned_to),
        (Study.express_customer_id, filters.express_customer),
    ):
        if wanted.only_null:
            stmt = stmt.where(column.is_(None))
        elif wanted.value is not None:
            stmt = stmt.where(column == wanted.value)
    if filters.is_cancelled is not None:
        stmt = stmt.where(Study.is_cancelled == filters.is_cancelled)
    if filters.severity:
        stmt = stmt.where(Study.severity == filters.severity)
    if filters.description_contains:
        stmt = stmt.where(
            Study.study_description.ilike(_escape_like(filters.description_contains), escape="\\")
        )
    if filters.report_statuses:
        stmt = stmt.where(Study.study_report_status.in_(filters.report_statuses))
    if filters.study_type:
        stmt = stmt.where(Study.study_type == filters.study_type)
    if filters.created_from is not None:
        stmt = stmt.where(Study.created_at >= filters.created_from)
    if filters.created_before is not None:
        stmt = stmt.where(Study.created_at < filters.created_before)
    if filters.text and filters.text.strip():
        text = filters.text.strip()
        pattern = _escape_like(text.lower())
        stmt = stmt.where(
            or_(
                Study.study_instance_uid == text,
                *(
                    ulower(column).like(pattern, escape="\\")
                    for column in (
                        Study.study_description,
                        Study.external_patient_id,
                        Study.report_metadata["patientName"].as_string(),
                        Study.report_metadata["mrn"].as_string(),
                    )
                ),
            )
        )
    return stmt


def studies_of_patient(session: Session, clinic_id: uuid.UUID, patient: str, limit: int = 1000) -> list[str]:
    """stu_ ids of the clinic's studies, removed ones included, whose MRN or externalPatientId is
    `patient` now (the audit log's patient filter)."""
    stmt = (
        select(Study.id)
        .where(
            Study.clinic_id == clinic_id,
            or_(Study.external_patient_id == patient, Study.report_metadata["mrn"].as_string() == patient),
        )
        .order_by(Study.id.desc())
        .limit(limit)
    )
    return [brand(Prefix.STUDY, study_id) for study_id in session.scalars(stmt)]


def list_studies(
    session: Session,
    scope: StudyScope,
    filters: StudyFilters,
    *,
    cursor: str | None,
    limit: int,
    order: str = ORDER_NEWEST,
) -> Page[Study]:
    stmt = filtered(scope, filters)
    if order == ORDER_PRIORITY:
        return paginate_ordered(session, stmt, [Study.severity_rank], Study.id, cursor=cursor, limit=limit)
    return paginate(session, stmt, Study.id, cursor=cursor, limit=limit)


def change_marker(session: Session, clinic_id: uuid.UUID) -> str:
    """Changes whenever a study of the clinic is created or changed (newest id, latest update):
    two index lookups, so a live page can ask "anything new?" every few seconds for nothing.
    Clinic-wide on purpose: a superset of what any one user sees."""
    # ORDER BY ... LIMIT 1 rather than max(): PostgreSQL has no max(uuid).
    newest = (
        select(Study.id)
        .where(Study.clinic_id == clinic_id)
        .order_by(Study.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    latest = (
        select(Study.updated_at)
        .where(Study.clinic_id == clinic_id)
        .order_by(Study.updated_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    newest_id, updated = session.execute(select(newest, latest)).one()
    return f"{newest_id.hex if newest_id else '-'}.{updated.timestamp() if updated else '-'}"


def count_by_status(session: Session, scope: StudyScope, filters: StudyFilters) -> dict[str, int]:
    """How many studies match `filters` in each report status (cancelled studies counted apart,
    under "cancelled"), for the worklist's status tabs. `filters.report_statuses` and
    `filters.is_cancelled` are ignored: the tabs are those."""
    stmt = select(Study.study_report_status, Study.is_cancelled, func.count()).group_by(
        Study.study_report_status, Study.is_cancelled
    )
    stmt = _filter(_within(stmt, scope), replace(filters, report_statuses=None, is_cancelled=None))
    counts = {status: 0 for status in REPORT_STATUSES}
    counts["cancelled"] = 0
    for status, cancelled, number in session.execute(stmt).tuples():
        counts["cancelled" if cancelled else status] += number
    return counts


def cancel_study(session: Session, study: Study, actor: Actor) -> None:
    if study.is_cancelled:
        raise Conflict("Study is already cancelled", param="studyId")
    if reads_need_reports(study.study_type) and study.study_report_status in ("completed", "addendum_active"):
        raise Conflict("Study has a signed report and cannot be cancelled", param="studyId")
    study.is_cancelled = True
    study.cancelled_at = utcnow()
    study.updated_at = utcnow()
    record(
        session,
        clinic_id=study.clinic_id,
        actor=actor,
        action="study.cancelled",
        target_type="study",
        target_id=brand(Prefix.STUDY, study.id),
    )


def uncancel_study(session: Session, study: Study, actor: Actor) -> None:
    if not study.is_cancelled:
        raise Conflict("Study is not cancelled", param="studyId")
    study.is_cancelled = False
    study.cancelled_at = None
    study.updated_at = utcnow()
    record(
        session,
        clinic_id=study.clinic_id,
        actor=actor,
        action="study.uncancelled",
        target_type="study",
        target_id=brand(Prefix.STUDY, study.id),
    )


# ---- Viewer studies --------------------------------------------------------------------------------
#
# A Viewer study keeps its reading state in study_report_status like any study, so that the
# dashboard's status tabs and counts cover both products: "unassigned" / "assigned" while it is
# incomplete, "completed" once the integrator marks it complete (studyViewerStatus).

VIEWER_STATUSES: dict[str, tuple[str, ...]] = {
    "incomplete": ("unassigned", "assigned"),
    "complete": ("completed",),
}


def viewer_status(study: Study) -> str:
    return "complete" if study.study_report_status == "completed" else "incomplete"


def set_viewer_status(study: Study, status: str | None) -> None:
    if study.study_type != VIEWER or status not in VIEWER_STATUSES:
        raise InvalidRequest(
            "studyViewerStatus is for Viewer studies: incomplete or complete", param="studyViewerStatus"
        )
    if status == "complete":
        study.study_report_status = "completed"
    else:
        study.study_report_status = "assigned" if study.assigned_to_user_id else "unassigned"


def validate_uid_param(uid: str, param: str = "studyInstanceUid") -> str:
    try:
        return check_dicom_uid(uid)
    except ValueError as exc:
        raise InvalidRequest(f"{param} {exc}", param=param) from None
