"""Readiness (/readyz): the database answers, its schema is at the code's migration head, and the
file storage is reachable. /healthz (app.py) only says the process is alive.

Each check runs in a small thread pool with a deadline (AUTOSCRIBE_READYZ_TIMEOUT_SECONDS), on
connections of its own: a database probe engine with at most two connections and a connect
timeout (so a saturated API pool does not make the process look dead, and a dead server is
noticed in seconds), a SQLite probe that opens the file read-write without creating it, and an
S3 client without retries. What /readyz says names the failed checks without hosts, paths or
credentials: it is served without authentication, to load balancers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from autoscribe.config import get_settings
from autoscribe.migrate import alembic_config
from autoscribe.storage.s3 import s3_client

log = logging.getLogger("autoscribe.health")

OK = "ok"
_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(value == OK for value in self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [
            name for name, value in self.checks.items() if value != OK and not value.startswith("not checked")
        ]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ready" if self.ready else "not_ready", "checks": self.checks}
        if not self.ready:
            body["failed"] = self.failed
        return body


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    """The migration heads this code expects (read once: the scripts do not change under us)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


@lru_cache(maxsize=1)
def probe_engine() -> Engine:
    settings = get_settings()
    timeout = settings.readyz_timeout_seconds
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        uri = Path(database).resolve().as_uri() + "?mode=rw"  # never creates the file

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)

        return create_engine("sqlite://", creator=connect, poolclass=NullPool)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, round(timeout))
    return create_engine(
        url,
        pool_size=2,
        max_overflow=0,
        pool_timeout=timeout,
        pool_pre_ping=True,
        pool_recycle=300,
        connect_args=connect_args,
        hide_parameters=True,
    )


def _describe(exc: BaseException) -> str:
    # The exception's type only: messages carry host names, paths and user names.
    return type(exc).__name__


def check_database() -> tuple[str, str]:
    """(database, migrations)."""
    try:
        with probe_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            except Exception:
                return OK, "no schema: run autoscribe migrate"
    except Exception as exc:
        return f"unreachable ({_describe(exc)})", "not checked: the database is unreachable"
    return OK, migration_status(frozenset(str(row[0]) for row in rows))


def migration_status(current: frozenset[str]) -> str:
    """OK when the database is at this code's migration heads, or ahead of them: in a rolling
    upgrade the next release's `autoscribe migrate` runs while this release's processes still
    serve (its migrations only expand the schema: README "Upgrades"), and they must stay in
    rotation until replaced. A revision this code does not know is a newer release's; one it
    knows that is not a head, or a head missing, means the database is behind."""
    expected = code_heads()
    if current == expected:
        return OK
    scripts = ScriptDirectory.from_config(alembic_config())
    unknown = set()
    for revision in current:
        try:
            known = scripts.get_revision(revision) is not None
        except Exception:
            known = False
        if not known:
            unknown.add(revision)
    behind = (current - unknown) - expected
    if current and not behind and (unknown or expected <= current):
        return OK
    return (
        f"database at {', '.join(sorted(current)) or 'no revision'}, code expects "
        f"{', '.join(sorted(expected))}: run autoscribe migrate"
    )


@lru_cache(maxsize=1)
def _s3_probe() -> Any:
    settings = get_settings()
    return s3_client(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        addressing_style=settings.s3_addressing_style,
        timeout=settings.readyz_timeout_seconds,
        attempts=1,
    )


def check_storage() -> str:
    settings = get_settings()
    if settings.storage_backend == "s3":
        try:
            _s3_probe().head_bucket(Bucket=settings.s3_bucket)
        except Exception as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status in (401, 403):
                return "bucket refused access (the key needs s3:ListBucket)"
            if status == 404:
                return "no such bucket"
            return f"bucket unreachable ({_describe(exc)})"
        return OK
    root = settings.effective_storage_dir
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return f"the files directory cannot be created ({_describe(exc)})"
    if not os.access(root, os.W_OK | os.X_OK):
        return "the files directory is not writable"
    return OK


def readiness() -> Readiness:
    timeout = get_settings().readyz_timeout_seconds
    with _pool_lock:
        try:
            db: Future[tuple[str, str]] = _pool.submit(check_database)
            storage: Future[str] = _pool.submit(check_storage)
        except RuntimeError:  # the pool is shut down (interpreter exit)
            return Readiness(
                {"database": "not checked", "migrations": "not checked", "storage": "not checked"}
            )
    deadline = time.monotonic() + timeout
    checks: dict[str, str] = {}
    late = f"no answer within {timeout:g} s"
    try:
        checks["database"], checks["migrations"] = db.result(timeout=timeout)
    except FutureTimeout:
        checks["database"], checks["migrations"] = late, "not checked: the database did not answer"
    try:
        checks["storage"] = storage.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        checks["storage"] = late
    result = Readiness(checks)
    if not result.ready:
        log.warning("not ready: %s", "; ".join(f"{k}: {v}" for k, v in checks.items() if v != OK))
    return result
