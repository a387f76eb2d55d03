"""A PostgreSQL server that goes down and comes back under a running `autoscribe serve`: /readyz
says not ready while it is down and ready after, and the API serves again without a restart.

The server is a private cluster (initdb in a temporary directory, its own port), so stopping it
disturbs nothing else the suite runs on the shared PostgreSQL."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, start_server, stop_server


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"{name} not found: PostgreSQL's server package provides it"
    return found[-1]


@dataclass
class Cluster:
    directory: Path
    port: int

    def _run(self, *args: str) -> None:
        command = [*args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        log = str(self.directory / "server.log")  # not our pipes: the server outlives pg_ctl
        self._run(_bin("pg_ctl"), "-D", str(self.directory / "data"), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/autoscribe"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp_path: the postgres user must reach the directory, and pytest's
    # base directory is private to the user running the tests.
    directory = Path(tempfile.mkdtemp(prefix="autoscribe-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    made = Cluster(directory, free_port())
    made._run(_bin("initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres")
    made.start()
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{made.port}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE autoscribe")
    yield made
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped by a failing test
        made.stop()
    shutil.rmtree(directory, ignore_errors=True)


def _wait_status(url: str, wanted: int, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url + "/readyz", timeout=5)
            if last.status_code == wanted:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"/readyz never answered {wanted}; last: {last and (last.status_code, last.text)}")


def test_readyz_follows_postgresql_down_and_back(cluster: Cluster, tmp_path: Path) -> None:
    env = {"AUTOSCRIBE_DATABASE_URL": cluster.url, "AUTOSCRIBE_DATA_DIR": str(tmp_path / "data")}
    cli = [sys.executable, "-m", "autoscribe.cli"]
    subprocess.run([*cli, "migrate"], env={**os.environ, **env}, check=True, capture_output=True)
    made = subprocess.run(
        [*cli, "bootstrap", "--clinic-name", "Restart", "--owner-email", "o@example.test",
         "--generate-password", "--json"],
        env={**os.environ, **env}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    api_key = __import__("json").loads(made.stdout)["apiKey"]
    server = start_server(env, name="pg-restart")
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        assert _wait_status(server.url, 200).json().get("status") in (None, "ready", "ok")
        assert httpx.get(f"{server.url}/v1/autoScribe/studies", headers=headers).status_code == 200

        cluster.stop()
        down = _wait_status(server.url, 503)
        assert "database" in down.text.lower()
        assert httpx.get(server.url + "/healthz").status_code == 200  # alive, just not ready

        cluster.start()
        _wait_status(server.url, 200)
        # The pool recovered on its own: the API answers again, no process restarted.
        deadline = time.monotonic() + 15
        while httpx.get(f"{server.url}/v1/autoScribe/studies", headers=headers).status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after the database came back"
            time.sleep(0.2)
        assert server.process.poll() is None
    finally:
        stop_server(server)
