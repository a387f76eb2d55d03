"""Report PDFs: rendered once per signed report, on first need, and kept in storage.

A signed report's document depends only on immutable rows (see service.signed_document), so
its PDF is rendered at most once and its storage key is fixed. Rendering happens lazily: before
the first report.delivered attempt (the delivery refresher) or on the first /reports/pdf call,
whichever comes first. Signing itself never waits for WeasyPrint.
"""

from __future__ import annotations

import logging
import time
import uuid

from sqlalchemy.orm import Session

from autoscribe.documents.pdf import render_pdf
from autoscribe.errors import Conflict
from autoscribe.ids import Prefix, brand
from autoscribe.observability import metrics
from autoscribe.reports.models import Report
from autoscribe.reports.service import rid, signed_document
from autoscribe.storage import get_storage

log = logging.getLogger("autoscribe.reports")

PDF_TYPE = "application/pdf"


def pdf_key(report: Report) -> str:
    return pdf_key_of(report.clinic_id, report.study_id, report.id)


def pdf_key_of(clinic_id: uuid.UUID, study_id: uuid.UUID, report_id: uuid.UUID) -> str:
    return f"reports/{clinic_id.hex}/{study_id.hex}/{brand(Prefix.REPORT, report_id)}.pdf"


def download_name(report: Report) -> str:
    return download_name_of(report.id)


def download_name_of(report_id: uuid.UUID) -> str:
    return f"{brand(Prefix.REPORT, report_id)}.pdf"


def ensure_pdf(session: Session, report: Report) -> str:
    """The storage key of the report's PDF, rendering and storing it first if needed."""
    if report.status != "completed":
        raise Conflict(
            f"Report {rid(report)} is not signed yet; its PDF exists once it is signed", param="reportId"
        )
    storage = get_storage()
    key = pdf_key(report)
    if storage.exists(key):
        return key
    started = time.perf_counter()
    data = render_pdf(signed_document(session, report))
    rendered = time.perf_counter()
    metrics.pdf_render(rendered - started)
    # Two processes may race here; both write the same document under the same key.
    storage.put(key, data, content_type=PDF_TYPE)
    log.info(
        "rendered %s: %d bytes, render %.0f ms, store %.0f ms",
        rid(report),
        len(data),
        (rendered - started) * 1000,
        (time.perf_counter() - rendered) * 1000,
    )
    return key


def pdf_url(session: Session, report: Report, *, issued_for: str | None = None) -> str:
    """A presigned link to the PDF, valid for AUTOSCRIBE_DOWNLOAD_URL_TTL_SECONDS (one hour);
    `issued_for` names whom it is handed to (see Storage.presign)."""
    key = ensure_pdf(session, report)
    return get_storage().presign(
        key, download_name=download_name(report), content_type=PDF_TYPE, issued_for=issued_for
    )
