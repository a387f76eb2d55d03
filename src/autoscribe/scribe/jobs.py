"""A small database-backed job queue and its runner: transcription never runs on a request thread.

Jobs are rows in `scribe_jobs`. A runner claims one with a conditional UPDATE (only one runner's
update matches, on SQLite and PostgreSQL alike), runs the handler registered for its kind in a
fresh session, and marks it done, or queues it again with a back-off until `max_attempts`. A job
whose runner died is claimed again once its lock expires. Runners are either a thread inside each
API process (`AUTOSCRIBE_SCRIBE_RUNNER=thread`, started from `autoscribe.app.LIFESPAN_HOOKS`) or
`autoscribe scribe worker` processes; both call `run_pending`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from autoscribe.db import get_sessionmaker, utcnow
from autoscribe.scribe.models import ScribeJob

log = logging.getLogger("autoscribe.scribe.jobs")

Handler = Callable[[Session, ScribeJob], None]
FailureHandler = Callable[[Session, ScribeJob, str], None]

HANDLERS: dict[str, Handler] = {}
ON_FAILURE: dict[str, FailureHandler] = {}
LOCK_SECONDS = 600  # a transcription that takes longer than this is presumed dead
BACKOFF_SECONDS = (1, 5, 30, 120)


def handler(kind: str, *, on_failure: FailureHandler | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        if on_failure is not None:
            ON_FAILURE[kind] = on_failure
        return fn

    return register


def enqueue(
    session: Session,
    *,
    clinic_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    max_attempts: int = 3,
) -> ScribeJob | None:
    """Add a job to the caller's transaction. With a dedupe key, an already queued job suffices."""
    if dedupe_key is not None:
        pending = session.scalar(
            select(ScribeJob).where(ScribeJob.dedupe_key == dedupe_key, ScribeJob.status == "queued").limit(1)
        )
        if pending is not None:
            return None
    job = ScribeJob(
        clinic_id=clinic_id,
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        run_after=utcnow(),
    )
    session.add(job)
    return job


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def _claimable(now: datetime) -> Any:
    return or_(
        and_(ScribeJob.status == "queued", ScribeJob.run_after <= now),
        and_(ScribeJob.status == "running", ScribeJob.locked_until < now),
    )


def claim(session: Session, worker: str, kinds: set[str] | None = None) -> uuid.UUID | None:
    """Claim the oldest runnable job; commits. Returns its id, or None when there is nothing to do."""
    now = utcnow()
    query = select(ScribeJob.id).where(_claimable(now)).order_by(ScribeJob.id).limit(5)
    if kinds:
        query = query.where(ScribeJob.kind.in_(kinds))
    for job_id in session.scalars(query).all():
        result = session.execute(
            update(ScribeJob)
            .where(ScribeJob.id == job_id, _claimable(now))
            .values(
                status="running",
                locked_by=worker,
                locked_until=now + timedelta(seconds=LOCK_SECONDS),
                attempts=ScribeJob.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if getattr(result, "rowcount", 0) == 1:
            return job_id
    return None


def run_one(worker: str | None = None, kinds: set[str] | None = None) -> bool:
    """Claim and run one job. True when a job ran (whatever its outcome), False when none was due."""
    worker = worker or worker_name()
    maker = get_sessionmaker()
    with maker() as session:
        job_id = claim(session, worker, kinds)
    if job_id is None:
        return False
    with maker() as session:
        job = session.get(ScribeJob, job_id)
        if job is None:  # pragma: no cover - deleted under us
            return True
        fn = HANDLERS.get(job.kind)
        try:
            if fn is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            fn(session, job)
            job.status = "done"
            job.finished_at = utcnow()
            job.locked_until = None
            job.last_error = None
            session.commit()
        except Exception as exc:
            session.rollback()
            message = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning(
                "scribe job %s (%s) failed on attempt %s: %s",
                job_id,
                job.kind,
                job.attempts,
                type(exc).__name__,
            )
            job = session.get(ScribeJob, job_id)
            assert job is not None
            job.last_error = message
            job.locked_until = None
            if job.attempts >= job.max_attempts or fn is None:
                job.status = "failed"
                job.finished_at = utcnow()
                on_failure = ON_FAILURE.get(job.kind)
                if on_failure is not None:
                    on_failure(session, job, message)
            else:
                job.status = "queued"
                delay = BACKOFF_SECONDS[min(job.attempts - 1, len(BACKOFF_SECONDS) - 1)]
                job.run_after = utcnow() + timedelta(seconds=delay)
            session.commit()
    return True


def run_pending(max_jobs: int | None = None, worker: str | None = None) -> int:
    """Run due jobs until none is left (or max_jobs ran). Returns how many ran."""
    count = 0
    while max_jobs is None or count < max_jobs:
        if not run_one(worker):
            break
        count += 1
    return count


class JobRunner:
    """A background thread that polls for jobs and, once an hour, purges expired dictation audio."""

    def __init__(self, poll_seconds: float = 0.5, maintenance_seconds: float = 3600.0) -> None:
        self.poll_seconds = poll_seconds
        self.maintenance_seconds = maintenance_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_maintenance = 0.0

    def start(self) -> JobRunner:
        self._thread = threading.Thread(target=self._loop, name="scribe-jobs", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        import autoscribe.scribe.service  # noqa: F401  (registers the handlers)

        worker = worker_name()
        while not self._stop.is_set():
            try:
                self._maintenance()
                ran = run_one(worker)
            except Exception:
                log.exception("scribe job runner error")
                ran = False
            if not ran:
                self._stop.wait(self.poll_seconds)

    def _maintenance(self) -> None:
        now = time.monotonic()
        if now - self._last_maintenance < self.maintenance_seconds:
            return
        self._last_maintenance = now
        from autoscribe.scribe.service import purge_expired_audio

        with get_sessionmaker()() as session:
            purged = purge_expired_audio(session)
            session.commit()
        if purged:
            log.info("purged audio of %d signed dictations past retention", purged)


def start_in_process(_app: Any) -> Callable[[], None] | None:
    """LIFESPAN_HOOKS entry: run jobs in a thread of this API process unless configured off."""
    from autoscribe.config import get_settings

    settings = get_settings()
    if settings.scribe_runner != "thread":
        return None
    runner = JobRunner(poll_seconds=settings.scribe_poll_seconds).start()
    return runner.stop
