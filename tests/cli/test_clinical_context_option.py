"""`autoscribe api-keys create|update --clinical-context-enrichment true|false`, as operators run
it (subprocess, --json): the studies the key creates say so (createdByApiKey.
isClinicalContextEnrichmentEnabled, read with the official SDK and its model in strict mode),
following the key's current setting."""

from __future__ import annotations

from tests.cli.test_cli import bootstrap, run, run_json
from tests.conftest import Server
from tests.helpers import sdk, strict_call, study_body


def test_the_option_on_create_and_update_and_on_the_keys_studies(server: Server) -> None:
    clinic = bootstrap()
    made = run_json(
        "api-keys",
        "create",
        "--clinic-id",
        clinic["clinicId"],
        "--description",
        "EHR bridge",
        "--study-scope",
        "all",
        "--user-access",
        "none",
        "--express-access",
        "none",
        "--study-webhook-url",
        "https://ehr.example.test/avara",
        "--clinical-context-enrichment",
        "true",
    )
    key_id = made["apiKeyId"]
    listed = {
        k["apiKeyId"]: k for k in run_json("api-keys", "list", "--clinic-id", clinic["clinicId"])["apiKeys"]
    }
    assert listed[key_id]["isClinicalContextEnrichmentEnabled"] is True
    assert listed[clinic["apiKeyId"]]["isClinicalContextEnrichmentEnabled"] is False  # the default
    human = run("api-keys", "list", "--clinic-id", clinic["clinicId"]).stdout
    assert "context=on" in human and "context=off" in human

    client = sdk(server.url, made["apiKey"])
    created = strict_call(client.auto_scribe.studies.create, **study_body())
    assert created.created_by_api_key.is_clinical_context_enrichment_enabled is True
    other = sdk(server.url, clinic["apiKey"]).auto_scribe.studies.create(**study_body())
    assert other.created_by_api_key is not None
    assert other.created_by_api_key.is_clinical_context_enrichment_enabled is False

    off = run_json("api-keys", "update", "--api-key-id", key_id, "--clinical-context-enrichment", "false")
    assert off["isClinicalContextEnrichmentEnabled"] is False
    assert off["studyWebhookUrl"] == "https://ehr.example.test/avara"  # nothing else changed
    # Studies follow the key's setting as it is now.
    again = strict_call(client.auto_scribe.studies.retrieve, created.study_id)
    assert again.created_by_api_key.is_clinical_context_enrichment_enabled is False
    listed_studies = strict_call(client.auto_scribe.studies.list)
    assert {s.created_by_api_key.is_clinical_context_enrichment_enabled for s in listed_studies.studies} == {
        False
    }
    on = run("api-keys", "update", "--api-key-id", key_id, "--clinical-context-enrichment", "true").stdout
    assert "clinical-context enrichment: enabled" in on
    assert strict_call(
        client.auto_scribe.studies.retrieve_by_uid, created.study_instance_uid
    ).created_by_api_key.is_clinical_context_enrichment_enabled

    bad = run("api-keys", "update", "--api-key-id", key_id, "--clinical-context-enrichment", "yes", expect=2)
    assert "--clinical-context-enrichment" in bad.stderr
    nothing = run("api-keys", "update", "--api-key-id", key_id, expect=2)
    assert "--clinical-context-enrichment" in nothing.stderr
