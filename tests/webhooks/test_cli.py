"""The webhook commands: worker + replay, send-test (async and sync events), show."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import standardwebhooks
from avara import Avara
from avara.types import ReportDeliveredEvent

from tests.webhooks.conftest import (
    IsoDB,
    Receiver,
    WorkerProcess,
    attempts,
    enqueue,
    make_tenant,
    sample_report,
    wait_status,
)


def cli(iso: IsoDB, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", *args],
        env=iso.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_replay_sends_a_failed_event_again_with_the_same_id(
    iso: IsoDB, worker_processes: Callable[..., WorkerProcess], receivers: Callable[..., Receiver]
) -> None:
    up = {"yes": False}
    receiver = receivers(lambda _r: (200, {}, b"thanks") if up["yes"] else (500, {}, b"down"))
    tenant = make_tenant(iso, report_url=receiver.url)
    worker_processes(AUTOSCRIBE_WEBHOOK_RETRY_SCHEDULE="0,0.1")
    event_id = enqueue(iso, tenant, sample_report())
    wait_status(iso, event_id, "failed")

    up["yes"] = True
    done = cli(iso, "webhooks", "replay", event_id)
    assert done.returncode == 0, done.stderr
    assert event_id in done.stdout
    wait_status(iso, event_id, "succeeded")
    assert receiver.ids() == [event_id] * 3
    assert [a.status_code for a in attempts(iso, event_id)] == [500, 500, 200]

    shown = cli(iso, "webhooks", "show", event_id, "--json")
    data = json.loads(shown.stdout)
    assert data["status"] == "succeeded" and data["attemptCount"] == 3
    assert [a["statusCode"] for a in data["attempts"]] == [500, 500, 200]
    assert data["attempts"][-1]["responseBody"] == "thanks"

    missing = cli(iso, "webhooks", "replay", "whe_" + "0" * 32)
    assert missing.returncode == 1 and "No such webhook event" in missing.stderr


def test_send_test_report_delivered(iso: IsoDB, receivers: Callable[..., Receiver]) -> None:
    receiver = receivers(lambda _r: (200, {"Content-Type": "application/json"}, b'{"success":true}'))
    tenant = make_tenant(iso, report_url=receiver.url)
    human = cli(iso, "webhooks", "send-test", "--api-key-id", str(tenant.api_key_id))
    assert human.returncode == 0, human.stderr
    assert "OK: report.delivered" in human.stdout and "status: 200" in human.stdout
    assert 'response: {"success":true}' in human.stdout

    out = cli(iso, "webhooks", "send-test", "--api-key-id", str(tenant.api_key_id), "--json")
    result = json.loads(out.stdout)
    assert result["succeeded"] and result["statusCode"] == 200 and result["durationMs"] >= 0
    request = receiver.requests[-1]
    event = Avara(api_key="x", webhook_key=tenant.secret).webhooks.unwrap(
        request.body.decode(), headers=request.headers
    )
    assert isinstance(event, ReportDeliveredEvent) and event.id == result["eventId"]
    assert event.data.report_id.startswith("rep_") and event.data.presigned_url.startswith("http")
    assert event.data.plain_text and "IMPRESSION" in event.data.plain_text


def test_send_test_study_access_prints_the_validated_answer(
    iso: IsoDB, receivers: Callable[..., Receiver]
) -> None:
    def respond(req: Any) -> Any:
        standardwebhooks.Webhook(tenant.secret).verify(req.body, req.headers)
        return (
            200,
            {},
            json.dumps({"authorized": True, "urls": ["https://pacs.example.test/1.dcm"]}).encode(),
        )

    receiver = receivers(respond)
    tenant = make_tenant(iso, study_url=receiver.url)
    args = [
        "webhooks",
        "send-test",
        "--api-key-id",
        str(tenant.api_key_id),
        "--event",
        "study.access_requested",
    ]
    out = cli(iso, *args, "--json")
    result = json.loads(out.stdout)
    assert out.returncode == 0 and result["answer"] == {
        "authorized": True,
        "urls": ["https://pacs.example.test/1.dcm"],
        "mediaUrls": [],
    }
    assert receiver.events()[0]["type"] == "study.access_requested"

    human = cli(iso, *args)
    assert "validated answer" in human.stdout and "pacs.example.test" in human.stdout

    # A broken endpoint: exit code 1, the reason printed.
    receiver.respond = lambda _r: (200, {}, b'{"urls": []}')
    failed = cli(iso, *args)
    assert failed.returncode == 1 and "FAILED" in failed.stdout and "authorized is missing" in failed.stdout

    # No endpoint for the event: a one-line error naming the setting.
    no_endpoint = cli(iso, "webhooks", "send-test", "--api-key-id", str(tenant.api_key_id))
    assert no_endpoint.returncode == 1 and "reportWebhookUrl" in no_endpoint.stderr
