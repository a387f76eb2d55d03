"""The task queue and its runner.

A task is a row in `tasks`, written in the caller's transaction (`enqueue`): it exists if and only
if the change that asked for it does. Its queue is the first part of its kind ("dictation.final"
runs on the "dictation" queue, "reports.render_pdf" on "reports"), so `autoscribe worker --queues`
can split the work between processes. A runner claims one due task with a lease (`FOR UPDATE SKIP
LOCKED` on PostgreSQL; SQLite's single writer makes the conditional UPDATE atomic), runs its
handler in a fresh session, commits the handler's changes with the task's "done" in one
transaction, or queues it again with a back-off until `max_attempts`, then calls the task's
failure handler. A runner that dies (even SIGKILL) leaves only a lease, which expires.

Wake-ups are the webhook outbox's (webhooks.outbox.WakeSources): a commit that enqueued a task
wakes the runners of this process at once, other processes through NOTIFY (PostgreSQL) or a
datagram (SQLite); polling only catches retries coming due.

Why webhook deliveries are not tasks: their dispatcher claims in batches within each endpoint's
room, keeps connections alive and records attempts in batches, which is what makes 300+
deliveries/s per worker (bench/webhooks.py); a generic one-at-a-time runner does not need that,
and webhooks do not need per-kind handlers. Both share the wake-up machinery and run in the same
`autoscribe worker` process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from autoscribe.db import get_sessionmaker, utcnow
from autoscribe.observability import metrics, requestid
from autoscribe.queue.models import DONE, FAILED, QUEUED, RUNNING, Task
from autoscribe.webhooks import outbox

log = logging.getLogger("autoscribe.queue")

Handler = Callable[[Session, Task], None]
FailureHandler = Callable[[Session, Task, str], None]

DEFAULT_BACKOFF_SECONDS = (1, 5, 30, 120)


@dataclass(frozen=True)
class TaskSpec:
    """What runs a kind of task. `lease_seconds`: how long a run may take before the task is
    presumed abandoned and claimed again."""

    kind: str
    run: Handler
    on_failure: FailureHandler | None = None
    lease_seconds: int = 600
    backoff_seconds: tuple[int, ...] = DEFAULT_BACKOFF_SECONDS

    @property
    def queue(self) -> str:
        return queue_of(self.kind)


@dataclass(frozen=True)
class Periodic:
    """Maintenance a runner does every `every_seconds` (e.g. purging audio past retention);
    returns how many things it did, for the log."""

    name: str
    queue: str
    every_seconds: float
    run: Callable[[Session], int]


def queue_of(kind: str) -> str:
    return kind.split(".", 1)[0]


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    clinic_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 3,
) -> Task | None:
    """Add a task to the caller's transaction. With a dedupe key, an already queued task suffices
    (None is returned)."""
    if dedupe_key is not None:
        pending = session.scalar(
            select(Task.id).where(Task.dedupe_key == dedupe_key, Task.status == QUEUED).limit(1)
        )
        if pending is not None:
            return None
    rid = requestid.get()
    if rid is not None and requestid.PAYLOAD_KEY not in payload:
        # The request that caused the task: the runner logs under it (see observability.requestid).
        payload = {**payload, requestid.PAYLOAD_KEY: rid}
    task = Task(
        clinic_id=clinic_id,
        queue=queue_of(kind),
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        run_after=utcnow(),
        status=QUEUED,
        attempts=0,
    )
    session.add(task)
    outbox.request_wake(session)
    return task


def runner_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def _claimable(now: datetime) -> Any:
    return or_(
        and_(Task.status == QUEUED, Task.run_after <= now),
        and_(Task.status == RUNNING, Task.locked_until < now),
    )


class TaskRunner:
    """Runs due tasks of the given queues in `threads` background threads, each task in one of
    them (or, for tests and scripts, synchronously with `run_one` / `run_pending`)."""

    def __init__(
        self,
        specs: Mapping[str, TaskSpec],
        *,
        queues: Iterable[str] | None = None,
        periodic: Iterable[Periodic] = (),
        maker: sessionmaker[Session] | None = None,
        poll_seconds: float = 0.5,
        name: str | None = None,
        threads: int = 1,
    ) -> None:
        wanted = set(queues) if queues is not None else None
        self.specs = {kind: spec for kind, spec in specs.items() if wanted is None or spec.queue in wanted}
        self.queues = sorted({spec.queue for spec in self.specs.values()})
        self.periodic = [p for p in periodic if wanted is None or p.queue in wanted]
        self.maker = maker or get_sessionmaker()
        self.poll_seconds = poll_seconds
        self.name = name or runner_name()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.threads = max(1, threads)
        self._threads: list[threading.Thread] = []
        self._periodic_lock = threading.Lock()
        self._wakeups: outbox.WakeSources | None = None
        self._last_periodic: dict[str, float] = {}

    # ---- synchronous use ---------------------------------------------------------------------

    def claim(self, session: Session) -> uuid.UUID | None:
        """Claim the oldest due task of our queues; commits. None when there is nothing to do."""
        if not self.specs:
            return None
        now = utcnow()
        look = (
            select(Task.id, Task.kind)
            .where(Task.queue.in_(self.queues), _claimable(now))
            .order_by(Task.run_after, Task.id)
            .limit(5)
        )
        if self.maker.kw["bind"].dialect.name == "postgresql":
            look = look.with_for_update(skip_locked=True)
        for task_id, kind in session.execute(look).all():
            spec = self.specs.get(kind)
            lease = spec.lease_seconds if spec is not None else 60
            result = session.execute(
                update(Task)
                .where(Task.id == task_id, _claimable(now))
                .values(
                    status=RUNNING,
                    locked_by=self.name,
                    locked_until=now + timedelta(seconds=lease),
                    attempts=Task.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                session.commit()
                return task_id
        session.commit()
        return None

    def run_one(self) -> bool:
        """Claim and run one task. True when one ran (whatever its outcome), False when none was due."""
        with self.maker() as session:
            task_id = self.claim(session)
        if task_id is None:
            return False
        with self.maker() as session:
            task = session.get(Task, task_id)
            if task is None:  # deleted under us
                return True
            spec = self.specs.get(task.kind)
            kind = task.kind
            rid = task.payload.get(requestid.PAYLOAD_KEY) if isinstance(task.payload, dict) else None
            started = time.perf_counter()
            with requestid.bound(rid if isinstance(rid, str) else None):
                try:
                    if spec is None:
                        raise LookupError(f"no handler for task kind {task.kind!r}")
                    spec.run(session, task)
                    task.status = DONE
                    task.finished_at = utcnow()
                    task.locked_until = None
                    task.last_error = None
                    session.commit()
                except Exception as exc:
                    session.rollback()
                    outcome = self._failed(session, task_id, spec, exc)
                else:
                    outcome = "done"
                    log.info(
                        "task %s (%s) done in %.0f ms", task_id, kind, (time.perf_counter() - started) * 1000
                    )
                metrics.task_run(kind, outcome, time.perf_counter() - started)
        return True

    def _failed(self, session: Session, task_id: uuid.UUID, spec: TaskSpec | None, exc: Exception) -> str:
        """Record a failed run; returns "failed" (no attempts left) or "retry"."""
        task = session.get(Task, task_id)
        assert task is not None
        # The message names the error type and text; handlers never put patient data in errors.
        message = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning(
            "task %s (%s) failed on attempt %s: %s", task_id, task.kind, task.attempts, type(exc).__name__
        )
        task.last_error = message
        task.locked_until = None
        if spec is None or task.attempts >= task.max_attempts:
            task.status = FAILED
            task.finished_at = utcnow()
            if spec is not None and spec.on_failure is not None:
                spec.on_failure(session, task, message)
        else:
            task.status = QUEUED
            backoff = spec.backoff_seconds
            task.run_after = utcnow() + timedelta(seconds=backoff[min(task.attempts - 1, len(backoff) - 1)])
        outcome = task.status
        session.commit()
        return "retry" if outcome == QUEUED else "failed"

    def run_pending(self, max_tasks: int | None = None) -> int:
        """Run due tasks until none is left (or max_tasks ran). Returns how many ran."""
        count = 0
        while max_tasks is None or count < max_tasks:
            if not self.run_one():
                break
            count += 1
        return count

    def run_periodic(self, *, force: bool = False) -> None:
        if not self._periodic_lock.acquire(blocking=False):
            return  # another thread of this runner is at it
        try:
            self._run_periodic(force)
        finally:
            self._periodic_lock.release()

    def _run_periodic(self, force: bool) -> None:
        now = time.monotonic()
        for job in self.periodic:
            if not force and now - self._last_periodic.get(job.name, -job.every_seconds) < job.every_seconds:
                continue
            self._last_periodic[job.name] = now
            try:
                with self.maker() as session:
                    done = job.run(session)
                    session.commit()
                if done:
                    log.info("%s: %d done", job.name, done)
            except Exception:
                log.exception("periodic %s failed; tried again next time", job.name)

    # ---- background thread --------------------------------------------------------------------

    def start(self) -> TaskRunner:
        self._wakeups = outbox.WakeSources(self.maker, self.wake, name=f"tasks {self.name}")
        self._wakeups.start()
        self._threads = [
            threading.Thread(target=self._loop, name=f"task-runner-{n}", daemon=True)
            for n in range(self.threads)
        ]
        for thread in self._threads:
            thread.start()
        log.info(
            "task runner %s started (queues: %s; %d thread(s))",
            self.name,
            ", ".join(self.queues) or "none",
            self.threads,
        )
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._wakeups is not None:
            self._wakeups.stop()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.run_periodic()
            try:
                ran = self.run_one()
            except Exception:
                log.exception("task runner %s: claiming failed; retrying", self.name)
                ran = False
            if not ran:
                self._wake.wait(self.poll_seconds)
