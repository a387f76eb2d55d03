"""API Config: the integration guide's first steps. Owners only (auth.permissions.can_manage_api_keys):
create a key (shown once), Edit Endpoints, View JWT Secret, rotate the secret, revoke, send a test
event and see what the receiver answered."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from autoscribe.auth import service as keys
from autoscribe.auth.context import SessionDep
from autoscribe.auth.models import ApiKey
from autoscribe.errors import APIError
from autoscribe.outbound import guard
from autoscribe.users.models import User
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.dashboard.common import (
    Form,
    Owner,
    actor_of,
    checked,
    done,
    errors_from,
    not_found,
    page_uuid,
    text,
)
from autoscribe.web.templating import render
from autoscribe.webhooks import samples
from autoscribe.webhooks import service as webhooks
from autoscribe.webhooks.delivery import endpoint_for

router = APIRouter(include_in_schema=False)

BASE = "/api-config"

# The integration guide's words for each setting.
STUDY_SCOPES = (
    (
        "self",
        "Self",
        "For teleradiology groups with multiple integrating PACS sources. This ensures each PACS can only "
        "access, edit, and manage their own studies.",
    ),
    (
        "all",
        "All",
        "For customers with a unified source of studies or integrators themselves (PACS companies looking "
        "to integrate AutoScribe into their platform).",
    ),
)
ACCESS_LEVELS = (("none", "None"), ("read", "Read"), ("write", "Write"))
TEST_EVENTS = (
    (
        "study.access_requested",
        "Study data webhook endpoint",
        "Asks for presigned image URLs; the answer is checked.",
    ),
    ("ephemeral.access_requested", "Study data webhook endpoint", "Asks for an ephemeral study's data."),
    (
        "report.delivered",
        "Report data webhook endpoint",
        "A completed report with a sample text and PDF link.",
    ),
)


def _key(session: SessionDep, owner: Owner, key_id: str) -> ApiKey:
    key = session.get(ApiKey, page_uuid(key_id, "API key"))
    if key is None or key.clinic_id != owner.user.clinic_id:
        raise not_found("API key")
    return key


def _active_key(session: SessionDep, owner: Owner, key_id: str) -> ApiKey:
    key = _key(session, owner, key_id)
    if not key.is_active:
        raise not_found("API key")
    return key


@router.get(BASE)
def api_config(request: Request, session: SessionDep, owner: Owner) -> Response:
    rows = keys.list_api_keys(session, owner.user.clinic_id)
    rows.sort(key=lambda k: (not k.is_active, -k.created_at.timestamp()))
    creator_ids = {k.created_by_user_id for k in rows if k.created_by_user_id}
    creators = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(creator_ids)))}
        if creator_ids
        else {}
    )
    disabled: dict[uuid.UUID, set[str]] = {}
    for key in rows:
        disabled[key.id] = {row.url for row in webhooks.disabled_endpoints(session, key.id)}
    return render(
        request,
        "dashboard/api_config.html",
        {"active": "api_config", "keys": rows, "creators": creators, "disabled": disabled},
    )


# ---- Create API Key ----------------------------------------------------------------------------------


def _create_form(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "dashboard/api_key_new.html",
        {
            "active": "api_config",
            "values": values,
            "errors": errors,
            "study_scopes": STUDY_SCOPES,
            "access_levels": ACCESS_LEVELS,
        },
        status_code=status,
    )


_DEFAULTS = {
    "studyScope": "all",
    "userAccess": "none",
    "expressAccess": "none",
    "isViewerEnabled": "on",
    "isClinicalContextEnrichmentEnabled": "",
}


@router.get(BASE + "/new")
def new_key_form(request: Request, owner: Owner) -> Response:
    return _create_form(request, dict(_DEFAULTS), {})


@router.post(BASE + "/new", dependencies=[CsrfProtected])
def create_key(request: Request, session: SessionDep, owner: Owner, form: Form) -> Response:
    values = {
        name: text(form, name, 2048)
        for name in (
            "description",
            "studyScope",
            "userAccess",
            "expressAccess",
            "studyWebhookUrl",
            "reportWebhookUrl",
        )
    }
    values["isViewerEnabled"] = "on" if checked(form, "isViewerEnabled") else ""
    values["isClinicalContextEnrichmentEnabled"] = (
        "on" if checked(form, "isClinicalContextEnrichmentEnabled") else ""
    )
    try:
        made = keys.create_api_key(
            session,
            clinic_id=owner.user.clinic_id,
            description=values["description"],
            study_scope=values["studyScope"],
            user_access=values["userAccess"],
            express_access=values["expressAccess"],
            study_webhook_url=values["studyWebhookUrl"] or None,
            report_webhook_url=values["reportWebhookUrl"] or None,
            is_viewer_enabled=bool(values["isViewerEnabled"]),
            is_clinical_context_enrichment_enabled=bool(values["isClinicalContextEnrichmentEnabled"]),
            actor=actor_of(request, owner),
            created_by_user_id=owner.user.id,
        )
    except APIError as exc:
        session.rollback()
        return _create_form(request, values, errors_from(exc), status=400)
    # The key itself is in this answer only: it is stored as a hash.
    return render(
        request,
        "dashboard/api_key_created.html",
        {"active": "api_config", "key": made.api_key, "plaintext": made.plaintext_key},
    )


# ---- Viewer on / off ---------------------------------------------------------------------------------


@router.post(BASE + "/keys/{key_id}/viewer", dependencies=[CsrfProtected])
def set_viewer(request: Request, session: SessionDep, owner: Owner, key_id: str, form: Form) -> Response:
    key = _active_key(session, owner, key_id)
    enabled = checked(form, "enabled")
    keys.set_viewer_enabled(session, key, enabled, actor=actor_of(request, owner))
    state = "enabled: it can use the Viewer API" if enabled else "disabled: the Viewer API answers it 403"
    return done(request, BASE, f"Viewer {state} (“{key.description}”).")


# ---- Clinical-context enrichment on / off ----------------------------------------------------------


@router.post(BASE + "/keys/{key_id}/clinical-context", dependencies=[CsrfProtected])
def set_clinical_context(
    request: Request, session: SessionDep, owner: Owner, key_id: str, form: Form
) -> Response:
    key = _active_key(session, owner, key_id)
    enabled = checked(form, "enabled")
    keys.set_clinical_context_enrichment(session, key, enabled, actor=actor_of(request, owner))
    state = (
        "enabled: the first read of each of its studies asks its study data endpoint for the clinical context"
        if enabled
        else "disabled"
    )
    return done(request, BASE, f"Clinical-context enrichment {state} (“{key.description}”).")


# ---- Edit Endpoints ----------------------------------------------------------------------------------

ENDPOINT_FIELDS = {"studyWebhookUrl": "study data", "reportWebhookUrl": "report data"}
# A host name that takes longer than this to resolve gets no warning (the guard decides later).
ENDPOINT_CHECK_SECONDS = 2.0


def endpoint_warning(url: str) -> str | None:
    """Why this server would refuse to call `url`, or None: the webhook guard's own check
    (guard.check_target), so a private or loopback address is refused exactly when deliveries
    would be (AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE off). Malformed URLs are the form's errors."""
    if not url.startswith(("http://", "https://")):
        return None
    try:
        guard.check_target(url, deadline=time.monotonic() + ENDPOINT_CHECK_SECONDS)
    except guard.TargetRefused as exc:
        return f"This server will refuse to call this URL: {exc}."
    except guard.FetchTimeout:
        return None
    return None


