"""Invitation and password-reset mail is queued with the change that makes it, and sent only while
its link still works: a mail server that was down must not deliver, hours later, a link that was
revoked, replaced by a resend or expired meanwhile. (The shared test server leaves the mail queue
to the tests, so nothing is sent until `outbox_messages` delivers it.)"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from autoscribe.audit.service import Actor
from autoscribe.auth.models import PasswordReset
from autoscribe.db import session_scope
from autoscribe.users import invitations
from autoscribe.users.models import Invitation
from tests.conftest import ClinicFixture, Server
from tests.helpers import make_user, outbox_messages, post_form, sdk, web_client
from tests.users.test_users import invite_kwargs
from tests.web.test_sessions import PASSWORD


def _email() -> str:
    return f"queued-{secrets.token_hex(4)}@example.test"


def _invitation_of(user_id: str) -> uuid.UUID:
    with session_scope() as session:
        return session.scalars(
            select(Invitation.id).where(Invitation.user_id == uuid.UUID(user_id.removeprefix("usr_")))
        ).one()


def test_a_revoked_invitation_is_not_mailed(server: Server, clinic: ClinicFixture) -> None:
    email = _email()
    api = sdk(server.url, clinic.api_key).auto_scribe.users
    user = api.invite(**invite_kwargs(email=email))
    api.invitations.revoke(user_id=user.user_id)
    assert outbox_messages(email) == []


def test_a_resent_invitation_mails_only_the_new_link(server: Server, clinic: ClinicFixture) -> None:
    email = _email()
    user = sdk(server.url, clinic.api_key).auto_scribe.users.invite(**invite_kwargs(email=email))
    with session_scope() as session:
        invitation = session.get_one(Invitation, _invitation_of(user.user_id))
        invitations.resend_invitation(
            session, invitation, invitations.Inviter(actor=Actor.system(), source="api")
        )
        session.commit()
    (message,) = outbox_messages(email)
    token = message.get_body(("plain",)).get_content().split("token=")[1].split()[0]  # type: ignore[union-attr]
    page = web_client(server.url).get(f"/invitations/accept?token={token}")
    assert page.status_code == 200, page.text  # the one mail sent carries the link that works


def test_a_reset_link_that_expired_in_the_queue_is_not_mailed(server: Server, clinic: ClinicFixture) -> None:
    email = _email()
    make_user(clinic.clinic_id, email=email, password=PASSWORD, first_name="Quinn")
    sent = post_form(web_client(server.url), "/forgot-password", "/forgot-password", {"email": email})
    assert sent.status_code == 200
    with session_scope() as session:
        session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == uuid.UUID(_user_id(email)))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert outbox_messages(email) == []
    # A fresh request is mailed as usual.
    post_form(web_client(server.url), "/forgot-password", "/forgot-password", {"email": email})
    assert len(outbox_messages(email)) == 1


def _user_id(email: str) -> str:
    from autoscribe.users.models import User

    with session_scope() as session:
        return str(session.scalars(select(User.id).where(User.email == email)).one())
