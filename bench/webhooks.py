"""Webhook delivery benchmark: event-written -> received latency and deliveries/s per worker.

    .venv/bin/python bench/webhooks.py [--db sqlite|postgresql|both] [--events 2000] [--latency-events 200]

For each database it measures, against a local receiver process (bench/webhook_receiver.py):
- latency, in-process dispatcher (how `autoscribe serve` delivers): events committed one at a time
  with the dispatcher idle; time from commit to arrival at the receiver;
- latency, separate `autoscribe worker` process (PostgreSQL wakes it with NOTIFY, SQLite with a
  datagram on its socket beside the database file);
- throughput of ONE `autoscribe worker` process draining a pre-filled outbox (deliveries/s).
Events are report.delivered for real signed reports with stored PDFs, so every attempt runs the
production refresher (fresh presigned link). Targets: p50 < 50 ms, >= 300 deliveries/s per
worker process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
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

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("AUTOSCRIBE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_child(db: str, args: argparse.Namespace) -> dict[str, object]:
    """Each database is measured in a child process: settings are read once per process."""
    data_dir = Path(tempfile.mkdtemp(prefix="autoscribe-bench-"))
    env = dict(os.environ)
    env.update(
        AUTOSCRIBE_DATA_DIR=str(data_dir),
        AUTOSCRIBE_SECRET_KEY="bench-" + secrets.token_hex(8),
        AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE="1",
        AUTOSCRIBE_LOG_LEVEL="warning",
    )
    pg_name = None
    if db == "postgresql":
        import psycopg

        pg_name = f"autoscribe_bench_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        env["AUTOSCRIBE_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_name
    else:
        env.pop("AUTOSCRIBE_DATABASE_URL", None)
    try:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                db,
                "--events",
                str(args.events),
                "--latency-events",
                str(args.latency_events),
                "--concurrency",
                str(args.concurrency),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    except subprocess.CalledProcessError as exc:
        print(exc.stdout, exc.stderr, file=sys.stderr)
        raise
    finally:
        if pg_name:
            import psycopg

            with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def seed_signed_reports(maker: Any, clinic_id: uuid.UUID, count: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """`count` signed reports (one per study) with a small PDF in storage for each."""
    from autoscribe.db import utcnow
    from autoscribe.reports.models import Report
    from autoscribe.reports.pdf import PDF_TYPE, pdf_key_of
    from autoscribe.storage import get_storage
    from autoscribe.studies.models import Study
    from autoscribe.users.models import User

    storage = get_storage()
    pdf = b"%PDF-1.4\n% bench placeholder\n%%EOF\n"
    out: list[tuple[uuid.UUID, uuid.UUID]] = []
    with maker() as session:
        reader = User(
            clinic_id=clinic_id,
            email="reader@bench.test",
            first_name="Bench",
            last_name="Reader",
            clinic_role="Radiologist",
            can_create_reports=True,
            npi_number="1234567893",
        )
        session.add(reader)
        session.flush()
        now = utcnow()
        for n in range(count):
            study = Study(
                clinic_id=clinic_id,
                study_instance_uid=f"2.25.{n}",
                study_description="CT A/P",
                severity="normal",
                study_report_status="completed",
                assigned_to_user_id=reader.id,
            )
            session.add(study)
            session.flush()
            report = Report(
                clinic_id=clinic_id,
                study_id=study.id,
                status="completed",
                author_user_id=reader.id,
                signed_by_user_id=reader.id,
                signed_at=now,
                is_critical=False,
                plain_text="IMPRESSION: normal.",
                content={"impression": "Normal."},
            )
            session.add(report)
            session.flush()
            storage.put(pdf_key_of(clinic_id, study.id, report.id), pdf, content_type=PDF_TYPE)
            out.append((report.id, study.id))
        session.commit()
    return out


# The worker measured: webhook deliveries only.
WORKER = [sys.executable, "-m", "autoscribe.cli", "worker", "--queues", "webhooks"]


def child(db: str, args: argparse.Namespace) -> None:
    from autoscribe import tasks
    from autoscribe.audit.service import Actor
    from autoscribe.auth.service import create_api_key
    from autoscribe.clinics.models import Clinic
    from autoscribe.db import get_sessionmaker
    from autoscribe.migrate import upgrade
    from autoscribe.webhooks import outbox
    from autoscribe.webhooks.dispatcher import Dispatcher

    upgrade()
    port = free_port()
    receiver = subprocess.Popen([sys.executable, str(ROOT / "bench" / "webhook_receiver.py"), str(port)])
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/dump")
    # One client for every poll: httpx.get() builds a client (and its TLS context) per call, which
    # cost more CPU than the worker being measured could spare on a small machine.
    http = httpx.Client(timeout=10)
    maker = get_sessionmaker()
    keys = []
    with maker() as session:
        clinic = Clinic(name="Bench")
        session.add(clinic)
        session.flush()
        for n in range(4):  # four integrator endpoints
            made = create_api_key(
                session,
                clinic_id=clinic.id,
                description=f"bench {n}",
                study_scope="all",
                user_access="none",
                express_access="none",
                report_webhook_url=f"{base}/hook/{n}",
                actor=Actor.system(),
            )
            keys.append(made.api_key.id)
        session.commit()
        clinic_id = clinic.id

    # Every event names a real signed report whose PDF is stored, so each attempt's refresher does
    # what it does in production (read the report, find its PDF, presign a fresh link).
    reports = seed_signed_reports(maker, clinic_id, max(args.events, args.latency_events))

    def data(n: int) -> dict[str, object]:
        report_id, study_id = reports[n]
        return {
            "reportId": f"rep_{report_id.hex}",
            "studyId": f"stu_{study_id.hex}",
            "plainText": "Patient: Zoë Ångström. IMPRESSION: normal. " * 10,
            "presignedUrl": "https://files.example.test/r.pdf?X-Amz-Signature=abc",
            "isCritical": False,
        }

    def enqueue_one(n: int) -> tuple[str, float]:
        with maker() as session:
            event_id = outbox.enqueue(
                session,
                clinic_id=clinic_id,
                api_key_id=keys[n % 4],
                event_type="report.delivered",
                data=data(n),
            )
            session.commit()
            return event_id, time.time()

    def latencies(count: int) -> list[float]:
        http.get(base + "/reset")
        written: dict[str, float] = {}
        for n in range(count):
            event_id, at = enqueue_one(n)
            written[event_id] = at
            time.sleep(0.02)  # one at a time, dispatcher idle in between
        deadline = time.time() + 60
        while time.time() < deadline:
            arrivals = http.get(base + "/dump").json()
            if all(e in arrivals for e in written):
                break
            time.sleep(0.1)
        return [(arrivals[e] - t) * 1000 for e, t in written.items() if e in arrivals]

    results: dict[str, object] = {"db": db}

    # 1. in-process dispatcher (autoscribe serve)
    dispatcher = Dispatcher(concurrency=args.concurrency, refreshers=tasks.WEBHOOK_REFRESHERS)
    dispatcher.start()
    time.sleep(0.5)
    lat = latencies(args.latency_events)
    dispatcher.stop()
    results["inprocess_p50_ms"] = statistics.median(lat)
    results["inprocess_p99_ms"] = percentile(lat, 99)

    # 2. separate worker process
    worker = subprocess.Popen(
        [*WORKER, "--concurrency", str(args.concurrency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    worker.stdout.readline()  # "worker running: webhooks ..."
    time.sleep(0.5)
    lat = latencies(args.latency_events)
    results["worker_p50_ms"] = statistics.median(lat)
    results["worker_p99_ms"] = percentile(lat, 99)
    worker.terminate()
    worker.wait()

    # 3. throughput of one worker process on a pre-filled outbox
    http.get(base + "/reset")
    with maker() as session:
        for n in range(args.events):
            outbox.enqueue(
                session,
                clinic_id=clinic_id,
                api_key_id=keys[n % 4],
                event_type="report.delivered",
                data=data(n),
            )
        session.commit()
    started = time.time()
    worker = subprocess.Popen(
        [*WORKER, "--concurrency", str(args.concurrency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    worker.stdout.readline()  # "worker running: webhooks ...": the clock starts when it is up
    started = time.time()
    while http.get(base + "/count").json()["count"] < args.events:
        time.sleep(0.05)
    arrivals = http.get(base + "/dump").json()
    finished = max(arrivals.values())
    results["events"] = args.events
    results["deliveries_per_s_one_worker"] = args.events / (finished - started)
    # CPU seconds the worker used (a figure the shared machine's load does not distort much).
    fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    results["worker_cpu_ms_per_delivery"] = cpu_s * 1000 / args.events
    worker.terminate()
    worker.wait()
    receiver.terminate()
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"webhook delivery, local receiver, concurrency {args.concurrency}, 4 endpoints")
    print(
        f"{'db':11} {'in-process p50/p99 ms':>22} {'worker proc p50/p99 ms':>23}"
        f" {'deliveries/s (1 worker)':>24}"
        f" {'worker CPU ms/delivery':>23}"
    )
    for db in dbs:
        r = run_child(db, args)
        print(
            f"{db:11} {r['inprocess_p50_ms']:>10.1f} / {r['inprocess_p99_ms']:<9.1f}"
            f" {r['worker_p50_ms']:>10.1f} / {r['worker_p99_ms']:<10.1f}"
            f" {r['deliveries_per_s_one_worker']:>16.0f}  ({r['events']} events)"
            f" {r['worker_cpu_ms_per_delivery']:>8.2f} (= {1000 / r['worker_cpu_ms_per_delivery']:.0f}/CPU-s)"
        )
    print("targets: p50 < 50 ms, >= 300 deliveries/s per worker process")


if __name__ == "__main__":
    main()
