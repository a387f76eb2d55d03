"""Observability (issue 18 item 2) on a deployment of its own: one `autoscribe serve` (no worker
inside) and one `autoscribe worker`, sharing a data directory as two processes of one host do,
with JSON logs and a metrics token.

A report is signed through the workspace with an `X-Request-Id`; the worker renders its PDF and
delivers report.delivered to a receiver that fails the first attempt. The same request id is on
the API's access line, the worker's task and render lines and both delivery attempts. A dictation
is transcribed by the worker with the real model. /metrics, scraped from the API process, then
shows what both processes did: requests by route template and status with latency histograms,
task runs, queue depth and age from the database, webhook attempts by outcome, the transcription
real-time factor, PDF render time and database pool connections.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from tests.conftest import _DATA_DIR, Server, start_server, stop_server
from tests.helpers import sdk, start_workspace_report, web_client
from tests.ops.observed import (
    cli,
    deployment_env,
    fresh_database,
    log_lines,
    migrate,
    parse_metrics,
    value,
    wait_for_lines,
)
from tests.reporting import PATIENT, Receiver

NPI = "1679576722"
FINDINGS = "Small left pleural effusion with adjacent atelectasis."
IMPRESSION = "Small left pleural effusion."
DICTATION = "findings colon there is a small left pleural effusion period no pneumothorax period"
SIGN_ROUTE = "/workspace/{study_id}/report/sign"


@dataclass
class Stack:
    api: Server
    worker: subprocess.Popen[bytes]
    worker_log: Path
    env: dict[str, str]
    maker: Any
    clinic_id: str
    token: str
    data_dir: Path

    def api_log(self) -> list[dict[str, Any]]:
        return log_lines(self.api.log_path)

    def worker_lines(self) -> list[dict[str, Any]]:
        return log_lines(self.worker_log)

    def scrape(self) -> str:
        response = httpx.get(f"{self.api.url}/metrics", headers={"Authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return response.text


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from sqlalchemy.orm import sessionmaker

    from autoscribe.db import make_engine

    data_dir = tmp_path_factory.mktemp("observed-host")
    data_dir.chmod(0o700)
    token = secrets.token_urlsafe(24)
    with fresh_database(data_dir) as url:
        env = deployment_env(
            data_dir,
            url,
            AUTOSCRIBE_LOG_FORMAT="json",
            AUTOSCRIBE_LOG_LEVEL="info",
            AUTOSCRIBE_METRICS_TOKEN=token,
            AUTOSCRIBE_INPROCESS_WORKER="0",  # the worker process does the background work
            AUTOSCRIBE_WORKER_QUEUES="",
            AUTOSCRIBE_TASK_POLL_SECONDS="0.2",
            AUTOSCRIBE_WEBHOOK_RETRY_SCHEDULE="0,1,1",
            AUTOSCRIBE_WEBHOOK_RETRY_JITTER="0",
        )
        migrate(env)
        boot = cli(env, "bootstrap", "--clinic-name", "Observed Imaging", "--owner-email",
                   "owner@observed.test", "--generate-password", "--json")  # fmt: skip
        assert boot.returncode == 0, boot.stderr
        api = start_server(env, name="observed-api")
        # Log lines go to stderr; the command's own banner (stdout) is not a log line.
        worker_log = _DATA_DIR / f"observed-worker-{secrets.token_hex(3)}.log"
        worker = subprocess.Popen(
            [sys.executable, "-m", "autoscribe.cli", "worker", "--queues", "webhooks,reports,dictation,mail"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=worker_log.open("wb"),
        )
        engine = make_engine(url)
        yield Stack(
            api=api,
            worker=worker,
            worker_log=worker_log,
            env=env,
            maker=sessionmaker(bind=engine, expire_on_commit=False),
            clinic_id=json.loads(boot.stdout)["clinicId"],
            token=token,
            data_dir=data_dir,
        )
        stop_server(api)
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        engine.dispose()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver(fail_first=1)  # the first attempt fails (503), the retry succeeds
    rec.start()
    yield rec
    rec.stop()


@dataclass
class Reading:
    api_key: str
    study_id: str
    browser: httpx.Client
    headers: dict[str, str]
    report_id: str
    version: int


def _radiologist(stack: Stack) -> str:
    import autoscribe.models  # noqa: F401  (every mapper known before the first query)
    from autoscribe.users.models import User

    with stack.maker() as session:
        user = User(
            clinic_id=uuid.UUID(stack.clinic_id),
            email=f"rad-{secrets.token_hex(3)}@observed.test",
            first_name="Olga",
            last_name="Observer",
            suffix1="MD",
            clinic_role="Radiologist",
            can_create_reports=True,
            npi_number=NPI,
            has_dashboard_access=True,
        )
        session.add(user)
        session.commit()
        return f"usr_{user.id.hex}"


def _reading(stack: Stack, api_key: str) -> Reading:
    """A study created through the API and opened in the workspace through its reroute URL."""
    rad = _radiologist(stack)
    client = sdk(stack.api.url, api_key)
    study_id = client.auto_scribe.studies.create(
        severity="normal",
        study_description="CT Chest without contrast",
        study_instance_uid=f"2.25.{uuid.uuid4().int}",
        report_metadata=cast(Any, PATIENT),
        assigned_to=rad,
    ).study_id
    link = client.auto_scribe.studies.reroute_url(assigned_to_user_id=rad, study_id=study_id)
    browser = web_client(stack.api.url)
    opened = browser.get(link.url.removeprefix(stack.api.url))
    assert opened.status_code == 303, opened.text
    page = browser.get(f"/workspace/{study_id}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    started = start_workspace_report(browser, study_id, page.text)
    assert csrf and started.status_code == 200, started.text
    draft = started.json()
    assert draft["reportId"], "the workspace has no editable draft"
    headers = {"X-CSRF-Token": csrf.group(1)}
    return Reading(api_key, study_id, browser, headers, draft["reportId"], draft["version"])


@dataclass
class Signed:
    request_id: str
    study_id: str
    report_id: str
    event_id: str


@pytest.fixture(scope="module")
def signed(stack: Stack, receiver: Receiver) -> Signed:
    made = cli(stack.env, "api-keys", "create", "--clinic-id", stack.clinic_id, "--description", "PACS",
               "--study-scope", "all", "--user-access", "write", "--express-access", "write",
               "--report-webhook-url", receiver.url, "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    receiver.secret = key["webhookSecret"]
    reading = _reading(stack, key["apiKey"])
    draft = {
        "clinicalIndication": "Cough.",
        "technique": "Axial CT of the chest.",
        "comparison": "None.",
        "findings": {"text": FINDINGS, "subsections": []},
        "impression": IMPRESSION,
        "isCritical": False,
    }
    saved = reading.browser.put(
        f"/workspace/{reading.study_id}/report/draft",
        json={"reportId": reading.report_id, "baseVersion": reading.version, "content": draft},
        headers=reading.headers,
    )
    assert saved.status_code == 200, saved.text
    request_id = f"ops-{secrets.token_hex(8)}"
    signing = reading.browser.post(
        f"/workspace/{reading.study_id}/report/sign",
        json={"reportId": reading.report_id, "baseVersion": saved.json()["version"], "isCritical": False},
        headers={**reading.headers, "X-Request-Id": request_id},
    )
    assert signing.status_code == 200, signing.text
    assert signing.headers["x-request-id"] == request_id
    event = receiver.wait(timeout=120)[0]
    assert event.data.report_id == reading.report_id
    return Signed(request_id, reading.study_id, reading.report_id, event.id)


@pytest.fixture(scope="module")
def dictated(stack: Stack, signed: Signed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A dictation recorded in the workspace and transcribed by the worker (the real model)."""
    wav = tmp_path_factory.mktemp("dictation") / "dictation.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "120", "-w", str(wav), DICTATION], check=True)
    key = cli(stack.env, "api-keys", "create", "--clinic-id", stack.clinic_id, "--description",
              "RIS", "--study-scope", "all", "--user-access", "write", "--express-access", "none",
              "--json")  # fmt: skip
    assert key.returncode == 0, key.stderr
    reading = _reading(stack, json.loads(key.stdout)["apiKey"])
    reading.headers["X-Workspace-Study"] = reading.study_id
    created = reading.browser.post(
        "/workspace/api/dictations", json={"contentType": "audio/wav"}, headers=reading.headers
    )
    assert created.status_code == 201, created.text
    path = f"/workspace/api/dictations/{created.json()['dictationId']}"
    sent = reading.browser.post(
        f"{path}/chunks?seq=0",
        content=wav.read_bytes(),
        headers={**reading.headers, "Content-Type": "audio/wav"},
    )
    assert sent.status_code == 200, sent.text
    finished = reading.browser.post(f"{path}/finish", json={}, headers=reading.headers)
    assert finished.status_code == 202, finished.text
    deadline = time.monotonic() + 180  # a generous bound, not a timing assertion
    body = reading.browser.get(path, headers=reading.headers).json()
    while body["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
        body = reading.browser.get(path, headers=reading.headers).json()
    assert body["status"] == "done", body
    return dict(body)


# ---- request ids and JSON logs ---------------------------------------------------------------------


def test_the_request_id_follows_a_signed_report_from_the_api_call_to_its_webhook_deliveries(
    stack: Stack, signed: Signed
) -> None:
    rid = signed.request_id

    def ours(line: dict[str, Any]) -> bool:
        return line.get("requestId") == rid

    api = wait_for_lines(stack.api_log, lambda line: ours(line) and " 200 " in line["message"])
    access = [line for line in api if ours(line)]
    assert [line["message"].split(" ")[:3] for line in access] == [
        ["POST", f"/workspace/{signed.study_id}/report/sign", "200"]
    ]
    assert access[0]["level"] == "info" and access[0]["logger"] == "autoscribe"

    event = signed.event_id
    worker = wait_for_lines(
        stack.worker_lines,
        lambda line: (
            ours(line) and f"webhook {event} (report.delivered) attempt 2: succeeded" in line["message"]
        ),
    )
    mine = [line["message"] for line in worker if ours(line)]
    # The render task, the PDF it rendered, the failed first attempt and the successful retry.
    assert any(re.fullmatch(r"task [0-9a-f-]{36} \(reports\.render_pdf\) done in \d+ ms", m) for m in mine), (
        mine
    )
    assert any(m.startswith(f"rendered {signed.report_id}:") for m in mine), mine
    assert any(
        m.startswith(f"webhook {event} (report.delivered) attempt 1: http_5xx (HTTP 503)") for m in mine
    ), mine
    assert any(
        m.startswith(f"webhook {event} (report.delivered) attempt 2: succeeded (HTTP 200)") for m in mine
    )

    # The event row keeps it (it is never sent: the receiver's body has id, type and data only).
    from sqlalchemy import select

    from autoscribe.webhooks.models import WebhookEvent

    with stack.maker() as session:
        stored = session.scalars(
            select(WebhookEvent.request_id).where(WebhookEvent.id == uuid.UUID(hex=event.split("_", 1)[1]))
        ).one()
    assert stored == rid


def test_the_logs_are_json_lines_without_patient_data(
    stack: Stack, signed: Signed, dictated: dict[str, Any]
) -> None:
    # A path with a line break and a fake JSON field in it stays inside one line's message.
    injected = httpx.get(stack.api.url + '/v1/nothing%0a{"level":"critical"}%e2%80%a8x')
    assert injected.status_code == 404
    rid = injected.headers["x-request-id"]
    lines = wait_for_lines(stack.api_log, lambda line: line.get("requestId") == rid)
    line = next(line for line in lines if line.get("requestId") == rid)
    assert line["level"] == "info" and line["message"].startswith("GET /v1/nothing\\n{")
    assert "critical" not in {entry.get("level") for entry in lines}

    text = stack.api.log_path.read_text() + stack.worker_log.read_text()
    assert len(stack.worker_lines()) > 5  # every worker line parsed as JSON too
    for secret in (PATIENT["patient_name"], PATIENT["mrn"], PATIENT["date_of_birth"], FINDINGS, IMPRESSION):
        assert secret not in text
    assert "effusion" not in text.lower()  # neither the report nor the transcript


def test_a_valid_request_id_is_kept_and_anything_else_replaced(stack: Stack) -> None:
    kept = httpx.get(f"{stack.api.url}/healthz", headers={"X-Request-Id": "lb-7f3a:42.x_y"})
    assert kept.headers["x-request-id"] == "lb-7f3a:42.x_y"
    for bad in ("has spaces", "x" * 65, "semi;colon", "-leading-dash"):
        replaced = httpx.get(f"{stack.api.url}/healthz", headers={"X-Request-Id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"]), bad
    fresh = {httpx.get(f"{stack.api.url}/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(fresh) == 3


# ---- /metrics -----------------------------------------------------------------------------------------


def test_metrics_show_what_both_processes_did(stack: Stack, signed: Signed, dictated: dict[str, Any]) -> None:
    assert httpx.get(f"{stack.api.url}/no-such-endpoint").status_code == 404
    assert httpx.request("PROPFIND", f"{stack.api.url}/healthz").status_code == 405  # a method we do not list
    samples = parse_metrics(stack.scrape())

    # HTTP: route templates, never ids; statuses; a latency histogram per route.
    requests = samples["autoscribe_http_requests_total"]
    routes = {labels["route"] for labels, _ in requests}
    assert {SIGN_ROUTE, "/workspace/{study_id}/report/draft", "/v1/autoScribe/studies", "unmatched"} <= routes
    for labels, _ in requests:
        assert not re.search(r"[0-9a-f]{32}|stu_|rep_|usr_", labels["route"]), labels
        assert re.fullmatch(r"[1-5]\d\d", labels["status"]), labels
    assert (
        value(samples, "autoscribe_http_requests_total", route=SIGN_ROUTE, method="POST", status="200") == 1
    )
    assert value(samples, "autoscribe_http_requests_total", route="/v1/autoScribe/studies", status="200") >= 2
    assert value(samples, "autoscribe_http_requests_total", route="unmatched", status="404") >= 1
    made_up = value(samples, "autoscribe_http_requests_total", route="/healthz", method="other", status="405")
    assert made_up == 1
    assert {labels["method"] for labels, _ in requests} <= {"GET", "POST", "PUT", "other"}
    assert (
        value(samples, "autoscribe_http_request_duration_seconds_count", route=SIGN_ROUTE, method="POST") == 1
    )
    buckets = [
        labels["le"]
        for labels, _ in samples["autoscribe_http_request_duration_seconds_bucket"]
        if labels["route"] == SIGN_ROUTE
    ]
    assert "+Inf" in buckets and len(buckets) > 5
    assert value(samples, "autoscribe_http_request_duration_seconds_bucket", route=SIGN_ROUTE, le="+Inf") == 1

    # The worker process's work, in the API process's scrape (multiprocess mode).
    attempts = "autoscribe_webhook_attempts_total"
    assert value(samples, attempts, event_type="report.delivered", outcome="http_5xx") == 1
    assert value(samples, attempts, event_type="report.delivered", outcome="succeeded") == 1
    assert (
        value(samples, "autoscribe_webhook_attempt_duration_seconds_count", event_type="report.delivered")
        == 2
    )
    assert value(samples, "autoscribe_task_runs_total", kind="reports.render_pdf", outcome="done") == 1
    assert value(samples, "autoscribe_task_runs_total", kind="dictation.final", outcome="done") == 1
    assert value(samples, "autoscribe_pdf_render_seconds_count") == 1
    assert value(samples, "autoscribe_pdf_render_seconds_sum") > 0
    assert value(samples, "autoscribe_transcription_realtime_factor_count") == 1
    audio = value(samples, "autoscribe_transcription_audio_seconds_total")
    processing = value(samples, "autoscribe_transcription_processing_seconds_total")
    assert audio > 1 and processing > 0
    assert value(samples, "autoscribe_transcription_realtime_factor_sum") == pytest.approx(processing / audio)

    # Database pools: both live processes' connections and limits.
    assert value(samples, "autoscribe_db_pool_max_connections") > 0
    assert "autoscribe_db_pool_checked_out_connections" in samples
    assert "autoscribe_db_pool_idle_connections" in samples

    # Queues, read from the database: every task kind and the webhook outbox, idle by now.
    assert value(samples, "autoscribe_queue_stats_up") == 1
    kinds = {labels["kind"] for labels, _ in samples["autoscribe_tasks"]}
    assert {"reports.render_pdf", "dictation.final", "dictation.partial"} <= kinds
    assert {labels["kind"] for labels, _ in samples["autoscribe_task_oldest_due_age_seconds"]} == kinds
    assert value(samples, "autoscribe_webhook_events_pending", event_type="report.delivered") == 0

    # Two processes wrote their files into the host's metrics directory.
    pids = {path.stem.rsplit("_", 1)[1] for path in (stack.data_dir / "metrics").glob("counter_*.db")}
    assert {str(stack.api.process.pid), str(stack.worker.pid)} <= pids


def test_queue_depth_and_age_come_from_the_task_table(stack: Stack) -> None:
    from autoscribe.db import utcnow
    from autoscribe.queue.models import QUEUED, RUNNING, Task

    now = utcnow()
    with stack.maker() as session:
        rows = [
            # Waiting for its back-off: queued, but not late.
            Task(
                queue="reports",
                kind="reports.render_pdf",
                payload={"reportId": "rep_" + "0" * 32},
                status=QUEUED,
                attempts=1,
                run_after=now + timedelta(hours=1),
            ),
            # Held by a worker (its lease runs for an hour).
            Task(
                queue="reports",
                kind="reports.render_pdf",
                payload={"reportId": "rep_" + "1" * 32},
                status=RUNNING,
                attempts=1,
                run_after=now - timedelta(minutes=5),
                locked_by="elsewhere",
                locked_until=now + timedelta(hours=1),
            ),
        ]
        session.add_all(rows)
        session.commit()
        try:
            samples = parse_metrics(stack.scrape())
        finally:
            for row in rows:
                session.delete(row)
            session.commit()
    assert value(samples, "autoscribe_tasks", kind="reports.render_pdf", state="queued") == 1
    assert value(samples, "autoscribe_tasks", kind="reports.render_pdf", state="running") == 1
    assert value(samples, "autoscribe_tasks", kind="dictation.final", state="queued") == 0
    assert value(samples, "autoscribe_task_oldest_due_age_seconds", kind="reports.render_pdf") == 0


def test_metrics_need_the_token(stack: Stack, server: Server) -> None:
    url = f"{stack.api.url}/metrics"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {stack.token}"},
                    {"Authorization": f"Bearer {stack.token}x"}):  # fmt: skip
        refused = httpx.get(url, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "AUTOSCRIBE_METRICS_TOKEN" in refused.json()["error"]["message"]
        assert "autoscribe_" not in refused.text
    assert httpx.get(url, headers={"Authorization": f"Bearer {stack.token}"}).status_code == 200
    # The suite's shared server has no token: /metrics is off there, and says how to turn it on.
    off = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer anything"})
    assert off.status_code == 403
    assert "AUTOSCRIBE_METRICS_TOKEN" in off.json()["error"]["message"]


def test_a_dead_process_no_longer_counts_in_the_pool_gauges(stack: Stack) -> None:
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    before = value(parse_metrics(stack.scrape()), "autoscribe_db_pool_max_connections")
    # A process of this host that is gone, its live gauge file left behind (as after a SIGKILL) ...
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    name = "autoscribe_db_pool_max_connections"
    path = stack.data_dir / "metrics" / f"gauge_livesum_{gone.pid}.db"
    left: Any = MmapedDict  # the library's file format, untyped
    file = left(str(path))
    file.write_value(mmap_key(name, name, [], [], "left behind"), 1000.0, 0.0)
    file.close()
    # ... is forgotten at the next scrape, as prometheus-client's mark_process_dead does it.
    after = value(parse_metrics(stack.scrape()), name)
    assert after == before and after < 1000
    assert not path.exists()
    # Its counters stay: totals never go backwards when a process exits.
    assert list((stack.data_dir / "metrics").glob("counter_*.db"))
