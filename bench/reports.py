"""Report signing benchmark: sign → PDF stored → report.delivered received, and PDF throughput.

    .venv/bin/python bench/reports.py [--reports 40] [--burst 40] [--renders 30]

Starts `autoscribe serve` (with its in-process webhook dispatcher) on a fresh SQLite database in
a temporary directory (or on AUTOSCRIBE_DATABASE_URL when set: it must be an empty, migratable
database), a webhook receiver in this process, and drives the report service directly, the way
the workspace does. Prints:
- warm PDF render time (p50/p99 ms) and single-thread renders per second;
- sign call time, sign → PDF stored, sign → webhook received (p50/p99 ms), one report at a time;
- a burst of signatures: end-to-end reports delivered per second.
Targets: warm render < 300 ms; sign → delivered p50 < 1 s.
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
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA_DIR = Path(tempfile.mkdtemp(prefix="autoscribe-bench-reports-"))
os.environ["AUTOSCRIBE_DATA_DIR"] = str(DATA_DIR)
os.environ.setdefault("AUTOSCRIBE_SECRET_KEY", "bench-" + secrets.token_hex(16))
os.environ["AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE"] = "1"
os.environ.setdefault("AUTOSCRIBE_LOG_LEVEL", "warning")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def line(label: str, values_ms: list[float]) -> str:
    return (
        f"{label:<34} p50 {pct(values_ms, 50):7.1f} ms   p99 {pct(values_ms, 99):7.1f} ms   "
        f"(n={len(values_ms)}, mean {statistics.fmean(values_ms):.1f})"
    )


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.perf_counter()
                report_id = json.loads(body)["data"]["reportId"]
                with receiver.cond:
                    receiver.arrived.setdefault(report_id, now)
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "16")
                self.end_headers()
                self.wfile.write(b'{"success":true}')

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, report_ids: list[str], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not all(r in self.arrived for r in report_ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"timed out waiting for deliveries ({len(self.arrived)} arrived)")
                self.cond.wait(left)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=40, help="sequential sign → delivered samples")
    parser.add_argument("--burst", type=int, default=40, help="reports signed back to back")
    parser.add_argument("--renders", type=int, default=30, help="in-process warm renders")
    args = parser.parse_args()

    from autoscribe.migrate import upgrade

    upgrade()

    # ---- warm render, in this process ----
    from autoscribe.documents.model import Header, Part, ReportDocument, Sections, Signature, Subsection
    from autoscribe.documents.pdf import render_pdf

    doc = ReportDocument(
        Header.from_study(
            clinic_name="Bench Imaging",
            metadata={
                "patientName": "Bench Patient",
                "dateOfBirth": "1970-01-01",
                "sex": "female",
                "mrn": "B-1",
                "procedure": "CT Abdomen and Pelvis with contrast",
                "studyDate": "2026-11-01",
                "facilityName": "Main Campus",
            },
            study_description="CT A/P",
            study_instance_uid="1.2.3.4.5",
            modality="CT",
            custom_metadata=None,
        ),
        (
            Part(
                "rep_bench",
                False,
                Sections(
                    clinical_indication="Abdominal pain.",
                    technique="Helical CT of the abdomen and pelvis after IV contrast.",
                    comparison="None.",
                    findings="",
                    findings_subsections=tuple(
                        Subsection(organ, "Unremarkable. " * 6)
                        for organ in (
                            "Liver",
                            "Gallbladder",
                            "Pancreas",
                            "Spleen",
                            "Kidneys",
                            "Bowel",
                            "Bones",
                        )
                    ),
                    impression="1. No acute abnormality.\n2. Incidental 4 mm hepatic cyst.",
                ),
                False,
                Signature(
                    "Bench",
                    "Reader",
                    None,
                    "MD",
                    None,
                    "1234567893",
                    datetime.now(UTC),
                ),
            ),
        ),
    )
    started = time.perf_counter()
    render_pdf(doc)
    cold_ms = (time.perf_counter() - started) * 1000
    renders, render_cpu = [], []
    for _ in range(args.renders):
        started, cpu = time.perf_counter(), time.process_time()
        render_pdf(doc)
        renders.append((time.perf_counter() - started) * 1000)
        render_cpu.append((time.process_time() - cpu) * 1000)

    # ---- the server, a tenant, a receiver ----
    receiver = Receiver()
    port = free_port()
    env = dict(os.environ, AUTOSCRIBE_PUBLIC_URL=f"http://127.0.0.1:{port}")
    log = (DATA_DIR / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "autoscribe.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        _drive(args, receiver, cold_ms, renders, render_cpu)
    finally:
        server.terminate()
        server.wait(10)


def _drive(
    args: argparse.Namespace,
    receiver: Receiver,
    cold_ms: float,
    renders: list[float],
    render_cpu: list[float],
) -> None:
    import uuid

    from autoscribe.audit.service import Actor
    from autoscribe.auth.service import create_api_key
    from autoscribe.clinics.models import Clinic
    from autoscribe.db import session_scope
    from autoscribe.reports import service
    from autoscribe.reports.models import Report
    from autoscribe.reports.pdf import pdf_key
    from autoscribe.storage import get_storage
    from autoscribe.studies.models import Study
    from autoscribe.users.models import User

    with session_scope() as session:
        clinic = Clinic(name="Bench Imaging")
        session.add(clinic)
        session.flush()
        key = create_api_key(
            session,
            clinic_id=clinic.id,
            description="bench",
            study_scope="all",
            user_access="none",
            express_access="none",
            report_webhook_url=receiver.url,
            actor=Actor.system(),
        ).api_key
        user = User(
            clinic_id=clinic.id,
            email="bench@example.test",
            first_name="Bench",
            last_name="Reader",
            suffix1="MD",
            clinic_role="Radiologist",
            can_create_reports=True,
            npi_number="1234567893",
        )
        session.add(user)
        session.flush()
        clinic_id, key_id, user_id = clinic.id, key.id, user.id

    body = {
        "clinicalIndication": "Abdominal pain.",
        "technique": "Helical CT of the abdomen and pelvis after IV contrast.",
        "findings": {"subsections": [{"heading": o, "text": "Unremarkable."} for o in ("Liver", "Kidneys")]},
        "impression": "No acute abnormality.",
    }

    def drafted() -> uuid.UUID:
        with session_scope() as session:
            study = Study(
                clinic_id=clinic_id,
                study_instance_uid=f"2.25.{uuid.uuid4().int}",
                study_description="CT A/P",
                severity="normal",
                study_report_status="assigned",
                assigned_to_user_id=user_id,
                created_by_api_key_id=key_id,
                report_metadata={"patientName": "Bench Patient", "mrn": "B-1"},
            )
            session.add(study)
            session.commit()
            reader = session.get(User, user_id)
            assert reader is not None
            report = service.start_report(session, study, reader)
            service.save_draft(session, report, reader, body, report.version)
            return report.id

    storage = get_storage()

    def sign(report_uuid: uuid.UUID) -> tuple[str, float, float]:
        with session_scope() as session:
            report = session.get(Report, report_uuid)
            reader = session.get(User, user_id)
            assert report is not None and reader is not None
            started = time.perf_counter()
            service.sign_report(session, report, reader, is_critical=False)
            rid = service.rid(report)
        return rid, started, time.perf_counter()  # the commit (the caller's, as a request's) included

    # sequential: one report at a time
    sign_ms, stored_ms, delivered_ms = [], [], []
    for _ in range(args.reports):
        report_uuid = drafted()
        with session_scope() as session:
            report = session.get(Report, report_uuid)
            assert report is not None
            key_path = pdf_key(report)
        rid, started, signed = sign(report_uuid)
        while not storage.exists(key_path):
            time.sleep(0.002)
        stored = time.perf_counter()
        receiver.wait_for([rid])
        sign_ms.append((signed - started) * 1000)
        stored_ms.append((stored - started) * 1000)
        delivered_ms.append((receiver.arrived[rid] - started) * 1000)

    # burst: sign back to back, measure until the last one is delivered
    drafts = [drafted() for _ in range(args.burst)]
    burst_started = time.perf_counter()
    ids = [sign(d)[0] for d in drafts]
    receiver.wait_for(ids)
    burst_s = time.perf_counter() - burst_started

    db = os.environ.get("AUTOSCRIBE_DATABASE_URL", "sqlite (temporary file)").split("@")[-1]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    poll = os.environ.get("AUTOSCRIBE_WEBHOOK_POLL_SECONDS", "default")
    print(f"database: {db}; storage: {storage.name}; cpus: {os.cpu_count()}; load average: {load}")
    print(f"dispatcher poll seconds: {poll} (SQLite: signatures from another process wait for the poll)")
    print(f"{'cold render (first in process)':<34} {cold_ms:7.1f} ms")
    print(line("warm render (wall)", renders))
    print(line("warm render (CPU time)", render_cpu))
    print(f"{'warm renders per second (1 thread)':<34} {1000 / statistics.fmean(renders):7.1f}")
    print(line("sign call (commit + outbox)", sign_ms))
    print(line("sign -> PDF stored", stored_ms))
    print(line("sign -> webhook received", delivered_ms))
    rate = args.burst / burst_s
    print(f"{'burst: reports delivered':<34} {args.burst} in {burst_s:.2f} s = {rate:.1f} per second")


if __name__ == "__main__":
    main()
