"""The users domain's mail tasks (on the mail queue): an invitation or password-reset email is sent
only while its link still works. A mail server that was down for hours must not deliver a link
that was revoked, replaced by a resend, used or expired meanwhile."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from autoscribe.auth.models import PasswordReset
from autoscribe.mail.tasks import mail_task, send_queued
from autoscribe.queue.models import Task
from autoscribe.users import invitations, password_reset
from autoscribe.users.models import Invitation, User

log = logging.getLogger("autoscribe.mail")


def _send_invitation(session: Session, task: Task) -> None:
    token_hash = str(task.payload.get("ref", {}).get("tokenHash", ""))
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == token_hash))
    user = session.get(User, invitation.user_id) if invitation is not None else None
    reason = "replaced" if invitation is None or user is None else invitations.why_unusable(invitation, user)
    if reason:
        log.info("invitation mail of task %s not sent: the link is no longer usable (%s)", task.id, reason)
        return
    send_queued(task)


def _send_reset(session: Session, task: Task) -> None:
    token_hash = str(task.payload.get("ref", {}).get("tokenHash", ""))
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash))
    user = session.get(User, reset.user_id) if reset is not None else None
    reason = "deleted" if reset is None or user is None else password_reset.why_unusable(reset, user)
    if reason:
        log.info(
            "password-reset mail of task %s not sent: the link is no longer usable (%s)", task.id, reason
        )
        return
    send_queued(task)


TASKS = (
    mail_task(invitations.INVITATION_MAIL, _send_invitation),
    mail_task(password_reset.RESET_MAIL, _send_reset),
)
