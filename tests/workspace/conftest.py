"""Workspace tests: a server of their own (info logging, so that the access log can be checked for
tokens), the fake PACS as the integrator's image archive, a report receiver, and helpers to mint
and open links.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from avara import Avara
from playwright.sync_api import Browser, Page

from tests.conftest import ClinicFixture, Server, start_server, stop_server
from tests.fakepacs import FakePacs, Series, Study, ct_series, mr_series
from tests.helpers import KeyFixture, make_key, make_user, new_uid, sdk, web_client
from tests.reporting import PATIENT, Receiver

NPI = "1679576722"


@pytest.fixture(scope="package")
def ws_server(database: str) -> Iterator[Server]:
    srv = start_server({"AUTOSCRIBE_LOG_LEVEL": "info"}, name="workspace")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="package")
def pacs_server() -> Iterator[FakePacs]:
    pacs = FakePacs.start()
    yield pacs
    pacs.stop()


@pytest.fixture
def pacs(pacs_server: FakePacs) -> Iterator[FakePacs]:
    pacs_server.clear_log()
    pacs_server.invalid_events.clear()
    with pacs_server.faults_cleared():
        yield pacs_server
    # Every event the platform sent is what the official SDK's model of its type accepts.
    assert not pacs_server.invalid_events, pacs_server.invalid_events


@pytest.fixture(scope="package")
def series() -> list[Series]:
    """A synthetic CT (60 slices) and MR (20 slices), built once (files are patched per study)."""
    return [ct_series(60, 128), mr_series(20, 96)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.start()
    yield rec
    rec.stop()


@dataclass
class Integration:
    """One clinic's integrator: an API key whose study webhook is the fake PACS and whose report
    webhook is the receiver, an SDK client, and a radiologist."""

    server: Server
    clinic: ClinicFixture
    key: KeyFixture
    client: Avara
    pacs: FakePacs
    receiver: Receiver
    radiologist: str

    def study(self, series: list[Series] | None = None, **fields: Any) -> tuple[str, Study]:
        """A study in the PACS and the same study created through the SDK (unassigned)."""
        uid = new_uid()
        pacs_study = self.pacs.add_study(uid, series=series or [])
        params: dict[str, Any] = {
            "severity": "normal",
            "study_description": "CT Chest without contrast",
            "study_instance_uid": uid,
            "report_metadata": PATIENT,
            "clinical_indication": "Cough for six weeks.",
            "technologist_technique": "Axial CT of the chest without contrast, 2.5 mm.",
        }
        params.update(fields)
        created = self.client.auto_scribe.studies.create(**params)
        return created.study_id, pacs_study

    def reroute(self, study_id: str, user: str | None = None) -> str:
        return self.client.auto_scribe.studies.reroute_url(
            assigned_to_user_id=user or self.radiologist, study_id=study_id
        ).url

    def viewer_only(self, study_id: str, user: str | None = None) -> str:
        kwargs: dict[str, Any] = {"study_id": study_id}
        if user:
            kwargs["user_id"] = user
        return self.client.auto_scribe.studies.viewer_only_reroute_url(**kwargs).url


@pytest.fixture
def integration(ws_server: Server, clinic: ClinicFixture, pacs: FakePacs, receiver: Receiver) -> Integration:
    key = make_key(clinic.clinic_id, study_webhook_url=pacs.webhook_url, report_webhook_url=receiver.url)
    pacs.secret = key.webhook_secret
    receiver.secret = key.webhook_secret
    radiologist = make_user(clinic.clinic_id, first_name="Rita", last_name="Reader", npi=NPI)
    return Integration(ws_server, clinic, key, sdk(ws_server.url, key.api_key), pacs, receiver, radiologist)


def open_link(url: str) -> tuple[httpx.Client, httpx.Response]:
    """Open a link like a browser that does not follow the redirect (so the test sees it)."""
    client = web_client(url.split("/study/")[0].split("/ephemeral")[0])
    response = client.get(url.removeprefix(str(client.base_url).rstrip("/")))
    return client, response


def uuid_of(branded: str) -> uuid.UUID:
    return uuid.UUID(hex=branded.split("_", 1)[1])


@pytest.fixture
def ws_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Fresh browser contexts (own cookies) for workspace pages."""
    contexts = []

    def factory(width: int = 1400, height: int = 900) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.page_errors = errors  # type: ignore[attr-defined]
        return page

    yield factory
    for context in contexts:
        context.close()
