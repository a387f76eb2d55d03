"""What auditing reads costs on the API's read path: GET /v1/autoScribe/studies/{id} over HTTP
(now one audit insert and a commit per call), and the audit row alone, timed in-process.

    .venv/bin/python bench/read_audit.py --db sqlite --requests 2000
    .venv/bin/python bench/read_audit.py --db postgresql

Makes its own data directory (and PostgreSQL database on AUTOSCRIBE_BENCH_PG_URL, dropped at the
end), migrates, bootstraps a clinic with one study, starts `autoscribe serve` (one worker) and
times sequential requests on one keep-alive connection. To compare with the code before reads
were audited, run the same script with PYTHONPATH pointing at that source tree (the in-process
part is then skipped). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PG_ADMIN_URL = os.environ.get(
    "AUTOSCRIBE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="autoscribe-bench-audit-"))
    pg_name = f"autoscribe_bench_audit_{os.getpid()}"
    os.environ.update(
        AUTOSCRIBE_DATA_DIR=str(data_dir),
        AUTOSCRIBE_SECRET_KEY="bench-" + secrets.token_hex(16),
        AUTOSCRIBE_LOG_LEVEL="warning",
        AUTOSCRIBE_SCRIBE_RUNNER="off",
    )
    if args.db == "postgresql":
        os.environ["AUTOSCRIBE_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + pg_name
        _pg_admin(f'CREATE DATABASE "{pg_name}"')
    server = None
    try:
        from autoscribe.migrate import upgrade

        upgrade()
        api_key, study_id = _bootstrap()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "AUTOSCRIBE_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        server = subprocess.Popen(
            [sys.executable, "-m", "autoscribe.cli", "serve", "--port", str(port)], env=env
        )
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_key}"}) as client:
            for _ in range(200):  # warm up
                client.get(f"/v1/autoScribe/studies/{study_id}").raise_for_status()
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(f"/v1/autoScribe/studies/{study_id}").raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
        print(f"{args.db}: GET study over HTTP, {args.requests} sequential requests: {_figures(times)}")
        _time_audit_row(args.db, study_id, args.requests)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from autoscribe.db import get_engine

        get_engine().dispose()
        if args.db == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)


def _time_audit_row(db: str, study_id: str, count: int) -> None:
    """record_read alone (build the row, INSERT, COMMIT) on a loaded study, in this process."""
    from autoscribe.audit import service as audit

    if not hasattr(audit, "record_read"):
        return
    from autoscribe.db import get_sessionmaker
    from autoscribe.ids import Prefix, parse
    from autoscribe.studies.models import Study

    with get_sessionmaker()() as session:
        study = session.get(Study, parse(Prefix.STUDY, study_id, "studyId"))
        assert study is not None
        actor = audit.Actor("api_key", "bench", "127.0.0.1")
        times = []
        for _ in range(count):
            started = time.perf_counter()
            audit.record_read(session, actor, study, "read.study")
            times.append((time.perf_counter() - started) * 1000)
    print(f"{db}: the audit row alone (record_read: insert + commit), {count} times: {_figures(times)}")


def _figures(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=100)
    mean = statistics.fmean(times)
    return f"p50 {cuts[49]:.2f} ms, p90 {cuts[89]:.2f} ms, p99 {cuts[98]:.2f} ms, mean {mean:.2f} ms"


def _bootstrap() -> tuple[str, str]:
    from autoscribe.clinics.service import bootstrap_clinic
    from autoscribe.db import session_scope
    from autoscribe.ids import Prefix, brand
    from autoscribe.studies.models import Study

    with session_scope() as session:
        made = bootstrap_clinic(
            session,
            clinic_name="Bench Clinic",
            owner_email="bench@example.test",
            owner_password="bench-password",
        )
        study = Study(
            clinic_id=made.clinic.id,
            study_instance_uid=f"2.25.{secrets.randbits(64)}",
            study_description="CT Head",
            severity="normal",
            study_report_status="unassigned",
            report_metadata={"patientName": "Bench Patient", "mrn": "MRN-1"},
            external_patient_id="PAT-1",
            created_by_api_key_id=made.key.api_key.id,
        )
        session.add(study)
        session.flush()
        return made.key.plaintext_key, brand(Prefix.STUDY, study.id)


def _wait(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute(sql.encode())


if __name__ == "__main__":
    main()
