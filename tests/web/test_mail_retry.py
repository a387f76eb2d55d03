"""A mail server that is down delays an invitation's email and loses nothing. A module of its own:
the SMTP server of test_invitation_email also runs the mail queue, and would send this one."""

from __future__ import annotations

from tests.conftest import MAIL_QUEUES, ClinicFixture, start_server, stop_server
from tests.helpers import sdk, web_client
from tests.mailtrap import MailTrap
from tests.users.test_users import invite_kwargs
from tests.web.test_invitation_email import accept, heading


def test_mail_server_down_delays_the_email(database: str, clinic: ClinicFixture) -> None:
    """The invitation is saved with its email queued; the worker tries again until the mail
    server takes it."""
    trap = MailTrap()  # not listening yet
    server = start_server(
        {"AUTOSCRIBE_SMTP_URL": trap.url, "AUTOSCRIBE_WORKER_QUEUES": MAIL_QUEUES}, name="smtp-down"
    )
    try:
        client = sdk(server.url, clinic.api_key)
        user = client.auto_scribe.users.invite(**invite_kwargs())
        (invitation,) = client.auto_scribe.users.invitations.list(user_id=user.user_id)
        assert invitation.status == "sent"
        # The operator's log names the mail server and its failure, not the recipient.
        log = server.log_with("not sent (attempt 1 of")
        assert f"mail server 127.0.0.1:{trap.port} refused or failed" in log
        assert user.email not in log
        trap.start()
        try:
            received = trap.wait_for(user.email, timeout=60)
        finally:
            trap.stop()
        done = accept(web_client(server.url), received.link("/invitations/accept"))
        assert done.status_code == 200 and heading(done) == "Your account is ready"
    finally:
        stop_server(server)
