"""Mail as a task on the `mail` queue: each domain declares its mail tasks (users/tasks.py) with
`mail_task`, and autoscribe.tasks gathers them.

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
from autoscribe.queue.runner import Handler, TaskSpec, enqueue

log = logging.getLogger("autoscribe.mail")

# Tried again after 5 s, 30 s, 2 min, 10 min, 30 min, then hourly: about seven hours in all,
# within an invitation's lifetime. A mail whose link stopped working meanwhile (revoked, replaced,
# used, expired: a reset lasts an hour by default) is dropped by its domain's handler, not sent.
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600)
MAX_ATTEMPTS = 12


def queue_mail(
    session: Session,
    mail: OutgoingMail,
    *,
    clinic_id: uuid.UUID | None,
    kind: str,
    ref: dict[str, str] | None = None,
) -> None:
    """Send `mail` once the caller's transaction commits (it does not commit), as a task of the
    caller's `kind` (on this queue: kinds start with "mail."), whose handler (declared by the
    caller's domain, e.g. users/tasks.py) checks that the mail is still wanted, with `ref`, before
    calling `send_queued`."""
    sealed = crypto.encrypt(json.dumps(dataclasses.asdict(mail)))
    payload: dict[str, object] = {"message": sealed, **({"ref": ref} if ref else {})}
    enqueue(session, kind, payload, clinic_id=clinic_id, max_attempts=MAX_ATTEMPTS)


def queued_mail(task: Task) -> OutgoingMail:
    return OutgoingMail(**json.loads(crypto.decrypt(str(task.payload["message"]))))


def send_queued(task: Task) -> None:
    """Send a queued mail; MailError (logged for the operator) makes the runner try again later."""
    mail = queued_mail(task)
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


def gave_up(_session: Session, task: Task, message: str) -> None:
    log.error(
        "mail task %s (%s): not sent after %d attempts, given up: %s",
        task.id,
        task.kind,
        task.attempts,
        message,
    )


def mail_task(kind: str, run: Handler) -> TaskSpec:
    """A task on the mail queue, with its retry schedule."""
    return TaskSpec(kind, run, on_failure=gave_up, lease_seconds=120, backoff_seconds=BACKOFF_SECONDS)
