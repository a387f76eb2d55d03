"""A load run with faults: several API and worker processes on PostgreSQL and S3, killed and
restarted under traffic, then every acknowledged write checked.

    .venv/bin/python bench/load.py [--minutes 2] [--json] [--api 3] [--workers 2] [--clients 8]

What it starts, all on loopback: a new PostgreSQL database (AUTOSCRIBE_LOAD_PG_ADMIN_URL, default
the local server as user postgres), the tests' S3 server (moto), `--api` x `autoscribe serve`
(no in-process worker) and `--workers` x `autoscribe worker`, each with its own empty data
directory (nothing on a local disk is shared), and a report receiver that answers 500 to 10% of
deliveries. `--clients` threads play the integrators and radiologists behind a load balancer that
sends each request to the next live API process (a refused connection moves to the next one, as a
balancer's health check would; the answer is never replayed after the server has it):

- create a study (30%), update one (10%), list a page (20%), mint a reroute URL and read the
  images answer (10%), read a signed report's text (10%),
- sign through the workspace endpoints as a radiologist does (20%): open the one-time link, save
  the draft, sign.

Faults, at fixed points of the run: SIGKILL one API process (25%, restarted 3 s later), SIGKILL
one worker (45%, restarted 3 s later), restart PostgreSQL (65%; `pg_ctlcluster`, or
AUTOSCRIBE_LOAD_PG_RESTART, a command). Then the load stops, the workers drain, and the checks
run: every study whose creation was acknowledged exists; every signing acknowledged produced a
report.delivered received at least once (repeats carry the same event id); every PDF in the
bucket belongs to a signed report and every signed report has its PDF.

The last line is JSON: requests, errors5xx (and when they happened, relative to the restart),
studiesLost, reportsUndelivered, orphanedFiles, faults, p50ms, p99ms, throughput (requests/s).
Restarting PostgreSQL disturbs everything else using it: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

PG_ADMIN = os.environ.get("AUTOSCRIBE_LOAD_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NPI = "1234567893"
METRICS_TOKEN = secrets.token_urlsafe(16)
SERIES = (
    "autoscribe_http_requests_total",
    "autoscribe_http_request_duration_seconds_bucket",
    "autoscribe_webhook_attempts_total",
    "autoscribe_task_runs_total",
    "autoscribe_pdf_render_seconds_bucket",
    "autoscribe_db_pool_checked_out_connections",
    "autoscribe_queue_stats_up",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# ---- the report receiver -----------------------------------------------------------------------------


class Receiver:
    """The integrator's report endpoint: 500 to `fail_rate` of deliveries, records the others."""

    def __init__(self, fail_rate: float, seed: int) -> None:
        self.lock = threading.Lock()
        self.delivered: dict[str, set[str]] = {}  # reportId -> event ids received (accepted)
        self.attempts = 0
        self.failed = 0
        rng = random.Random(seed)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.attempts += 1
                    fail = rng.random() < fail_rate
                    if fail:
                        receiver.failed += 1
                    else:
                        event = json.loads(body)
                        if event.get("type") == "report.delivered":
                            report_id = event["data"]["reportId"]
                            receiver.delivered.setdefault(report_id, set()).add(event["id"])
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/reports"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- the processes ----------------------------------------------------------------------------------


@dataclass
class Proc:
    kind: str  # "api" | "worker"
    index: int
    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


