"""report.delivered: who receives it, what it carries, and the fresh link on every attempt.

Signing is a straight line: the signature's transaction enqueues the `reports.render_pdf` task
(`reports.service.RENDER_TASK`); that task renders and stores the PDF, then enqueues one
report.delivered event per receiver in the webhooks outbox (reports.tasks). A render failure is
retried as a render, never reported as a delivery failure, and no event links to a PDF that does
not exist.
Receivers:
- a study created through the API: the API key that created it, if that key is not revoked
  and has a report-data webhook URL;
- a study created in the dashboard (no creating key): every active key of the clinic with a
  report-data webhook URL and study scope "all" (a "self" key never sees such a study).
Addenda are delivered the same way when they are signed.

Data (reference 7.2, SDK 0.3.0 `ReportDeliveredEventData`): reportId, studyId, studyInstanceUid,
externalPatientId (when the study has one), plainText, presignedUrl, isCritical. The PDF link in a
stored event would be stale by the time a retry runs hours later, so the dispatcher's refresher
(REFRESHER) puts a freshly presigned URL into presignedUrl before every attempt. (It still
renders a missing PDF: events enqueued before the render task existed have none yet.)
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autoscribe.ids import Prefix, brand, parse
from autoscribe.reports.models import Report
from autoscribe.reports.pdf import PDF_TYPE, download_name, download_name_of, pdf_key, pdf_key_of, pdf_url
from autoscribe.storage import get_storage
from autoscribe.studies.models import Study
from autoscribe.webhooks import outbox
from autoscribe.webhooks.receivers import study_receivers

log = logging.getLogger("autoscribe.reports")

EVENT_TYPE = "report.delivered"
# Whom the event's PDF links are for, as their downloads are audited (the refresher does not know
# which of the receiving keys an attempt is for).
LINK_HOLDER = "webhook:" + EVENT_TYPE


def study_fields(study: Study) -> dict[str, Any]:
    """What the event says about the study besides its id: its DICOM UID, and the integrator's
    patient id when the study has one."""
    fields: dict[str, Any] = {"studyInstanceUid": study.study_instance_uid}
    if study.external_patient_id:
        fields["externalPatientId"] = study.external_patient_id
    return fields


def event_data(report: Report, study: Study, presigned_url: str) -> dict[str, Any]:
    return {
        "reportId": brand(Prefix.REPORT, report.id),
        "studyId": brand(Prefix.STUDY, study.id),
        **study_fields(study),
        "plainText": report.plain_text or "",
        "presignedUrl": presigned_url,
        "isCritical": bool(report.is_critical),
    }


def enqueue_report_delivered(session: Session, report: Report, study: Study) -> list[str]:
    """Add one report.delivered event per receiving key to the caller's transaction."""
    targets = study_receivers(session, study, "report")
    if not targets:
        return []
    # A link computed now (no network, no rendering); the refresher replaces it per attempt.
    url = get_storage().presign(
        pdf_key(report), download_name=download_name(report), content_type=PDF_TYPE, issued_for=LINK_HOLDER
    )
    data = event_data(report, study, url)
    return [
        outbox.enqueue(
            session, clinic_id=study.clinic_id, api_key_id=key.id, event_type=EVENT_TYPE, data=data
        )
        for key in targets
    ]


def _stored_pdf_link(
    report_id: uuid.UUID, clinic_id: uuid.UUID, study_id: uuid.UUID, status: str
) -> str | None:
    """A fresh link to a signed report's PDF when it is stored already; None when it must be rendered."""
    storage = get_storage()
    key = pdf_key_of(clinic_id, study_id, report_id)
    if status != "completed" or not storage.exists(key):
        return None
    return storage.presign(
        key, download_name=download_name_of(report_id), content_type=PDF_TYPE, issued_for=LINK_HOLDER
    )


def refresh_report_delivered(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """Before every delivery attempt: make sure the PDF exists, and link to it afresh."""
    try:
        report_id: uuid.UUID = parse(Prefix.REPORT, str(data.get("reportId")), "reportId")
    except Exception:
        return data
    # Three columns rather than the whole report (its content and text): this runs before every
    # attempt, and once the PDF exists the link is all that changes.
    row = session.execute(
        select(Report.clinic_id, Report.study_id, Report.status).where(Report.id == report_id)
    ).first()
    if row is None:
        return data
    if "studyInstanceUid" not in data:
        # Written before the payload carried the study's UID: still pending after an upgrade.
        study = session.get(Study, row.study_id)
        data = {**data, **study_fields(study)} if study is not None else data
    url = _stored_pdf_link(report_id, row.clinic_id, row.study_id, row.status)
    if url is not None:
        return {**data, "presignedUrl": url}
    report = session.get(Report, report_id)
    if report is None:
        return data
    return {**data, "presignedUrl": pdf_url(session, report, issued_for=LINK_HOLDER)}  # renders it first


def refresh_report_delivered_batch(
    session: Session, items: list[dict[str, Any]]
) -> list[dict[str, Any] | None]:
    """A claimed batch's fresh links in one query, for the reports whose PDF is already stored.

    Only when storage can tell cheaply whether a PDF exists (a local file, not a request to a
    bucket); anything else (a PDF to render, S3) is left to the per-attempt refresher."""

    out: list[dict[str, Any] | None] = [None] * len(items)
    if get_storage().name != "local":
        return out
    wanted: dict[uuid.UUID, list[int]] = {}
    for index, data in enumerate(items):
        if "studyInstanceUid" not in data:
            continue  # an event from before the UID was in the payload: the per-attempt refresher adds it
        try:
            wanted.setdefault(parse(Prefix.REPORT, str(data.get("reportId")), "reportId"), []).append(index)
        except Exception:
            out[index] = data  # not a report id: sent as stored, as the per-attempt refresher would
    if not wanted:
        return out
    rows = session.execute(
        select(Report.id, Report.clinic_id, Report.study_id, Report.status).where(Report.id.in_(wanted))
    )
    for report_id, clinic_id, study_id, status in rows:
        url = _stored_pdf_link(report_id, clinic_id, study_id, status)
        if url is None:
            continue
        for index in wanted[report_id]:
            out[index] = {**items[index], "presignedUrl": url}
    return out


# Handed to the webhook dispatcher by autoscribe.tasks (WEBHOOK_REFRESHERS).
REFRESHER = outbox.EventRefresher(refresh_report_delivered, batch=refresh_report_delivered_batch)
