"""API Config: "Clinical-context enrichment" on Create API Key (off by default) and a per-key
switch; the key's studies say so through the official SDK (strict model)."""

from __future__ import annotations

import re

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import flash_of, owner_client, submit
from tests.dashboard.test_api_config import _new_key
from tests.helpers import sdk, strict_call, study_body


def test_clinical_context_enrichment_is_switched_per_key(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    form = owner.get("/api-config/new").text
    assert 'id="isClinicalContextEnrichmentEnabled"' in form
    assert not re.search(r'id="isClinicalContextEnrichmentEnabled"[^>]*checked', form)  # off by default
    plaintext, key_id = _new_key(owner, description="PACS without EHR")
    client = sdk(server.url, plaintext)
    study = client.auto_scribe.studies.create(**study_body())

    def card() -> str:
        listing = owner.get("/api-config").text
        start = listing.index(f'id="key-{key_id}"')
        return listing[start : listing.index("</li>", start)]

    def flag() -> bool:
        found = strict_call(client.auto_scribe.studies.retrieve, study.study_id)
        return bool(found.created_by_api_key.is_clinical_context_enrichment_enabled)

    assert f'id="key-{key_id}-clinical-context">Disabled' in card() and flag() is False
    on = submit(owner, "/api-config", f"/api-config/keys/{key_id}/clinical-context", {"enabled": "on"})
    assert "Clinical-context enrichment enabled" in flash_of(owner, on)
    assert f'id="key-{key_id}-clinical-context">Enabled' in card()
    assert "Disable clinical-context enrichment" in card() and flag() is True
    off = submit(owner, "/api-config", f"/api-config/keys/{key_id}/clinical-context", {})
    assert "Clinical-context enrichment disabled" in flash_of(owner, off)
    assert flag() is False

    ticked, ticked_id = _new_key(owner, description="EHR bridge", isClinicalContextEnrichmentEnabled="on")
    made = strict_call(sdk(server.url, ticked).auto_scribe.studies.create, **study_body())
    assert made.created_by_api_key.is_clinical_context_enrichment_enabled is True
    assert f'id="key-{ticked_id}-clinical-context">Enabled' in owner.get("/api-config").text
