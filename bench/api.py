"""Studies API benchmark over real HTTP: creates/s and list-page latency at 1k and 100k studies.

    .venv/bin/python bench/api.py                       # SQLite, then PostgreSQL
    .venv/bin/python bench/api.py --db postgresql --workers 3 --concurrency 32 --creates 3000

For each database it makes its own temporary data directory (and, for PostgreSQL, its own
database on AUTOSCRIBE_BENCH_PG_URL, dropped at the end), migrates, bootstraps a clinic, then:

1. seeds 1k studies with a bulk insert from this process (the fast path, not over HTTP),
2. starts `autoscribe serve --workers N` and times list pages over HTTP (one request at a time),
3. seeds up to 100k studies the same way and times the same list pages again,
4. creates studies over HTTP from C concurrent clients and reports creates/s.

Figures are printed, never asserted: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN_URL = os.environ.get(
    "AUTOSCRIBE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SEVERITIES = ("normal", "normal", "normal", "high", "stat")
DESCRIPTIONS = ("CT Head", "MRI Brain with Contrast", "X-Ray Chest", "CT Abdomen", "US Pelvis")


# ---- orchestration (parent process) -------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--workers", type=int, default=3, help="uvicorn worker processes (cores + 1: they wait on commits)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent HTTP clients for creates")
    parser.add_argument("--creates", type=int, default=3000, help="studies created over HTTP")
    parser.add_argument("--studies", type=int, default=100_000, help="studies seeded for the large list run")
    parser.add_argument("--list-requests", type=int, default=300, help="timed requests per list page kind")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # internal: one database, in a child process
    args = parser.parse_args()

    if args.run_one:
        print(json.dumps(run_one(args)), flush=True)
        return

    databases = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(
        f"# bench/api.py  workers={args.workers} concurrency={args.concurrency} creates={args.creates} "
        f"studies={args.studies} cpus={os.cpu_count()}"
    )
    for db in databases:
        # One child per database: settings and engines are process-wide singletons.
        child = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--run-one", db],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stdout, child.stderr, file=sys.stderr)
            raise SystemExit(f"{db} run failed")
        report(db, json.loads(child.stdout.strip().splitlines()[-1]))


def report(db: str, result: dict[str, Any]) -> None:
    print(f"\n== {db} ==")
    for size in ("1k", "large"):
        rows = result["lists"][size]
        print(f"list pages at {rows['studies']:,} studies (ms, {rows['requests']} sequential requests each):")
        for kind, figures in rows["pages"].items():
            print(f"  {kind:<28} p50 {figures['p50']:6.2f}   p99 {figures['p99']:6.2f}")
    small = result["lists"]["1k"]["pages"]["first page (limit 20)"]
    large = result["lists"]["large"]["pages"]["first page (limit 20)"]
    ratio_p99, ratio_p50 = large["p99"] / small["p99"], large["p50"] / small["p50"]
    print(f"first page, large/1k: p99 {ratio_p99:.2f}x  p50 {ratio_p50:.2f}x")
    creates = result["creates"]
    print(
        f"creates over HTTP: {creates['per_second']:.0f}/s  "
        f"({creates['count']} in {creates['seconds']:.2f} s, "
        f"{creates['concurrency']} clients, {result['workers']} workers; "
        f"latency p50 {creates['p50']:.1f} ms p99 {creates['p99']:.1f} ms; errors {creates['errors']})"
    )
    cpu = creates["cpu_ms"]
    per_create = cpu["server"] + cpu["database"]
    print(
        f"CPU per create: server {cpu['server']:.2f} ms + database {cpu['database']:.2f} ms "
        f"(client {cpu['client']:.2f} ms) => {2000 / per_create:.0f} creates/s if 2 idle cores did "
        f"nothing else; {creates['new_connections']} new database connections during the run"
    )


# ---- one database (child process) ---------------------------------------------------------------


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    db = args.run_one
    data_dir = Path(tempfile.mkdtemp(prefix=f"autoscribe-bench-{db}-"))
    pg_name = f"autoscribe_bench_{os.getpid()}_{secrets.token_hex(3)}"
    os.environ["AUTOSCRIBE_DATA_DIR"] = str(data_dir)
    os.environ["AUTOSCRIBE_SECRET_KEY"] = "bench-" + secrets.token_hex(16)
    os.environ.setdefault("AUTOSCRIBE_LOG_LEVEL", "info")
    if db == "postgresql":
        os.environ["AUTOSCRIBE_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + pg_name
        _pg_admin(f'CREATE DATABASE "{pg_name}"')
    else:
        os.environ.pop("AUTOSCRIBE_DATABASE_URL", None)
    server: subprocess.Popen[bytes] | None = None
    try:
        from autoscribe.migrate import upgrade

        upgrade()
        clinic_id, api_key, key_id = _bootstrap()
        _seed(clinic_id, key_id, 1000)
        port = _free_port()
        server = _start_server(port, args.workers, data_dir)
        base = f"http://127.0.0.1:{port}"
        lists = {"1k": _time_lists(base, api_key, args.list_requests)}
        _seed(clinic_id, key_id, args.studies - 1000)
        lists["large"] = _time_lists(base, api_key, args.list_requests)
        creates = asyncio.run(_time_creates(base, api_key, args.creates, args.concurrency, server.pid))
        return {"lists": lists, "creates": creates, "workers": args.workers}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from autoscribe.db import get_engine

        get_engine().dispose()
        if db == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute(sql.encode())


def _bootstrap() -> tuple[uuid.UUID, str, uuid.UUID]:
    from autoscribe.clinics.service import bootstrap_clinic
    from autoscribe.db import session_scope

    with session_scope() as session:
        made = bootstrap_clinic(
            session,
            clinic_name="Bench Clinic",
            owner_email="bench@example.test",
            owner_password="bench-password",
        )
        return made.clinic.id, made.key.plaintext_key, made.key.api_key.id


def _seed(clinic_id: uuid.UUID, key_id: uuid.UUID, count: int) -> None:
    """Bulk insert through SQLAlchemy Core: the fast path for test data, not the API's."""
    from sqlalchemy import insert, text

    from autoscribe.db import get_engine, utcnow
    from autoscribe.ids import new_id
    from autoscribe.studies.models import Study

    engine = get_engine()
    now = utcnow()
    batch = 5000
    with engine.begin() as conn:
        for start in range(0, count, batch):
            rows = []
            for _ in range(min(batch, count - start)):
                rows.append(
                    {
                        "id": new_id(),
                        "clinic_id": clinic_id,
                        "study_instance_uid": f"2.25.{uuid.uuid4().int}",
                        "study_description": random.choice(DESCRIPTIONS),
                        "severity": random.choice(SEVERITIES),
                        "study_report_status": "unassigned",
                        "study_type": "standard",
                        "is_cancelled": False,
                        "created_by_api_key_id": key_id,
                        "report_metadata": {"patientName": "Bench Patient", "mrn": f"M{start}"},
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            conn.execute(insert(Study.__table__), rows)
    if engine.dialect.name == "postgresql":
        # Do now what autovacuum would do soon after a bulk load, so that it does not run in the
        # middle of the timings. (Plans without statistics are covered by tests/unit/test_list_plan.py.)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE studies"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(port: int, workers: int, data_dir: Path) -> subprocess.Popen[bytes]:
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoscribe.cli", "serve", "--port", str(port), "--workers", str(workers)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                # Every worker must have started: warm them all with a few requests.
                for _ in range(20 * workers):
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start: " + (data_dir / "server.log").read_text())


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _time_lists(base: str, api_key: str, requests: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"}
    url = f"{base}/v1/autoScribe/studies"
    with httpx.Client(headers=headers, timeout=30) as client:
        first = client.get(url, params={"limit": 100}).json()
        total = _count()
        middle = _cursor_at(total // 2)
        kinds: dict[str, dict[str, str]] = {
            "first page (limit 20)": {},
            "first page (limit 100)": {"limit": "100"},
            "deep page (limit 20)": {"cursor": middle},
            "filtered severity=stat": {"severity": "stat"},
        }
        assert first["studies"], "no studies listed"
        pages: dict[str, dict[str, float]] = {}
        for kind, params in kinds.items():
            for _ in range(20):  # warm-up
                client.get(url, params=params)
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = client.get(url, params=params)
                timings.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.text
            pages[kind] = {
                "p50": statistics.median(timings),
                "p99": _percentile(timings, 0.99),
            }
    return {"studies": total, "requests": requests, "pages": pages}


def _count() -> int:
    from sqlalchemy import func, select

    from autoscribe.db import get_engine
    from autoscribe.studies.models import Study

    with get_engine().connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Study)).scalar_one())


def _cursor_at(position: int) -> str:
    """The cursor a client holds after paging through `position` studies: a deep page."""
    from sqlalchemy import select

    from autoscribe.db import get_engine
    from autoscribe.pagination import encode_cursor
    from autoscribe.studies.models import Study

    with get_engine().connect() as conn:
        ids = conn.execute(select(Study.id).order_by(Study.id.desc()).offset(position).limit(1)).scalars()
        return encode_cursor(next(iter(ids)))


class _Connection:
    """A minimal keep-alive HTTP/1.1 client: httpx costs ~1.5 ms of CPU per request, which would
    eat into the very cores the server is being measured on."""

    def __init__(self, host: str, port: int, api_key: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {api_key}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + self.host.encode() + b"\r\n" + self.auth
            + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body
        )  # fmt: skip
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids: list[int]) -> float:
    return sum(_cpu_of(pid) or 0.0 for pid in pids)


