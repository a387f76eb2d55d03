"""Helpers shared by tests: API keys with chosen scopes, users, SDK clients, DICOM UIDs."""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import random
import re
import secrets
import typing
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
from avara import AsyncAvara, Avara

_counter = itertools.count(1)


def new_uid() -> str:
    """A unique, valid DICOM UID (2.25 + a decimal UUID, as PS3.5 B.2 allows)."""
    return f"2.25.{uuid.uuid4().int}"


def sdk(server_url: str, api_key: str) -> Avara:
    return Avara(api_key=api_key, base_url=server_url, max_retries=0, timeout=30)


def async_sdk(server_url: str, api_key: str) -> AsyncAvara:
    return AsyncAvara(api_key=api_key, base_url=server_url, max_retries=0, timeout=30)


@dataclass
class KeyFixture:
    api_key: str
    api_key_id: str
    webhook_secret: str


def make_key(
    clinic_id: str,
    *,
    study_scope: str = "all",
    user_access: str = "write",
    express_access: str = "write",
    study_webhook_url: str | None = None,
    report_webhook_url: str | None = None,
    description: str = "test key",
) -> KeyFixture:
    from autoscribe.audit.service import Actor
    from autoscribe.auth.service import create_api_key
    from autoscribe.db import session_scope

    with session_scope() as session:
        made = create_api_key(
            session,
            clinic_id=uuid.UUID(clinic_id),
            description=description,
            study_scope=study_scope,
            user_access=user_access,
            express_access=express_access,
            study_webhook_url=study_webhook_url,
            report_webhook_url=report_webhook_url,
            actor=Actor.system(),
        )
        return KeyFixture(made.plaintext_key, str(made.api_key.id), made.webhook_secret)


VALID_NPIS = ("1234567893", "1245319599", "1679576722", "1003000126")


def make_user(
    clinic_id: str,
    *,
    can_create_reports: bool = True,
    npi: str | None = "1234567893",
    first_name: str = "Rita",
    last_name: str = "Radiologist",
    level: str = "member",
    has_dashboard_access: bool = True,
    revoked: bool = False,
    email: str | None = None,
    password: str | None = None,
    can_manage_studies: bool = False,
) -> str:
    """Insert a user directly (fast path for tests that are not about the users API). With a
    password the user can sign in to the dashboard (see `web_login`)."""
    from autoscribe.auth.passwords import hash_password
    from autoscribe.db import session_scope, utcnow
    from autoscribe.users.models import User

    with session_scope() as session:
        user = User(
            clinic_id=uuid.UUID(clinic_id),
            email=email or f"user{next(_counter)}-{secrets.token_hex(3)}@example.test",
            first_name=first_name,
            last_name=last_name,
            clinic_role="Radiologist",
            level=level,
            can_create_reports=can_create_reports,
            can_manage_studies=can_manage_studies,
            has_dashboard_access=has_dashboard_access,
            invited_source="api",
            npi_number=npi,
            revoked_at=utcnow() if revoked else None,
            password_hash=hash_password(password) if password else None,
        )
        session.add(user)
        session.flush()
        return f"usr_{user.id.hex}"


def study_body(**overrides: object) -> dict[str, object]:
    """Keyword arguments for studies.create: a minimal valid study with a fresh UID."""
    body: dict[str, object] = {
        "severity": "normal",
        "study_description": "CT Chest without contrast",
        "study_instance_uid": new_uid(),
        "report_metadata": {"patient_name": "Jane Roe"},
    }
    body.update(overrides)
    return body


# Every webhook event type of the official SDK, by its `type`: what a receiver built on the SDK
# parses each body into.
def _sdk_event_models() -> dict[str, type[Any]]:
    from avara import types

    models = (
        types.ReportDeliveredEvent,
        types.StudyAccessRequestedEvent,
        types.EphemeralAccessRequestedEvent,
        types.SecondaryCaptureAccessRequestedEvent,
        types.ClinicalContextEnrichmentRequestedEvent,
        types.PatientStudyEnrichmentRequestedEvent,
        types.ModalityWorklistRequestedEvent,
    )
    return {model.model_fields["type"].annotation.__args__[0]: model for model in models}


def strict_event(body: bytes | str) -> Any:
    """The webhook body validated, in pydantic's strict mode, by the SDK model of its `type`
    (raises pydantic.ValidationError naming any missing or mistyped field)."""
    kind = json.loads(body).get("type")
    model = _sdk_event_models().get(kind)
    assert model is not None, f"the SDK has no webhook event of type {kind!r}"
    return model.model_validate_json(body, strict=True)


