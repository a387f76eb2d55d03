"""Report rules: start, save drafts (optimistic concurrency), sign, addenda, documents, priors.

The workspace (web) and the API call these; they hold every rule and commit what they change.
Concurrency is settled by the database, not by Python: each state change is one conditional
UPDATE (`... WHERE version = :base`, `... WHERE status = 'in_progress'`) whose row count says
whether this caller won, so two processes can never both sign, or both overwrite a draft.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscribe.archive.models import ExternalReport
from autoscribe.audit.service import Actor, record
from autoscribe.auth.permissions import require_can_report
from autoscribe.clinics.models import Clinic
from autoscribe.db import utcnow
from autoscribe.documents.model import Header, Part, ReportDocument, Sections, Signature
from autoscribe.documents.render import part_text
from autoscribe.errors import Conflict, InvalidRequest, NotFound, PermissionDenied, Unprocessable
from autoscribe.ids import Prefix, brand, parse
from autoscribe.queue import runner as queue
from autoscribe.reports import checks
from autoscribe.reports.models import Report, ReportRevision
from autoscribe.reports.schemas import ReportContent
from autoscribe.studies.models import Study
from autoscribe.users.models import User

log = logging.getLogger("autoscribe.reports")

# What signing enqueues: render and store the PDF, then enqueue report.delivered (reports.tasks,
# reports.delivery). A task, so that signing never waits for WeasyPrint and a failed render is
# retried as a render, never reported as a failed delivery.
RENDER_TASK = "reports.render_pdf"
RENDER_ATTEMPTS = 7


def user_actor(user: User, address: str | None = None) -> Actor:
    return Actor("user", brand(Prefix.USER, user.id), address)


def rid(report: Report) -> str:
    return brand(Prefix.REPORT, report.id)


def _request_delivery(session: Session, report: Report) -> None:
    """In the signature's transaction: the render task exists if and only if the signature does."""
    queue.enqueue(
        session,
        RENDER_TASK,
        {"reportId": rid(report)},
        clinic_id=report.clinic_id,
        max_attempts=RENDER_ATTEMPTS,
    )


# ---- lookups -------------------------------------------------------------------------------------


def get_report(session: Session, clinic_id: uuid.UUID, report_id: str, param: str = "reportId") -> Report:
    report = session.get(Report, parse(Prefix.REPORT, report_id, param))
    if report is None or report.clinic_id != clinic_id:
        raise NotFound(f"No report {report_id}", param=param)
    return report


def study_of(session: Session, report: Report) -> Study:
    study = session.get(Study, report.study_id)
    assert study is not None  # foreign key
    return study


def reports_of_study(session: Session, study: Study) -> list[Report]:
    """All reports of a study, oldest first: the original, then addenda in the order opened."""
    return list(session.scalars(select(Report).where(Report.study_id == study.id).order_by(Report.id)))


def current_draft(session: Session, study: Study) -> Report | None:
    return session.scalars(
        select(Report).where(Report.study_id == study.id, Report.status == "in_progress")
    ).first()


def _fresh(session: Session, report: Report) -> Report:
    session.refresh(report)
    return report


def _require_reader(session: Session, study: Study, user: User) -> None:
    """The acting radiologist: allowed to report, and the one the study is assigned to."""
    if user.clinic_id != study.clinic_id:
        raise NotFound(f"No study {brand(Prefix.STUDY, study.id)}", param="studyId")
    require_can_report(user)
    if study.assigned_to_user_id != user.id:
        raise PermissionDenied(
            f"Study {brand(Prefix.STUDY, study.id)} is not assigned to user {brand(Prefix.USER, user.id)}",
            param="studyId",
        )


# ---- start ---------------------------------------------------------------------------------------


def _initial_content(study: Study) -> dict[str, Any]:
    # What the ordering system already told us goes into the draft; the dictation fills the rest.
    return ReportContent(
        clinical_indication=study.clinical_indication or "",
        technique=study.technologist_technique or "",
    ).stored()


