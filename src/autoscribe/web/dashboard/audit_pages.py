"""The audit log (owners and admins): who did what to which target, from where; filtered by
actor, kind of action and date range."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from autoscribe.audit import service as audit
from autoscribe.audit.models import AuditEvent
from autoscribe.auth import service as keys
from autoscribe.auth.context import SessionDep
from autoscribe.errors import InvalidRequest
from autoscribe.express import service as express
from autoscribe.users.models import User
from autoscribe.web.dashboard.common import AuditViewer, day_after, day_start, parse_day, query_url
from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

BASE = "/audit-log"
PAGE_SIZE = 50

# Filter by kind of action (a prefix), or one action exactly.
ACTION_GROUPS = (
    ("auth.", "Sign-ins and sign-outs"),
    ("user.", "Users"),
    ("invitation.", "Invitations"),
    ("study.", "Studies"),
    ("report.", "Reports"),
    ("api_key.", "API keys"),
    ("express_customer.", "Express customers"),
    ("webhook_event.", "Webhooks"),
)
ACTION_LABELS = {
    "auth.login": "Signed in",
    "auth.login_failed": "Sign-in failed",
    "auth.logout": "Signed out",
    "clinic.created": "Clinic created",
    "user.updated": "User changed",
    "user.access_revoked": "Access revoked",
    "user.access_reactivated": "Access restored",
    "user.password_reset": "Password reset",
    "user.password_reset_requested": "Password reset requested",
    "invitation.sent": "Invitation sent",
    "invitation.resent": "Invitation sent again",
    "invitation.updated": "Invitation changed",
    "invitation.revoked": "Invitation revoked",
    "invitation.accepted": "Invitation accepted",
    "invitation.rejected": "Invitation declined",
    "study.created": "Study created",
    "study.updated": "Study changed",
    "study.cancelled": "Study cancelled",
    "study.uncancelled": "Study restored",
    "api_key.created": "API key created",
    "api_key.endpoints_updated": "Webhook endpoints changed",
    "api_key.endpoints_reenabled": "Webhook endpoints re-enabled",
    "api_key.secret_viewed": "JWT secret viewed",
    "api_key.secret_rotated": "JWT secret rotated",
    "api_key.revoked": "API key revoked",
    "express_customer.created": "Express customer created",
    "express_customer.updated": "Express customer changed",
    "express_customer.deactivated": "Express customer deactivated",
    "express_customer.reactivated": "Express customer reactivated",
    "express_customer.user_added": "User linked to Express customer",
    "express_customer.user_removed": "User unlinked from Express customer",
    "webhook_event.replayed": "Webhook replayed",
}
TARGET_LINKS = {
    "study": "/worklist/studies/{}",
    "user": "/users/{}",
    "express_customer": "/express-customers/{}",
    "webhook_event": "/deliveries/{}",
}


def _actor_filter(raw: str) -> tuple[str | None, str | None, bool]:
    """'user:usr_...', 'api_key:<uuid>', 'system' -> (actor_type, actor_id, understood)."""
    if not raw:
        return None, None, True
    if raw == "system":
        return "system", None, True
    kind, _, ident = raw.partition(":")
    if kind in ("user", "api_key") and ident and len(ident) <= 64:
        return kind, ident, True
    return None, None, False


@router.get(BASE)
def audit_page(request: Request, session: SessionDep, viewer: AuditViewer) -> Response:
    qp = request.query_params
    clinic_id = viewer.user.clinic_id
    actor = qp.get("actor", "")[:80]
    action = qp.get("action", "")[:64]
    date_from, date_to = qp.get("from", "")[:10], qp.get("to", "")[:10]
    cursor = qp.get("cursor", "")[:500] or None
    problems: list[str] = []
    actor_type, actor_id, understood = _actor_filter(actor)
    if not understood:
        problems.append("The “Who” filter was not understood and is not applied.")
        actor = ""
    if action and not (action in dict(ACTION_GROUPS) or action in ACTION_LABELS):
        problems.append("The “What” filter was not understood and is not applied.")
        action = ""
    start, end = parse_day(date_from), parse_day(date_to)
    if (date_from and not start) or (date_to and not end):
        problems.append("A date was not understood and is not applied.")

    def load(cursor: str | None) -> Any:
        return audit.list_events(
            session,
            clinic_id,
            action_prefix=action or None,
            actor_type=actor_type,
            actor_id=actor_id,
            occurred_from=day_start(start),
            occurred_before=day_after(end),
            cursor=cursor,
            limit=PAGE_SIZE,
        )

    try:
        page = load(cursor)
    except InvalidRequest:
        cursor = None
        page = load(None)
    events: list[AuditEvent] = list(page.items)
    people = list(
        session.scalars(
            select(User).where(User.clinic_id == clinic_id).order_by(User.last_name, User.first_name)
        )
    )
    api_keys = keys.list_api_keys(session, clinic_id)
    user_names = {f"usr_{p.id.hex}": p.display_name for p in people}
    key_names = {str(k.id): k.description for k in api_keys}
    params = {"actor": actor, "action": action, "from": date_from, "to": date_to}
    return render(
        request,
        "dashboard/audit_log.html",
        {
            "active": "audit",
            "events": events,
            "people": people,
            "api_keys": api_keys,
            "user_names": user_names,
            "key_names": key_names,
            "customer_names": {
                f"cus_{c.id.hex}": c.name for c in express.customers_by_name(session, clinic_id)
            },
            "actor": actor,
            "action": action,
            "date_from": date_from,
            "date_to": date_to,
            "problems": problems,
            "groups": ACTION_GROUPS,
            "labels": ACTION_LABELS,
            "target_links": TARGET_LINKS,
            "filtered": any(params.values()),
            "next_url": query_url(BASE, {**params, "cursor": page.cursor}) if page.has_more else None,
            "first_url": query_url(BASE, params) if cursor else None,
        },
    )