def _warnings(values: dict[str, str]) -> dict[str, str]:
    found = {name: endpoint_warning(values.get(name, "")) for name in ENDPOINT_FIELDS}
    return {name: warning for name, warning in found.items() if warning}


@router.get(BASE + "/endpoint-check")
def endpoint_check(request: Request, owner: Owner) -> Response:
    """The warning under an endpoint field, fetched by htmx when the field changes."""
    query = request.query_params
    url = next((query[name] for name in ENDPOINT_FIELDS if name in query), "").strip()[:2048]
    return render(request, "dashboard/_endpoint_warning.html", {"warning": endpoint_warning(url)})


def _endpoints_form(
    request: Request, key: ApiKey, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "dashboard/api_key_endpoints.html",
        {
            "active": "api_config",
            "key": key,
            "values": values,
            "errors": errors,
            "warnings": _warnings(values),
        },
        status_code=status,
    )


@router.get(BASE + "/keys/{key_id}/endpoints")
def endpoints_form(request: Request, session: SessionDep, owner: Owner, key_id: str) -> Response:
    key = _active_key(session, owner, key_id)
    values = {
        "studyWebhookUrl": key.study_webhook_url or "",
        "reportWebhookUrl": key.report_webhook_url or "",
    }
    return _endpoints_form(request, key, values, {})


