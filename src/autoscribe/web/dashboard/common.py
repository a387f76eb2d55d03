"""What every dashboard page shares: who acts, reading forms, errors next to fields, finishing an
action (redirect with a one-time message, or a full reload when the form was in the dialog)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from autoscribe.audit.service import Actor
from autoscribe.auth import permissions as perms
from autoscribe.auth.context import client_address
from autoscribe.errors import APIError
from autoscribe.ids import Prefix, brand
from autoscribe.web.deps import PageError, WebUser, require_permission
from autoscribe.web.templating import flash, redirect

# Who may open which part of the dashboard (the rules themselves live in auth.permissions).
Owner = Annotated[WebUser, Depends(require_permission(perms.can_manage_api_keys))]
UserManager = Annotated[WebUser, Depends(require_permission(perms.can_manage_users))]
CustomerManager = Annotated[WebUser, Depends(require_permission(perms.can_manage_express_customers))]
DeliveryViewer = Annotated[WebUser, Depends(require_permission(perms.can_view_deliveries))]
AuditViewer = Annotated[WebUser, Depends(require_permission(perms.can_view_audit_log))]
WorklistUser = Annotated[WebUser, Depends(require_permission(perms.can_view_worklist))]
StudyManager = Annotated[WebUser, Depends(require_permission(perms.can_manage_studies))]


def actor_of(request: Request, web_user: WebUser) -> Actor:
    """The audit log's "who": the signed-in user, from this address."""
    return Actor("user", brand(Prefix.USER, web_user.user.id), client_address(request))


async def _read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_read_form)]


def text(form: FormData, name: str, limit: int = 20000) -> str:
    """A text field, trimmed ("" when absent); longer input is cut (the service validates length)."""
    value = form.get(name)
    return value.strip()[: limit + 1] if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    """A text field, None when blank."""
    return text(form, name) or None


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "yes")


# ---- errors next to their fields ---------------------------------------------------------------------

FORM = "_form"  # errors that belong to no one field


def errors_from(exc: APIError | ValidationError) -> dict[str, str]:
    """Field name (the API's camelCase param, e.g. reportMetadata.patientName) -> message."""
    if isinstance(exc, APIError):
        return {exc.param or FORM: exc.message}
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        name = ".".join(loc) or FORM
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "Required"
        found.setdefault(name, message[:1].upper() + message[1:])
    return found


# ---- finishing an action ---------------------------------------------------------------------------


def done(request: Request, url: str, message: str | None = None) -> Response:
    """After a successful change: to `url` with a one-time `message`. A form submitted from the
    dialog (htmx) gets HX-Redirect, so the page behind it reloads with the change."""
    if request.headers.get("hx-request") == "true":
        response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = redirect(request, url)
    if message:
        flash(response, message)
    return response


def not_found(what: str) -> PageError:
    return PageError(
        404, f"{what} not found", f"This {what.lower()} does not exist in your clinic, or it was removed."
    )


def page_uuid(value: str, what: str) -> uuid.UUID:
    """The UUID in a dashboard URL (API key ids are plain UUIDs); a malformed one is "not found"."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(what) from None


# ---- dates in filters ------------------------------------------------------------------------------


def parse_day(value: str | None) -> date | None:
    """YYYY-MM-DD from a date input; anything else is ignored (the filter shows it was not used)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def day_after(day: date | None) -> datetime | None:
    """The end of a date range is inclusive: studies of that whole day (UTC) match."""
    return None if day is None else datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


# ---- links that keep the current filters -----------------------------------------------------------


def query_url(path: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    items = params.items() if isinstance(params, Mapping) else params
    kept = [(k, str(v)) for k, v in items if v not in (None, "", False)]
    return f"{path}?{urlencode(kept)}" if kept else path
