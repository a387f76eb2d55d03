"""One delivery attempt: route, refresh, sign, POST, judge the answer, record, schedule a retry.

Rules (Svix/Stripe-like):
- success is any 2xx within the timeout; 3xx (redirects are never followed), 4xx, 5xx, timeouts
  and connection errors are failures and are retried on the schedule
  (AUTOSCRIBE_WEBHOOK_RETRY_SCHEDULE, jittered), never sooner than a `Retry-After` asks;
- 410 Gone fails the event at once and disables that endpoint of that key: later events for it
  fail without being sent until the key's endpoints are edited (which re-enables it); failed
  events can then be replayed;
- an event whose key is revoked or has no report endpoint fails without a request.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from autoscribe.auth import crypto
from autoscribe.auth.models import ApiKey
from autoscribe.config import Settings
from autoscribe.db import utcnow
from autoscribe.ids import Prefix, brand, new_id
from autoscribe.outbound import guard, transport
from autoscribe.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    DisabledEndpoint,
    WebhookAttempt,
    WebhookEvent,
)
from autoscribe.webhooks.outbox import SYNC_EVENT_TYPES, Refresher
from autoscribe.webhooks.signing import envelope_bytes, signed_headers

log = logging.getLogger("autoscribe.webhooks")

LOGGED_BODY_BYTES = 2048
MAX_RETRY_AFTER = 24 * 3600.0

# Events answered by the integrator's study data endpoint; everything else is a notification
# for the report data endpoint.
STUDY_ENDPOINT_EVENTS = SYNC_EVENT_TYPES


def endpoint_param(event_type: str) -> str:
    return "studyWebhookUrl" if event_type in STUDY_ENDPOINT_EVENTS else "reportWebhookUrl"


def endpoint_for(key: ApiKey, event_type: str) -> str | None:
    return key.study_webhook_url if event_type in STUDY_ENDPOINT_EVENTS else key.report_webhook_url


@dataclass
class Outcome:
    """What one HTTP attempt came to."""

    succeeded: bool
    status_code: int | None
    duration_ms: int
    body: bytes  # what we read of the answer (capped)
    error: str | None
    retry_after: float | None = None
    url: str | None = None
    timed_out: bool = False
    truncated: bool = False

    @property
    def gone(self) -> bool:
        return self.status_code == 410

    @property
    def logged_body(self) -> str | None:
        if not self.body:
            return None
        return self.body[:LOGGED_BODY_BYTES].decode("utf-8", errors="replace")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(delta, 0.0), MAX_RETRY_AFTER)


def post_event(
    url: str,
    *,
    secret: str,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
    timeout: float,
    max_bytes: int,
    client: transport.Pool | None = None,
    allow_private: bool | None = None,
) -> Outcome:
    """Sign and POST one event; never raises for network or HTTP failures."""
    body = envelope_bytes(event_id, event_type, data)
    headers = signed_headers(secret, event_id, body)
    started = time.monotonic()
    try:
        result = guard.fetch_checked(
            url,
            method="POST",
            headers=headers,
            content=body,
            timeout=timeout,
            max_bytes=max_bytes,
            client=client,
            allow_private=allow_private,
            replayable=True,  # at-least-once: receivers drop a duplicate webhook-id
        )
    except guard.TargetRefused as exc:
        return Outcome(False, None, _ms(started), b"", f"refused: {exc}", url=guard.redact(url))
    except guard.FetchTimeout as exc:
        return Outcome(
            False,
            None,
            _ms(started),
            b"",
            f"{exc} after {timeout:g} s",
            url=guard.redact(url),
            timed_out=True,
        )
    except guard.FetchFailed as exc:
        return Outcome(False, None, _ms(started), b"", str(exc), url=guard.redact(url))
    ok = 200 <= result.status_code < 300
    error = None
    if not ok:
        error = f"HTTP {result.status_code}"
        if 300 <= result.status_code < 400:
            error += " (redirects are not followed)"
    return Outcome(
        succeeded=ok,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        body=result.body,
        error=error,
        retry_after=parse_retry_after(result.headers.get("retry-after")),
        url=guard.redact(url),
        truncated=result.truncated,
    )


def outcome_label(done: Attempted) -> str:
    """The metrics label of an attempt: succeeded, http_4xx, http_5xx, http_3xx, gone, timeout,
    connection_error, refused (an address the outbound guard refuses) or not_sent (no request was
    made: revoked key, no endpoint, endpoint disabled, payload could not be prepared)."""
    outcome = done.outcome
    if outcome.succeeded:
        return "succeeded"
    if outcome.status_code is not None:
        return "gone" if outcome.gone else f"http_{outcome.status_code // 100}xx"
    if outcome.timed_out:
        return "timeout"
    error = outcome.error or ""
    if error.startswith("refused:"):
        return "refused"
    if outcome.url is None or done.permanent or error.startswith("could not prepare"):
        return "not_sent"
    return "connection_error"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def next_delay(schedule_index: int, settings: Settings, retry_after: float | None) -> float | None:
    """Seconds until the attempt numbered `schedule_index` (0-based), or None when none is left."""
    delays = settings.webhook_retry_delays
    if schedule_index >= len(delays):
        return None
    jitter = settings.webhook_retry_jitter
    delay = delays[schedule_index] * random.uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def clear_disabled_endpoints(session: Session, api_key_id: uuid.UUID) -> None:
    """Re-enable every endpoint of a key (its endpoints were edited)."""
    for row in session.scalars(select(DisabledEndpoint).where(DisabledEndpoint.api_key_id == api_key_id)):
        session.delete(row)


@dataclass(frozen=True)
class Claimed:
    """What the claim query returns about an event: enough to deliver and record it."""

    id: uuid.UUID
    clinic_id: uuid.UUID
    api_key_id: uuid.UUID
    event_type: str
    data: dict[str, Any]
    attempt_count: int
    schedule_index: int
    lock_token: str
    refreshed: bool = False  # `data` was already refreshed with the claim (batch refresher)
    request_id: str | None = None  # the API request that caused the event (for the logs)


@dataclass(frozen=True)
class EndpointInfo:
    """An API key's endpoints as the dispatcher needs them, loaded once per claimed batch."""

    report_url: str | None
    study_url: str | None
    revoked: bool
    secret_encrypted: str
    disabled: dict[str, str]  # url -> reason

    def url_for(self, event_type: str) -> str | None:
        return self.study_url if event_type in STUDY_ENDPOINT_EVENTS else self.report_url


