"""Stateless processes (issue 18 item 1): two `autoscribe serve` processes and one `autoscribe
worker`, on one PostgreSQL database and one S3 bucket (moto on loopback), each with an empty data
directory of its own, as if on three machines.

What one process does, the others see: a reading session opened through one API process works
on the other; dictation audio uploaded to one is transcribed by the worker and read through the
other; a report signed through one is rendered and delivered by the worker (the API processes
run no worker of their own) and its PDF is downloaded through the other, by the API and the
dashboard; mail one writes (no SMTP server) is listed by the CLI on another machine. Afterwards
no process has written a file to its data directory. Without
AUTOSCRIBE_SECRET_KEY, `serve`, `worker` and the CLI refuse to run on PostgreSQL + S3 rather than
each generate a key of their own.

Always PostgreSQL (the deployment this is about), whatever AUTOSCRIBE_TEST_DB says: the server on
127.0.0.1:5432 that `make test` uses.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import _DATA_DIR, PG_ADMIN_URL, Server, start_server, stop_server
from tests.helpers import sdk, start_workspace_report, web_client, web_login
from tests.reporting import PATIENT, Receiver, pdf_text
from tests.s3 import MotoS3, start_moto

NPI = "1245319599"
FINDINGS = "Small right pleural effusion. No pneumothorax."
IMPRESSION = "Small right pleural effusion."
DICTATION = "findings colon there is a small right pleural effusion period no pneumothorax period"


@dataclass
class Cluster:
    env: dict[str, str]  # what every process of the deployment shares (database, bucket, key)
    api: list[Server]
    worker: subprocess.Popen[bytes]
    worker_log: Path
    data_dirs: list[Path]
    moto: MotoS3
    maker: Any
    clinic_id: str
    api_key: str
    owner_email: str
    owner_password: str
    tmp: Path

    def run_cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """An `autoscribe` command on yet another "machine": a fresh, empty data directory."""
        data_dir = self.tmp / f"cli-{secrets.token_hex(3)}"
        self.data_dirs.append(data_dir)
        return subprocess.run(
            [sys.executable, "-m", "autoscribe.cli", *args],
            env={**(env or self.env), "AUTOSCRIBE_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )


def _files_under(directories: list[Path]) -> list[str]:
    """Files in these data directories, bar <data_dir>/metrics: Prometheus's per-process counters,
    which only the /metrics scrape of the same host reads (each host is scraped on its own)."""
    return [
        str(p)
        for d in directories
        if d.exists()
        for p in d.rglob("*")
        if not p.is_dir() and p.relative_to(d).parts[0] != "metrics"
    ]


def _nothing_on_local_disks(cluster: Cluster) -> None:
    """After a test's work: the worker still runs, and no process wrote a file to its data dir."""
    assert cluster.worker.poll() is None, cluster.worker_log.read_text()
    assert _files_under(cluster.data_dirs) == []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    import psycopg
    from sqlalchemy.orm import sessionmaker

    from autoscribe.db import make_engine

    tmp = tmp_path_factory.mktemp("machines")
    name = f"autoscribe_cluster_{os.getpid()}_{secrets.token_hex(3)}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    moto = start_moto()
    env = {
        **os.environ,
        **moto.env,
        "AUTOSCRIBE_DATABASE_URL": url,
        "AUTOSCRIBE_SECRET_KEY": "cluster-" + secrets.token_urlsafe(32),
        "AUTOSCRIBE_INPROCESS_WORKER": "0",  # only the worker process runs tasks and deliveries
        "AUTOSCRIBE_WORKER_QUEUES": "",
        "AUTOSCRIBE_TASK_POLL_SECONDS": "0.2",
    }
    data_dirs: list[Path] = []

    def data_dir(label: str) -> str:
        path = tmp / label
        data_dirs.append(path)
        return str(path)

    migrated = subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", "migrate"],
        env={**env, "AUTOSCRIBE_DATA_DIR": data_dir("migrate")},
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stderr
    api = [
        start_server({**env, "AUTOSCRIBE_DATA_DIR": data_dir(f"api-{n}")}, name=f"api-{n}") for n in (1, 2)
    ]
    worker_log = _DATA_DIR / f"worker-{name}.log"
    log_file = worker_log.open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "autoscribe.cli", "worker", "--queues", "webhooks,reports,dictation,mail"],
        env={**env, "AUTOSCRIBE_DATA_DIR": data_dir("worker")},
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    engine = make_engine(url)
    cluster = Cluster(
        env, api, worker, worker_log, data_dirs, moto, sessionmaker(bind=engine), "", "", "", "", tmp
    )
    made = cluster.run_cli(
        "bootstrap", "--clinic-name", "Scale-out Imaging", "--owner-email", "owner@scale.test",
        "--generate-password", "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    boot = json.loads(made.stdout)
    cluster.clinic_id, cluster.api_key = boot["clinicId"], boot["apiKey"]
    cluster.owner_email, cluster.owner_password = "owner@scale.test", boot["ownerPassword"]
    yield cluster
    for srv in api:
        stop_server(srv)
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
    log_file.close()
    engine.dispose()
    moto.server.stop()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.start()
    yield rec
    rec.stop()


def _radiologist(cluster: Cluster) -> str:
    import autoscribe.models  # noqa: F401  (every mapper known before the first query)
    from autoscribe.users.models import User

    with cluster.maker() as session:
        user = User(
            clinic_id=uuid.UUID(cluster.clinic_id),
            email=f"rad-{secrets.token_hex(3)}@scale.test",
            first_name="Sam",
            last_name="Scaler",
            suffix1="MD",
            clinic_role="Radiologist",
            can_create_reports=True,
            npi_number=NPI,
            has_dashboard_access=True,
        )
        session.add(user)
        session.commit()
        return f"usr_{user.id.hex}"


def _reading_session(cluster: Cluster, api_key: str) -> tuple[str, httpx.Client]:
    """A study created through API process 1, its one-time link minted by process 2 and spent on
    process 1. Returns the studyId and a browser (one cookie jar: both processes are 127.0.0.1)
    that addresses either process by absolute URL."""
    first, second = cluster.api
    rad = _radiologist(cluster)
    study_id = (
        sdk(first.url, api_key)
        .auto_scribe.studies.create(
            severity="normal",
            study_description="CT Chest without contrast",
            study_instance_uid=f"2.25.{uuid.uuid4().int}",
            report_metadata=PATIENT,
            assigned_to=rad,
        )
        .study_id
    )
    link = sdk(second.url, api_key).auto_scribe.studies.reroute_url(
        assigned_to_user_id=rad, study_id=study_id
    )
    assert link.url.startswith(second.url)
    browser = web_client(first.url)
    opened = browser.get(first.url + link.url.removeprefix(second.url))  # spent on the other process
    assert opened.status_code == 303, opened.text
    return study_id, browser


def _page(browser: httpx.Client, srv: Server, study_id: str) -> tuple[str, int, dict[str, str]]:
    page = browser.get(f"{srv.url}/workspace/{study_id}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    started = start_workspace_report(browser, study_id, page.text, base=srv.url)
    assert csrf and started.status_code == 200, started.text
    draft = started.json()
    assert draft["reportId"], "the workspace has no editable draft"
    return draft["reportId"], draft["version"], {"X-CSRF-Token": csrf.group(1)}


def test_a_report_signed_through_one_process_is_delivered_by_the_worker_and_read_through_another(
    cluster: Cluster, receiver: Receiver
) -> None:
    first, second = cluster.api
    made = cluster.run_cli(
        "api-keys", "create", "--clinic-id", cluster.clinic_id, "--description", "PACS",
        "--study-scope", "all", "--user-access", "write", "--express-access", "write",
        "--report-webhook-url", receiver.url, "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    receiver.secret = key["webhookSecret"]  # encrypted by the CLI, decrypted by the worker
    study_id, browser = _reading_session(cluster, key["apiKey"])

    # The draft is saved through process 2 and signed through process 1.
    report_id, version, headers = _page(browser, second, study_id)
    draft = {
        "clinicalIndication": "Cough.",
        "technique": "Axial CT of the chest.",
        "comparison": "None.",
        "findings": {"text": FINDINGS, "subsections": []},
        "impression": IMPRESSION,
        "isCritical": False,
    }
    saved = browser.put(
        f"{second.url}/workspace/{study_id}/report/draft",
        json={"reportId": report_id, "baseVersion": version, "content": draft},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    signed = browser.post(
        f"{first.url}/workspace/{study_id}/report/sign",
        json={"reportId": report_id, "baseVersion": saved.json()["version"], "isCritical": False},
        headers=headers,
    )
    assert signed.status_code == 200, signed.text

    # Neither API process runs a worker: the PDF and the delivery are the worker process's work.
    event = receiver.wait(timeout=120)[0]
    assert event.data.report_id == report_id
    assert event.data.presigned_url.startswith(cluster.moto.endpoint_url + "/autoscribe-test/")
    delivered = httpx.get(event.data.presigned_url)
    assert delivered.status_code == 200 and FINDINGS in pdf_text(delivered.content)

    # Both API processes hand out working links to the same object.
    for srv in (first, second):
        link = sdk(srv.url, key["apiKey"]).auto_scribe.reports.pdf(report_id=report_id).presigned_url
        fetched = httpx.get(link)
        assert fetched.status_code == 200 and fetched.content == delivered.content
    # The dashboard of process 2 serves it from the bucket, to an owner who signed in on process 1.
    owner = web_login(first.url, cluster.owner_email, cluster.owner_password)
    pdf = owner.get(f"{second.url}/worklist/studies/{study_id}/reports/{report_id}/pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.content == delivered.content
    _nothing_on_local_disks(cluster)


def test_dictation_uploaded_to_one_process_is_transcribed_by_the_worker_and_read_through_another(
    cluster: Cluster, tmp_path: Path
) -> None:
    wav = tmp_path / "dictation.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "120", "-w", str(wav), DICTATION], check=True)
    first, second = cluster.api
    study_id, browser = _reading_session(cluster, cluster.api_key)
    _, _, headers = _page(browser, first, study_id)
    headers["X-Workspace-Study"] = study_id

    created = browser.post(
        f"{first.url}/workspace/api/dictations", json={"contentType": "audio/wav"}, headers=headers
    )
    assert created.status_code == 201, created.text
    path = f"/workspace/api/dictations/{created.json()['dictationId']}"
    data = wav.read_bytes()
    size = len(data) // 3 + 1
    for seq, start in enumerate(range(0, len(data), size)):
        srv = cluster.api[seq % 2]  # chunks alternate between the two processes
        sent = browser.post(
            f"{srv.url}{path}/chunks?seq={seq}",
            content=data[start : start + size],
            headers={**headers, "Content-Type": "audio/wav"},
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["chunkCount"] == seq + 1
    finished = browser.post(f"{second.url}{path}/finish", json={}, headers=headers)
    assert finished.status_code == 202, finished.text

    deadline = time.monotonic() + 180  # a generous bound, not a timing assertion
    body = browser.get(first.url + path, headers=headers).json()
    while body["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
        body = browser.get(first.url + path, headers=headers).json()
    assert body["status"] == "done", body
    assert "effusion" in json.dumps(body).lower()
    # The recording is in the bucket, chunk by chunk.
    clinic_folder = f"dictations/{uuid.UUID(cluster.clinic_id).hex}/"
    chunks = cluster.moto.storage().list_keys(clinic_folder)  # this clinic's recordings only
    assert len(chunks) == 3, chunks
    _nothing_on_local_disks(cluster)


def test_mail_written_by_one_process_is_listed_on_any_machine(cluster: Cluster) -> None:
    """Without AUTOSCRIBE_SMTP_URL the outbox is the bucket's: `autoscribe mail outbox` on another
    machine lists an invitation that API process 1 wrote, and its link works on process 2."""
    first, second = cluster.api
    email = f"invitee-{secrets.token_hex(3)}@scale.test"
    sdk(first.url, cluster.api_key).auto_scribe.users.invite(
        email=email,
        first_name="Ina",
        last_name="Invited",
        clinic_role="Radiologist",
        level="member",
        can_create_reports=False,
        can_manage_studies=False,
        has_dashboard_access=True,
    )
    deadline = time.monotonic() + 20  # the worker process sends the queued mail
    while True:
        listed = cluster.run_cli("mail", "outbox", "--json")
        assert listed.returncode == 0, listed.stderr
        outbox = json.loads(listed.stdout)
        mine = [m for m in outbox["messages"] if m["to"] == email]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert outbox["outbox"] == "s3://autoscribe-test/tenant-files/outbox/"
    (message,) = mine
    assert message["link"] and message["link"].startswith(first.url + "/invitations/accept?token=")
    page = web_client(second.url).get(message["link"].removeprefix(first.url))
    assert page.status_code == 200 and "Ina" in page.text
    _nothing_on_local_disks(cluster)


@pytest.mark.parametrize("command", ["serve", "worker", "dicom serve", "api-keys create"])
def test_without_a_shared_secret_key_processes_refuse_to_start(cluster: Cluster, command: str) -> None:
    args = {
        "serve": ["serve", "--port", "0"],
        "worker": ["worker"],
        "dicom serve": ["dicom", "serve", "--port", "0"],
        # A command that encrypts a webhook secret: with a key of its own, no worker could read it.
        "api-keys create": [
            *("api-keys", "create", "--clinic-id", cluster.clinic_id, "--description", "x"),
            *("--study-scope", "all", "--user-access", "none", "--express-access", "none"),
        ],
    }[command]
    env = {k: v for k, v in cluster.env.items() if k != "AUTOSCRIBE_SECRET_KEY"}
    ran = cluster.run_cli(*args, env=env)
    assert ran.returncode == 1, ran.stdout
    assert "AUTOSCRIBE_SECRET_KEY is not set" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert _files_under(cluster.data_dirs[-1:]) == []  # no key file left behind