class Cluster:
    def __init__(self, args: argparse.Namespace, work: Path, s3_env: dict[str, str], db_url: str) -> None:
        self.work = work
        self.db_url = db_url
        self.clinic_id = ""
        self.api_key = ""
        self.base_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AUTOSCRIBE_")},
            **s3_env,
            "AUTOSCRIBE_DATABASE_URL": db_url,
            "AUTOSCRIBE_SECRET_KEY": "load-" + secrets.token_hex(16),
            "AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE": "1",
            "AUTOSCRIBE_WEBHOOK_TIMEOUT": "5",
            # The production schedule waits 5 min before a third attempt; a bounded run compresses
            # it (same code path) so that its drain is bounded too.
            "AUTOSCRIBE_WEBHOOK_RETRY_SCHEDULE": "0,2,5,10,20,30,60",
            "AUTOSCRIBE_LOG_LEVEL": "warning",
            "AUTOSCRIBE_INPROCESS_WORKER": "0",
            # One host: every process writes its metrics where any API process's /metrics reads them.
            "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
            "AUTOSCRIBE_METRICS_TOKEN": METRICS_TOKEN,
        }
        (work / "metrics").mkdir(parents=True, exist_ok=True)
        cli = [sys.executable, "-m", "autoscribe.cli"]
        self.cli = cli
        self.apis: list[Proc] = []
        self.workers: list[Proc] = []
        ports = [free_port() for _ in range(args.api)]
        self.base_env["AUTOSCRIBE_PUBLIC_URL"] = f"http://127.0.0.1:{ports[0]}"
        for i, port in enumerate(ports):
            self.apis.append(
                Proc(
                    "api",
                    i,
                    [*cli, "serve", "--port", str(port)],
                    self.env(f"api-{i}"),
                    work / f"api-{i}.log",
                    port,
                )
            )
        for i in range(args.workers):
            self.workers.append(
                Proc(
                    "worker",
                    i,
                    [*cli, "worker", "--queues", "webhooks,reports"],
                    self.env(f"worker-{i}"),
                    work / f"worker-{i}.log",
                )
            )

    def env(self, name: str) -> dict[str, str]:
        data = self.work / name
        data.mkdir(parents=True, exist_ok=True)
        return {**self.base_env, "AUTOSCRIBE_DATA_DIR": str(data)}

    def run_cli(self, *args: str) -> Any:
        done = subprocess.run(
            [*self.cli, *args], env=self.env("cli"), check=True, capture_output=True, text=True
        )
        return json.loads(done.stdout) if "--json" in args else done.stdout

    def start(self) -> None:
        for proc in [*self.apis, *self.workers]:
            proc.start()
        for api in self.apis:
            wait_healthy(api.url)

    def stop(self) -> None:
        for proc in [*self.apis, *self.workers]:
            proc.stop()


# ---- the load ---------------------------------------------------------------------------------------


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors5xx: list[float] = field(default_factory=list)  # seconds since start
    other_errors: Counter[str] = field(default_factory=Counter)
    failovers: int = 0
    studies: list[str] = field(default_factory=list)  # acknowledged creations
    signed: list[str] = field(default_factory=list)  # acknowledged signings (report ids)
    signable: list[str] = field(default_factory=list)  # studies not yet taken for signing


