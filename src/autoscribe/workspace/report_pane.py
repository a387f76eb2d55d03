"""The report pane of the workspace: what it shows (`pane`, a read), starting the report (`start`,
the page's POST .../report/start: the draft opens and clinical-context enrichment is asked for),
and the changes a reading session makes (save, sign, addenda)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from autoscribe.context import service as enrichment
from autoscribe.documents.model import Header, ReportDocument
from autoscribe.documents.render import render_fragment
from autoscribe.errors import Conflict, PermissionDenied
from autoscribe.reports import service as reports
from autoscribe.reports.models import Report
from autoscribe.reports.schemas import ReportContent
from autoscribe.studies.models import Study
from autoscribe.users.models import User
from autoscribe.workspace.access import Access, stu
from autoscribe.workspace.models import IMAGES


@dataclass(frozen=True)
class SignedChecks:
    """The pre-sign checks recorded when a report or addendum was signed (what was signed through)."""

    label: str  # "Report" or "Addendum"
    report_id: str
    results: list[dict[str, Any]]


def signed_checks(session: Session, study: Study) -> list[SignedChecks]:
    """Signed reports of the study that recorded their checks, in signing order."""
    signed = [r for r in reports.reports_of_study(session, study) if r.status == "completed"]
    signed.sort(key=lambda r: (r.signed_at is None, r.signed_at, r.id))
    return [
        SignedChecks("Addendum" if r.is_addendum else "Report", reports.rid(r), list(r.sign_checks))
        for r in signed
        if r.sign_checks is not None
    ]


@dataclass
class Pane:
    """Everything the report pane shows (templates/workspace/_report.html)."""

    mode: str
    editable: bool
    header: Header
    draft: Report | None  # the report or addendum being written (dictate mode)
    content: dict[str, Any] | None  # its sections
    document: Markup | None  # the signed parts (dictate) or the whole report (view)
    has_signed: bool
    can_open_addendum: bool
    status: str  # the study's report status
    signer_name: str | None
    signer_npi: str | None
    problem: str | None = None  # why editing is not possible (study state)
    starting: bool = False  # no draft yet: the page's script is starting the report
    checks_at_signing: list[SignedChecks] = field(default_factory=list)
    # What clinical-context enrichment brought (the page and the start: notes, priors, documents).
    clinical_context: enrichment.PageContext | None = None

    @property
    def report_id(self) -> str | None:
        return reports.rid(self.draft) if self.draft is not None else None


def _render(doc: ReportDocument) -> Markup | None:
    return render_fragment(doc) if doc.parts else None


# The study states in which the report can be started (a signed one is amended with an addendum).
_STARTABLE = ("assigned", "in_progress")
_VIEW_ONLY = "This is a view-only session: the report cannot be changed from it"


def start_due(access: Access) -> bool:
    """Whether the page starts the report when it opens: its reader may edit a study not signed yet."""
    return access.can_edit and access.study is not None and access.study.study_report_status in _STARTABLE


def pane(session: Session, access: Access, *, problem: str | None = None, with_context: bool = False) -> Pane:
    """The report pane for this access, as it stands (a read: nothing changes). `with_context`
    adds what clinical-context enrichment brought (the page and its start show it)."""
    study = access.study
    assert study is not None
    if access.mode == IMAGES:
        raise PermissionDenied("This is a Viewer session: it shows the study's images only, no report")
    session.refresh(study)
    doc = reports.study_document(session, study)
    draft = reports.current_draft(session, study) if access.can_edit else None
    if draft is not None and access.user is not None and study.assigned_to_user_id != access.user.id:
        problem = f"Study {stu(study)} is now assigned to someone else"
        draft = None
    signed = replace(doc, parts=tuple(p for p in doc.parts if p.signature is not None))
    editable = access.can_edit and draft is not None and problem is None
    user = access.user
    return Pane(
        mode=access.mode,
        editable=editable,
        header=doc.header,
        draft=draft if editable else None,
        content=ReportContent.model_validate(draft.content or {}).stored() if editable and draft else None,
        document=_render(signed if access.can_edit else doc),
        has_signed=bool(signed.parts),
        can_open_addendum=access.can_edit and problem is None and study.study_report_status == "completed",
        status=study.study_report_status,
        signer_name=user.display_name if user else None,
        signer_npi=user.npi_number if user else None,
        problem=problem,
        starting=draft is None and problem is None and start_due(access),
        checks_at_signing=signed_checks(session, study),
        clinical_context=enrichment.page_context(session, study, issued_for=access.actor(None).ref)
        if with_context
        else None,
    )


def start(session: Session, access: Access, address: str | None) -> Pane:
    """POST .../report/start, sent by the page when its reader may edit: opens or resumes the draft
    (assigned → in_progress) and asks the integrator's EHR for the clinical context (soft, once
    per study). Idempotent: a started report is returned as it is."""
    study, user = access.study, access.user
    if not access.can_edit or study is None or user is None:
        raise PermissionDenied(_VIEW_ONLY)
    problem = None
    if study.study_report_status in _STARTABLE:
        try:
            reports.start_report(session, study, user, actor=access.actor(address))
        except (Conflict, PermissionDenied) as exc:
            problem = exc.message
        else:
            enrichment.enrich_on_report_start(session, study, user)
    return pane(session, access, problem=problem, with_context=True)


def _editable_draft(session: Session, access: Access, report_id: str) -> tuple[Report, User]:
    if not access.can_edit or access.user is None or access.study is None:
        raise PermissionDenied(_VIEW_ONLY)
    draft = reports.current_draft(session, access.study)
    if draft is None or reports.rid(draft) != report_id:
        raise Conflict(
            f"Report {report_id} is not the draft in progress any more (it was signed or discarded "
            "elsewhere); reload to see the report as it is now",
            param="reportId",
        )
    return draft, access.user


def save(
    session: Session,
    access: Access,
    report_id: str,
    content: dict[str, Any],
    base_version: int,
    address: str | None,
) -> Report:
    draft, user = _editable_draft(session, access, report_id)
    return reports.save_draft(session, draft, user, content, base_version, actor=access.actor(address))


def sign(
    session: Session,
    access: Access,
    report_id: str,
    *,
    base_version: int,
    is_critical: bool,
    address: str | None,
) -> Report:
    draft, user = _editable_draft(session, access, report_id)
    return reports.sign_report(
        session, draft, user, is_critical=is_critical, base_version=base_version, actor=access.actor(address)
    )


def open_addendum(session: Session, access: Access, address: str | None) -> Report:
    if not access.can_edit or access.user is None or access.study is None:
        raise PermissionDenied(_VIEW_ONLY)
    signed = [r for r in reports.reports_of_study(session, access.study) if r.status == "completed"]
    if not signed:
        raise Conflict("This study has no signed report to amend yet", param="reportId")
    # Any signed report names the study's addendum; the latest is the natural one to amend.
    latest = max(signed, key=lambda r: (r.signed_at is not None, r.signed_at, r.id))
    return reports.open_addendum(session, latest, access.actor(address), user=access.user)


def cancel_addendum(session: Session, access: Access, report_id: str, address: str | None) -> None:
    draft, _ = _editable_draft(session, access, report_id)
    if not draft.is_addendum:
        raise Conflict("Only an addendum can be discarded; a report in progress is signed", param="reportId")
    reports.cancel_addendum(session, draft, access.actor(address))
