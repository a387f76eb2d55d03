"""DICOM edge harness: `autoscribe dicom serve` as a real process on a loopback port (same
database and storage as the `server` fixture), clinics with an AE title and a DICOM API key whose
study webhook is a local receiver, and DCMTK's command-line tools as peers."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _DATA_DIR, ClinicFixture, free_port
from tests.helpers import KeyFixture, make_key
from tests.webhooks.conftest import Received, Receiver
from tests.webhooks.conftest import receivers as receivers  # the fixture, for this package too

DCMTK = ("echoscu", "storescu", "findscu", "dcmcjpls", "dcmcjpeg")

# Short enough for quick tests, long enough that one storescu run ends before seeding starts.
IDLE_SECONDS = "1.5"
SYNC_TIMEOUT = "2"


def require_dcmtk() -> None:
    missing = [tool for tool in DCMTK if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"DCMTK tools missing ({', '.join(missing)}): apt-get install dcmtk (see .ci/run)")


@dataclass
class ListenerProcess:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dicom serve exited with {proc.returncode}: {log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"dicom serve did not listen on {port} within {timeout}s: {log_path.read_text()}")


def start_listener(extra_env: dict[str, str] | None = None, name: str = "dicom") -> ListenerProcess:
    port = free_port()
    env = dict(os.environ)
    env["AUTOSCRIBE_DICOM_STUDY_IDLE_SECONDS"] = IDLE_SECONDS
    env["AUTOSCRIBE_WEBHOOK_SYNC_TIMEOUT"] = SYNC_TIMEOUT
    env["AUTOSCRIBE_LOG_LEVEL"] = "info"
    env.update(extra_env or {})
    log_path = _DATA_DIR / f"{name}-{port}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoscribe.cli",
            "dicom",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc, log_path)
    except RuntimeError:
        proc.kill()
        raise
    return ListenerProcess("127.0.0.1", port, proc, log_path)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def listener(database: str) -> Iterator[ListenerProcess]:
    require_dcmtk()
    running = start_listener()
    yield running
    stop_process(running.process)


# ---- clinics with an AE title and a DICOM key ------------------------------------------------------


Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any] | bytes]]


@dataclass
class DicomClinic:
    clinic: ClinicFixture
    ae_title: str
    key: KeyFixture
    receiver: Receiver
    answers: dict[str, Answer]

    @property
    def clinic_id(self) -> str:
        return self.clinic.clinic_id

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.receiver.events() if event_type is None or e["type"] == event_type]

    def requests(self, event_type: str) -> list[Received]:
        return [r for r in list(self.receiver.requests) if r.event["type"] == event_type]


def configure(clinic_id: str, **changes: Any) -> None:
    from autoscribe.audit.service import Actor
    from autoscribe.db import session_scope
    from autoscribe.dicom.service import configure_clinic

    with session_scope() as session:
        configure_clinic(session, uuid.UUID(clinic_id), actor=Actor.system(), **changes)


@pytest.fixture
def dicom_clinic(clinic: ClinicFixture, receivers: Callable[..., Receiver]) -> DicomClinic:
    """The clinic of the test with an AE title of its own and a DICOM key whose study webhook is a
    local receiver. `answers[event type](data) -> (status, body)` programs its answers (default:
    `{}` to enrichment, no scheduled exams to the worklist)."""
    answers: dict[str, Answer] = {
        "patient_study.enrichment_requested": lambda _data: (200, {}),
        "modality_worklist.requested": lambda _data: (200, {"authorized": True, "items": []}),
    }

    def respond(request: Received) -> tuple[int, dict[str, str], bytes]:
        event = request.event
        status, body = answers[event["type"]](event["data"])
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        return status, {"Content-Type": "application/json"}, payload

    receiver = receivers(respond)
    key = make_key(clinic.clinic_id, study_webhook_url=receiver.url, description="DICOM key")
    ae_title = "T" + secrets.token_hex(6).upper()
    configure(clinic.clinic_id, ae_title=ae_title, dicom_api_key_id=uuid.UUID(key.api_key_id))
    return DicomClinic(clinic, ae_title, key, receiver, answers)


# ---- DCMTK ---------------------------------------------------------------------------------------


def run_tool(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
