"""Password reset by email (local outbox mode: the shared test server has no SMTP server)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from tests.conftest import ClinicFixture, Server
from tests.helpers import (
    csrf_from,
    hidden_field,
    latest_outbox_link,
    make_user,
    outbox_messages,
    post_form,
    web_client,
    web_login,
)
from tests.web.test_sessions import PASSWORD, heading, login, sessions_of

NEW_PASSWORD = "a brand new passphrase"


def ask(server: Server, email: str) -> httpx.Response:
    return post_form(web_client(server.url), "/forgot-password", "/forgot-password", {"email": email})


def choose(
    client: httpx.Client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None
) -> httpx.Response:
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(
        "/reset-password",
        data={
            "csrf_token": csrf_from(page.text),
            "token": hidden_field(page.text, "token"),
            "password": password,
            "password_confirm": password if confirm is None else confirm,
        },
    )


def local(server: Server, link: str) -> str:
    """The outbox link names the public URL of the server that wrote it: keep path and token."""
    return server.url + link[link.index("/reset-password") :]


def test_reset_by_email(server: Server, clinic: ClinicFixture) -> None:
    email = f"forgetful-{secrets.token_hex(4)}@example.test"
    user_id = make_user(clinic.clinic_id, email=email, password=PASSWORD, first_name="Fay")
    signed_in = web_login(server.url, email, PASSWORD)

    sent = ask(server, email.upper())
    assert sent.status_code == 200 and heading(sent) == "Check your email"
    (message,) = outbox_messages(email)
    assert message["Subject"] == "Reset your AutoScribe password"
    link = local(server, latest_outbox_link(email, "/reset-password"))

    browser = web_client(server.url)
    mismatch = choose(browser, link, confirm="something else entirely")
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    same_as_email = choose(browser, link, password=email)
    assert same_as_email.status_code == 400 and "cannot be your email" in same_as_email.text
    done = choose(browser, link)
    assert done.status_code == 303 and done.headers["location"] == "/login?notice=password_reset"
    assert "Your password has been changed" in browser.get("/login?notice=password_reset").text

    # Every open session of the account ended; the old password is gone, the new one works.
    assert signed_in.get("/").status_code == 303
    assert all(s.ended_at is not None for s in sessions_of(user_id))
    assert login(web_client(server.url), email, PASSWORD).status_code == 401
    assert "Welcome, Fay" in web_login(server.url, email, NEW_PASSWORD).get("/").text

    reused = web_client(server.url).get(link)
    assert reused.status_code == 410 and heading(reused) == "This password reset link has already been used"


def test_unknown_or_unjoined_addresses_get_the_same_answer_and_no_mail(
    server: Server, clinic: ClinicFixture
) -> None:
    unknown = f"nobody-{secrets.token_hex(4)}@example.test"
    answer = ask(server, unknown)
    assert answer.status_code == 200 and heading(answer) == "Check your email"
    assert outbox_messages(unknown) == []
    revoked = f"revoked-{secrets.token_hex(4)}@example.test"
    make_user(clinic.clinic_id, email=revoked, password=PASSWORD, revoked=True)
    assert heading(ask(server, revoked)) == "Check your email"
    assert outbox_messages(revoked) == []
    empty = post_form(web_client(server.url), "/forgot-password", "/forgot-password", {"email": " "})
    assert empty.status_code == 400


def test_expired_and_broken_links(server: Server, clinic: ClinicFixture) -> None:
    from autoscribe.auth.models import PasswordReset
    from autoscribe.db import session_scope

    email = f"late-{secrets.token_hex(4)}@example.test"
    user_id = make_user(clinic.clinic_id, email=email, password=PASSWORD)
    ask(server, email)
    link = local(server, latest_outbox_link(email, "/reset-password"))
    with session_scope() as session:
        session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == uuid.UUID(user_id.removeprefix("usr_")))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = web_client(server.url).get(link)
    assert expired.status_code == 410 and heading(expired) == "This password reset link has expired"
    assert 'href="/forgot-password"' in expired.text
    for broken in ("/reset-password", "/reset-password?token=invented"):
        page = web_client(server.url).get(broken)
        assert page.status_code == 404 and heading(page) == "This password reset link is not valid"


def test_a_new_link_retires_the_older_ones_and_requests_are_limited(
    server: Server, clinic: ClinicFixture
) -> None:
    email = f"twice-{secrets.token_hex(4)}@example.test"
    make_user(clinic.clinic_id, email=email, password=PASSWORD)
    ask(server, email)
    first = local(server, latest_outbox_link(email, "/reset-password"))
    ask(server, email)
    second = local(server, latest_outbox_link(email, "/reset-password"))
    assert first != second
    assert choose(web_client(server.url), second).status_code == 303
    assert web_client(server.url).get(first).status_code == 410
    for _ in range(3):
        ask(server, email)
    assert len(outbox_messages(email)) == 3  # at most 3 per 15 minutes


def test_a_reset_lifts_the_sign_in_throttle(server: Server, clinic: ClinicFixture) -> None:
    email = f"locked-{secrets.token_hex(4)}@example.test"
    make_user(clinic.clinic_id, email=email, password=PASSWORD)
    browser = web_client(server.url)
    for _ in range(5):
        assert login(browser, email, "wrong password!").status_code == 401
    assert login(browser, email).status_code == 429
    ask(server, email)
    assert (
        choose(
            web_client(server.url), local(server, latest_outbox_link(email, "/reset-password"))
        ).status_code
        == 303
    )
    assert login(browser, email, NEW_PASSWORD).status_code == 303
