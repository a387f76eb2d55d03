"""Mail as a task on the `mail` queue (registered in autoscribe.tasks).

`queue_mail` adds the message to the caller's transaction, so an invitation or a password reset
and its email are saved together or not at all; a worker sends it after the commit and tries
again until the mail server takes it. The message is stored encrypted (auth.crypto, the
deployment's secret key): the link it carries is a credential, and the tasks table is read by
more people (backups, operators looking at a stuck queue) than the recipient's mailbox.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid

from sqlalchemy.orm import Session

from autoscribe.auth import crypto
from autoscribe.mail.sender import MailError, OutgoingMail, recipient_domain, send_mail
from autoscribe.queue.models import Task
from autoscribe.queue.runner import TaskSpec, enqueue

log = logging.getLogger("autoscribe.mail")

SEND_TASK = "mail.send"
# Tried again after 5 s, 30 s, 2 min, 10 min, 30 min, then hourly: about seven hours in all,
# within an invitation's lifetime; a reset link (an hour by default) may lapse before that.
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600)
MAX_ATTEMPTS = 12


def queue_mail(session: Session, mail: OutgoingMail, *, clinic_id: uuid.UUID | None) -> None:
    """Send `mail` once the caller's transaction commits (it does not commit)."""
    sealed = crypto.encrypt(json.dumps(dataclasses.asdict(mail)))
    enqueue(session, SEND_TASK, {"message": sealed}, clinic_id=clinic_id, max_attempts=MAX_ATTEMPTS)


def _send(_session: Session, task: Task) -> None:
    mail = OutgoingMail(**json.loads(crypto.decrypt(str(task.payload["message"]))))
    try:
        send_mail(mail)
    except MailError as exc:
        # The mail server and its answer are for the operator; the recipient's domain, never the address.
        log.warning(
            "mail %r to a recipient at %s not sent (attempt %d of %d): %s",
            mail.subject,
            recipient_domain(mail.to),
            task.attempts,
            task.max_attempts,
            exc,
        )
        raise


def _gave_up(_session: Session, task: Task, message: str) -> None:
    log.error("mail task %s: not sent after %d attempts, given up: %s", task.id, task.attempts, message)


TASKS = (TaskSpec(SEND_TASK, _send, on_failure=_gave_up, lease_seconds=120, backoff_seconds=BACKOFF_SECONDS),)
