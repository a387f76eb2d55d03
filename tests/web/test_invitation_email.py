"""Invitations by email, end to end over real SMTP and real HTTP: invite → the email arrives →
its link, followed by an HTTP client, sets a password → sign-in works → lastLoginAt is set; and
the expired, revoked, declined, reused and broken links."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import MAIL_QUEUES, ClinicFixture, Server, start_server, stop_server
from tests.helpers import csrf_from, hidden_field, sdk, web_client, web_login
from tests.mailtrap import MailTrap, Received
from tests.users.test_users import audit_actions, invite_kwargs, set_invitation

PASSWORD = "correct horse battery"


@dataclass
class MailSetup:
    trap: MailTrap
    server: Server


@pytest.fixture(scope="module")
def mail(database: str) -> Iterator[MailSetup]:
    """An SMTP server that wants a login, and an AutoScribe server configured to send through it."""
    trap = MailTrap(username="autoscribe", password="smtp-" + secrets.token_hex(4)).start()
    server = start_server(
        {
            "AUTOSCRIBE_SMTP_URL": trap.url,
            "AUTOSCRIBE_MAIL_FROM": "Clinic <no-reply@clinic.test>",
            "AUTOSCRIBE_WORKER_QUEUES": MAIL_QUEUES,
        },
        name="smtp",
    )
    yield MailSetup(trap, server)
    stop_server(server)
    trap.stop()


def invite(mail: MailSetup, clinic: ClinicFixture, **overrides: object) -> tuple[str, Received]:
    client = sdk(mail.server.url, clinic.api_key)
    user = client.auto_scribe.users.invite(**invite_kwargs(**overrides))
    return user.user_id, mail.trap.wait_for(user.email)


def accept(
    client: httpx.Client, link: str, password: str = PASSWORD, confirm: str | None = None
) -> httpx.Response:
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(
        "/invitations/accept",
        data={
            "csrf_token": csrf_from(page.text),
            "token": hidden_field(page.text, "token"),
            "password": password,
            "password_confirm": password if confirm is None else confirm,
        },
    )


def heading(response: httpx.Response) -> str:
    start = response.text.index("<h1>") + 4
    return response.text[start : response.text.index("</h1>")]


def test_invite_email_link_password_sign_in(mail: MailSetup, clinic: ClinicFixture) -> None:
    started = datetime.now(UTC)
    user_id, received = invite(mail, clinic, first_name="Grace", has_dashboard_access=True)
    assert mail.trap.authenticator is not None and mail.trap.authenticator.logins >= 1
    assert received.message["From"] == "Clinic <no-reply@clinic.test>"
    assert "join" in received.message["Subject"] and "Test Clinic" in received.message["Subject"]
    assert received.text.startswith("Hello Grace,")
    link = received.link("/invitations/accept")
    assert link.startswith(mail.server.url + "/invitations/accept?token=")
    assert link in received.html  # the HTML part carries the same link

    browser = web_client(mail.server.url)
    page = browser.get(link)
    assert page.status_code == 200
    assert "Join Test Clinic" in page.text and "Grace" in page.text
    assert page.headers["referrer-policy"] == "same-origin"  # the token never leaks to another site

    # A mismatched confirmation is refused in words, and the invitation stays usable.
    mismatch = accept(browser, link, confirm=PASSWORD + "!")
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    short = accept(browser, link, password="short")
    assert short.status_code == 400 and "at least 10 characters" in short.text

    done = accept(browser, link)
    assert done.status_code == 303 and done.headers["location"] == "/?welcome=1"
    home = browser.get("/")
    assert home.status_code == 200 and "Welcome, Grace" in home.text

    client = sdk(mail.server.url, clinic.api_key)
    person = client.auto_scribe.users.retrieve(user_id)
    assert person.last_login_at is not None and person.last_login_at >= started.replace(microsecond=0)
    (invitation,) = client.auto_scribe.users.invitations.list(user_id=user_id)
    assert invitation.status == "accepted"
    assert audit_actions(clinic.clinic_id, invitation.invitation_id)[-1] == "invitation.accepted"

    # A fresh browser signs in with the new password; lastLoginAt moves on.
    first_login = person.last_login_at
    fresh = web_login(mail.server.url, person.email, PASSWORD)
    assert "Welcome, Grace" in fresh.get("/").text
    later = client.auto_scribe.users.retrieve(user_id).last_login_at
    assert later is not None and later >= first_login

    # The link worked once.
    reused = web_client(mail.server.url).get(link)
    assert reused.status_code == 410 and heading(reused) == "This invitation has already been used"
    assert "Traceback" not in reused.text
    replay = browser.post(
        "/invitations/accept",
        data={
            "csrf_token": csrf_from(browser.get("/").text),
            "token": link.split("token=")[1],
            "password": "another password 1",
            "password_confirm": "another password 1",
        },
    )
    assert replay.status_code == 410
    web_login(mail.server.url, person.email, PASSWORD)  # the password did not change


def test_user_without_dashboard_access_sets_a_password_but_gets_no_dashboard(
    mail: MailSetup, clinic: ClinicFixture
) -> None:
    user_id, received = invite(mail, clinic, has_dashboard_access=False)
    browser = web_client(mail.server.url)
    done = accept(browser, received.link("/invitations/accept"))
    assert done.status_code == 200 and heading(done) == "Your account is ready"
    assert "as_session" not in browser.cookies
    person = sdk(mail.server.url, clinic.api_key).auto_scribe.users.retrieve(user_id)
    signin = web_client(mail.server.url)
    response = signin.post(
        "/login",
        data={
            "csrf_token": csrf_from(signin.get("/login").text),
            "email": person.email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 403 and heading(response) == "Restricted access"
    assert "as_session" not in signin.cookies


def test_expired_link(mail: MailSetup, clinic: ClinicFixture) -> None:
    user_id, received = invite(mail, clinic)
    link = received.link("/invitations/accept")
    browser = web_client(mail.server.url)
    form = browser.get(link)
    assert form.status_code == 200
    set_invitation(user_id, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    page = web_client(mail.server.url).get(link)
    assert page.status_code == 410 and heading(page) == "This invitation has expired"
    # A form opened before the expiry is refused too.
    late = browser.post(
        "/invitations/accept",
        data={
            "csrf_token": csrf_from(form.text),
            "token": hidden_field(form.text, "token"),
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert late.status_code == 410 and heading(late) == "This invitation has expired"
    assert "as_session" not in browser.cookies


def test_revoked_link(mail: MailSetup, clinic: ClinicFixture) -> None:
    user_id, received = invite(mail, clinic)
    link = received.link("/invitations/accept")
    sdk(mail.server.url, clinic.api_key).auto_scribe.users.invitations.revoke(user_id=user_id)
    page = web_client(mail.server.url).get(link)
    assert page.status_code == 410 and heading(page) == "This invitation was withdrawn"
    assert "Traceback" not in page.text


def test_access_revoked_before_acceptance(mail: MailSetup, clinic: ClinicFixture) -> None:
    user_id, received = invite(mail, clinic)
    sdk(mail.server.url, clinic.api_key).auto_scribe.users.revoke_access(user_id=user_id)
    page = web_client(mail.server.url).get(received.link("/invitations/accept"))
    assert page.status_code == 403 and heading(page) == "Your access has been revoked"


def test_decline(mail: MailSetup, clinic: ClinicFixture) -> None:
    user_id, received = invite(mail, clinic)
    link = received.link("/invitations/accept")
    browser = web_client(mail.server.url)
    page = browser.get(link)
    declined = browser.post(
        "/invitations/reject",
        data={"csrf_token": csrf_from(page.text), "token": hidden_field(page.text, "token")},
    )
    assert declined.status_code == 200 and heading(declined) == "Invitation declined"
    client = sdk(mail.server.url, clinic.api_key)
    (invitation,) = client.auto_scribe.users.invitations.list(user_id=user_id)
    assert invitation.status == "rejected"
    assert audit_actions(clinic.clinic_id, invitation.invitation_id)[-1] == "invitation.rejected"
    again = web_client(mail.server.url).get(link)
    assert again.status_code == 410 and heading(again) == "This invitation was declined"
    assert user_id not in {u.user_id for u in client.auto_scribe.users.list()}


def test_broken_links(mail: MailSetup) -> None:
    browser = web_client(mail.server.url)
    for link in ("/invitations/accept", "/invitations/accept?token=", "/invitations/accept?token=made-up"):
        page = browser.get(link)
        assert page.status_code == 404 and heading(page) == "This invitation link is not valid", link
        assert "Traceback" not in page.text


def test_resend_replaces_the_link(mail: MailSetup, clinic: ClinicFixture) -> None:
    """The dashboard's "resend": a new email with a new link; the old link stops working."""
    from autoscribe.audit.service import Actor
    from autoscribe.db import session_scope
    from autoscribe.users import invitations
    from autoscribe.users.models import Invitation

    user_id, first = invite(mail, clinic)
    set_invitation(user_id, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    with session_scope() as session:
        invitation = session.scalars(
            select(Invitation).where(Invitation.user_id == uuid.UUID(user_id.removeprefix("usr_")))
        ).one()
        invitations.resend_invitation(
            session, invitation, invitations.Inviter(actor=Actor.system(), source="api")
        )
    person = sdk(mail.server.url, clinic.api_key).auto_scribe.users.retrieve(user_id)
    # Resent from the pytest process: the server's worker sends the queued mail.
    new_link = mail.trap.wait_for(person.email, count=2).link("/invitations/accept")
    old_link = first.link("/invitations/accept")
    assert web_client(mail.server.url).get(old_link).status_code == 404
    token = new_link.split("token=")[1]
    browser = web_client(mail.server.url)
    done = accept(browser, f"{mail.server.url}/invitations/accept?token={token}")
    assert done.status_code == 200 and heading(done) == "Your account is ready"
