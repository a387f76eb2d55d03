"""The worker: webhook deliveries (the outbox dispatcher) and background tasks (the task runner)
in one process. `autoscribe worker [--queues ...]` runs one; `autoscribe serve` runs one inside
each API process unless AUTOSCRIBE_INPROCESS_WORKER=0 (queues: AUTOSCRIBE_WORKER_QUEUES)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

from autoscribe import tasks
from autoscribe.config import Settings, get_settings
from autoscribe.documents.pdf import warm_up
from autoscribe.observability.http import start as start_observability
from autoscribe.queue.runner import TaskRunner
from autoscribe.webhooks.dispatcher import Dispatcher

log = logging.getLogger("autoscribe.worker")


def parse_queues(text: str | None) -> set[str]:
    """ "webhooks,reports" → {"webhooks", "reports"}; empty: every queue. Unknown names are an error
    that names them (a typo would otherwise leave a queue without a worker)."""
    names = {part.strip() for part in (text or "").split(",") if part.strip()}
    if not names:
        return set(tasks.QUEUES)
    unknown = names - set(tasks.QUEUES)
    if unknown:
        raise ValueError(
            f"unknown queue(s): {', '.join(sorted(unknown))}; the queues are {', '.join(tasks.QUEUES)}"
        )
    return names


class Worker:
    def __init__(
        self, queues: Iterable[str], *, concurrency: int | None = None, settings: Settings | None = None
    ) -> None:
        self.settings = settings or get_settings()
        self.queues = set(queues)
        self.dispatcher = (
            Dispatcher(concurrency=concurrency, settings=self.settings, refreshers=tasks.WEBHOOK_REFRESHERS)
            if tasks.WEBHOOKS_QUEUE in self.queues
            else None
        )
        # One runner per queue, so that a long transcription never holds up a PDF.
        self.runners = [
            TaskRunner(
                tasks.TASKS,
                queues={queue},
                periodic=tasks.PERIODIC,
                poll_seconds=self.settings.task_poll_seconds,
                threads=tasks.QUEUE_THREADS.get(queue, 1),
            )
            for queue in sorted(self.queues - {tasks.WEBHOOKS_QUEUE})
        ]

    def describe(self) -> str:
        parts = []
        if self.dispatcher is not None:
            parts.append(f"webhooks (concurrency {self.dispatcher.concurrency})")
        parts += [f"{r.queues[0]} ({r.threads} thread(s))" for r in self.runners]
        return ", ".join(parts) or "nothing"

    def start(self) -> Worker:
        if "reports" in self.queues:
            # Load WeasyPrint and fonts now, so that the first PDF rendered is a warm one.
            threading.Thread(target=warm_up, name="pdf-warm-up", daemon=True).start()
        if self.dispatcher is not None:
            self.dispatcher.start()
        for runner in self.runners:
            runner.start()
        return self

    def run_pending(self) -> int:
        """Run the due tasks of this worker's queues, then return how many ran (`--once`)."""
        return sum(runner.run_pending() for runner in self.runners)

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop(timeout=self.settings.webhook_timeout)

    def run_forever(self) -> None:
        """For `autoscribe worker`: run until SIGTERM/SIGINT."""
        stop = threading.Event()

        def handle(_signum: int, _frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

        start_observability()  # this process's metrics join the host's /metrics
        self.start()
        while not stop.wait(1.0):
            pass
        self.stop()


def lifespan_hook(_app: Any) -> Callable[[], None] | None:
    """The in-process worker of `autoscribe serve` (see autoscribe.app.LIFESPAN)."""
    settings = get_settings()
    if not settings.inprocess_worker:
        return None
    worker = Worker(parse_queues(settings.worker_queues), settings=settings).start()
    log.info("in-process worker running: %s", worker.describe())
    return worker.stop
