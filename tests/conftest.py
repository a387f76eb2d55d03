"""Test harness: a real server process over real HTTP, on SQLite or PostgreSQL.

AUTOSCRIBE_TEST_DB=sqlite (default) or postgresql picks the database; `make test` runs both.
The environment is set before anything imports autoscribe's settings, so the pytest process and
the server process share one database and one secret key.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest

TEST_DB = os.environ.get("AUTOSCRIBE_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "AUTOSCRIBE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

_DATA_DIR = Path(tempfile.mkdtemp(prefix="autoscribe-test-"))
_PG_DB_NAME = f"autoscribe_test_{os.getpid()}_{secrets.token_hex(3)}"

os.environ["AUTOSCRIBE_DATA_DIR"] = str(_DATA_DIR)
os.environ["AUTOSCRIBE_SECRET_KEY"] = "test-secret-" + secrets.token_hex(16)
os.environ["AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE"] = "1"
# Transcription tasks are run by the tests that want them (tests/scribe): a runner thread
# in the shared server would race them for jobs, with the real model, on fake audio. Mail too:
# servers set up to send it (an SMTP trap) run the "mail" queue, and for the others the tests
# deliver it to the local outbox (tests.helpers.deliver_mail); a shared server would otherwise
# send another server's mail through its own settings.
MAIL_QUEUES = "webhooks,reports,mail"
os.environ["AUTOSCRIBE_WORKER_QUEUES"] = "webhooks,reports"
os.environ.setdefault("AUTOSCRIBE_LOG_LEVEL", "warning")
if TEST_DB == "postgresql":
    os.environ["AUTOSCRIBE_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + _PG_DB_NAME
elif TEST_DB == "sqlite":
    os.environ.pop("AUTOSCRIBE_DATABASE_URL", None)
else:
    raise RuntimeError(f"AUTOSCRIBE_TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")


# Tests whose result does not depend on AUTOSCRIBE_TEST_DB: they never touch the database under
# test (the speech engine, outbound HTTP, pure rules, the viewer against a fake PACS), or always use
# PostgreSQL whatever it says. `make test` runs them once, in its SQLite run: its PostgreSQL run sets
# AUTOSCRIBE_TEST_DB_ONLY=1 and leaves them out. A test under these paths that asks for the
# `database` fixture still runs on both.
DATABASE_INDEPENDENT = (
    "tests/scribe/",
    "tests/outbound/",
    "tests/unit/",
    "tests/browser/viewer/",
    "tests/viewer/test_bundle.py",
    "tests/viewer/test_fakepacs.py",
    "tests/ops/test_stateless.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("AUTOSCRIBE_TEST_DB_ONLY") != "1":
        return
    independent = [
        item
        for item in items
        if item.nodeid.startswith(DATABASE_INDEPENDENT)
        and "database" not in getattr(item, "fixturenames", ())
    ]
    if independent:
        config.hook.pytest_deselected(items=independent)
        chosen = set(map(id, independent))
        items[:] = [item for item in items if id(item) not in chosen]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def _create_pg_database() -> None:
    import psycopg

    dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{_PG_DB_NAME}"')


def _drop_pg_database() -> None:
    import psycopg

    dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_PG_DB_NAME}" WITH (FORCE)')


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_with(self, *lines: str, timeout: float = 10.0) -> str:
        """The log once it holds every line: the access log is written after the response is sent."""
        deadline = time.monotonic() + timeout
        while not all(line in (log := self.log()) for line in lines) and time.monotonic() < deadline:
            time.sleep(0.02)
        return log


def start_server(extra_env: dict[str, str] | None = None, name: str = "server") -> Server:
    """Start `autoscribe serve` on a free port with the test environment (plus extra_env)."""
    port = free_port()
    env = dict(os.environ)
    env["AUTOSCRIBE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env.update(extra_env or {})
    log_path = _DATA_DIR / f"{name}-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoscribe.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(url=f"http://127.0.0.1:{port}", process=proc, log_path=log_path)
    try:
        wait_for_http(server.url + "/healthz", proc=proc)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(server.log()) from None
    return server


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    if TEST_DB == "postgresql":
        _create_pg_database()
    from autoscribe.migrate import upgrade

    upgrade()
    yield TEST_DB
    from autoscribe.db import get_engine

    get_engine().dispose()
    if TEST_DB == "postgresql":
        _drop_pg_database()
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


# ---- browser (one Playwright driver per test process: the sync API allows no second one) -------

CHROMIUM = os.environ.get("AUTOSCRIBE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Module scope, not session: while Playwright's sync API is running it holds an asyncio loop in the
# main thread, and the async SDK tests that a pytest worker may run after a browser module need it.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    """Headless Debian Chromium (never a downloaded browser)."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def server(database: str) -> Iterator[Server]:
    srv = start_server()
    yield srv
    stop_server(srv)


# ---- tenants -------------------------------------------------------------------------------------


@dataclass
class ClinicFixture:
    clinic_id: str
    owner_id: str
    owner_email: str
    owner_password: str
    api_key: str
    api_key_id: str
    webhook_secret: str


# Every test clinic's owner has this password. An argon2id hash costs ~0.5-1 s of CPU, so it is
# computed once per session and reused for each new owner (the hash is real and verifies).
_OWNER_PASSWORD = "owner-password-" + secrets.token_hex(4)


@functools.lru_cache(maxsize=1)
def _owner_password_hash() -> str:
    from autoscribe.auth.passwords import hash_password

    return hash_password(_OWNER_PASSWORD)


def _bootstrap(name: str) -> ClinicFixture:
    from autoscribe.clinics.service import bootstrap_clinic
    from autoscribe.db import session_scope

    email = f"owner-{secrets.token_hex(4)}@example.test"
    password = _OWNER_PASSWORD
    hashed = _owner_password_hash()
    with (
        mock.patch("autoscribe.clinics.service.hash_password", lambda _password: hashed),
        session_scope() as session,
    ):
        made = bootstrap_clinic(session, clinic_name=name, owner_email=email, owner_password=password)
        return ClinicFixture(
            clinic_id=str(made.clinic.id),
            owner_id=f"usr_{made.owner.id.hex}",
            owner_email=email,
            owner_password=password,
            api_key=made.key.plaintext_key,
            api_key_id=str(made.key.api_key.id),
            webhook_secret=made.key.webhook_secret,
        )


@pytest.fixture
def clinic(database: str) -> ClinicFixture:
    """A new clinic per test: tenants isolate tests from each other."""
    return _bootstrap("Test Clinic " + secrets.token_hex(3))


@pytest.fixture
def other_clinic(database: str) -> ClinicFixture:
    return _bootstrap("Other Clinic " + secrets.token_hex(3))
