"""Prometheus metrics, shared by every `autoscribe serve` and `autoscribe worker` process of a host.

prometheus-client's multiprocess mode: each process writes its counters, histograms and gauges to
memory-mapped files in one directory (PROMETHEUS_MULTIPROC_DIR when set, else
<data_dir>/metrics), and /metrics adds up the files of every process. `enable()` (called when a
server or worker starts) sets that directory up before the library is imported, and removes the
live gauges of processes that are gone, as the library's documentation asks. Counters of a dead
process stay, so totals never go backwards.

Recording functions do nothing in a process that never called `enable()` (the CLI, tests that
drive services in-process). Queue depth and age are not recorded at all: QueueCollector reads
them from the database at scrape time, so every scrape sees the same numbers whichever process
answers it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram, multiprocess, values
from sqlalchemy import event

from autoscribe.config import Settings, get_settings
from autoscribe.private_files import private_dir

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("autoscribe.metrics")

ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: HTTP requests and webhook attempts (5 ms .. 30 s), PDF renders (50 ms .. 30 s).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PDF_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# Processing seconds per second of audio: below 1 is faster than real time.
RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class _Metrics:
    http_requests: Counter
    http_duration: Histogram
    webhook_attempts: Counter
    webhook_duration: Histogram
    task_runs: Counter
    task_duration: Histogram
    transcription_rtf: Histogram
    transcription_audio: Counter
    transcription_processing: Counter
    pdf_render: Histogram
    pool_checked_out: Gauge
    pool_idle: Gauge
    pool_max: Gauge


_metrics: _Metrics | None = None
_directory: Path | None = None
_lock = threading.Lock()


def metrics_dir(settings: Settings | None = None) -> Path:
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured)
    return (settings or get_settings()).data_dir / "metrics"


def enable(settings: Settings | None = None) -> Path:
    """Turn on multiprocess metrics in this process (idempotent); returns the directory."""
    global _metrics, _directory
    with _lock:
        if _metrics is not None and _directory is not None:
            return _directory
        path = private_dir(metrics_dir(settings))
        # The library reads the variable when it is imported and when it opens this process's files.
        os.environ[ENV] = str(path)
        if not getattr(values.ValueClass, "_multiprocess", False):
            # Imported before the variable was set (not by us): switch it now, before any value exists.
            values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        forget_dead_processes(path)
        _metrics = _build()
        _directory = path
        return path


def _build() -> _Metrics:
    return _Metrics(
        http_requests=Counter(
            "autoscribe_http_requests",
            "HTTP requests answered, by route template (no ids) and status",
            ["method", "route", "status"],
            registry=None,
        ),
        http_duration=Histogram(
            "autoscribe_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=None,
        ),
        webhook_attempts=Counter(
            "autoscribe_webhook_attempts",
            "Webhook delivery attempts by event type and outcome (succeeded, http_4xx, http_5xx, "
            "gone, timeout, connection_error, refused, not_sent)",
            ["event_type", "outcome"],
            registry=None,
        ),
        webhook_duration=Histogram(
            "autoscribe_webhook_attempt_duration_seconds",
            "Duration of webhook delivery attempts that made a request",
            ["event_type"],
            buckets=HTTP_BUCKETS,
            registry=None,
        ),
        task_runs=Counter(
            "autoscribe_task_runs",
            "Background task runs by kind and outcome (done, retry, failed)",
            ["kind", "outcome"],
            registry=None,
        ),
        task_duration=Histogram(
            "autoscribe_task_duration_seconds",
            "Background task run time by kind",
            ["kind"],
            buckets=HTTP_BUCKETS,
            registry=None,
        ),
        transcription_rtf=Histogram(
            "autoscribe_transcription_realtime_factor",
            "Final transcriptions: processing seconds per second of audio",
            buckets=RTF_BUCKETS,
            registry=None,
        ),
        transcription_audio=Counter(
            "autoscribe_transcription_audio_seconds",
            "Seconds of dictation audio transcribed (final transcriptions)",
            registry=None,
        ),
        transcription_processing=Counter(
            "autoscribe_transcription_processing_seconds",
            "Seconds spent transcribing (final transcriptions)",
            registry=None,
        ),
        pdf_render=Histogram(
            "autoscribe_pdf_render_seconds",
            "Time to render a signed report's PDF (not counting storing it)",
            buckets=PDF_BUCKETS,
            registry=None,
        ),
        pool_checked_out=Gauge(
            "autoscribe_db_pool_checked_out_connections",
            "Database connections in use, summed over live processes",
            registry=None,
            multiprocess_mode="livesum",
        ),
        pool_idle=Gauge(
            "autoscribe_db_pool_idle_connections",
            "Open database connections waiting in the pools, summed over live processes",
            registry=None,
            multiprocess_mode="livesum",
        ),
        pool_max=Gauge(
            "autoscribe_db_pool_max_connections",
            "Connections the pools may open (pool size + overflow), summed over live processes",
            registry=None,
            multiprocess_mode="livesum",
        ),
    )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def forget_dead_processes(path: Path) -> list[int]:
    """mark_process_dead for every process with files here that is no longer running: its live
    gauges (pool connections) stop counting. Returns those pids."""
    dead: set[int] = set()
    for file in path.glob("*.db"):
        tail = file.stem.rsplit("_", 1)[-1]
        if tail.isdigit() and not _pid_alive(int(tail)):
            dead.add(int(tail))
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
    return sorted(dead)


# ---- recording ------------------------------------------------------------------------------------


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    m = _metrics
    if m is None:
        return
    m.http_requests.labels(method, route, str(status)).inc()
    m.http_duration.labels(method, route).observe(seconds)


def webhook_attempt(event_type: str, outcome: str, seconds: float | None) -> None:
    m = _metrics
    if m is None:
        return
    m.webhook_attempts.labels(event_type, outcome).inc()
    if seconds is not None:
        m.webhook_duration.labels(event_type).observe(seconds)


def task_run(kind: str, outcome: str, seconds: float) -> None:
    m = _metrics
    if m is None:
        return
    m.task_runs.labels(kind, outcome).inc()
    m.task_duration.labels(kind).observe(seconds)


def transcription(audio_seconds: float, processing_seconds: float) -> None:
    m = _metrics
    if m is None or audio_seconds <= 0:
        return
    m.transcription_rtf.observe(processing_seconds / audio_seconds)
    m.transcription_audio.inc(audio_seconds)
    m.transcription_processing.inc(processing_seconds)


def pdf_render(seconds: float) -> None:
    m = _metrics
    if m is not None:
        m.pdf_render.observe(seconds)


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges of this process current: updated on every checkout and checkin."""
    pool: Any = engine.pool
    if getattr(pool, "_autoscribe_watched", False):
        return
    pool._autoscribe_watched = True
    size = pool.size() if hasattr(pool, "size") else 0
    overflow = max(0, int(getattr(pool, "_max_overflow", 0)))

    def update(*_args: Any) -> None:
        m = _metrics
        if m is None:
            return
        m.pool_checked_out.set(pool.checkedout() if hasattr(pool, "checkedout") else 0)
        m.pool_idle.set(pool.checkedin() if hasattr(pool, "checkedin") else 0)

    m = _metrics
    if m is not None:
        m.pool_max.set(size + overflow)
    update()
    event.listen(pool, "checkout", update)
    event.listen(pool, "checkin", update)
