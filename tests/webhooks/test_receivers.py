"""Real deliveries verified by the integration guide's own receivers and by the official SDK.

The payload has non-ASCII text, nested objects and arrays, integral floats and characters JSON
must escape: the guide's Node receiver verifies JSON.stringify of the *parsed* body, so the bytes
we sign must be exactly what re-serialization produces.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from avara import Avara
from avara.types import ReportDeliveredEvent

from tests.conftest import _DATA_DIR, free_port, wait_for_http
from tests.webhooks.conftest import (
    REPO,
    IsoDB,
    Receiver,
    attempts,
    enqueue,
    make_tenant,
    sample_report,
    wait_status,
    wait_until,
)

NODE_DIR = REPO / "tests" / "receivers" / "node"

TRICKY = {
    "patient": {
        "name": "Zoë Ångström",
        "aliases": ["Zoe Angstrom", "ゾーイ", "Žofia 🩻"],
        "identifiers": [{"system": "MRN", "value": "A-123", "weightKg": 61.0, "heightM": 1.68}],
    },
    "notes": 'quote " backslash \\ newline \n tab \t bell \u0007 line-sep \u2028 slash /',
    "counts": {"series": 3, "images": 512, "ratio": 0.25, "empty": {}, "none": None, "flags": [True, False]},
}


@pytest.fixture
def seed_receiver(iso: IsoDB) -> Iterator[Callable[[list[str], str], tuple[str, Path]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(command: list[str], secret: str) -> tuple[str, Path]:
        port = free_port()
        log = _DATA_DIR / f"received-{port}.jsonl"
        log.touch()
        env = dict(os.environ, PORT=str(port), RECEIVED_LOG=str(log), AVARA_JWT_WEBHOOK_SECRET=secret)
        out = (_DATA_DIR / f"receiver-{port}.log").open("wb")
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=command_dir(command)
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}/webhooks/avara"
        wait_for_http(f"http://127.0.0.1:{port}/", proc=proc)
        return url, log

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def command_dir(command: list[str]) -> str:
    return str(NODE_DIR) if command[0] == "node" else str(REPO)


FLASK = [sys.executable, str(REPO / "tests" / "receivers" / "flask_receiver.py")]
NODE = ["node", "run.js", "receiver.ts"]


@pytest.mark.parametrize("command", [FLASK, NODE], ids=["flask", "express"])
def test_guide_receiver_verifies_a_real_delivery(
    iso: IsoDB,
    dispatcher: Callable[..., Any],
    seed_receiver: Callable[..., tuple[str, Path]],
    command: list[str],
) -> None:
    if command[0] == "node":
        assert (NODE_DIR / "node_modules" / "express").is_dir(), (
            "run `npm ci` in tests/receivers/node (make test does)"
        )
    tenant = make_tenant(iso)
    url, log = seed_receiver(command, tenant.secret)
    from autoscribe.audit.service import Actor
    from autoscribe.auth.models import ApiKey
    from autoscribe.auth.service import update_endpoints

    with iso.maker() as session:
        update_endpoints(
            session, session.get(ApiKey, tenant.api_key_id), actor=Actor.system(), report_webhook_url=url
        )
        session.commit()
    # A second key whose receiver has a different secret: the guide's check must refuse it.
    impostor = make_tenant(iso, report_url=url)

    dispatcher()
    data = sample_report(**TRICKY)
    good = enqueue(iso, tenant, data)
    bad = enqueue(iso, impostor, sample_report())

    wait_status(iso, good, "succeeded")
    assert attempts(iso, good)[0].status_code == 200
    received = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(received) == 1
    got = received[0]
    # Flask names the fields snake_case, the Express sample camelCase: either way, unchanged text.
    assert (
        got.get("plain_text") or got.get("plainText")
    ) == "Patient: Zoë Ångström\nIMPRESSION: Normal study."
    assert (got.get("report_id") or got.get("reportId")) == data["reportId"]

    first = wait_until(lambda: attempts(iso, bad), what="the impostor's first attempt")[0]
    assert first.status_code == 401 and not first.succeeded
    assert "Invalid signature" in (first.response_body or "")


def test_sdk_unwrap_and_standardwebhooks_verify_the_same_request(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    tenant = make_tenant(iso, report_url=receiver.url)
    dispatcher()
    data = sample_report(**TRICKY)
    event_id = enqueue(iso, tenant, data)
    wait_status(iso, event_id, "succeeded")

    [request] = receiver.requests
    body = request.body.decode("utf-8")
    headers = dict(request.headers)

    # The official SDK, the way its README tells integrators to verify.
    event = Avara(api_key="unused", webhook_key=tenant.secret).webhooks.unwrap(body, headers=headers)
    assert isinstance(event, ReportDeliveredEvent)
    assert event.id == event_id == headers["webhook-id"]
    assert event.data.report_id == data["reportId"]
    assert event.data.plain_text == "Patient: Zoë Ångström\nIMPRESSION: Normal study."
    assert Avara(api_key="unused").webhooks.unwrap(body, headers=headers, key=tenant.secret).id == event_id

    # The standardwebhooks library directly, and the nested data survives byte for byte.
    parsed = standardwebhooks.Webhook(tenant.secret).verify(body, headers)
    assert parsed["data"]["patient"] == {
        "name": "Zoë Ångström",
        "aliases": ["Zoe Angstrom", "ゾーイ", "Žofia 🩻"],
        "identifiers": [{"system": "MRN", "value": "A-123", "weightKg": 61, "heightM": 1.68}],
    }
    assert list(parsed) == ["id", "type", "data"]
    assert "Zoë Ångström" in body  # sent as UTF-8, not \u escapes

    # A wrong secret or a changed byte fails both.
    other = make_tenant(iso).secret
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(body, headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(tenant.secret).verify(body.replace("Zoë", "Zoe"), headers)

    # Both timestamps are the same instant; Unix ms for the guide's header.
    assert int(headers["x-avara-timestamp"]) // 1000 == int(headers["webhook-timestamp"])
    assert headers["content-type"] == "application/json"


def test_node_reserialization_reproduces_the_signed_bytes(iso: IsoDB) -> None:
    """What Express's JSON.stringify(req.body) gives back is what we signed, for a tricky payload."""
    from autoscribe.webhooks.signing import envelope_bytes

    body = envelope_bytes("whe_" + "0" * 32, "report.delivered", sample_report(**TRICKY))
    script = (
        "let s='';process.stdin.on('data',d=>s+=d)"
        ".on('end',()=>process.stdout.write(JSON.stringify(JSON.parse(s))))"
    )
    out = subprocess.run(["node", "-e", script], input=body, capture_output=True, check=True).stdout
    assert out == body
