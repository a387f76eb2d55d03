"""Webhook services for the CLI and the dashboard: replay, test events, the delivery log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.auth.models import ApiKey
from autoscribe.auth.service import webhook_secret
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.errors import Conflict, InvalidRequest, NotFound
from autoscribe.ids import Prefix, brand, new_id, parse
from autoscribe.pagination import Page, paginate
from autoscribe.webhooks import delivery, outbox, samples, sync
from autoscribe.webhooks.models import (
    FAILED,
    KIND_ASYNC,
    KIND_TEST,
    PENDING,
    SUCCEEDED,
    DisabledEndpoint,
    WebhookAttempt,
    WebhookEvent,
)
from autoscribe.webhooks.schemas import SYNC_ANSWERS, AttemptView, EventView
from autoscribe.webhooks.signing import normalize_data

EVENT_STATUSES = (PENDING, SUCCEEDED, FAILED)


def _event_uuid(event_id: str | uuid.UUID) -> uuid.UUID:
    if isinstance(event_id, uuid.UUID):
        return event_id
    return parse(Prefix.WEBHOOK_EVENT, event_id, "eventId")


def get_event(
    session: Session, event_id: str | uuid.UUID, *, clinic_id: uuid.UUID | None = None
) -> WebhookEvent:
    event = session.get(WebhookEvent, _event_uuid(event_id))
    if event is None or (clinic_id is not None and event.clinic_id != clinic_id):
        raise NotFound("No such webhook event", param="eventId")
    return event


def list_events(
    session: Session,
    *,
    clinic_id: uuid.UUID,
    api_key_id: uuid.UUID | None = None,
    status: str | None = None,
    event_type: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[WebhookEvent]:
    """A clinic's events, newest first (the Deliveries page)."""
    stmt = select(WebhookEvent).where(WebhookEvent.clinic_id == clinic_id)
    if api_key_id is not None:
        stmt = stmt.where(WebhookEvent.api_key_id == api_key_id)
    if status is not None:
        if status not in EVENT_STATUSES:
            raise InvalidRequest(f"status must be one of: {', '.join(EVENT_STATUSES)}", param="status")
        stmt = stmt.where(WebhookEvent.status == status)
    if event_type is not None:
        stmt = stmt.where(WebhookEvent.event_type == event_type)
    return paginate(session, stmt, WebhookEvent.id, cursor=cursor, limit=limit)


def list_attempts(
    session: Session, event_id: str | uuid.UUID, *, clinic_id: uuid.UUID | None = None
) -> list[WebhookAttempt]:
    """Every attempt for one event, oldest first."""
    event = get_event(session, event_id, clinic_id=clinic_id)
    return list(
        session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.event_id == event.id).order_by(WebhookAttempt.id)
        )
    )


def event_view(event: WebhookEvent) -> EventView:
    return EventView(
        id=brand(Prefix.WEBHOOK_EVENT, event.id),
        type=event.event_type,
        kind=event.kind,
        api_key_id=str(event.api_key_id),
        status=event.status,
        attempt_count=event.attempt_count,
        next_attempt_at=event.next_attempt_at if event.status == PENDING else None,
        last_attempt_at=event.last_attempt_at,
        last_status_code=event.last_status_code,
        last_error=event.last_error,
        delivered_at=event.delivered_at,
        created_at=event.created_at,
        data=event.data,
    )


def attempt_view(attempt: WebhookAttempt) -> AttemptView:
    return AttemptView(
        attempt_number=attempt.attempt_number,
        trigger=attempt.trigger,
        started_at=attempt.started_at,
        url=attempt.url,
        status_code=attempt.status_code,
        duration_ms=attempt.duration_ms,
        succeeded=attempt.succeeded,
        response_body=attempt.response_body,
        error=attempt.error,
    )


def replay(
    session: Session,
    event_id: str | uuid.UUID,
    *,
    clinic_id: uuid.UUID | None = None,
    actor: Actor | None = None,
) -> WebhookEvent:
    """Send an asynchronous event again, from the start of the retry schedule, as soon as a
    dispatcher is free. Works for failed and succeeded events (the receiver lost it) and makes
    a pending one due now. Same event id, so receivers deduplicate. Commits."""
    event = get_event(session, event_id, clinic_id=clinic_id)
    if event.kind != KIND_ASYNC:
        raise InvalidRequest(
            f"{event.event_type} was a {event.kind} call; only asynchronous events can be replayed",
            param="eventId",
        )
    now = utcnow()
    if event.status == PENDING and event.locked_until is not None and event.locked_until > now:
        raise Conflict("This event is being delivered right now", param="eventId")
    key = session.get(ApiKey, event.api_key_id)
    if key is not None and key.report_webhook_url:
        disabled = session.get(DisabledEndpoint, (key.id, key.report_webhook_url))
        if disabled is not None:
            raise Conflict(
                f"The endpoint is disabled because {disabled.reason}; edit the API key's endpoints "
                "to re-enable it, then replay",
                param="eventId",
            )
    event.status = PENDING
    event.schedule_index = 0
    event.next_attempt_at = now
    event.locked_until = None
    event.lock_token = None
    record(
        session,
        clinic_id=event.clinic_id,
        actor=actor or Actor.system(),
        action="webhook_event.replayed",
        target_type="webhook_event",
        target_id=brand(Prefix.WEBHOOK_EVENT, event.id),
    )
    outbox.request_wake(session)
    return event


