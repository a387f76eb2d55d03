"""/readyz: 200 when the database answers, its schema is at the code's migration head and the
storage is reachable; otherwise 503 with a JSON body naming what failed, without hosts, paths or
credentials (load balancers call it unauthenticated). /healthz stays 200 throughout: the process
is alive, it just should not get traffic."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import Server, free_port, start_server, stop_server
from tests.ops.observed import cli, deployment_env, fresh_database, migrate


def _previous_revision() -> str:
    """The revision just before the code's head."""
    from alembic.script import ScriptDirectory

    from autoscribe.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    current = scripts.get_current_head()
    assert current is not None
    head = scripts.get_revision(current)
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def test_the_shared_server_is_ready(server: Server) -> None:
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "storage": "ok"},
    }
    assert ready.headers["cache-control"] == "no-store"


def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://autoscribe:hunter2@127.0.0.1:{port}/autoscribe"
    env = deployment_env(tmp_path, url, AUTOSCRIBE_INPROCESS_WORKER="0")
    srv = start_server(env, name="readyz-no-db")
    try:
        answer = httpx.get(f"{srv.url}/readyz", timeout=30)
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "not_ready" and body["failed"] == ["database"]
        assert body["checks"]["database"].startswith("unreachable")
        assert body["checks"]["storage"] == "ok"
        assert body["checks"]["migrations"].startswith("not checked")
        for secret in (str(port), "127.0.0.1", "hunter2", "autoscribe:"):
            assert secret not in answer.text
        assert httpx.get(f"{srv.url}/healthz").status_code == 200
    finally:
        stop_server(srv)


def test_a_database_behind_the_code_is_not_ready_until_migrated(tmp_path: Path) -> None:
    previous = _previous_revision()
    with fresh_database(tmp_path) as url:
        env = deployment_env(tmp_path, url, AUTOSCRIBE_INPROCESS_WORKER="0")
        migrate(env, previous)
        srv = start_server(env, name="readyz-behind")
        try:
            behind = httpx.get(f"{srv.url}/readyz")
            assert behind.status_code == 503
            body = behind.json()
            assert body["failed"] == ["migrations"]
            assert body["checks"]["database"] == "ok"
            assert previous in body["checks"]["migrations"]
            assert "autoscribe migrate" in body["checks"]["migrations"]

            migrated = cli(env, "migrate")
            assert migrated.returncode == 0, migrated.stderr
            ready = httpx.get(f"{srv.url}/readyz")
            assert ready.status_code == 200, ready.text
        finally:
            stop_server(srv)


def test_a_missing_sqlite_file_is_not_ready_and_ready_again_when_back(tmp_path: Path) -> None:
    # A SQLite deployment whatever AUTOSCRIBE_TEST_DB says: this is about its file going away.
    database = tmp_path / "autoscribe.db"
    env = deployment_env(tmp_path, f"sqlite:///{database}", AUTOSCRIBE_INPROCESS_WORKER="0")
    migrate(env)
    srv = start_server(env, name="readyz-sqlite")
    try:
        assert httpx.get(f"{srv.url}/readyz").status_code == 200
        database.rename(tmp_path / "moved.db")  # the volume went away
        gone = httpx.get(f"{srv.url}/readyz")
        assert gone.status_code == 503 and gone.json()["failed"] == ["database"]
        assert not database.exists()  # the probe did not create an empty database
        (tmp_path / "moved.db").rename(database)
        assert httpx.get(f"{srv.url}/readyz").status_code == 200
    finally:
        stop_server(srv)
