"""The request id: one per API request, carried into the tasks and webhook events it causes.

An incoming `X-Request-Id` is kept when it is a plain token (letters, digits, `.`, `_`, `:`, `-`,
at most 64 characters); anything else is replaced by a generated id, so that nothing arbitrary
(a patient name, a control character) reaches the logs through it. The id lives in a context
variable: every log line written while handling the request carries it (logs.JsonFormatter),
and so do the task rows (payload "requestId") and outbox events (webhook_events.request_id)
written meanwhile. A worker running such a task or delivering such an event sets it again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

HEADER = "X-Request-Id"
PAYLOAD_KEY = "requestId"
MAX_LENGTH = 64

_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
_current: ContextVar[str | None] = ContextVar("autoscribe_request_id", default=None)


def new() -> str:
    return secrets.token_hex(16)


def accept(value: str | None) -> str | None:
    """`value` when it is an acceptable request id, else None."""
    if value and _VALID.fullmatch(value):
        return value
    return None


def get() -> str | None:
    return _current.get()


def set_current(value: str | None) -> Token[str | None]:
    return _current.set(value)


@contextmanager
def bound(value: str | None) -> Iterator[None]:
    """Run a block (a task, a delivery) under `value` (None: no request id)."""
    token = _current.set(accept(value))
    try:
        yield
    finally:
        _current.reset(token)