def disabled_endpoints(session: Session, api_key_id: uuid.UUID) -> list[DisabledEndpoint]:
    return list(session.scalars(select(DisabledEndpoint).where(DisabledEndpoint.api_key_id == api_key_id)))


def enable_endpoints(session: Session, key: ApiKey, *, actor: Actor | None = None) -> int:
    """Re-enable a key's endpoints disabled by a 410 (editing the endpoints does it too). Commits."""
    rows = disabled_endpoints(session, key.id)
    for row in rows:
        session.delete(row)
    if rows:
        record(
            session,
            clinic_id=key.clinic_id,
            actor=actor or Actor.system(),
            action="api_key.endpoints_reenabled",
            target_type="api_key",
            target_id=str(key.id),
        )
    return len(rows)


@dataclass
class TestResult:
    event_id: str
    event_type: str
    url: str | None  # without query string
    succeeded: bool
    status_code: int | None
    duration_ms: int
    response_body: str | None  # first 2 KB
    error: str | None
    answer: dict[str, Any] | None  # the validated answer of a synchronous event
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "type": self.event_type,
            "url": self.url,
            "succeeded": self.succeeded,
            "statusCode": self.status_code,
            "durationMs": self.duration_ms,
            "responseBody": self.response_body,
            "error": self.error,
            "answer": self.answer,
            "data": self.data,
        }


def send_test(
    session: Session,
    api_key: ApiKey,
    event_type: str,
    *,
    data: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> TestResult:
    """Send one realistic sample event now, signed with the key's secret, to the key's matching
    endpoint, and report what happened. Never retried; logged with kind "test".

    Raises WebhookNotConfigured when the key has no endpoint for the event; every other failure
    is in the result.
    """
    if event_type not in samples.TEST_EVENT_TYPES:
        raise InvalidRequest(f"event must be one of: {', '.join(samples.TEST_EVENT_TYPES)}", param="event")
    payload = normalize_data(data if data is not None else samples.sample_data(event_type))
    model = SYNC_ANSWERS.get(event_type)
    if model is not None:
        result = sync.perform(
            session, api_key, event_type, payload, timeout=timeout, model=model, kind=KIND_TEST
        )
        outcome = result.outcome
        return TestResult(
            event_id=result.event_id,
            event_type=event_type,
            url=outcome.url,
            succeeded=result.failure is None,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_body=outcome.logged_body,
            error=None if result.failure is None else result.failure.message,
            answer=None
            if result.answer is None
            else result.answer.model_dump(by_alias=True, exclude_none=True),
            data=payload,
        )
    url = sync.require_endpoint(api_key, event_type)
    settings = get_settings()
    event_uuid = new_id()
    event_id = brand(Prefix.WEBHOOK_EVENT, event_uuid)
    started_at = utcnow()
    outcome = delivery.post_event(
        url,
        secret=webhook_secret(api_key),
        event_id=event_id,
        event_type=event_type,
        data=payload,
        timeout=timeout if timeout is not None else settings.webhook_timeout,
        max_bytes=settings.webhook_max_response_bytes,
    )
    sync.log_inline_attempt(
        session, api_key, event_uuid, event_type, payload, outcome, started_at, outcome.error, KIND_TEST
    )
    return TestResult(
        event_id=event_id,
        event_type=event_type,
        url=outcome.url,
        succeeded=outcome.succeeded,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_body=outcome.logged_body,
        error=outcome.error,
        answer=None,
        data=payload,
    )


def purge(session: Session, *, older_than: timedelta) -> int:
    """Delete finished events (and their attempts) created more than `older_than` ago. Commits.

    Pending events are never purged: they have not been delivered yet.
    """
    cutoff = utcnow() - older_than
    finished = select(WebhookEvent.id).where(
        WebhookEvent.status.in_((SUCCEEDED, FAILED)), WebhookEvent.created_at < cutoff
    )
    ids = list(session.scalars(finished))
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        session.execute(delete(WebhookAttempt).where(WebhookAttempt.event_id.in_(part)))
        session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(part)))
    return len(ids)
