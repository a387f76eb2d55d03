"""A study's reports on its dashboard page, for users who may read them (perms.can_read_reports):
the signed report with its addenda, laid out as in the PDF, and each signed version's PDF.

A version is what a signed report stands for (reports.service.signed_document): the original, or
the original with every addendum signed up to that one. Drafts are not shown: only signed text is
a report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from autoscribe.audit import service as audit
from autoscribe.auth import permissions as perms
from autoscribe.auth.context import SessionDep
from autoscribe.documents.model import Signature
from autoscribe.documents.render import render_fragment
from autoscribe.errors import APIError
from autoscribe.ids import Prefix, brand
from autoscribe.reports import service as reports
from autoscribe.reports.models import Report
from autoscribe.reports.pdf import PDF_TYPE, download_name, ensure_pdf
from autoscribe.storage import get_storage
from autoscribe.studies import service as studies
from autoscribe.studies.models import Study
from autoscribe.users.models import User
from autoscribe.web.dashboard.common import WorklistUser, actor_of, not_found
from autoscribe.web.deps import PageError
from autoscribe.workspace.routes import report_css_version

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class SignedVersion:
    label: str  # "Report", "Addendum 1", ...
    report_id: str
    signer: str
    signed_at: datetime
    is_critical: bool
    pdf_url: str


@dataclass(frozen=True)
class ReportsView:
    versions: list[SignedVersion]  # oldest first
    document: Markup | None  # the latest version, as it reads
    writing: str | None  # "Report" or "Addendum 2" while a draft of it is open

    @property
    def css_url(self) -> str:
        """The report's own stylesheet (the PDF's), as the workspace links it."""
        return f"/assets/report.css?v={report_css_version()}"


def pdf_path(study: Study, report: Report) -> str:
    return f"/worklist/studies/{brand(Prefix.STUDY, study.id)}/reports/{reports.rid(report)}/pdf"


def reports_view(session: Session, user: User, study: Study) -> ReportsView | None:
    """What the study page shows of its reports (None: this user may not read them): one query
    for the study's reports, two for the document (signed_document: its addenda, the clinic)."""
    if not perms.can_read_reports(user):
        return None
    versions: list[SignedVersion] = []
    latest: Report | None = None
    writing = None
    addenda = 0
    # Oldest first: the original, then addenda in the order opened (whole rows: the study's own
    # `reports` carry a few columns only).
    for report in reports.reports_of_study(session, study):
        label = f"Addendum {addenda + 1}" if report.is_addendum else "Report"
        if report.status != "completed":
            writing = label
            continue
        addenda += report.is_addendum
        signature = Signature.from_dict(report.signature) if report.signature else None
        versions.append(
            SignedVersion(
                label=label,
                report_id=reports.rid(report),
                signer=signature.display_name if signature else "",
                signed_at=report.signed_at or report.updated_at,
                is_critical=bool(report.is_critical),
                pdf_url=pdf_path(study, report),
            )
        )
        latest = report  # one draft at a time: each addendum is signed after the one before
    document = render_fragment(reports.signed_document(session, latest)) if latest is not None else None
    return ReportsView(versions, document, writing)


@router.get("/worklist/studies/{study_id}/reports/{report_id}/pdf")
def report_pdf(
    request: Request, session: SessionDep, web_user: WorklistUser, study_id: str, report_id: str
) -> Response:
    """A signed report's PDF (rendered on first need, as for the API), as a download."""
    user = web_user.user
    if not perms.can_read_reports(user):
        raise PageError(403, "You cannot read reports", "Your account does not allow reading reports.")
    try:
        study = studies.get_study(session, studies.scope_for_user(session, user), study_id)
        report = reports.get_report(session, user.clinic_id, report_id)
    except APIError:
        raise not_found("Report") from None
    if report.study_id != study.id or report.status != "completed":
        raise not_found("Report")
    data = get_storage().get(ensure_pdf(session, report))
    audit.record_read(
        session,
        actor_of(request, web_user),
        study,
        "read.report_pdf",
        details={"reportIds": [reports.rid(report)], "via": "dashboard"},
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{download_name(report)}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=PDF_TYPE, headers=headers)