class Balancer:
    """Round-robin over the API processes; a refused or reset connection (a dead process) goes to
    the next one. Requests the server may have received are not replayed."""

    def __init__(self, cluster: Cluster, tally: Tally, started: float) -> None:
        self.cluster = cluster
        self.tally = tally
        self.started = started
        self.next = 0
        self.lock = threading.Lock()

    def pick(self) -> str:
        with self.lock:
            self.next += 1
            return self.cluster.apis[self.next % len(self.cluster.apis)].url

    def send(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        for _ in range(len(self.cluster.apis) * 2):
            base = self.pick()
            began = time.perf_counter()
            try:
                response = client.request(method, base + path, **kwargs)
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if isinstance(exc, httpx.RemoteProtocolError):
                    with self.tally.lock:
                        self.tally.other_errors["connection dropped"] += 1
                    return None
                with self.tally.lock:
                    self.tally.failovers += 1
                continue
            except httpx.HTTPError as exc:
                with self.tally.lock:
                    self.tally.other_errors[type(exc).__name__] += 1
                return None
            elapsed = (time.perf_counter() - began) * 1000
            with self.tally.lock:
                self.tally.requests += 1
                self.tally.latencies_ms.append(elapsed)
                if response.status_code >= 500:
                    self.tally.errors5xx.append(time.monotonic() - self.started)
            return response
        return None


def _study_body(radiologist: str) -> dict[str, Any]:
    return {
        "severity": random.choice(["normal", "normal", "stat"]),
        "studyDescription": random.choice(["CT Chest", "MRI Brain", "US Abdomen", "CR Chest"]),
        "studyInstanceUid": f"2.25.{uuid.uuid4().int}",
        "assignedTo": radiologist,
        "reportMetadata": {"patientName": "Load Patient", "mrn": f"MRN-{secrets.token_hex(4)}"},
    }


def _sign(balancer: Balancer, api: httpx.Client, tally: Tally, study_id: str, radiologist: str) -> None:
    minted = balancer.send(
        api,
        "POST",
        "/v1/autoScribe/studies/reroute-url",
        json={"studyId": study_id, "assignedToUserId": radiologist},
    )
    if minted is None or minted.status_code != 200:
        return
    path = minted.json()["url"].split("://", 1)[1].split("/", 1)[1]
    # A reading session is sticky to the API that opened it only by its cookie: any process can serve it.
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        opened = balancer.send(browser, "GET", "/" + path)
        if opened is None or opened.status_code != 303:
            return
        page = balancer.send(browser, "GET", opened.headers["location"], headers={"Accept": "text/html"})
        if page is None or page.status_code != 200:
            return
        report = re.search(r'data-report-id="(rep_[0-9a-f]{32})"', page.text)
        version = re.search(r'data-version="(\d+)"', page.text)
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        if not (report and version and csrf):
            return
        headers = {"X-CSRF-Token": csrf.group(1)}
        content = {
            "clinicalIndication": "Cough.",
            "technique": "CT chest without contrast.",
            "comparison": "None.",
            "findings": {"text": "Lungs are clear. No effusion.", "subsections": []},
            "impression": "No acute abnormality.",
            "isCritical": False,
        }
        body = {"reportId": report.group(1), "baseVersion": int(version.group(1)), "content": content}
        saved = balancer.send(
            browser, "PUT", f"/workspace/{study_id}/report/draft", json=body, headers=headers
        )
        if saved is None or saved.status_code != 200:
            return
        sign = {"reportId": report.group(1), "baseVersion": saved.json()["version"], "isCritical": False}
        signed = balancer.send(
            browser, "POST", f"/workspace/{study_id}/report/sign", json=sign, headers=headers
        )
        if signed is not None and signed.status_code == 200:
            with tally.lock:
                tally.signed.append(report.group(1))


def client_loop(
    balancer: Balancer, tally: Tally, api_key: str, radiologists: list[str], stop: threading.Event
) -> None:
    rng = random.Random()
    api = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {api_key}"})
    try:
        while not stop.is_set():
            roll = rng.random()
            radiologist = rng.choice(radiologists)
            with tally.lock:
                known = list(tally.studies[-200:])
                signed = list(tally.signed[-100:])
                signable = tally.signable.pop() if tally.signable and roll >= 0.8 else None
            if roll < 0.3 or not known:
                created = balancer.send(api, "POST", "/v1/autoScribe/studies", json=_study_body(radiologist))
                if created is not None and created.status_code == 200:
                    study_id = created.json()["studyId"]
                    with tally.lock:
                        tally.studies.append(study_id)
                        tally.signable.append(study_id)
            elif roll < 0.4:
                body = {"severity": rng.choice(["normal", "stat"]), "studyDescription": "CT Chest (updated)"}
                balancer.send(api, "PATCH", f"/v1/autoScribe/studies/{rng.choice(known)}", json=body)
            elif roll < 0.6:
                balancer.send(api, "GET", "/v1/autoScribe/studies", params={"limit": 20})
            elif roll < 0.7:
                balancer.send(
                    api,
                    "POST",
                    "/v1/autoScribe/studies/viewer-only-reroute-url",
                    json={"studyId": rng.choice(known)},
                )
            elif roll < 0.8:
                if signed:
                    balancer.send(
                        api, "GET", "/v1/autoScribe/reports/text", params={"reportId": rng.choice(signed)}
                    )
                else:
                    balancer.send(api, "GET", "/v1/autoScribe/studies", params={"limit": 5})
            elif signable is not None:
                _sign(balancer, api, tally, signable, radiologist)
    finally:
        api.close()


# ---- faults -----------------------------------------------------------------------------------------


def restart_postgresql() -> tuple[float, float]:
    """Restart the PostgreSQL server; returns (seconds it took, monotonic time it began)."""
    command = os.environ.get("AUTOSCRIBE_LOAD_PG_RESTART")
    if command:
        args = ["sh", "-c", command]
    else:
        version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
        args = ["pg_ctlcluster", version, "main", "restart"]
    began = time.monotonic()
    subprocess.run(args, check=True, capture_output=True)
    return time.monotonic() - began, began


def run_faults(
    cluster: Cluster, seconds: float, started: float, stop: threading.Event, log: list[dict[str, Any]]
) -> None:
    plan = [(0.25, "kill api"), (0.45, "kill worker"), (0.65, "restart postgresql")]
    for fraction, what in plan:
        while time.monotonic() - started < seconds * fraction:
            if stop.wait(0.2):
                return
        at = round(time.monotonic() - started, 1)
        if what == "kill api":
            victim = cluster.apis[1 % len(cluster.apis)]
            victim.kill()
            time.sleep(3)
            victim.start()
            wait_healthy(victim.url)
            log.append({"fault": what, "at": at, "back": round(time.monotonic() - started, 1)})
        elif what == "kill worker":
            worker = cluster.workers[0]
            worker.kill()
            time.sleep(3)
            worker.start()
            log.append({"fault": what, "at": at, "back": round(time.monotonic() - started, 1)})
        else:
            seen: list[tuple[float, int]] = []
            watching = threading.Event()
            watcher = threading.Thread(
                target=watch_readyz, args=(cluster.apis[0].url, seen, watching), daemon=True
            )
            watcher.start()
            took, began = restart_postgresql()
            time.sleep(10)
            watching.set()
            watcher.join(5)
            statuses = [status for _, status in seen]
            first_bad = next((i for i, status in enumerate(statuses) if status != 200), None)
            log.append(
                {
                    "fault": what,
                    "at": at,
                    "took": round(took, 1),
                    "began": round(began - started, 1),
                    "readyzNotReadySeen": first_bad is not None,
                    "readyzReadyAgain": first_bad is not None and 200 in statuses[first_bad:],
                }
            )


def watch_readyz(url: str, seen: list[tuple[float, int]], done: threading.Event) -> None:
    """Poll /readyz every 0.2 s until `done`: a connection failure counts as 0."""
    while not done.is_set():
        try:
            status = httpx.get(url + "/readyz", timeout=2).status_code
        except httpx.HTTPError:
            status = 0
        seen.append((time.monotonic(), status))
        done.wait(0.2)


def scrape(url: str) -> dict[str, bool]:
    """Which of the expected series one API process's /metrics shows (every process of the host)."""
    text = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
    return {name: any(line.startswith(name) for line in text.splitlines()) for name in SERIES}


# ---- checks -----------------------------------------------------------------------------------------


def check(
    cluster: Cluster, tally: Tally, receiver: Receiver, s3: Any, drain_seconds: float
) -> dict[str, Any]:
    api_key = cluster.api_key
    api = httpx.Client(
        base_url=cluster.apis[0].url, timeout=30, headers={"Authorization": f"Bearer {api_key}"}
    )
    lost = [s for s in tally.studies if api.get(f"/v1/autoScribe/studies/{s}").status_code != 200]
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        with receiver.lock:
            missing = [r for r in tally.signed if r not in receiver.delivered]
        if not missing:
            break
        time.sleep(1)
    with receiver.lock:
        undelivered = [r for r in tally.signed if r not in receiver.delivered]
        repeats_differ = [r for r, ids in receiver.delivered.items() if len(ids) > 1]
    # Files: every PDF in the bucket is a signed report's, and every signed report has one.
    pdfs = {key.rsplit("/", 1)[-1].removesuffix(".pdf") for key in s3.storage().list_keys("reports/")}
    import psycopg

    with psycopg.connect(cluster.db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        rows = conn.execute("SELECT id FROM reports WHERE status = 'completed'").fetchall()
    signed_in_db = {f"rep_{uuid.UUID(str(row[0])).hex}" for row in rows}
    orphaned = sorted(pdfs - signed_in_db)
    without_pdf = sorted(signed_in_db - pdfs)
    api.close()
    return {
        "studiesLost": len(lost),
        "reportsUndelivered": len(undelivered),
        "eventIdsDiffer": len(repeats_differ),
        "orphanedFiles": len(orphaned),
        "signedWithoutPdf": len(without_pdf),
        "signedUnacknowledged": len(signed_in_db - set(tally.signed)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--api", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--drain-seconds", type=float, default=180)
    parser.add_argument("--json", action="store_true", help="only the JSON line")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else print

    import psycopg
    from tests.s3 import start_moto

    work = Path(tempfile.mkdtemp(prefix="autoscribe-load-"))
    db_name = f"autoscribe_load_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    db_url = "postgresql+psycopg://" + PG_ADMIN.split("://", 1)[1].rsplit("/", 1)[0] + "/" + db_name
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the S3 server's access log
    s3 = start_moto()
    receiver = Receiver(0.10, seed=7)
    cluster = Cluster(args, work, s3.env, db_url)
    try:
        cluster.run_cli("migrate")
        made = cluster.run_cli(
            "bootstrap",
            "--clinic-name",
            "Load Clinic",
            "--owner-email",
            "owner@load.test",
            "--generate-password",
            "--json",
        )
        cluster.clinic_id = made["clinicId"]
        key = cluster.run_cli(
            "api-keys",
            "create",
            "--clinic-id",
            made["clinicId"],
            "--description",
            "PACS",
            "--study-scope",
            "all",
            "--user-access",
            "write",
            "--express-access",
            "none",
            "--report-webhook-url",
            receiver.url,
            "--json",
        )
        cluster.api_key = key["apiKey"]
        cluster.start()
        radiologists = []
        with httpx.Client(
            base_url=cluster.apis[0].url, headers={"Authorization": f"Bearer {key['apiKey']}"}
        ) as api:
            for n in range(3):
                invited = api.post(
                    "/v1/autoScribe/users",
                    json={
                        "email": f"reader{n}@load.test",
                        "firstName": "Load",
                        "lastName": f"Reader{n}",
                        "clinicRole": "Radiologist",
                        "level": "member",
                        "npiNumber": NPI,
                        "canCreateReports": True,
                        "canManageStudies": False,
                        "hasDashboardAccess": False,
                    },
                )
                invited.raise_for_status()
                radiologists.append(invited.json()["userId"])
        say(
            f"{args.api} API processes, {args.workers} workers, PostgreSQL {db_name}, S3 {s3.endpoint_url}; "
            f"{args.clients} clients for {args.minutes:g} min"
        )

        tally = Tally()
        started = time.monotonic()
        balancer = Balancer(cluster, tally, started)
        stop = threading.Event()
        faults: list[dict[str, Any]] = []
        seconds = args.minutes * 60
        threads = [
            threading.Thread(
                target=client_loop, args=(balancer, tally, key["apiKey"], radiologists, stop), daemon=True
            )
            for _ in range(args.clients)
        ]
        fault_thread = threading.Thread(
            target=run_faults, args=(cluster, seconds, started, stop, faults), daemon=True
        )
        for thread in [*threads, fault_thread]:
            thread.start()
        while time.monotonic() - started < seconds:
            time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join(60)
        fault_thread.join(120)
        elapsed = time.monotonic() - started
        say(f"load done: {tally.requests} requests in {elapsed:.0f} s; draining deliveries")
        results = check(cluster, tally, receiver, s3, args.drain_seconds)
        series = scrape(cluster.apis[-1].url)
        restart = next((f for f in faults if f["fault"] == "restart postgresql"), None)
        during = 0
        if restart is not None:
            window = (restart["began"] - 1, restart["began"] + restart["took"] + 10)
            during = sum(1 for t in tally.errors5xx if window[0] <= t <= window[1])
        summary = {
            "requests": tally.requests,
            "errors5xx": len(tally.errors5xx),
            "errors5xxDuringRestart": during,
            "errors5xxAt": [round(t, 1) for t in tally.errors5xx[:50]],
            **results,
            "faults": faults,
            "metricsSeries": series,
            "studiesCreated": len(tally.studies),
            "reportsSigned": len(tally.signed),
            "deliveryAttempts": receiver.attempts,
            "deliveriesRefusedByReceiver": receiver.failed,
            "failovers": tally.failovers,
            "otherErrors": dict(tally.other_errors),
            "p50ms": round(percentile(tally.latencies_ms, 50), 1),
            "p99ms": round(percentile(tally.latencies_ms, 99), 1),
            "throughput": round(tally.requests / elapsed, 1),
        }
        say(
            f"studies created {summary['studiesCreated']}, lost {summary['studiesLost']}; reports signed "
            f"{summary['reportsSigned']}, undelivered {summary['reportsUndelivered']}; "
            f"5xx {summary['errors5xx']} "
            f"({during} in the restart window); p50 {summary['p50ms']} ms, p99 {summary['p99ms']} ms, "
            f"{summary['throughput']} req/s"
        )
        print(json.dumps(summary))
    finally:
        cluster.stop()
        receiver.stop()
        s3.server.stop()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
