"""A deployment of its own for the observability tests: a data directory (so its metrics
directory holds only its processes' files), a database of its own on the suite's engine, JSON
logs at info level, a metrics token. Other servers of the test session cannot take its tasks or
deliveries, so its logs and counts are exactly its own."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PG_ADMIN_URL, TEST_DB


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """The URL of a new, empty database (PostgreSQL or SQLite, as the suite runs), dropped after."""
    if TEST_DB != "postgresql":
        yield f"sqlite:///{directory / 'autoscribe.db'}"
        return
    import psycopg

    name = f"autoscribe_obs_{os.getpid()}_{secrets.token_hex(3)}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def deployment_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(AUTOSCRIBE_DATA_DIR=str(data_dir), AUTOSCRIBE_DATABASE_URL=database_url)
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def migrate(env: dict[str, str], revision: str = "head") -> None:
    code = f"from autoscribe.migrate import upgrade; upgrade({revision!r})"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON log, parsed (a line that is not JSON fails the test)."""
    lines = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"{path.name} line {number} is not JSON: {line!r}") from None
        assert isinstance(entry, dict), line
        lines.append(entry)
    return lines


def wait_for_lines(
    read: Callable[[], list[dict[str, Any]]], *wanted: Callable[[dict[str, Any]], bool], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The log once a line satisfies each predicate (lines are written after responses are sent)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = read()
        if all(any(want(line) for line in lines) for want in wanted) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse_metrics(text: str) -> Samples:
    """Sample name -> [(labels, value)], from the Prometheus text format."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there is none)."""
    return sum(v for got, v in samples.get(name, []) if all(got.get(k) == w for k, w in labels.items()))
