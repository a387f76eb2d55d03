"""The dispatcher: claims due events from the outbox and delivers them concurrently.

Runs inside `autoscribe serve` (AUTOSCRIBE_INPROCESS_WORKER, on by default) and as
`autoscribe worker` processes. Any number of dispatchers may share one database:

- claiming looks at due events, picks some within each endpoint's room, and takes them with one
  atomic UPDATE that sets a lease (`locked_until`, `lock_token`); on PostgreSQL the rows are
  locked `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same event; on SQLite the
  database's single writer makes the UPDATE atomic;
- a worker that dies (even SIGKILL) holds nothing but leases, which expire: the event is claimed
  again by whoever looks next, including the same worker restarted;
- PostgreSQL: a LISTEN connection wakes the dispatcher as soon as an event is committed anywhere;
  SQLite: a datagram on its socket beside the database file does (webhooks.wake); events
  committed in this process wake it directly; otherwise it polls every
  AUTOSCRIBE_WEBHOOK_POLL_SECONDS (retries that come due, a database whose directory cannot hold
  the socket: 0.1 s on SQLite, 2 s on PostgreSQL by default);
- one slow endpoint cannot starve the others: at most
  AUTOSCRIBE_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT deliveries per API key run at once, each bounded
  by the attempt timeout.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import secrets
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import or_, select, text, true, update
from sqlalchemy.orm import Session, sessionmaker

from autoscribe.config import Settings, get_settings
from autoscribe.db import get_sessionmaker, utcnow
from autoscribe.ids import Prefix, brand
from autoscribe.observability import metrics, requestid
from autoscribe.outbound import guard
from autoscribe.webhooks import outbox
from autoscribe.webhooks.delivery import (
    Attempted,
    Claimed,
    EndpointInfo,
    attempt,
    load_endpoints,
    outcome_label,
    record,
)
from autoscribe.webhooks.models import KIND_ASYNC, PENDING, WebhookEvent

log = logging.getLogger("autoscribe.webhooks")

# The longest a busy dispatcher waits to claim several events at once (see _wait_for_room).
CLAIM_BATCH_WAIT_SECONDS = 0.005


class Dispatcher:
    def __init__(
        self,
        *,
        maker: sessionmaker[Session] | None = None,
        concurrency: int | None = None,
        settings: Settings | None = None,
        name: str | None = None,
        refreshers: Mapping[str, outbox.EventRefresher] | None = None,
    ) -> None:
        """`refreshers`: per event type, what rebuilds an event's data before each attempt
        (autoscribe.tasks.WEBHOOK_REFRESHERS for the platform's own events)."""
        self.settings = settings or get_settings()
        self.refreshers = dict(refreshers or {})
        self.maker = maker or get_sessionmaker()
        self.concurrency = max(1, concurrency or self.settings.webhook_concurrency)
        per_endpoint = self.settings.webhook_max_in_flight_per_endpoint or max(1, self.concurrency // 2)
        self.per_endpoint = max(1, min(per_endpoint, self.concurrency))
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.is_postgresql = self.maker.kw["bind"].dialect.name == "postgresql"
        # PostgreSQL wakes us with NOTIFY, so polling only catches retries coming due; SQLite has
        # no way to hear other processes' commits but polling (a cheap indexed read).
        self.poll_seconds = self.settings.webhook_poll_seconds or (2.0 if self.is_postgresql else 0.1)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._per_key: Counter[uuid.UUID] = Counter()
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None
        self._client = guard.make_client(max_idle_per_destination=self.concurrency * 2)
        # Attempts are recorded in batches by one thread: a transaction per batch rather than per
        # attempt. An attempt made but not yet recorded when the process dies is simply made again
        # once its lease expires (at least once).
        self._done: queue.Queue[Attempted] = queue.Queue()
        self._recorder_done = threading.Event()
        self._recorder: threading.Thread | None = None
        self.delivered = 0  # attempts made by this dispatcher (for the benchmark and logs)
        self._wakeups = outbox.WakeSources(self.maker, self.wake, name=f"webhook dispatcher {self.name}")

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="webhook")
        claimer = threading.Thread(target=self._claim_loop, name="webhook-claimer", daemon=True)
        self._recorder = threading.Thread(target=self._record_loop, name="webhook-recorder", daemon=True)
        self._recorder.start()
        self._threads = [claimer]
        self._wakeups.start()
        for thread in self._threads:
            thread.start()
        log.info("webhook dispatcher %s started (concurrency %d)", self.name, self.concurrency)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; wait up to `timeout` s for deliveries in flight (the rest are left to
        their leases, so another dispatcher retries them)."""
        self._stopping.set()
        self._wake.set()
        self._wakeups.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    break
            time.sleep(0.05)
        self._recorder_done.set()
        if self._recorder is not None:
            self._recorder.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
        log.info("webhook dispatcher %s stopped", self.name)

    def wake(self) -> None:
        self._wake.set()

    # ---- claiming ------------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wait_for_room()
            self._wake.clear()
            claimed = 0
            try:
                claimed = self._claim_and_submit()
            except Exception:
                log.exception("webhook dispatcher %s: claiming failed; retrying", self.name)
                self._stopping.wait(1.0)
            if claimed == 0:
                self._wake.wait(self.poll_seconds)

    def _wait_for_room(self) -> None:
        """Under load, claim in batches: a claim costs the same few round trips for one event as
        for many, so claiming each slot as it frees up would make claiming the bottleneck. While
        most slots are busy, wait a few milliseconds for a quarter of them to free up."""
        batch = max(1, self.concurrency // 4)
        deadline = time.monotonic() + CLAIM_BATCH_WAIT_SECONDS
        while not self._stopping.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0 or self.concurrency - self._in_flight >= batch:
                    return
            self._wake.wait(0.001)
            self._wake.clear()

    def _claim_and_submit(self) -> int:
        with self._lock:
            free = self.concurrency - self._in_flight
            room = {key: self.per_endpoint - n for key, n in self._per_key.items()}
        if free <= 0:
            return 0
        rows, endpoints = self._claim(free, room)
        for event in rows:
            with self._lock:
                self._in_flight += 1
                self._per_key[event.api_key_id] += 1
            assert self._pool is not None
            self._pool.submit(self._deliver, event, endpoints.get(event.api_key_id))
        return len(rows)

    def _claim(
        self, limit: int, room: dict[uuid.UUID, int]
    ) -> tuple[list[Claimed], dict[uuid.UUID, EndpointInfo]]:
        """Claim up to `limit` due events, at most `room[key]` (else per_endpoint) per API key."""
        now = utcnow()
        token = secrets.token_hex(16)
        lease = now + timedelta(seconds=self.settings.effective_webhook_lease_seconds)
        due = [
            WebhookEvent.status == PENDING,
            WebhookEvent.kind == KIND_ASYNC,
            WebhookEvent.next_attempt_at <= now,
            or_(WebhookEvent.locked_until.is_(None), WebhookEvent.locked_until < now),
        ]
        full = [key for key, n in room.items() if n <= 0]
        with self.maker() as session:
            if self.is_postgresql:
                # Walk the due-events index in order and stop at `limit`: planned on statistics
                # from before a burst of new events (or none yet), PostgreSQL would otherwise
                # bitmap-scan and sort every due event, and claiming would slow with the backlog.
                # A claim lost in a database crash only makes its events due again (at least
                # once), so its commit need not wait for the WAL flush.
                session.execute(
                    text(
                        "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off;"
                        " SET LOCAL synchronous_commit = off"
                    )
                )
            # 1. Look (no locks): due events of endpoints that have room, oldest first.
            look = select(WebhookEvent.id, WebhookEvent.api_key_id).where(*due)
            if full:
                look = look.where(WebhookEvent.api_key_id.not_in(full))
            candidates = session.execute(look.order_by(WebhookEvent.next_attempt_at).limit(limit * 4)).all()
            if not self.is_postgresql:
                # SQLite cannot turn this read transaction into a write one if another process
                # wrote meanwhile; PostgreSQL reads each statement afresh, so one transaction does.
                session.rollback()
            # 2. Pick within each endpoint's room, so one endpoint's backlog cannot take every slot.
            taken: Counter[uuid.UUID] = Counter()
            chosen: list[uuid.UUID] = []
            for event_id, key_id in candidates:
                if len(chosen) >= limit:
                    break
                if taken[key_id] < room.get(key_id, self.per_endpoint):
                    taken[key_id] += 1
                    chosen.append(event_id)
            if not chosen:
                return [], {}
            # 3. Claim atomically; rows another dispatcher took meanwhile no longer match. The
            # due conditions are wrapped in IS TRUE so that no index can serve them: the rows are
            # found by primary key, not by walking every due event.
            claim = select(WebhookEvent.id).where(
                WebhookEvent.id.in_(chosen), *(condition.is_(true()) for condition in due)
            )
            if self.is_postgresql:
                claim = claim.with_for_update(skip_locked=True)
            result = session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id.in_(claim.scalar_subquery()))
                .values(locked_until=lease, lock_token=token)
                .returning(
                    WebhookEvent.id,
                    WebhookEvent.clinic_id,
                    WebhookEvent.api_key_id,
                    WebhookEvent.event_type,
                    WebhookEvent.data,
                    WebhookEvent.attempt_count,
                    WebhookEvent.schedule_index,
                    WebhookEvent.request_id,
                )
                .execution_options(synchronize_session=False)
            )
            rows = [
                Claimed(
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    row[5],
                    row[6],
                    lock_token=token,
                    request_id=row[7],
                )
                for row in result
            ]
            endpoints = load_endpoints(session, {row.api_key_id for row in rows})
            if self.is_postgresql:
                rows = _refresh_batch(session, rows, self.refreshers)  # reads, in the claim's transaction
                session.commit()
            else:
                session.commit()  # SQLite: release the write lock first
                rows = _refresh_batch(session, rows, self.refreshers)
                session.rollback()
        return rows, endpoints

    def _deliver(self, event: Claimed, info: EndpointInfo | None) -> None:
        try:
            refresher = self.refreshers.get(event.event_type)
            with requestid.bound(event.request_id):
                done = attempt(
                    self.maker,
                    event,
                    info,
                    client=self._client,
                    settings=self.settings,
                    refresher=refresher.each if refresher is not None else None,
                )
                _observe(done)
            self._done.put(done)
        except Exception:
            # The lease expires and the event is tried again; a dispatcher never dies of one event.
            log.exception("webhook dispatcher %s: delivering an event failed", self.name)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._per_key[event.api_key_id] -= 1
                if self._per_key[event.api_key_id] <= 0:
                    del self._per_key[event.api_key_id]
            self._wake.set()

    def _record_loop(self) -> None:
        while True:
            try:
                batch = [self._done.get(timeout=0.1)]
            except queue.Empty:
                if self._recorder_done.is_set():
                    return
                continue
            while len(batch) < 200:
                try:
                    batch.append(self._done.get_nowait())
                except queue.Empty:
                    break
            for attempt_try in range(3):
                try:
                    record(self.maker, batch, worker=self.name, settings=self.settings)
                    with self._lock:
                        self.delivered += len(batch)
                    break
                except Exception:
                    # Unrecorded attempts are made again when their leases expire.
                    log.exception(
                        "webhook dispatcher %s: recording %d attempts failed", self.name, len(batch)
                    )
                    time.sleep(0.2 * (attempt_try + 1))


def _observe(done: Attempted) -> None:
    """One log line and the metrics of an attempt (the event id and type, never its data)."""
    outcome = done.outcome
    label = outcome_label(done)
    sent = label != "not_sent"
    metrics.webhook_attempt(done.event.event_type, label, outcome.duration_ms / 1000 if sent else None)
    log.log(
        logging.INFO if outcome.succeeded else logging.WARNING,
        "webhook %s (%s) attempt %d: %s%s in %d ms",
        brand(Prefix.WEBHOOK_EVENT, done.event.id),
        done.event.event_type,
        done.event.attempt_count + 1,
        label,
        f" (HTTP {outcome.status_code})" if outcome.status_code is not None else "",
        outcome.duration_ms,
    )


def _refresh_batch(
    session: Session, rows: list[Claimed], refreshers: Mapping[str, outbox.EventRefresher]
) -> list[Claimed]:
    """Run the batch refreshers of the claimed events' types (one query per type, not per event)."""
    by_type: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        refresher = refreshers.get(row.event_type)
        if refresher is not None and refresher.batch is not None:
            by_type.setdefault(row.event_type, []).append(index)
    out = list(rows)
    for event_type, indexes in by_type.items():
        batch = refreshers[event_type].batch
        assert batch is not None
        try:
            fresh = batch(session, [dict(rows[i].data) for i in indexes])
        except Exception:
            # Each of these events is then refreshed on its own before its attempt.
            log.exception("webhook batch refresher for %s failed", event_type)
            continue
        for index, data in zip(indexes, fresh, strict=True):
            if data is not None:
                out[index] = dataclasses.replace(rows[index], data=data, refreshed=True)
    return out
