"""The reports domain's background tasks and webhook refreshers (registered in autoscribe.tasks)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from autoscribe.ids import Prefix, parse
from autoscribe.queue.models import Task
from autoscribe.queue.runner import TaskSpec
from autoscribe.reports import delivery
from autoscribe.reports.models import Report
from autoscribe.reports.pdf import ensure_pdf
from autoscribe.reports.service import RENDER_TASK, study_of
from autoscribe.webhooks.outbox import EventRefresher

log = logging.getLogger("autoscribe.reports")


def render_and_deliver(session: Session, task: Task) -> None:
    """Render and store a signed report's PDF, then enqueue its report.delivered events: both
    commit with the task's completion, so the events exist once and link to a stored PDF."""
    report = session.get(Report, parse(Prefix.REPORT, str(task.payload["reportId"]), "reportId"))
    if report is None or report.status != "completed":
        return  # nothing signed to deliver
    ensure_pdf(session, report)
    delivery.enqueue_report_delivered(session, report, study_of(session, report))


def render_failed(session: Session, task: Task, message: str) -> None:
    # Operators see it here and on the task row; the report stays signed and readable in the API.
    log.error(
        "report %s: PDF rendering failed %d times, so it was not delivered: %s",
        task.payload.get("reportId"),
        task.attempts,
        message,
    )


TASKS = (
    # Rendering takes well under a second; a failing one (fonts, storage) is retried for hours.
    TaskSpec(
        RENDER_TASK,
        render_and_deliver,
        on_failure=render_failed,
        lease_seconds=120,
        backoff_seconds=(1, 5, 30, 300, 1800, 7200),
    ),
)
WEBHOOK_REFRESHERS: dict[str, EventRefresher] = {delivery.EVENT_TYPE: delivery.REFRESHER}
