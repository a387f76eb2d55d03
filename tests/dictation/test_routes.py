"""Workspace dictation endpoints, in process, with a test-only override of the workspace session.

The real model runs (a WebM/Opus recording uploaded in chunks) and the in-process worker that
`autoscribe.app.LIFESPAN` starts does the transcription: nothing runs on the request thread.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from autoscribe.config import get_settings
from autoscribe.dictation.routes import DictationContext, dictation_context
from tests.conftest import ClinicFixture
from tests.dictation.test_service import make_study

EXPECTED = ("pleural", "effusion", "pneumothorax")


@pytest.fixture
def app_client(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, DictationContext]]]:
    from autoscribe.app import create_app

    monkeypatch.setattr(get_settings(), "worker_queues", "dictation")
    monkeypatch.setattr(get_settings(), "task_poll_seconds", 0.1)
    app = create_app()
    current: dict[str, DictationContext] = {}
    app.dependency_overrides[dictation_context] = lambda: current["ctx"]
    with TestClient(app) as client:  # runs the lifespan: the worker's task runner starts
        yield client, current


def _wait(client: TestClient, url: str, done: object, seconds: float = 120) -> dict[str, object]:
    """Poll like the workspace does, until `done(body)` or a generous deadline (not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while True:
        body = client.get(url).json()
        if done(body) or time.monotonic() > deadline:  # type: ignore[operator]
            return body  # type: ignore[no-any-return]
        time.sleep(0.2)


def test_chunked_upload_partial_then_final_draft(
    app_client: tuple[TestClient, dict[str, DictationContext]], clinic: ClinicFixture, dictation_webm: Path
) -> None:
    client, current = app_client
    study_id = make_study(clinic.clinic_id, "CT CHEST WITHOUT CONTRAST", clinical_indication="Cough")
    current["ctx"] = DictationContext(uuid.UUID(clinic.clinic_id), None, study_id)

    templates = client.get("/workspace/api/scribe/templates").json()["data"]
    assert {"ct-chest", "generic"} <= {t["templateId"] for t in templates}

    created = client.post("/workspace/api/dictations", json={"contentType": "audio/webm;codecs=opus"})
    assert created.status_code == 201, created.text
    dictation = created.json()
    assert dictation["status"] == "recording" and dictation["templateId"] == "ct-chest"
    url = f"/workspace/api/dictations/{dictation['dictationId']}"

    data = dictation_webm.read_bytes()
    size = len(data) // 3 + 1
    for seq, start in enumerate(range(0, len(data), size)):
        response = client.post(
            f"{url}/chunks?seq={seq}",
            content=data[start : start + size],
            headers={"Content-Type": "audio/webm"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["chunkCount"] == seq + 1
    gap = client.post(f"{url}/chunks?seq=9", content=b"x", headers={"Content-Type": "audio/webm"})
    assert gap.status_code == 409 and gap.json()["error"]["param"] == "seq"

    partial = _wait(client, url, lambda b: b["partialChunks"] == 3)
    assert any(w in str(partial["partialText"]).lower() for w in EXPECTED), partial

    finished = client.post(f"{url}/finish")
    assert finished.status_code == 202 and finished.json()["status"] == "processing"
    assert finished.json()["dictationId"] == dictation["dictationId"]
    final = _wait(client, url, lambda b: b["status"] in ("done", "failed"))
    assert final["status"] == "done", final
    result = final["result"]
    assert isinstance(result, dict)
    assert all(w in str(final["finalText"]).lower() for w in EXPECTED)
    assert "right pleural effusion" in result["sections"]["findings"].lower()
    assert result["sections"]["clinicalIndication"] == "Cough."
    assert any("pleural effusion" in item.lower() for item in result["impression"])
    assert result["draft"]["templateId"] == "ct-chest"

    late = client.post(f"{url}/chunks?seq=3", content=b"late", headers={"Content-Type": "audio/webm"})
    assert late.status_code == 409


def test_dictations_are_bound_to_the_workspace_study_and_clinic(
    app_client: tuple[TestClient, dict[str, DictationContext]],
    clinic: ClinicFixture,
    other_clinic: ClinicFixture,
) -> None:
    client, current = app_client
    study_a = make_study(clinic.clinic_id)
    study_b = make_study(clinic.clinic_id)
    current["ctx"] = DictationContext(uuid.UUID(clinic.clinic_id), None, study_a)
    dictation = client.post("/workspace/api/dictations").json()["dictationId"]
    assert client.get(f"/workspace/api/dictations/{dictation}").status_code == 200

    current["ctx"] = DictationContext(uuid.UUID(clinic.clinic_id), None, study_b)
    assert client.get(f"/workspace/api/dictations/{dictation}").status_code == 404
    current["ctx"] = DictationContext(uuid.UUID(other_clinic.clinic_id), None, study_a)
    assert client.get(f"/workspace/api/dictations/{dictation}").status_code == 404
    assert client.post("/workspace/api/dictations").status_code == 404  # not this clinic's study

    current["ctx"] = DictationContext(uuid.UUID(clinic.clinic_id), None, study_a)
    bad = client.get("/workspace/api/dictations/not-an-id")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "dictationId"
    empty = client.post(f"/workspace/api/dictations/{dictation}/finish")
    assert empty.status_code == 422
    unknown = client.post("/workspace/api/dictations", json={"templateId": "no-such"})
    assert unknown.status_code == 400


def test_without_a_workspace_session_the_routes_refuse(database: str) -> None:
    from autoscribe.app import create_app

    with TestClient(create_app()) as client:
        response = client.post("/workspace/api/dictations")
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
