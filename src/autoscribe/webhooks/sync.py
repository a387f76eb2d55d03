"""Synchronous events: call the integrator inline and use its validated answer.

    answer = call_sync(session, api_key, "study.access_requested",
                       {"studyId": "stu_...", "studyInstanceUid": "1.2..."})
    if not answer.authorized: show answer.error
    else: answer.urls, answer.manifest, answer.media_urls

Signed exactly like asynchronous deliveries, sent once (no retries: a person is waiting), with a
short timeout. Every failure raises an `autoscribe.errors` error whose message can be shown to
the user: WebhookNotConfigured (422), UpstreamTimeout (504), UpstreamFailed (502: refused target,
connection error, non-2xx, not JSON, wrong shape). `authorized: false` is an answer, not a failure.

Each call is written to the attempt log in a transaction of its own (so failures are recorded even
when the caller rolls back). Do not hold an uncommitted write across a call: on SQLite that would
block every other writer, the log included, for as long as the integrator takes.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from autoscribe.auth.models import ApiKey
from autoscribe.auth.service import webhook_secret
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.errors import APIError, UpstreamFailed, UpstreamTimeout, WebhookNotConfigured
from autoscribe.ids import Prefix, brand, new_id
from autoscribe.webhooks.delivery import Outcome, endpoint_for, endpoint_param, post_event
from autoscribe.webhooks.models import FAILED, KIND_SYNC, SUCCEEDED, WebhookAttempt, WebhookEvent
from autoscribe.webhooks.schemas import SYNC_ANSWERS, EphemeralAccessAnswer, StudyAccessAnswer
from autoscribe.webhooks.signing import normalize_data

log = logging.getLogger("autoscribe.webhooks")

T = TypeVar("T", bound=BaseModel)

_ENDPOINT_NAMES = {"studyWebhookUrl": "study data webhook", "reportWebhookUrl": "report data webhook"}


@overload
def call_sync(
    session: Session,
    api_key: ApiKey,
    event_type: str,
    data: dict[str, Any],
    *,
    timeout: float | None = None,
) -> BaseModel: ...


@overload
def call_sync(
    session: Session,
    api_key: ApiKey,
    event_type: str,
    data: dict[str, Any],
    *,
    timeout: float | None = None,
    answer_model: type[T],
) -> T: ...


def call_sync(
    session: Session,
    api_key: ApiKey,
    event_type: str,
    data: dict[str, Any],
    *,
    timeout: float | None = None,
    answer_model: type[BaseModel] | None = None,
) -> BaseModel:
    """Send a synchronous event to the key's study data endpoint and return the validated answer
    (StudyAccessAnswer for study.access_requested, EphemeralAccessAnswer for
    ephemeral.access_requested, SecondaryCaptureAnswer for secondary_capture.access_requested)."""
    model = answer_model or SYNC_ANSWERS.get(event_type)
    if model is None:
        raise ValueError(f"{event_type} is not a synchronous event type")
    result = perform(session, api_key, event_type, data, timeout=timeout, model=model, kind=KIND_SYNC)
    if result.failure is not None:
        raise result.failure
    assert result.answer is not None
    return result.answer


@dataclass
class SyncResult:
    event_id: str
    outcome: Outcome
    answer: BaseModel | None
    failure: UpstreamFailed | None


def require_endpoint(api_key: ApiKey, event_type: str) -> str:
    param = endpoint_param(event_type)
    if not api_key.is_active:
        raise WebhookNotConfigured(
            f"The API key '{api_key.description}' has been revoked, so {event_type} cannot be sent",
            param=param,
        )
    url = endpoint_for(api_key, event_type)
    if not url:
        raise WebhookNotConfigured(
            f"The API key '{api_key.description}' has no {_ENDPOINT_NAMES[param]} endpoint configured "
            f"({param}), so {event_type} cannot be sent",
            param=param,
        )
    return url


def perform(
    session: Session,
    api_key: ApiKey,
    event_type: str,
    data: dict[str, Any],
    *,
    timeout: float | None,
    model: type[BaseModel],
    kind: str,
) -> SyncResult:
    """Send once, judge and log the answer; failures are returned, not raised (send_test shows them)."""
    settings = get_settings()
    param = endpoint_param(event_type)
    what = _ENDPOINT_NAMES[param]
    url = require_endpoint(api_key, event_type)
    payload = normalize_data(data)
    event_uuid = new_id()
    event_id = brand(Prefix.WEBHOOK_EVENT, event_uuid)
    started_at = utcnow()
    outcome = post_event(
        url,
        secret=webhook_secret(api_key),
        event_id=event_id,
        event_type=event_type,
        data=payload,
        timeout=timeout if timeout is not None else settings.webhook_sync_timeout,
        max_bytes=settings.webhook_sync_max_response_bytes,
    )
    answer: BaseModel | None = None
    failure: UpstreamFailed | None = None
    where = f"The {what} endpoint ({outcome.url})"
    if outcome.timed_out:
        failure = UpstreamTimeout(
            f"{where} did not answer {event_type} in time: {outcome.error}", param=param
        )
    elif outcome.status_code is None:
        failure = UpstreamFailed(f"{where} could not be called: {outcome.error}", param=param)
    elif not outcome.succeeded:
        failure = UpstreamFailed(
            f"{where} answered {event_type} with HTTP {outcome.status_code}", param=param
        )
    elif outcome.truncated:
        failure = UpstreamFailed(
            f"{where} answered with more than {settings.webhook_sync_max_response_bytes} bytes", param=param
        )
    else:
        try:
            parsed = json.loads(outcome.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            failure = UpstreamFailed(f"{where} did not answer {event_type} with JSON", param=param)
        else:
            try:
                answer = model.model_validate(parsed)
            except ValidationError as exc:
                failure = UpstreamFailed(
                    f"{where} answered {event_type} with an invalid body: {_first_problem(exc)}", param=param
                )
    log_inline_attempt(session, api_key, event_uuid, event_type, payload, outcome, started_at, failure, kind)
    return SyncResult(event_id, outcome, answer, failure)


def study_access(
    session: Session, api_key: ApiKey, data: dict[str, Any], *, timeout: float | None = None
) -> StudyAccessAnswer:
    """Typed shortcut for study.access_requested."""
    return call_sync(
        session, api_key, "study.access_requested", data, timeout=timeout, answer_model=StudyAccessAnswer
    )


def ephemeral_access(
    session: Session, api_key: ApiKey, data: dict[str, Any], *, timeout: float | None = None
) -> EphemeralAccessAnswer:
    """Typed shortcut for ephemeral.access_requested."""
    return call_sync(
        session,
        api_key,
        "ephemeral.access_requested",
        data,
        timeout=timeout,
        answer_model=EphemeralAccessAnswer,
    )


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "missing":
        return f"{loc} is missing"
    return f"{loc}: {msg}" if loc else msg


def log_inline_attempt(
    session: Session,
    api_key: ApiKey,
    event_uuid: uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
    outcome: Outcome,
    started_at: datetime,
    failure: APIError | str | None,
    kind: str,
) -> None:
    """Record an event sent inline (sync call or test) with its one attempt, in its own transaction."""
    error = None if failure is None else failure if isinstance(failure, str) else failure.message
    maker = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    try:
        with maker() as log_session:
            log_session.add(
                WebhookEvent(
                    id=event_uuid,
                    clinic_id=api_key.clinic_id,
                    api_key_id=api_key.id,
                    event_type=event_type,
                    kind=kind,
                    data=payload,
                    status=SUCCEEDED if failure is None else FAILED,
                    attempt_count=1,
                    schedule_index=1,
                    next_attempt_at=None,
                    last_attempt_at=started_at,
                    last_status_code=outcome.status_code,
                    last_error=error,
                    delivered_at=utcnow() if failure is None else None,
                )
            )
            log_session.flush()
            log_session.add(
                WebhookAttempt(
                    clinic_id=api_key.clinic_id,
                    event_id=event_uuid,
                    attempt_number=1,
                    trigger=kind,
                    started_at=started_at,
                    url=outcome.url,
                    status_code=outcome.status_code,
                    duration_ms=outcome.duration_ms,
                    succeeded=failure is None,
                    response_body=outcome.logged_body,
                    error=error,
                )
            )
            log_session.commit()
    except Exception:
        # The answer matters more than its log line.
        log.exception("could not record the %s call in the attempt log", event_type)