def strict_call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call an SDK method (e.g. `client.viewer.studies.create`) as the SDK does, then validate the
    answer's body with the model the method returns (its return annotation: a response model, a
    page of them, or a union), in pydantic's strict mode. Returns the validated model."""
    from pydantic import TypeAdapter

    raw = getattr(method.__self__.with_raw_response, method.__name__)(*args, **kwargs)
    model = typing.get_type_hints(method)["return"]
    return TypeAdapter(model).validate_json(raw.http_response.content, strict=True)


def error_param(exc: Exception) -> object:
    """The `param` of an SDK error's JSON body (which field the server blamed)."""
    body = getattr(exc, "body", None)
    assert isinstance(body, dict), f"error body is not JSON: {body!r}"
    return body["error"].get("param")


def force_study_state(study_id: str, **columns: object) -> None:
    """Set study columns directly (e.g. study_report_status="in_progress") for states that other
    components produce (dictation, external imports) when a test is not about those components."""
    from sqlalchemy import update

    from autoscribe.db import session_scope
    from autoscribe.ids import Prefix, parse
    from autoscribe.studies.models import Study

    with session_scope() as session:
        session.execute(
            update(Study).where(Study.id == parse(Prefix.STUDY, study_id, "studyId")).values(**columns)
        )


# ---- dashboard pages over real HTTP -----------------------------------------------------------------

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def random_loopback() -> str:
    """A random 127.x.y.z source address: the server sees a distinct client per test, so that
    per-address sign-in throttling in one test never affects another (all of 127/8 is loopback)."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def web_client(server_url: str, *, local_address: str | None = None) -> httpx.Client:
    """A browser-like client: keeps cookies, does not follow redirects (tests look at them)."""
    transport = httpx.HTTPTransport(local_address=local_address or random_loopback())
    return httpx.Client(base_url=server_url, transport=transport, timeout=30, follow_redirects=False)


def csrf_from(html: str) -> str:
    match = _CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def start_workspace_report(
    client: httpx.Client, study_id: str, page: str, *, base: str = ""
) -> httpx.Response:
    """What the workspace page's script does when its reader may edit: POST .../report/start with
    the page's CSRF token (the page itself only reads). The answer is the report pane."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match, "the workspace page has no CSRF token"
    return client.post(f"{base}/workspace/{study_id}/report/start", headers={"X-CSRF-Token": match.group(1)})


def hidden_field(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"page has no field {name}"
    return match.group(1)


def post_form(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    """GET `page` for a CSRF token, then POST `data` with it to `action`."""
    token = csrf_from(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token})


def web_login(server_url: str, email: str, password: str, **kwargs: str) -> httpx.Client:
    """A client signed in to the dashboard (asserts the sign-in worked)."""
    client = web_client(server_url, **kwargs)
    response = post_form(client, "/login", "/login", {"email": email, "password": password})
    assert response.status_code == 303, response.text
    assert "as_session" in client.cookies
    return client


def deliver_mail() -> int:
    """Send the queued mail from this process (the shared test servers leave the "mail" queue to
    the tests: see tests/conftest.py); returns how many messages went out."""
    from autoscribe import tasks
    from autoscribe.queue.runner import TaskRunner

    return TaskRunner(tasks.TASKS, queues={"mail"}).run_pending()


def outbox_messages(to: str) -> list[EmailMessage]:
    """Mail written to the local outbox (servers without AUTOSCRIBE_SMTP_URL) for one address,
    oldest first, once the queued mail is delivered."""
    from autoscribe.config import get_settings

    deliver_mail()
    found = []
    for path in sorted(get_settings().outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(message["To"]).lower() == to.lower():
            found.append(message)
    return found


def latest_outbox_link(to: str, path: str) -> str:
    """The `path?token=...` link of the newest outbox mail to `to`."""
    messages = outbox_messages(to)
    assert messages, f"no mail to {to} in the outbox"
    body = messages[-1].get_body(("plain",))
    assert body is not None
    match = re.search(rf"(https?://\S+{re.escape(path)}\?token=[\w-]+)", str(body.get_content()))  # type: ignore[attr-defined]
    assert match, f"no {path} link in the mail to {to}"
    return match.group(1)