class _DatabaseCpu:
    """CPU used by the benchmark database's PostgreSQL backends while a run lasts. Backends come
    and go with the connection pools, so they are sampled during the run, not only at its ends."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def sample(self) -> None:
        for pid in _database_pids():
            cpu = _cpu_of(pid)
            if cpu is not None:
                self.first.setdefault(pid, cpu)
                self.last[pid] = cpu

    def used(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)


def _children(pid: int) -> list[int]:
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found += _children(int(entry.name))
    return found


def _database_sessions() -> int:
    """Connections PostgreSQL has accepted for the benchmark database so far (0 for SQLite)."""
    from sqlalchemy import text

    from autoscribe.config import get_settings
    from autoscribe.db import get_engine

    if get_settings().is_sqlite:
        return 0
    with get_engine().connect() as conn:
        query = text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(conn.execute(query).scalar_one())


def _database_pids() -> list[int]:
    """PostgreSQL backends serving the benchmark database (empty for SQLite)."""
    from sqlalchemy import text

    from autoscribe.config import get_settings
    from autoscribe.db import get_engine

    if get_settings().is_sqlite:
        return []
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return [int(pid) for pid in rows.scalars()]


async def _time_creates(
    base: str, api_key: str, count: int, concurrency: int, server_pid: int
) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0

    def body() -> bytes:
        return json.dumps(
            {
                "severity": random.choice(SEVERITIES),
                "studyDescription": random.choice(DESCRIPTIONS),
                "studyInstanceUid": f"2.25.{uuid.uuid4().int}",
                "reportMetadata": {
                    "patientName": "Bench Patient",
                    "dateOfBirth": "1980-01-01",
                    "sex": "female",
                },
                "modality": "CT",
            }
        ).encode()

    connections = [_Connection(host, int(port), api_key) for _ in range(concurrency)]
    remaining = 0

    async def worker(conn: _Connection, record: bool) -> None:
        nonlocal errors, remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status, _ = await conn.post("/v1/autoScribe/studies", body())
            if record:
                latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors += 1

    remaining = min(300, count)  # warm-up: connections, prepared statements, worker caches
    await asyncio.gather(*(worker(c, False) for c in connections))
    server_pids = _children(server_pid)
    sessions_before = _database_sessions()
    database = _DatabaseCpu()
    database.sample()
    stop = asyncio.Event()
    watcher = asyncio.create_task(database.watch(stop))
    cpu_before = (_cpu_seconds(server_pids), time.process_time())
    remaining = count
    started = time.perf_counter()
    await asyncio.gather(*(worker(c, True) for c in connections))
    elapsed = time.perf_counter() - started
    cpu_after = (_cpu_seconds(server_pids), time.process_time())
    stop.set()
    await watcher
    database.sample()
    # Backends that ended during the run take their CPU with them: report connection churn.
    new_connections = _database_sessions() - sessions_before - 1
    for conn in connections:
        conn.close()
    server_ms, client_ms = (
        (after - before) * 1000 / count for before, after in zip(cpu_before, cpu_after, strict=True)
    )
    db_ms = database.used() * 1000 / count
    return {
        "count": count,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "concurrency": concurrency,
        "p50": statistics.median(latencies),
        "p99": _percentile(latencies, 0.99),
        "errors": errors,
        "cpu_ms": {"server": server_ms, "database": db_ms, "client": client_ms},
        "new_connections": new_connections,
    }


if __name__ == "__main__":
    main()
