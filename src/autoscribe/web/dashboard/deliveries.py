"""Webhook deliveries (owners and admins): every event with its target, status, attempts (time,
code, duration, answer excerpt), next retry, and a replay button; failed ones one click away."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from autoscribe.auth import service as keys
from autoscribe.auth.context import SessionDep
from autoscribe.errors import APIError, InvalidRequest
from autoscribe.ids import Prefix, brand
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.dashboard.common import DeliveryViewer, actor_of, done, not_found, query_url
from autoscribe.web.deps import WebUser
from autoscribe.web.templating import render
from autoscribe.webhooks import service as webhooks
from autoscribe.webhooks.models import KIND_ASYNC, WebhookAttempt, WebhookEvent

router = APIRouter(include_in_schema=False)

BASE = "/deliveries"
PAGE_SIZE = 50
EVENT_TYPES = (
    "report.delivered",
    "study.access_requested",
    "ephemeral.access_requested",
    "secondary_capture.access_requested",
)
STATUS_TABS = (("", "All"), ("failed", "Failed"), ("pending", "Pending"), ("succeeded", "Succeeded"))
# Notifications are retried on failure (the attempts say whether one was); calls and tests are not.
KIND_LABELS = {"async": "Notification", "sync": "Synchronous call", "test": "Test event"}


def _key_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


@router.get(BASE)
def deliveries_page(request: Request, session: SessionDep, viewer: DeliveryViewer) -> Response:
    qp = request.query_params
    status = qp.get("status", "")
    status = status if status in dict(STATUS_TABS) else ""
    event_type = qp.get("type", "")
    event_type = event_type if event_type in EVENT_TYPES else ""
    key_filter = _key_id(qp.get("key", ""))
    cursor = qp.get("cursor", "")[:500] or None
    clinic_id = viewer.user.clinic_id

    def load(cursor: str | None) -> Any:
        return webhooks.list_events(
            session,
            clinic_id=clinic_id,
            api_key_id=key_filter,
            status=status or None,
            event_type=event_type or None,
            cursor=cursor,
            limit=PAGE_SIZE,
        )

    try:
        page = load(cursor)
    except InvalidRequest:
        cursor = None
        page = load(None)
    events: list[WebhookEvent] = list(page.items)
    key_rows = keys.list_api_keys(session, clinic_id)
    key_names = {k.id: k.description for k in key_rows}
    last_urls = _last_urls(session, [e.id for e in events])
    params = {"status": status, "type": event_type, "key": str(key_filter) if key_filter else ""}
    return render(
        request,
        "dashboard/deliveries.html",
        {
            "active": "deliveries",
            "events": [(e, brand(Prefix.WEBHOOK_EVENT, e.id)) for e in events],
            "key_names": key_names,
            "keys": key_rows,
            "last_urls": last_urls,
            "status": status,
            "event_type": event_type,
            "event_types": EVENT_TYPES,
            "key_filter": key_filter,
            "tabs": [
                (value, label, query_url(BASE, {**params, "status": value})) for value, label in STATUS_TABS
            ],
            "kind_labels": KIND_LABELS,
            "next_url": query_url(BASE, {**params, "cursor": page.cursor}) if page.has_more else None,
            "first_url": query_url(BASE, params) if cursor else None,
            "filtered": bool(status or event_type or key_filter),
        },
    )


def _last_urls(session: SessionDep, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Where each event was last sent (the attempt log keeps URLs without their query string)."""
    if not event_ids:
        return {}
    rows = session.execute(
        select(WebhookAttempt.event_id, WebhookAttempt.url)
        .where(WebhookAttempt.event_id.in_(event_ids))
        .order_by(WebhookAttempt.id)
    )
    found: dict[uuid.UUID, str | None] = {}
    for event_id, url in rows.tuples():
        found[event_id] = url
    return found


def _event(session: SessionDep, viewer: WebUser, event_id: str) -> WebhookEvent:
    try:
        return webhooks.get_event(session, event_id, clinic_id=viewer.user.clinic_id)
    except APIError:
        raise not_found("Webhook event") from None


@router.get(BASE + "/{event_id}")
def delivery_page(request: Request, session: SessionDep, viewer: DeliveryViewer, event_id: str) -> Response:
    event = _event(session, viewer, event_id)
    attempts = webhooks.list_attempts(session, event.id, clinic_id=viewer.user.clinic_id)
    key = keys.get_api_key(session, event.api_key_id)
    return render(
        request,
        "dashboard/delivery.html",
        {
            "active": "deliveries",
            "event": event,
            "ref": brand(Prefix.WEBHOOK_EVENT, event.id),
            "attempts": list(reversed(attempts)),
            "key": key,
            "kind_labels": KIND_LABELS,
            "replayable": event.kind == KIND_ASYNC,
        },
    )


@router.post(BASE + "/{event_id}/replay", dependencies=[CsrfProtected])
def replay(request: Request, session: SessionDep, viewer: DeliveryViewer, event_id: str) -> Response:
    event = _event(session, viewer, event_id)
    ref = brand(Prefix.WEBHOOK_EVENT, event.id)
    try:
        webhooks.replay(session, event.id, clinic_id=viewer.user.clinic_id, actor=actor_of(request, viewer))
    except APIError as exc:
        session.rollback()
        return done(request, f"{BASE}/{ref}", f"Not replayed: {exc.message}.")
    return done(
        request,
        f"{BASE}/{ref}",
        "Replay queued: the event is sent again now, with the same id, and retried on the usual schedule.",
    )