def load_endpoints(session: Session, key_ids: set[uuid.UUID]) -> dict[uuid.UUID, EndpointInfo]:
    """Two queries for a whole batch, whatever its size."""
    if not key_ids:
        return {}
    keys = cast(Table, ApiKey.__table__)
    disabled_table = cast(Table, DisabledEndpoint.__table__)
    disabled: dict[uuid.UUID, dict[str, str]] = {}
    for key_id, url, reason in session.execute(
        select(disabled_table.c.api_key_id, disabled_table.c.url, disabled_table.c.reason).where(
            disabled_table.c.api_key_id.in_(key_ids)
        )
    ):
        disabled.setdefault(key_id, {})[url] = reason
    return {
        row.id: EndpointInfo(
            row.report_webhook_url,
            row.study_webhook_url,
            row.revoked_at is not None,
            row.webhook_secret_encrypted,
            disabled.get(row.id, {}),
        )
        for row in session.execute(
            select(
                keys.c.id,
                keys.c.report_webhook_url,
                keys.c.study_webhook_url,
                keys.c.revoked_at,
                keys.c.webhook_secret_encrypted,
            ).where(keys.c.id.in_(key_ids))
        )
    }


@lru_cache(maxsize=1024)
def _decrypt_secret(ciphertext: str) -> str:
    # Decrypting is a noticeable share of an attempt's CPU; the ciphertext is the cache key, so a
    # rotated secret is picked up at once.
    return crypto.decrypt(ciphertext)


@dataclass
class Attempted:
    """One attempt, made and waiting to be recorded."""

    event: Claimed
    outcome: Outcome
    started_at: datetime
    permanent: bool  # fail the event without retrying (no endpoint, revoked key, disabled endpoint)
    disable_url: str | None = None  # the endpoint answered 410


def attempt(
    maker: sessionmaker[Session],
    event: Claimed,
    info: EndpointInfo | None,
    *,
    client: transport.Pool | None,
    settings: Settings,
    refresher: Refresher | None = None,
) -> Attempted:
    """Route, refresh (with `refresher`, unless the claim's batch did), sign and send one claimed
    event (records nothing)."""
    started_at = utcnow()

    def fail(message: str, url: str | None, permanent: bool) -> Attempted:
        outcome = Outcome(False, None, 0, b"", message, url=guard.redact(url) if url else None)
        return Attempted(event, outcome, started_at, permanent)

    if info is None or info.revoked:
        return fail("the API key was revoked", None, True)
    url = info.url_for(event.event_type)
    if not url:
        return fail(
            f"no endpoint configured ({endpoint_param(event.event_type)} of the API key is empty)", None, True
        )
    reason = info.disabled.get(url)
    if reason is not None:
        return fail(f"endpoint disabled: {reason}; edit the key's endpoints to re-enable it", url, True)
    data = event.data
    if refresher is not None and not event.refreshed:
        try:
            with maker() as session:
                data = refresher(session, dict(event.data))
                # Refreshers only read; end the transaction before going to the network.
                session.rollback()
        except Exception as exc:
            log.exception("webhook refresher for %s failed", event.event_type)
            return fail(f"could not prepare the payload: {type(exc).__name__}: {exc}", url, False)
    started_at = utcnow()
    outcome = post_event(
        url,
        secret=_decrypt_secret(info.secret_encrypted),
        event_id=brand(Prefix.WEBHOOK_EVENT, event.id),
        event_type=event.event_type,
        data=data,
        timeout=settings.webhook_timeout,
        max_bytes=settings.webhook_max_response_bytes,
        client=client,
        allow_private=settings.webhook_allow_private,
    )
    return Attempted(event, outcome, started_at, False, url if outcome.gone else None)