@router.post(BASE + "/keys/{key_id}/endpoints", dependencies=[CsrfProtected])
def save_endpoints(request: Request, session: SessionDep, owner: Owner, key_id: str, form: Form) -> Response:
    key = _active_key(session, owner, key_id)
    values = {name: text(form, name, 2048) for name in ("studyWebhookUrl", "reportWebhookUrl")}
    try:
        keys.update_endpoints(
            session,
            key,
            actor=actor_of(request, owner),
            study_webhook_url=values["studyWebhookUrl"] or None,
            report_webhook_url=values["reportWebhookUrl"] or None,
        )
    except APIError as exc:
        session.rollback()
        return _endpoints_form(request, key, values, errors_from(exc), status=400)
    # Kept before the warnings look the hosts up (up to 2 s each): no transaction is held meanwhile.
    session.commit()
    message = f"Webhook endpoints saved for “{key.description}”."
    refused = [ENDPOINT_FIELDS[name] for name in _warnings(values)]
    if refused:
        message += (
            f" Warning: this server will refuse to call the {' and '.join(refused)} endpoint"
            f"{'s' if len(refused) > 1 else ''} (a private or loopback address, or a host that does not"
            " resolve): deliveries there will fail. Local receivers need AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1."
        )
    return done(request, BASE, message)


# ---- View JWT Secret, rotate -------------------------------------------------------------------------


@router.get(BASE + "/keys/{key_id}/secret")
def view_secret(request: Request, session: SessionDep, owner: Owner, key_id: str) -> Response:
    key = _active_key(session, owner, key_id)
    secret = keys.reveal_webhook_secret(session, key, actor=actor_of(request, owner))
    return render(
        request, "dashboard/api_key_secret.html", {"active": "api_config", "key": key, "secret": secret}
    )


@router.get(BASE + "/keys/{key_id}/rotate-secret")
def rotate_confirm(request: Request, session: SessionDep, owner: Owner, key_id: str) -> Response:
    key = _active_key(session, owner, key_id)
    return render(request, "dashboard/api_key_rotate.html", {"active": "api_config", "key": key})


@router.post(BASE + "/keys/{key_id}/rotate-secret", dependencies=[CsrfProtected])
def rotate_secret(request: Request, session: SessionDep, owner: Owner, key_id: str) -> Response:
    key = _active_key(session, owner, key_id)
    secret = keys.rotate_webhook_secret(session, key, actor=actor_of(request, owner))
    return render(
        request,
        "dashboard/api_key_secret.html",
        {"active": "api_config", "key": key, "secret": secret, "rotated": True},
    )


# ---- revoke ------------------------------------------------------------------------------------------


@router.get(BASE + "/keys/{key_id}/revoke")
def revoke_confirm(request: Request, session: SessionDep, owner: Owner, key_id: str) -> Response:
    key = _active_key(session, owner, key_id)
    return render(request, "dashboard/api_key_revoke.html", {"active": "api_config", "key": key})


@router.post(BASE + "/keys/{key_id}/revoke", dependencies=[CsrfProtected])
def revoke_key(request: Request, session: SessionDep, owner: Owner, key_id: str) -> Response:
    key = _key(session, owner, key_id)
    keys.revoke_api_key(session, key, actor=actor_of(request, owner))
    return done(
        request,
        BASE,
        f"API key “{key.description}” revoked: requests with it are refused from now on.",
    )


# ---- send test event ---------------------------------------------------------------------------------


def _test_page(request: Request, key: ApiKey, **extra: Any) -> Response:
    events = [
        {"type": t, "endpoint": endpoint, "help": help_text, "url": endpoint_for(key, t)}
        for t, endpoint, help_text in TEST_EVENTS
    ]
    context: dict[str, Any] = {
        "active": "api_config",
        "key": key,
        "events": events,
        "result": None,
        "error": None,
    }
    context.update(extra)
    return render(request, "dashboard/api_key_test.html", context, status_code=200)


@router.get(BASE + "/keys/{key_id}/test")
def test_form(request: Request, session: SessionDep, owner: Owner, key_id: str, event: str = "") -> Response:
    key = _active_key(session, owner, key_id)
    chosen = event if event in samples.TEST_EVENT_TYPES else ""
    if not chosen:
        chosen = (
            "report.delivered"
            if key.report_webhook_url and not key.study_webhook_url
            else "study.access_requested"
        )
    return _test_page(request, key, chosen=chosen)


@router.post(BASE + "/keys/{key_id}/test", dependencies=[CsrfProtected])
def send_test(request: Request, session: SessionDep, owner: Owner, key_id: str, form: Form) -> Response:
    key = _active_key(session, owner, key_id)
    event_type = text(form, "event", 64)
    # Nothing uncommitted may be held while the receiver is called (sync.perform logs on its own).
    session.commit()
    try:
        result = webhooks.send_test(session, key, event_type)
    except APIError as exc:
        session.rollback()
        return _test_page(request, key, chosen=event_type, error=exc.message)
    return _test_page(request, key, chosen=event_type, result=result)