def start_report(session: Session, study: Study, user: User, *, actor: Actor | None = None) -> Report:
    """Open (or resume) the draft of a study assigned to this radiologist.

    assigned → in_progress with a new draft; on a study already in progress (or with an addendum
    being dictated) the existing draft is returned, so opening the workspace twice is harmless.
    """
    _require_reader(session, study, user)
    stu = brand(Prefix.STUDY, study.id)
    if study.study_type != "standard":
        raise Conflict(f"Study {stu} is an archive study; it has no report to dictate", param="studyId")
    if study.is_cancelled:
        raise Conflict(f"Study {stu} is cancelled", param="studyId")
    if study.study_report_status == "completed":
        raise Conflict(
            f"Study {stu} already has a signed report; open an addendum to change it", param="studyId"
        )
    if study.study_report_status in ("in_progress", "addendum_active"):
        draft = current_draft(session, study)
        if draft is not None:
            return draft
    moved = session.execute(
        update(Study)
        .where(Study.id == study.id, Study.study_report_status.in_(("assigned", "in_progress")))
        .values(study_report_status="in_progress", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        session.refresh(study)
        raise Conflict(f"Study {stu} is {study.study_report_status}; it cannot be started", param="studyId")
    report = Report(
        clinic_id=study.clinic_id,
        study_id=study.id,
        is_addendum=False,
        status="in_progress",
        version=1,
        content=_initial_content(study),
        author_user_id=user.id,
    )
    session.add(report)
    try:
        session.flush()
    except IntegrityError:
        # Another request opened the draft at the same moment: use theirs.
        session.rollback()
        draft = current_draft(session, study)
        if draft is None:
            raise
        return draft
    record(
        session,
        clinic_id=study.clinic_id,
        actor=actor or user_actor(user),
        action="report.started",
        target_type="report",
        target_id=rid(report),
        details={"studyId": stu},
    )
    session.flush()
    session.refresh(study)
    return _fresh(session, report)


# ---- drafts --------------------------------------------------------------------------------------


def parse_content(content: ReportContent | dict[str, Any]) -> ReportContent:
    """Validate draft content, naming the offending field (400), e.g. findings.subsections.0.text."""
    if isinstance(content, ReportContent):
        return content
    try:
        return ReportContent.model_validate(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
        raise InvalidRequest(f"{param}: {message}" if param else message, param=param) from None


def save_draft(
    session: Session,
    report: Report,
    user: User,
    content: ReportContent | dict[str, Any],
    base_version: int,
    *,
    actor: Actor | None = None,
) -> Report:
    """Replace the draft's sections, if nobody saved since `base_version`; version += 1.

    A stale base_version is refused with 409 (the caller reloads, merges, saves again), so a
    save can never silently overwrite text it has not seen. Every version is kept in
    report_revisions.
    """
    study = study_of(session, report)
    _require_reader(session, study, user)
    stored = parse_content(content).stored()
    if report.status != "in_progress":
        raise Conflict(f"Report {rid(report)} is signed and cannot be changed", param="reportId")
    now = utcnow()
    result = session.execute(
        update(Report)
        .where(Report.id == report.id, Report.version == base_version, Report.status == "in_progress")
        .values(content=stored, version=Report.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        current = session.get(Report, report.id, populate_existing=True)
        if current is None:
            raise Conflict(f"Report {rid(report)} was discarded", param="reportId")
        if current.status != "in_progress":
            raise Conflict(f"Report {rid(report)} is signed and cannot be changed", param="reportId")
        raise Conflict(
            f"Report {rid(report)} was saved by someone else since version {base_version} "
            f"(it is now at version {current.version}); reload it and apply your changes again",
            param="baseVersion",
        )
    session.add(
        ReportRevision(
            clinic_id=report.clinic_id,
            report_id=report.id,
            version=base_version + 1,
            content=stored,
            saved_by_user_id=user.id,
            saved_at=now,
        )
    )
    session.flush()
    return _fresh(session, report)


def revisions(session: Session, report: Report) -> list[ReportRevision]:
    return list(
        session.scalars(
            select(ReportRevision)
            .where(ReportRevision.report_id == report.id)
            .order_by(ReportRevision.version)
        )
    )


# ---- signing -------------------------------------------------------------------------------------


def _signature(user: User, when: Any) -> Signature:
    return Signature(
        first_name=user.first_name,
        last_name=user.last_name,
        middle_name=user.middle_name,
        suffix1=user.suffix1,
        suffix2=user.suffix2,
        npi=user.npi_number or "",
        signed_at=when,
    )


def _sign_checks(report: Report, study: Study, content: ReportContent) -> list[dict[str, Any]] | None:
    """The pre-sign checks on the text being signed, to store with it. A failure of the checks
    never blocks a signature: it is logged and the report records None (not run)."""
    try:
        return checks.check_content(content, checks.study_context(study), is_addendum=report.is_addendum)
    except Exception:
        log.exception("pre-sign checks failed on report %s; signing without them", rid(report))
        return None


def presign_checks(
    session: Session,
    clinic_id: uuid.UUID,
    study_id: uuid.UUID,
    content: dict[str, Any],
    *,
    report_id: str | None = None,
) -> list[dict[str, Any]]:
    """The sign dialog's call: checks on the text on screen (which may be newer than the saved
    draft). `report_id` names the report or addendum being written, in this study and clinic."""
    parsed = parse_content(content)  # 400 naming the field, e.g. findings.subsections.0.text
    is_addendum = False
    if report_id is not None:
        report = get_report(session, clinic_id, report_id)
        if report.study_id != study_id:
            raise NotFound(f"No report {report_id}", param="reportId")
        is_addendum = report.is_addendum
    study = session.get(Study, study_id)
    if study is None or study.clinic_id != clinic_id:
        raise NotFound("No such study", param="studyId")
    return checks.check_content(parsed, checks.study_context(study), is_addendum=is_addendum)


def sign_report(
    session: Session,
    report: Report,
    user: User,
    *,
    is_critical: bool | None = None,
    base_version: int | None = None,
    actor: Actor | None = None,
) -> Report:
    """Freeze the report: text, signer, signedAt, snapshotMetadata, isCritical; study → completed.

    is_critical None takes the draft's own flag. With base_version, a draft changed since the
    radiologist last saw it is not signed (409). The PDF-then-delivery task is enqueued in this
    same transaction, so a signature is never committed without its delivery, nor the reverse.
    """
    study = study_of(session, report)
    _require_reader(session, study, user)
    if report.status != "in_progress":
        raise Conflict(f"Report {rid(report)} is already signed", param="reportId")
    if study.is_cancelled:
        raise Conflict(
            f"Study {brand(Prefix.STUDY, study.id)} is cancelled; uncancel it before signing", param="studyId"
        )
    content = ReportContent.model_validate(report.content or {})
    sections = Sections.from_content(content.stored())
    if sections.is_empty:
        raise Unprocessable(f"Report {rid(report)} is empty; dictate it before signing", param="reportId")
    critical = content.is_critical if is_critical is None else is_critical
    results = _sign_checks(report, study, content.model_copy(update={"is_critical": critical}))
    # What the sign dialog shows as "Must fix" blocks here too, whatever page or client signs.
    must_fix = [c["message"] for c in results or [] if c.get("level") == "error"]
    if must_fix:
        raise Unprocessable(
            f"Report {rid(report)} cannot be signed yet: {' '.join(must_fix)}", param="reportId"
        )
    now = utcnow()
    signature = _signature(user, now)
    text = part_text(Part(rid(report), report.is_addendum, sections, critical, signature))
    conditions = [Report.id == report.id, Report.status == "in_progress"]
    if base_version is not None:
        conditions.append(Report.version == base_version)
    result = session.execute(
        update(Report)
        .where(*conditions)
        .values(
            status="completed",
            signed_at=now,
            signed_by_user_id=user.id,
            signature=signature.as_dict(),
            is_critical=critical,
            snapshot_metadata=dict(study.report_metadata or {}),
            plain_text=text,
            sign_checks=results,
            version=Report.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        current = session.get(Report, report.id, populate_existing=True)
        if current is not None and current.status == "completed":
            raise Conflict(f"Report {rid(report)} is already signed", param="reportId")
        raise Conflict(
            f"Report {rid(report)} changed since version {base_version}; review it before signing",
            param="baseVersion",
        )
    study_values: dict[str, Any] = {"study_report_status": "completed", "updated_at": now}
    if not report.is_addendum:
        # The study's isCritical is the primary report's flag (reference 3.5).
        study_values["is_critical"] = critical
    session.execute(
        update(Study)
        .where(Study.id == study.id)
        .values(**study_values)
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        clinic_id=report.clinic_id,
        actor=actor or user_actor(user),
        action="report.signed",
        target_type="report",
        target_id=rid(report),
        details={
            "studyId": brand(Prefix.STUDY, study.id),
            "isAddendum": report.is_addendum,
            "isCritical": critical,
            "version": (base_version or report.version) + 1,
            # What the radiologist signed through (the full messages are on the report).
            "checks": sorted({c["code"] for c in results or ()}),
        },
    )
    session.flush()
    session.refresh(report)
    _request_delivery(session, report)
    session.flush()
    session.refresh(study)
    return _fresh(session, report)


# ---- addenda -------------------------------------------------------------------------------------


def _root(session: Session, report: Report) -> Report:
    if report.parent_report_id is None:
        return report
    root = session.get(Report, report.parent_report_id)
    assert root is not None
    return root


def open_addendum(session: Session, report: Report, actor: Actor, *, user: User | None = None) -> Report:
    """Start an addendum to a signed report (the original or any signed addendum of the study).

    The new report (isAddendum=true, in_progress) belongs to `user` when a radiologist opens it
    in the workspace; when an integrator opens it through the API, to the study's assigned
    radiologist, else to whoever signed the original. Study: completed → addendum_active.
    """
    study = study_of(session, report)
    if report.status != "completed":
        raise Conflict(
            f"Report {rid(report)} is not signed yet; an addendum can only amend a signed report",
            param="reportId",
        )
    if study.study_report_status == "addendum_active":
        draft = current_draft(session, study)
        suffix = f" ({rid(draft)})" if draft else ""
        raise Conflict(
            f"An addendum is already in progress for this study{suffix}; sign or cancel it first",
            param="reportId",
        )
    root = _root(session, report)
    if user is not None:
        _require_reader(session, study, user)
        author_id = user.id
    else:
        author_id = study.assigned_to_user_id or root.signed_by_user_id or root.author_user_id
    moved = session.execute(
        update(Study)
        .where(Study.id == study.id, Study.study_report_status == "completed")
        .values(study_report_status="addendum_active", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict(
            "The study changed meanwhile; an addendum may already be in progress", param="reportId"
        )
    addendum = Report(
        clinic_id=report.clinic_id,
        study_id=study.id,
        parent_report_id=root.id,
        is_addendum=True,
        status="in_progress",
        version=1,
        content=ReportContent().stored(),
        author_user_id=author_id,
    )
    session.add(addendum)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("An addendum is already in progress for this study", param="reportId") from None
    record(
        session,
        clinic_id=report.clinic_id,
        actor=actor,
        action="report.addendum_opened",
        target_type="report",
        target_id=rid(addendum),
        details={"studyId": brand(Prefix.STUDY, study.id), "amends": rid(root), "via": rid(report)},
    )
    session.flush()
    return _fresh(session, addendum)


def cancel_addendum(session: Session, report: Report, actor: Actor) -> Report:
    """Discard the study's unsigned addendum; the study goes back to completed.

    Accepts the addendum's own id, or the id of any signed report of the same study: a study has
    at most one addendum in progress, so either names it without ambiguity. Returns the
    discarded addendum (detached: its row is gone).
    """
    study = study_of(session, report)
    draft = current_draft(session, study)
    if draft is None or not draft.is_addendum:
        raise Conflict("No addendum is in progress for this study", param="reportId")
    if report.status == "in_progress" and report.id != draft.id:
        raise Conflict(f"Report {rid(report)} is not an addendum in progress", param="reportId")
    session.delete(draft)
    session.execute(
        update(Study)
        .where(Study.id == study.id, Study.study_report_status == "addendum_active")
        .values(study_report_status="completed", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        clinic_id=report.clinic_id,
        actor=actor,
        action="report.addendum_cancelled",
        target_type="report",
        target_id=rid(draft),
        details={"studyId": brand(Prefix.STUDY, study.id), "discardedVersion": draft.version},
    )
    return draft


# ---- documents -----------------------------------------------------------------------------------


def _clinic_name(session: Session, clinic_id: uuid.UUID) -> str:
    clinic = session.get(Clinic, clinic_id)
    return clinic.name if clinic else ""


def _header(session: Session, study: Study, metadata: dict[str, Any]) -> Header:
    return Header.from_study(
        clinic_name=_clinic_name(session, study.clinic_id),
        metadata=metadata,
        study_description=study.study_description,
        study_instance_uid=study.study_instance_uid,
        modality=study.modality,
        custom_metadata=study.custom_metadata,
    )


def to_part(report: Report) -> Part:
    content = ReportContent.model_validate(report.content or {})
    signed = report.status == "completed"
    return Part(
        report_id=rid(report),
        is_addendum=report.is_addendum,
        sections=Sections.from_content(content.stored()),
        is_critical=bool(report.is_critical) if signed else content.is_critical,
        signature=Signature.from_dict(report.signature) if signed and report.signature else None,
    )


def signed_document(session: Session, report: Report) -> ReportDocument:
    """The document a signed report stands for: the original, plus, for an addendum, every
    addendum signed up to and including it. It depends only on signed (immutable) rows, so its
    PDF never changes once rendered."""
    if report.status != "completed" or report.signed_at is None:
        raise Conflict(f"Report {rid(report)} is not signed yet", param="reportId")
    study = study_of(session, report)
    root = _root(session, report)
    parts = [root]
    if report.is_addendum:
        addenda = session.scalars(
            select(Report)
            .where(
                Report.parent_report_id == root.id,
                Report.status == "completed",
                Report.signed_at <= report.signed_at,
            )
            .order_by(Report.signed_at, Report.id)
        )
        parts += list(addenda)
    return ReportDocument(
        _header(session, study, report.snapshot_metadata or {}), tuple(to_part(p) for p in parts)
    )


def study_document(session: Session, study: Study) -> ReportDocument:
    """Everything a study's report currently is, drafts included: what the workspace shows."""
    reports = reports_of_study(session, study)
    originals = [r for r in reports if not r.is_addendum]
    addenda = sorted(
        (r for r in reports if r.is_addendum), key=lambda r: (r.signed_at is None, r.signed_at, r.id)
    )
    return ReportDocument(
        _header(session, study, study.report_metadata or {}), tuple(to_part(r) for r in originals + addenda)
    )


def snapshot_metadata(report: Report, study: Study) -> dict[str, Any]:
    """Frozen at signing; a draft shows the study's metadata as it is now."""
    if report.status == "completed" and report.snapshot_metadata is not None:
        return report.snapshot_metadata
    return dict(study.report_metadata or {})


# ---- priors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prior:
    """One prior for the comparison pane: a study of the same patient, or a prior report text
    the integrator sent with the study (priorReports; no study of ours behind it)."""

    source: str  # "study" (one of ours), "external" (archive study), "prior_report" (priorReports)
    study_id: str | None
    study_instance_uid: str | None
    study_description: str | None
    modality: str | None
    study_date: str | None
    report_text: str | None
    reader_name: str | None = None
    signed_at: str | None = None
    external_study_id: str | None = None
    report_id: str | None = None
    external_report_id: str | None = None
    has_report_file: bool = False


def priors_for(session: Session, study: Study) -> list[Prior]:
    """Priors of a study, newest first: the same externalPatientId's other studies in the clinic
    (and the same Express customer, whose patients they are), each with its signed report text
    (ours) or archive report text (external), then the study's own priorReports."""
    priors: list[Prior] = []
    if study.external_patient_id:
        others: Sequence[Study] = session.scalars(
            select(Study).where(
                Study.clinic_id == study.clinic_id,
                Study.external_patient_id == study.external_patient_id,
                Study.id != study.id,
                Study.deleted_at.is_(None),
                Study.is_cancelled.is_(False),
                Study.express_customer_id.is_(None)
                if study.express_customer_id is None
                else Study.express_customer_id == study.express_customer_id,
            )
        ).all()
        ids = [s.id for s in others]
        signed: dict[uuid.UUID, list[Report]] = {}
        externals: dict[uuid.UUID, ExternalReport] = {}
        if ids:
            for rep in session.scalars(
                select(Report)
                .where(Report.study_id.in_(ids), Report.status == "completed")
                .order_by(Report.signed_at)
            ):
                signed.setdefault(rep.study_id, []).append(rep)
            for found in session.scalars(select(ExternalReport).where(ExternalReport.study_id.in_(ids))):
                externals[found.study_id] = found
        for other in others:
            meta = other.report_metadata or {}
            common: dict[str, Any] = {
                "study_id": brand(Prefix.STUDY, other.id),
                "study_instance_uid": other.study_instance_uid,
                "study_description": other.study_description,
                "modality": other.modality,
                "study_date": meta.get("studyDate"),
            }
            if other.study_type == "external":
                ext: ExternalReport | None = externals.get(other.id)
                priors.append(
                    Prior(
                        source="external",
                        report_text=ext.report_text if ext else None,
                        reader_name=ext.reader_name if ext else None,
                        signed_at=ext.signed_at if ext else None,
                        external_report_id=brand(Prefix.EXTERNAL_REPORT, ext.id) if ext else None,
                        has_report_file=bool(ext and ext.file_key),
                        **common,
                    )
                )
            else:
                reps = signed.get(other.id, [])
                priors.append(
                    Prior(
                        source="study",
                        report_text="\n".join(r.plain_text or "" for r in reps) or None,
                        signed_at=reps[0].signed_at.isoformat() if reps and reps[0].signed_at else None,
                        report_id=rid(reps[0]) if reps else None,
                        **common,
                    )
                )
        priors.sort(key=lambda p: (p.study_date or "", p.study_id or ""), reverse=True)
    for item in study.prior_reports or []:
        priors.append(
            Prior(
                source="prior_report",
                study_id=None,
                study_instance_uid=None,
                study_description=item.get("studyDescription"),
                modality=item.get("modality"),
                study_date=item.get("studyDate"),
                report_text=item.get("reportText"),
                external_study_id=item.get("externalStudyId"),
            )
        )
    return priors
