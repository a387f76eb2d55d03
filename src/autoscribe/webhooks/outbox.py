"""Writing events to the outbox, in the caller's transaction, and waking the dispatchers.

    event_id = outbox.enqueue(session, clinic_id=..., api_key_id=..., event_type="report.delivered",
                              data={...})
    session.commit()   # the event exists if and only if the change that caused it does

PostgreSQL: enqueue also queues `NOTIFY autoscribe_webhooks`, which PostgreSQL delivers when (and
only if) the transaction commits; every listening dispatcher wakes at once. In the writing
process, a commit wakes its own dispatcher directly (that is how SQLite deployments, where the
dispatcher runs inside `autoscribe serve`, get prompt deliveries); on SQLite it also wakes the
dispatchers of other processes through their sockets beside the database file (webhooks.wake).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from autoscribe.db import utcnow
from autoscribe.ids import Prefix, brand
from autoscribe.ids import new_id as _new_uuid
from autoscribe.webhooks import wake
from autoscribe.webhooks.models import KIND_ASYNC, PENDING, WebhookEvent
from autoscribe.webhooks.signing import normalize_data

log = logging.getLogger("autoscribe.webhooks")

NOTIFY_CHANNEL = "autoscribe_webhooks"
_WAKE_FLAG = "autoscribe.webhooks.wake"

Refresher = Callable[[Session, dict[str, Any]], dict[str, Any]]
# For a claimed batch at once: the data to send per event, or None to refresh that one per attempt.
BatchRefresher = Callable[[Session, list[dict[str, Any]]], list[dict[str, Any] | None]]


@dataclass(frozen=True)
class EventRefresher:
    """Rebuilds an event's `data` before every delivery attempt (e.g. a fresh presigned URL);
    the stored event keeps its original data. Handed to the dispatcher by whoever builds it
    (autoscribe.tasks.WEBHOOK_REFRESHERS), per event type.

    `each(session, stored_data)` returns the data to send. `batch(session, [stored_data, ...])`,
    optional, refreshes a whole claimed batch inside the claim's transaction (one query instead of
    one per event); it must only read the database and cheap local state, and returns None for
    each event it leaves to `each`.
    """

    each: Refresher
    batch: BatchRefresher | None = None


# Request/response events: sent inline by sync.call_sync to the key's study data endpoint, never
# through the outbox. Every other event type is a notification for the report data endpoint.
SYNC_EVENT_TYPES = frozenset(
    {
        "study.access_requested",
        "ephemeral.access_requested",
        "secondary_capture.access_requested",
        "modality_worklist.requested",
        "patient_study.enrichment_requested",
        "clinical_context.enrichment_requested",
    }
)


def enqueue(
    session: Session,
    *,
    clinic_id: uuid.UUID,
    api_key_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
) -> str:
    """Add an event to the caller's transaction (no commit) and return its `whe_...` id.

    It goes to the API key's report webhook endpoint, at least once, retried on failure.
    """
    if event_type in SYNC_EVENT_TYPES:
        raise ValueError(f"{event_type} is a synchronous event: send it with webhooks.sync.call_sync")
    row = WebhookEvent(
        id=_new_uuid(),
        clinic_id=clinic_id,
        api_key_id=api_key_id,
        event_type=event_type,
        kind=KIND_ASYNC,
        data=normalize_data(data),
        status=PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    request_wake(session)
    return brand(Prefix.WEBHOOK_EVENT, row.id)


def request_wake(session: Session) -> None:
    """Wake dispatchers once `session` commits (NOTIFY on PostgreSQL, directly in this process)."""
    if session.info.get(_WAKE_FLAG):
        return  # once per transaction is enough
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Transactional: PostgreSQL sends it at commit, drops it on rollback, and folds duplicate
        # notifications of one transaction into one.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        session.info[_WAKE_FLAG] = True
    else:
        # The SQLite file: its wake directory holds the other processes' dispatchers.
        engine = bind.engine if isinstance(bind, Connection) else bind
        session.info[_WAKE_FLAG] = engine.url.database or True


# ---- in-process wake-up ---------------------------------------------------------------------------

_local_wakers: list[Callable[[], None]] = []
_wakers_lock = threading.Lock()


def add_local_waker(fn: Callable[[], None]) -> None:
    with _wakers_lock:
        _local_wakers.append(fn)


def remove_local_waker(fn: Callable[[], None]) -> None:
    with _wakers_lock:
        if fn in _local_wakers:
            _local_wakers.remove(fn)


def wake_local() -> None:
    with _wakers_lock:
        wakers = list(_local_wakers)
    for fn in wakers:
        fn()


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    flag = session.info.get(_WAKE_FLAG)
    if flag:
        wake_local()
        if isinstance(flag, str):
            wake.notify_peers(flag)


@sa_event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Committed, rolled back or closed: the next transaction of this session starts clean.
    if transaction.parent is None:
        session.info.pop(_WAKE_FLAG, None)


class WakeSources:
    """Everything that tells a consumer of the outbox or the task table to look now: commits in
    this process (local wakers), NOTIFY on PostgreSQL (a LISTEN connection), datagrams on SQLite
    (a socket in the wake directory). Shared by the webhook dispatcher and the task runner."""

    def __init__(self, maker: sessionmaker[Session], on_wake: Callable[[], None], *, name: str) -> None:
        self.maker = maker
        self.on_wake = on_wake
        self.name = name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: wake.WakeListener | None = None

    @property
    def is_postgresql(self) -> bool:
        return bool(self.maker.kw["bind"].dialect.name == "postgresql")

    def start(self) -> None:
        add_local_waker(self.on_wake)
        if self.is_postgresql:
            self._thread = threading.Thread(target=self._listen_loop, name="outbox-listen", daemon=True)
            self._thread.start()
        else:
            listener = wake.WakeListener(self.maker.kw["bind"].url.database, self.on_wake)
            if listener.start():
                self._listener = listener

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        remove_local_waker(self.on_wake)
        if self._listener is not None:
            self._listener.stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def _listen_loop(self) -> None:
        url = self.maker.kw["bind"].url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stopping.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.on_wake()  # anything committed while we were not listening
                    while not self._stopping.is_set():
                        for _notify in conn.notifies(timeout=1.0):
                            self.on_wake()
            except Exception:
                if not self._stopping.is_set():
                    log.warning("%s: LISTEN connection lost; reconnecting", self.name)
                    self._stopping.wait(1.0)
