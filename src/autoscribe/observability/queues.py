"""Queue depth and age, read from the database when /metrics is scraped.

Two small aggregate queries, on the readiness probe's connections (health.probe_engine) and under
a statement timeout on PostgreSQL: the task table by kind
(queued and running tasks, and how long the longest-waiting due task has waited), and the
webhook outbox by event type (pending events, and how late the most overdue one is). A task or
event waiting for its retry back-off is queued but not late, so it counts in the depth and not in
the age. Every known kind appears, with 0 when idle, so that dashboards and alerts see a value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from autoscribe import tasks
from autoscribe.db import utcnow
from autoscribe.observability.health import probe_engine
from autoscribe.queue.models import QUEUED, RUNNING, Task
from autoscribe.webhooks.models import KIND_ASYNC, PENDING, WebhookEvent

log = logging.getLogger("autoscribe.metrics")

STATEMENT_TIMEOUT_MS = 2000


def _age(now: datetime, oldest: datetime | str | None) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite may hand an aggregate back as text
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:  # SQLite stores naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())


class QueueCollector(Collector):
    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # nothing to check at registration (and no query)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "autoscribe_tasks", "Background tasks waiting or running, by kind", labels=["kind", "state"]
        )
        age = GaugeMetricFamily(
            "autoscribe_task_oldest_due_age_seconds",
            "How long the longest-waiting due task of each kind has waited to be started",
            labels=["kind"],
        )
        pending = GaugeMetricFamily(
            "autoscribe_webhook_events_pending",
            "Webhook events not delivered yet (waiting, retrying or being sent), by event type",
            labels=["event_type"],
        )
        late = GaugeMetricFamily(
            "autoscribe_webhook_oldest_due_age_seconds",
            "How long the most overdue pending webhook event has waited for its attempt",
            labels=["event_type"],
        )
        up = GaugeMetricFamily(
            "autoscribe_queue_stats_up", "1 when the queue figures above were read from the database"
        )
        counts: dict[tuple[str, str], int] = {(kind, s): 0 for kind in tasks.TASKS for s in (QUEUED, RUNNING)}
        ages: dict[str, float] = dict.fromkeys(tasks.TASKS, 0.0)
        events: dict[str, int] = dict.fromkeys(tasks.WEBHOOK_REFRESHERS, 0)
        event_ages: dict[str, float] = dict.fromkeys(tasks.WEBHOOK_REFRESHERS, 0.0)
        try:
            now = utcnow()
            # The readiness probe's connections: a scrape never waits for, or takes, the API's.
            with Session(bind=probe_engine()) as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
                due = case((Task.run_after <= now, Task.run_after))
                for kind, state, count, oldest in session.execute(
                    select(Task.kind, Task.status, func.count(), func.min(due))
                    .where(Task.queue.in_(sorted({t.queue for t in tasks.TASKS.values()})))
                    .where(Task.status.in_((QUEUED, RUNNING)))
                    .group_by(Task.kind, Task.status)
                ):
                    counts[(kind, state)] = int(count)
                    if state == QUEUED:
                        ages[kind] = _age(now, oldest)
                event_due = case((WebhookEvent.next_attempt_at <= now, WebhookEvent.next_attempt_at))
                for event_type, count, oldest in session.execute(
                    select(WebhookEvent.event_type, func.count(), func.min(event_due))
                    .where(WebhookEvent.status == PENDING, WebhookEvent.kind == KIND_ASYNC)
                    .group_by(WebhookEvent.event_type)
                ):
                    events[event_type] = int(count)
                    event_ages[event_type] = _age(now, oldest)
                session.rollback()
        except Exception as exc:
            log.warning("metrics: could not read the queues: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        for (kind, state), count in sorted(counts.items()):
            depth.add_metric([kind, state], count)
        for kind, seconds in sorted(ages.items()):
            age.add_metric([kind], seconds)
        for event_type, count in sorted(events.items()):
            pending.add_metric([event_type], count)
        for event_type, seconds in sorted(event_ages.items()):
            late.add_metric([event_type], seconds)
        up.add_metric([], 1)
        yield from (depth, age, pending, late, up)
