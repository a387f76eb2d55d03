"""The `autoscribe` console script, run as integrators and operators run it (subprocess, --json)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import avara
import pytest

from tests.conftest import Server
from tests.helpers import sdk, study_body

AUTOSCRIBE = str(Path(sys.executable).parent / "autoscribe")


def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([AUTOSCRIBE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == expect, done.stdout + done.stderr
    return done


def run_json(*args: str) -> dict[str, Any]:
    out = run(*args, "--json").stdout.strip().splitlines()
    assert len(out) == 1, out  # one JSON object, nothing else on stdout
    data = json.loads(out[0])
    assert isinstance(data, dict)
    return data


def bootstrap() -> dict[str, Any]:
    return run_json(
        "bootstrap",
        "--clinic-name",
        "CLI Clinic " + secrets.token_hex(3),
        "--owner-email",
        f"cli-{secrets.token_hex(3)}@example.test",
        "--owner-password",
        "correct horse battery",
    )


def test_bootstrap_prints_a_working_key(server: Server) -> None:
    made = bootstrap()
    assert made["created"] is True
    assert made["userId"].startswith("usr_") and len(made["userId"]) == 36
    assert made["apiKey"].startswith("as_live_")
    assert made["webhookSecret"].startswith("whsec_")
    assert "clinicId" in made and "apiKeyId" in made
    client = sdk(server.url, made["apiKey"])
    assert client.express.list().express_customers == []  # Express access: write
    study = client.auto_scribe.studies.create(**study_body())
    assert study.created_by_api_key is not None
    assert study.created_by_api_key.api_key_id == made["apiKeyId"]


def test_bootstrap_if_empty_does_nothing_on_a_used_database(server: Server) -> None:
    bootstrap()
    again = run_json(
        "bootstrap",
        "--if-empty",
        "--clinic-name",
        "Again",
        "--owner-email",
        "x@example.test",
        "--generate-password",
    )
    assert again == {"created": False}


def test_bootstrap_refuses_bad_input() -> None:
    failed = run(
        "bootstrap",
        "--clinic-name",
        "C",
        "--owner-email",
        "o@example.test",
        "--owner-password",
        "short",
        expect=1,
    )
    assert "ownerPassword" in failed.stderr and "Traceback" not in failed.stderr
    missing = run("bootstrap", "--clinic-name", "C", "--owner-email", "o@example.test", expect=2)
    assert "--owner-password" in missing.stderr


def test_api_keys_lifecycle(server: Server) -> None:
    clinic = bootstrap()
    made = run_json(
        "api-keys",
        "create",
        "--clinic-id",
        clinic["clinicId"],
        "--description",
        "PACS north",
        "--study-scope",
        "self",
        "--user-access",
        "read",
        "--express-access",
        "none",
        "--study-webhook-url",
        "https://pacs.example.test/study",
    )
    assert set(made) == {"apiKeyId", "apiKey", "webhookSecret"}
    key_id = made["apiKeyId"]

    listed = run_json("api-keys", "list", "--clinic-id", clinic["clinicId"])["apiKeys"]
    by_id = {k["apiKeyId"]: k for k in listed}
    assert set(by_id) == {clinic["apiKeyId"], key_id}
    mine = by_id[key_id]
    assert (mine["description"], mine["studyScope"], mine["userAccess"], mine["expressAccess"]) == (
        "PACS north",
        "self",
        "read",
        "none",
    )
    assert mine["studyWebhookUrl"] == "https://pacs.example.test/study" and mine["reportWebhookUrl"] is None
    assert mine["revoked"] is False and made["apiKey"].startswith(mine["keyPrefix"])
    assert made["apiKey"] not in json.dumps(listed)  # the key itself is never shown again

    updated = run_json(
        "api-keys",
        "update",
        "--api-key-id",
        key_id,
        "--report-webhook-url",
        "https://pacs.example.test/r",
        "--study-webhook-url",
        "",
    )
    assert updated["reportWebhookUrl"] == "https://pacs.example.test/r" and updated["studyWebhookUrl"] is None
    bad_url = run("api-keys", "update", "--api-key-id", key_id, "--study-webhook-url", "ftp://x", expect=1)
    assert "studyWebhookUrl" in bad_url.stderr

    shown = run_json("api-keys", "secret", "--api-key-id", key_id)
    assert shown == {"apiKeyId": key_id, "webhookSecret": made["webhookSecret"]}
    rotated = run_json("api-keys", "secret", "--api-key-id", key_id, "--rotate")
    assert rotated["webhookSecret"].startswith("whsec_") and rotated["webhookSecret"] != made["webhookSecret"]
    assert run_json("api-keys", "secret", "--api-key-id", key_id) == rotated

    client = sdk(server.url, made["apiKey"])
    with pytest.raises(avara.PermissionDeniedError):
        client.express.list()  # Express access none
    client.auto_scribe.studies.create(**study_body())

    revoked = run_json("api-keys", "revoke", "--api-key-id", key_id)
    assert revoked["revoked"] is True
    with pytest.raises(avara.AuthenticationError):
        client.auto_scribe.studies.list()
    # The clinic's first key is untouched.
    assert len(list(sdk(server.url, clinic["apiKey"]).auto_scribe.studies.list())) == 1


def test_api_keys_errors_are_one_line_without_traceback(server: Server) -> None:
    failed = run("api-keys", "revoke", "--api-key-id", "00000000-0000-4000-8000-000000000000", expect=1)
    assert "No such API key" in failed.stderr and "Traceback" not in failed.stderr
    bad = run(
        "api-keys",
        "create",
        "--clinic-id",
        "nope",
        "--description",
        "d",
        "--study-scope",
        "all",
        "--user-access",
        "none",
        "--express-access",
        "none",
        expect=2,
    )
    assert "--clinic-id" in bad.stderr
    no_change = run("api-keys", "update", "--api-key-id", "00000000-0000-4000-8000-000000000000", expect=2)
    assert "--study-webhook-url" in no_change.stderr


def test_api_keys_viewer_enabled(server: Server) -> None:
    """--viewer-enabled true|false on create and update: a key without the Viewer gets a clear
    403 on /v1/viewer, and gets in once it is switched on."""
    clinic = bootstrap()
    made = run_json(
        "api-keys",
        "create",
        "--clinic-id",
        clinic["clinicId"],
        "--description",
        "Reporting only",
        "--study-scope",
        "all",
        "--user-access",
        "none",
        "--express-access",
        "none",
        "--viewer-enabled",
        "false",
    )
    key_id = made["apiKeyId"]
    listed = {
        k["apiKeyId"]: k for k in run_json("api-keys", "list", "--clinic-id", clinic["clinicId"])["apiKeys"]
    }
    assert listed[key_id]["isViewerEnabled"] is False
    assert listed[clinic["apiKeyId"]]["isViewerEnabled"] is True  # the default
    client = sdk(server.url, made["apiKey"])
    with pytest.raises(avara.PermissionDeniedError) as refused:
        client.viewer.studies.list()
    assert "isViewerEnabled is false" in refused.value.body["error"]["message"]

    assert run_json("api-keys", "update", "--api-key-id", key_id, "--viewer-enabled", "true")[
        "isViewerEnabled"
    ]
    assert list(client.viewer.studies.list()) == []
    off = run_json("api-keys", "update", "--api-key-id", key_id, "--viewer-enabled", "false")
    assert off["isViewerEnabled"] is False
    with pytest.raises(avara.PermissionDeniedError):
        client.viewer.studies.list()
    bad = run("api-keys", "update", "--api-key-id", key_id, "--viewer-enabled", "yes", expect=2)
    assert "--viewer-enabled" in bad.stderr
