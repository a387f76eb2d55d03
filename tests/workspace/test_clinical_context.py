"""Clinical-context enrichment over real HTTP: the first time a study's report is started (the
workspace page's POST .../report/start, never the page's GET), the platform sends
`clinical_context.enrichment_requested` (signed, to the key's study data endpoint, in the webhook
log) and the answer fills the draft's empty clinical indication and technique, the technologist
notes, the priors panel and the documents (documentUrls downloaded and stored). Once per study;
an integrator that fails, answers nonsense or is too slow never blocks reading.

The fake PACS plays the integrator's EHR; its server is this module's own, with a short
enrichment timeout (AUTOSCRIBE_CLINICAL_CONTEXT_TIMEOUT_SECONDS) so the slow case is quick.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import avara
import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Server, start_server, stop_server
from tests.dashboard.conftest import owner_client
from tests.helpers import start_workspace_report, strict_call, strict_event
from tests.viewerpage import wait_first_image
from tests.workspace.conftest import Integration, open_link

TIMEOUT_SECONDS = 1.5
EHR_INDICATION = "Persistent cough and weight loss; former smoker (40 pack-years)."
EHR_TECHNIQUE = "Low-dose CT of the chest, 1 mm reconstructions, no IV contrast."
STUDY_TECHNIQUE = "Axial CT of the chest without contrast, 2.5 mm."
PRIOR_TEXT = "CT chest 2025-03-02: 6 mm solid nodule in the right upper lobe. Follow-up advised."
NOTE = "Patient could not hold breath for the full scan."
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EVENT = "clinical_context.enrichment_requested"


@pytest.fixture(scope="module")
def ws_server(database: str) -> Iterator[Server]:
    """This module's server: the workspace's, with a short enrichment timeout."""
    srv = start_server(
        {"AUTOSCRIBE_LOG_LEVEL": "info", "AUTOSCRIBE_CLINICAL_CONTEXT_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)},
        name="clinical-context",
    )
    yield srv
    stop_server(srv)


class _Documents:
    """The EHR's document store: /docs/history.pdf, /docs/notes.txt; anything else is 404."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        files = {
            "/docs/history.pdf": (PDF, "application/pdf"),
            "/docs/notes.txt": (b"Allergy: iodine.", "text/plain"),
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.paths.append(self.path)
                body, ctype = files.get(self.path, (b"not found", "text/html"))
                self.send_response(200 if self.path in files else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def documents() -> Iterator[_Documents]:
    docs = _Documents()
    yield docs
    docs.stop()


def _answer(docs: _Documents) -> dict[str, Any]:
    return {
        "clinicalIndication": EHR_INDICATION,
        "technologistTechnique": EHR_TECHNIQUE,
        "technologistNotes": [NOTE],
        "priorReports": [
            {
                "reportText": PRIOR_TEXT,
                "externalStudyId": "EHR-4411",
                "modality": "CT",
                "studyDate": "2025-03-02",
                "studyDescription": "CT Chest (EHR)",
            }
        ],
        "documents": [
            {"fileName": "referral.txt", "content": ["Referral from Dr. Alan Referrer.", "Please compare."]}
        ],
        "documentUrls": [
            {"url": f"{docs.url}/docs/history.pdf", "fileName": "history.pdf"},
            {"url": f"{docs.url}/docs/notes.txt"},
            {"url": f"{docs.url}/docs/missing.pdf", "fileName": "missing.pdf"},
        ],
    }


def _ehr(
    integration: Integration, answer: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Make the fake PACS answer enrichment with `answer(event)` (and images as before); the
    enrichment events it received are returned in the list (filled as they arrive)."""
    pacs = integration.pacs
    seen: list[dict[str, Any]] = []

    def respond(event: dict[str, Any]) -> dict[str, Any]:
        if event.get("type") == EVENT:
            seen.append(event)
            return answer(event)
        return pacs.access_response(str(event["data"].get("studyInstanceUid", "")))

    pacs.webhook_response = respond
    return seen


def _enable(key_id: str, enabled: bool = True) -> None:
    from autoscribe.audit.service import Actor
    from autoscribe.auth.models import ApiKey
    from autoscribe.auth.service import set_clinical_context_enrichment
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = session.get(ApiKey, uuid.UUID(key_id))
        assert key is not None
        set_clinical_context_enrichment(session, key, enabled, actor=Actor.system())


@dataclass
class _Reading:
    page: str  # the page as served, before its script starts the report
    started: dict[str, Any]  # the answer to POST .../report/start, which the script puts in place

    @property
    def shown(self) -> str:
        """The report area, the clinical context and the priors panel once the report started."""
        return "\n".join(
            (self.started["html"], self.started["clinicalContextHtml"], self.started["priorsHtml"])
        )


def _open(integration: Integration, study_id: str) -> _Reading:
    """Open a fresh reroute URL and start the report, as the workspace page's script does."""
    client, opened = open_link(integration.reroute(study_id))
    assert opened.status_code == 303, opened.text[:500]
    page = client.get(opened.headers["location"])
    assert page.status_code == 200, page.text[:2000]
    started = start_workspace_report(client, study_id, page.text)
    assert started.status_code == 200, started.text[:2000]
    return _Reading(page.text, started.json())


def _current_draft(study_id: str) -> dict[str, Any] | None:
    from autoscribe.db import session_scope
    from autoscribe.reports import service
    from tests.reporting import study_row

    with session_scope() as session:
        draft = service.current_draft(session, study_row(session, study_id))
        return None if draft is None else {**draft.content, "version": draft.version}


def _draft(study_id: str) -> dict[str, Any]:
    draft = _current_draft(study_id)
    assert draft is not None
    return draft


def _logged(study_uuid: str) -> list[tuple[str, str, str | None]]:
    """The webhook log's enrichment calls for this study: (event id, status, error)."""
    from sqlalchemy import select

    from autoscribe.db import session_scope
    from autoscribe.ids import Prefix, brand
    from autoscribe.webhooks.models import WebhookEvent

    with session_scope() as session:
        rows = session.scalars(
            select(WebhookEvent).where(WebhookEvent.event_type == EVENT).order_by(WebhookEvent.created_at)
        ).all()
        return [
            (brand(Prefix.WEBHOOK_EVENT, r.id), r.status, r.last_error)
            for r in rows
            if r.data.get("studyId") == study_uuid
        ]


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_first_read_sends_the_event_and_the_answer_fills_the_draft_and_the_priors(
    integration: Integration, documents: _Documents
) -> None:
    _enable(integration.key.api_key_id)
    seen = _ehr(integration, lambda event: _answer(documents))
    study_id, _ = integration.study(
        clinical_indication=avara.NOT_GIVEN,  # empty: the EHR's fills it
        technologist_technique=STUDY_TECHNIQUE,  # given: the EHR's does not replace it
        external_patient_id="PAT-1001",
    )
    # The study says which key asked for enrichment (the SDK's own model, strict).
    study = strict_call(integration.client.auto_scribe.studies.retrieve, study_id)
    assert study.created_by_api_key.is_clinical_context_enrichment_enabled is True

    page = _open(integration, study_id).shown

    # One signed event, exactly what the SDK's model accepts (strict), about this study.
    (event,) = seen
    (request,) = [r for r in integration.pacs.webhook_requests() if r.json()["type"] == EVENT]
    parsed = strict_event(request.body)
    study_uuid = str(uuid.UUID(hex=study_id.removeprefix("stu_")))
    assert parsed.data.study_id == study_uuid  # the raw UUID, not stu_...
    assert parsed.data.clinic_id == integration.clinic.clinic_id
    assert parsed.data.study_instance_uid == study.study_instance_uid
    assert parsed.data.external_patient_id == "PAT-1001" and parsed.data.mrn == "MRN-778899"
    assert event["id"] == parsed.id

    # The draft: the empty indication filled, the study's own technique kept.
    draft = _draft(study_id)
    assert draft["clinicalIndication"] == EHR_INDICATION
    assert draft["technique"] == STUDY_TECHNIQUE
    assert re.search(r'id="f-clinicalIndication"[^>]*>\s*' + re.escape(EHR_INDICATION), page)

    # The page: notes, the prior report in the priors panel, the documents.
    text = _text(page)
    assert NOTE in text and EHR_TECHNIQUE in text
    priors = page[page.index('id="priors-heading"') :]
    assert PRIOR_TEXT in priors and "(from the EHR)" in priors and "CT Chest (EHR)" in priors
    docs = page[page.index('id="context-documents"') :]
    docs = docs[: docs.index("</ul>")]
    assert "referral.txt" in docs and "Referral from Dr. Alan Referrer." in docs
    assert "missing.pdf" in docs and "HTTP 404" in docs
    links = dict((name, href) for href, name in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', docs))
    assert set(links) == {"history.pdf", "notes.txt"}
    # The stored copies download (the EHR is not asked again).
    asked = len(documents.paths)
    pdf = httpx.get(links["history.pdf"].replace("&amp;", "&"), follow_redirects=True)
    assert pdf.status_code == 200 and pdf.content == PDF
    txt = httpx.get(links["notes.txt"].replace("&amp;", "&"), follow_redirects=True)
    assert txt.status_code == 200 and txt.content == b"Allergy: iodine."
    assert len(documents.paths) == asked

    # The webhook log shows the call, also on the dashboard's Deliveries page.
    assert _logged(study_uuid) == [(parsed.id, "succeeded", None)]
    owner = owner_client(integration.server, integration.clinic)
    delivery = owner.get(f"/deliveries/{parsed.id}")
    assert delivery.status_code == 200 and EVENT in delivery.text and study_uuid in delivery.text

    # Once per study: opening it again (a new link) does not ask again, and keeps what came
    # (the page itself shows it now).
    again = _open(integration, study_id)
    assert len(seen) == 1 and len(_logged(study_uuid)) == 1
    assert PRIOR_TEXT in again.page and NOTE in again.page
    assert PRIOR_TEXT in again.shown and NOTE in again.shown
    assert _draft(study_id)["version"] == draft["version"]


@pytest.mark.parametrize(
    "fault",
    ["slow", "http_500", "invalid"],
)
def test_a_failing_or_slow_integrator_never_blocks_reading(integration: Integration, fault: str) -> None:
    _enable(integration.key.api_key_id)
    # The slow EHR answers only when the test lets it (after the page has opened), if ever.
    release, answered = threading.Event(), threading.Event()

    def answer(event: dict[str, Any]) -> dict[str, Any]:
        if fault == "slow":
            release.wait(60)
            answered.set()
            return {"clinicalIndication": "too late"}
        if fault == "invalid":
            return {"technologistNotes": "not a list", "priorReports": [{"modality": "CT"}]}
        raise AssertionError

    seen = _ehr(integration, answer)
    if fault == "http_500":
        integration.pacs.webhook_status = 500  # every event: images too
    study_id, _ = integration.study(clinical_indication=avara.NOT_GIVEN)
    reading = _open(integration, study_id)
    # The report started while the slow EHR still had not answered.
    assert not answered.is_set()
    release.set()
    study_uuid = str(uuid.UUID(hex=study_id.removeprefix("stu_")))

    # Reading goes on: the draft is open, with what the study itself had.
    draft = _draft(study_id)
    assert draft["clinicalIndication"] == "" and draft["technique"] == STUDY_TECHNIQUE
    assert 'id="report-form"' in reading.shown and 'id="clinical-context"' not in reading.shown
    # The log shows the failed call, and why.
    ((_, status, error),) = _logged(study_uuid)
    assert status == "failed" and error
    expected = {"slow": "did not answer", "http_500": "HTTP 500", "invalid": "invalid body"}[fault]
    assert expected in error, error
    # Once per study, failures included: the next open does not ask again.
    integration.pacs.webhook_status = None
    _open(integration, study_id)
    assert len(_logged(study_uuid)) == 1
    assert len(seen) <= 1


def test_an_abandoned_request_is_taken_over(integration: Integration) -> None:
    """A claim left "requested" (its process died during the call) is taken over after a while;
    a recent one is not (it may still be under way)."""
    from datetime import timedelta

    from sqlalchemy import update

    from autoscribe.context.models import ClinicalContext
    from autoscribe.db import session_scope, utcnow

    _enable(integration.key.api_key_id)
    seen = _ehr(integration, lambda event: {"clinicalIndication": EHR_INDICATION})
    study_id, _ = integration.study(clinical_indication=avara.NOT_GIVEN)
    study_uuid = uuid.UUID(hex=study_id.removeprefix("stu_"))
    with session_scope() as session:
        session.add(
            ClinicalContext(
                clinic_id=uuid.UUID(integration.clinic.clinic_id),
                study_id=study_uuid,
                api_key_id=uuid.UUID(integration.key.api_key_id),
                status="requested",
                requested_at=utcnow() - timedelta(minutes=1),
            )
        )
    _open(integration, study_id)
    assert seen == [] and _draft(study_id)["clinicalIndication"] == ""  # under way elsewhere
    with session_scope() as session:
        session.execute(
            update(ClinicalContext)
            .where(ClinicalContext.study_id == study_uuid)
            .values(requested_at=utcnow() - timedelta(hours=1))
        )
    reading = _open(integration, study_id)
    assert len(seen) == 1 and _draft(study_id)["clinicalIndication"] == EHR_INDICATION
    assert EHR_INDICATION in reading.shown
    _open(integration, study_id)
    assert len(seen) == 1


def test_opening_the_page_does_not_ask_the_ehr_starting_the_report_does(integration: Integration) -> None:
    _enable(integration.key.api_key_id)
    seen = _ehr(integration, lambda event: {"clinicalIndication": EHR_INDICATION})
    study_id, _ = integration.study(clinical_indication=avara.NOT_GIVEN)
    study_uuid = str(uuid.UUID(hex=study_id.removeprefix("stu_")))
    client, opened = open_link(integration.reroute(study_id))
    page = client.get(opened.headers["location"])
    assert page.status_code == 200
    assert client.get(f"/workspace/{study_id}/report").status_code == 200
    assert client.get(f"/workspace/{study_id}").status_code == 200

    # Reads only: no draft, no event sent, nothing in the webhook log.
    assert _current_draft(study_id) is None
    assert seen == [] and _logged(study_uuid) == []
    assert 'id="clinical-context"' not in page.text

    started = start_workspace_report(client, study_id, page.text)
    assert started.status_code == 200
    assert len(seen) == 1 and [status for _, status, _ in _logged(study_uuid)] == ["succeeded"]
    assert _draft(study_id)["clinicalIndication"] == EHR_INDICATION
    assert (
        EHR_INDICATION in started.json()["html"] and EHR_INDICATION in started.json()["clinicalContextHtml"]
    )
    # Starting again returns the same draft and does not ask again.
    again = start_workspace_report(client, study_id, page.text)
    assert again.json()["reportId"] == started.json()["reportId"] and len(seen) == 1


def test_a_key_without_the_option_is_not_asked(integration: Integration) -> None:
    seen = _ehr(integration, lambda event: {"clinicalIndication": "should not be asked"})
    study_id, _ = integration.study(clinical_indication=avara.NOT_GIVEN)
    study = strict_call(integration.client.auto_scribe.studies.retrieve, study_id)
    assert study.created_by_api_key.is_clinical_context_enrichment_enabled is False
    _open(integration, study_id)
    assert seen == [] and _draft(study_id)["clinicalIndication"] == ""


@pytest.mark.browser
def test_the_workspace_shows_the_enriched_indication_and_priors(
    integration: Integration, documents: _Documents, series: list[Any], ws_page: Callable[..., Page]
) -> None:
    _enable(integration.key.api_key_id)
    _ehr(integration, lambda event: _answer(documents))
    study_id, _ = integration.study(series, clinical_indication=avara.NOT_GIVEN)
    page = ws_page()
    page.goto(integration.reroute(study_id))
    wait_first_image(page, timeout=30_000)

    expect(page.locator("#f-clinicalIndication")).to_have_value(EHR_INDICATION)
    expect(page.locator("#f-technique")).to_have_value(STUDY_TECHNIQUE)
    context = page.locator("#clinical-context")
    expect(context).to_contain_text(NOTE)
    expect(page.locator("#context-documents")).to_contain_text("history.pdf")
    priors = page.locator(".ws-priors")
    expect(priors).to_contain_text("CT Chest (EHR)")
    expect(priors).to_contain_text("(from the EHR)")
    prior = priors.locator("details.ws-prior", has_text="CT Chest (EHR)")
    prior.locator("summary").click()
    expect(prior.locator(".ws-prior-text")).to_have_text(PRIOR_TEXT)
    assert page.page_errors == []  # type: ignore[attr-defined]