_events = cast(Table, WebhookEvent.__table__)
_INSERT_ATTEMPT = insert(cast(Table, WebhookAttempt.__table__))
# Built once, with bound parameters, and run as executemany for a whole batch.
_FINISH_ATTEMPT = (
    update(_events)
    .where(_events.c.id == bindparam("event_id"), _events.c.lock_token == bindparam("token"))
    .values(
        attempt_count=_events.c.attempt_count + 1,
        schedule_index=_events.c.schedule_index + 1,
        status=bindparam("new_status"),
        next_attempt_at=bindparam("new_next_attempt_at"),
        delivered_at=bindparam("new_delivered_at"),
        last_attempt_at=bindparam("new_last_attempt_at"),
        last_status_code=bindparam("new_last_status_code"),
        last_error=bindparam("new_last_error"),
        locked_until=None,
        lock_token=None,
        updated_at=bindparam("new_updated_at"),
    )
)


def _finish_params(
    done: Attempted, worker: str, settings: Settings, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    event, outcome = done.event, done.outcome
    attempt_number = event.attempt_count + 1
    status, next_attempt_at, delivered_at, error = PENDING, None, None, outcome.error
    if outcome.succeeded:
        status, delivered_at = SUCCEEDED, now
    elif done.permanent or outcome.gone:
        status = FAILED
        if outcome.gone:
            error = "HTTP 410 Gone: the endpoint is disabled until the key's endpoints are edited"
    else:
        delay = next_delay(event.schedule_index + 1, settings, outcome.retry_after)
        if delay is None:
            status, error = FAILED, f"{outcome.error} (gave up after {attempt_number} attempts)"
        else:
            next_attempt_at = now + timedelta(seconds=delay)
    attempt_row = {
        "id": new_id(),
        "clinic_id": event.clinic_id,
        "event_id": event.id,
        "attempt_number": attempt_number,
        "trigger": "dispatch",
        "started_at": done.started_at,
        "url": outcome.url,
        "status_code": outcome.status_code,
        "duration_ms": outcome.duration_ms,
        "succeeded": outcome.succeeded,
        "response_body": outcome.logged_body,
        "error": outcome.error,
        "worker": worker[:64],
    }
    finish = {
        "event_id": event.id,
        "token": event.lock_token,
        "new_status": status,
        "new_next_attempt_at": next_attempt_at,
        "new_delivered_at": delivered_at,
        "new_last_attempt_at": done.started_at,
        "new_last_status_code": outcome.status_code,
        "new_last_error": error,
        "new_updated_at": now,
    }
    return attempt_row, finish


def record(maker: sessionmaker[Session], batch: list[Attempted], *, worker: str, settings: Settings) -> None:
    """Write a batch of attempts and move their events on, in one transaction.

    Only the lease holder may move an event on (the update matches the lock token); a late worker
    whose lease expired still leaves its attempt in the log.
    """
    if not batch:
        return
    now = utcnow()
    params = [_finish_params(done, worker, settings, now) for done in batch]
    with maker() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Not worth a WAL flush: if the database crashed before writing this, the events
            # would just be sent again once their leases expire (at least once).
            session.execute(text("SET LOCAL synchronous_commit = off"))
        session.execute(_INSERT_ATTEMPT, [a for a, _f in params])
        plain = [f for done, (_a, f) in zip(batch, params, strict=True) if done.disable_url is None]
        if plain:
            session.execute(_FINISH_ATTEMPT, plain)
        for done, (_a, finish) in zip(batch, params, strict=True):
            if done.disable_url is None:
                continue
            result = session.execute(_FINISH_ATTEMPT, finish)
            if result.rowcount:  # type: ignore[attr-defined]
                # In the same transaction, so that no event is failed by a 410 while its endpoint
                # still looks enabled; "do nothing" when another worker saw the same 410 first.
                session.execute(
                    _upsert_disabled(session)
                    .values(
                        api_key_id=done.event.api_key_id,
                        url=done.disable_url,
                        clinic_id=done.event.clinic_id,
                        disabled_at=now,
                        reason=f"it answered 410 Gone at {now.strftime('%Y-%m-%d %H:%M:%S')} UTC",
                        event_id=done.event.id,
                    )
                    .on_conflict_do_nothing()
                )
        session.commit()  # a batch of outcomes is the dispatcher's unit of work


def _upsert_disabled(session: Session) -> Any:
    table = cast(Table, DisabledEndpoint.__table__)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
