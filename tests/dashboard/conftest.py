"""Dashboard tests: people who sign in with given permissions, and local webhook receivers."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import ClinicFixture, Server, start_server, stop_server
from tests.helpers import csrf_from, make_user, web_login
from tests.webhooks.conftest import Receiver

PASSWORD = "dashboard test password"


@dataclass
class Person:
    user_id: str
    email: str
    client: httpx.Client


def sign_in_as(server: Server, clinic: ClinicFixture, **kwargs: Any) -> Person:
    """A new user of `clinic` (make_user's arguments) signed in to the dashboard."""
    email = kwargs.pop("email", f"dash-{secrets.token_hex(4)}@example.test")
    user_id = make_user(clinic.clinic_id, email=email, password=PASSWORD, **kwargs)
    return Person(user_id, email, web_login(server.url, email, PASSWORD))


def owner_client(server: Server, clinic: ClinicFixture) -> httpx.Client:
    return web_login(server.url, clinic.owner_email, clinic.owner_password)


def submit(client: httpx.Client, form_page: str, action: str, data: dict[str, Any]) -> httpx.Response:
    """GET `form_page` for a CSRF token, then POST `data` (lists become repeated fields) to `action`."""
    token = csrf_from(client.get(form_page).text)
    return client.post(action, data={**data, "csrf_token": token})


def field_error(page_html: str, field: str) -> str | None:
    """The message shown next to a field (the _forms.html macros' id="<field>-error")."""
    match = re.search(rf'id="{re.escape(field.replace(".", "-"))}-error"[^>]*>([^<]+)<', page_html)
    return html.unescape(match.group(1).strip()) if match else None


def flash_of(client: httpx.Client, response: httpx.Response) -> str:
    """Follow a redirect and return the one-time message the page shows."""
    assert response.status_code == 303, response.text[:2000]
    shown = client.get(response.headers["location"])
    match = re.search(r'id="flash">([^<]+)<', shown.text)
    assert match, "no message on " + response.headers["location"]
    return html.unescape(match.group(1).strip())


@pytest.fixture(scope="module")
def guarded_server(database: str) -> Iterator[Server]:
    """A server set up as in production: webhooks may not call private or loopback addresses
    (the shared test server allows them, as `make run` does). Without a worker of its own: it
    shares the database, and its dispatcher would take the shared server's deliveries and refuse
    the loopback receivers of other tests in the module (a browser test timed out on that)."""
    srv = start_server(
        {"AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE": "0", "AUTOSCRIBE_INPROCESS_WORKER": "0"}, name="guarded"
    )
    yield srv
    stop_server(srv)


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(respond: Any = None) -> Receiver:
        receiver = Receiver.on_free_port()
        if respond is not None:
            receiver.respond = respond
        made.append(receiver)
        return receiver.start()

    yield make
    for receiver in made:
        receiver.stop()
