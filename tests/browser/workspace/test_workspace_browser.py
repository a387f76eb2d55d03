"""The reading workspace in Debian's Chromium (Playwright), over real HTTP, against the fake PACS.

The issue's whole flow: the SDK creates the study, asks for a reroute URL, the browser opens it,
the first image is drawn, scrolling changes the slice, findings and impression are typed and
signed, the integrator receives a verified report.delivered whose PDF holds the typed text, and
the same URL is refused the second time. Then view-only mode, authorized:false, an ephemeral
session, the "changed elsewhere" path of autosave, addenda, keyboard use and the dictation hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fakepacs import Series
from tests.helpers import make_user
from tests.reporting import pdf_text
from tests.viewerpage import canvas_stats, settle, state, wait_first_image
from tests.workspace.conftest import NPI, Integration

pytestmark = pytest.mark.browser

FINDINGS = "Spiculated 14 mm nodule in the right upper lobe. No pleural effusion."
IMPRESSION = "Suspicious right upper lobe nodule; PET-CT recommended."

PagePlease = Callable[..., Page]


def _open(page: Page, url: str) -> None:
    page.goto(url)
    wait_first_image(page, timeout=30_000)


def _wait_saved(page: Page) -> int:
    """Wait until everything typed is saved; the version it reached."""
    status = page.locator("#save-status")
    expect(status).to_have_attribute("data-state", "ok", timeout=15_000)
    expect(status).to_have_text(re.compile(r"Saved · version \d+"))
    match = re.search(r"version (\d+)", status.inner_text())
    assert match
    return int(match.group(1))


def _server_content(study_id: str) -> dict[str, Any]:
    from autoscribe.db import session_scope
    from autoscribe.reports import service
    from tests.reporting import study_row

    with session_scope() as session:
        draft = service.current_draft(session, study_row(session, study_id))
        assert draft is not None
        return dict(draft.content)


def test_reroute_url_to_signed_report_delivered_with_its_pdf(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    study_id, pacs_study = integration.study(series)
    url = integration.reroute(study_id)
    page = ws_page()

    _open(page, url)
    # The token is gone from the address bar (a 303 to the token-free address).
    assert page.url == f"{integration.server.url}/workspace/{study_id}"
    assert "token" not in page.evaluate("() => performance.getEntriesByType('navigation')[0].name")

    # The first image is drawn: a CT slice, not a blank canvas.
    first = canvas_stats(page)
    assert first["lit"] > 0.2 and first["std"] > 20, first
    viewer = state(page)
    assert viewer["current"]["index"] == 0 and viewer["current"]["total"] == 60
    assert [s["count"] for s in viewer["series"]] == [60, 20]  # CT and MR, grouped by series

    # Scrolling over the image changes the slice.
    box = page.locator(".asv-viewport").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(5):
        page.mouse.wheel(0, 120)
    page.wait_for_function(
        "() => { const s = document.getElementById('viewer').autoscribeViewer.state();"
        " return s.current.index === 5 && s.current.status === 'loaded'; }"
    )
    settle(page)
    assert canvas_stats(page)["hash"] != first["hash"]

    # The study header and the draft prefilled from the order.
    pane = page.locator("#report-pane")
    expect(pane).to_contain_text("Johanna Testpatient")
    expect(pane).to_contain_text("MRN-778899")
    expect(page.locator("#f-clinicalIndication")).to_have_value("Cough for six weeks.")

    page.locator("#f-findings").fill(FINDINGS)
    page.locator("#f-impression").fill(IMPRESSION)
    _wait_saved(page)
    saved = _server_content(study_id)
    assert saved["findings"]["text"] == FINDINGS and saved["impression"] == IMPRESSION

    # Sign: the confirmation names the signer.
    page.get_by_role("button", name=re.compile("Sign report")).click()
    dialog = page.locator("#sign-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Rita Reader")
    expect(dialog).to_contain_text(f"NPI {NPI}")
    page.locator("#sign-confirm").click()

    document = page.locator("#report-document")
    expect(document).to_contain_text(IMPRESSION)
    expect(document).to_contain_text("Electronically signed by Rita Reader")
    expect(page.locator("#report-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Addendum")).to_be_visible()

    # The integrator's receiver verifies report.delivered (Standard Webhooks, the SDK) and its PDF.
    event = integration.receiver.wait()[0]
    assert event.data.study_id == study_id and event.data.is_critical is False
    assert event.data.plain_text is not None and FINDINGS in event.data.plain_text
    pdf = httpx.get(event.data.presigned_url)
    assert pdf.status_code == 200
    text = " ".join(pdf_text(pdf.content).split())
    assert FINDINGS in text and IMPRESSION in text and f"NPI {NPI}" in text

    # The images came from study.access_requested, fetched by the browser from the PACS.
    assert (
        integration.pacs.webhook_requests()[0].json()["data"]["studyInstanceUid"]
        == pacs_study.study_instance_uid
    )
    assert integration.pacs.file_requests()

    # The same URL a second time, in another browser: refused with a clear page.
    again = ws_page()
    response = again.goto(url)
    assert response is not None and response.status == 410
    expect(again.locator("h1")).to_have_text("This link has already been used")
    assert page.page_errors == [] and again.page_errors == []  # type: ignore[attr-defined]


def test_view_only_mode_allows_no_editing_in_the_page_or_on_the_server(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    study_id, _ = integration.study(series, assigned_to=integration.radiologist)
    from tests.reporting import content, dictate_and_sign

    dictate_and_sign(
        study_id, integration.radiologist, body=content(findings=FINDINGS, impression=IMPRESSION)
    )
    referrer = make_user(integration.clinic.clinic_id, can_create_reports=False, npi=None, first_name="Ref")
    page = ws_page()
    _open(page, integration.viewer_only(study_id, referrer))
    assert canvas_stats(page)["lit"] > 0.2

    expect(page.locator("#view-only-badge")).to_be_visible()
    pane = page.locator("#report-pane")
    expect(pane).to_contain_text(IMPRESSION)
    # Nothing to type into, tick or press in the report.
    for selector in ("textarea", "input", "[contenteditable]", "[data-action]", "#sign-dialog"):
        expect(pane.locator(selector)).to_have_count(0)
    expect(page.locator("#sign-dialog")).to_have_count(0)
    page.keyboard.press("Control+Shift+Enter")
    assert page.evaluate("() => window.AutoScribeReport.isEditable()") is False
    assert "No report draft" in page.evaluate(
        "() => { try { AutoScribeReport.setSection('impression', 'x'); return 'set'; }"
        " catch (e) { return e.message; } }"
    )

    # The server refuses edits from this session too (the page's own cookie and CSRF token).
    statuses = page.evaluate(
        """async (studyId) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const send = (method, path, body) => fetch(`/workspace/${studyId}${path}`, {method,
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}, body: JSON.stringify(body)})
            .then(async r => [r.status, (await r.json()).error.message]);
          return [
            await send('POST', '/report/addendum', {}),
            await send('PUT', '/report/draft',
                       {reportId: 'rep_' + '0'.repeat(32), baseVersion: 1, content: {}}),
          ];
        }""",
        study_id,
    )
    for status, message in statuses:
        assert status == 403 and "view-only" in message
    assert integration.client.auto_scribe.studies.retrieve(study_id).study_report_status == "completed"


def test_authorized_false_shows_the_reason_and_retry_recovers(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    study_id, pacs_study = integration.study(series)
    pacs_study.authorized = False
    pacs_study.error = "Study is locked by the PACS administrator"
    page = ws_page()
    page.goto(integration.reroute(study_id))

    message = page.locator(".asv-message")
    expect(message).to_be_visible(timeout=20_000)
    expect(message).to_contain_text("Study is locked by the PACS administrator")
    retry = page.locator(".asv-retry")
    expect(retry).to_be_visible()
    # The report pane still works meanwhile.
    expect(page.locator("#f-findings")).to_be_editable()

    pacs_study.authorized = True
    retry.click()
    wait_first_image(page, timeout=30_000)
    expect(message).to_be_hidden()
    assert canvas_stats(page)["lit"] > 0.2


def test_upstream_failure_is_a_message_with_retry_not_a_blank_pane(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    study_id, _ = integration.study(series)
    integration.pacs.webhook_status = 503
    page = ws_page()
    page.goto(integration.reroute(study_id))
    message = page.locator(".asv-message")
    expect(message).to_contain_text("HTTP 503", timeout=20_000)
    integration.pacs.webhook_status = None
    page.locator(".asv-retry").click()
    wait_first_image(page, timeout=30_000)


def test_an_ephemeral_session_shows_the_integrators_images(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    ct = integration.pacs.add_study(series=series[:1], retrieval_id="visit-42")
    mr = integration.pacs.add_study(series=series[1:], retrieval_id="visit-42")
    url = integration.client.auto_scribe.ephemeral_sessions.create(
        retrieval_id="visit-42",
        hanging_protocol={"layout": "1x2", "viewportAssignments": ["MR T2 axial", "CT Chest w/o contrast"]},
        options={"studyInstanceUids": [ct.study_instance_uid, mr.study_instance_uid]},
    ).url
    page = ws_page()
    _open(page, url)
    assert re.fullmatch(rf"{integration.server.url}/ephemeral/[0-9a-f]{{32}}", page.url)
    assert canvas_stats(page)["lit"] > 0.1
    # Both studies' series, and the hanging protocol's first viewport shown first.
    page.wait_for_function("() => document.getElementById('viewer').dataset.hangingApplied")
    viewer = state(page)
    assert sorted(s["description"] for s in viewer["series"]) == ["CT Chest w/o contrast", "MR T2 axial"]
    mr_uid = next(s["seriesInstanceUID"] for s in viewer["series"] if s["modality"] == "MR")
    assert viewer["current"]["seriesInstanceUID"] == mr_uid
    # No report pane, nothing to edit.
    expect(page.locator("#report-pane")).to_have_count(0)
    expect(page.locator("textarea")).to_have_count(0)
    event = integration.pacs.webhook_requests()[0].json()
    assert event["type"] == "ephemeral.access_requested" and event["data"]["retrievalId"] == "visit-42"
    # 30-second, single-use landing URL.
    again = ws_page()
    response = again.goto(url)
    assert response is not None and response.status == 410


def test_a_draft_changed_elsewhere_never_loses_the_typed_text(
    integration: Integration, ws_page: PagePlease
) -> None:
    study_id, _ = integration.study()
    page = ws_page()
    page.goto(integration.reroute(study_id))
    page.locator("#f-findings").fill("Mine: first sentence.")
    version = _wait_saved(page)

    # Another window saves a different draft meanwhile.
    from tests.reporting import content, save

    report_id = page.locator("#report-form").get_attribute("data-report-id")
    assert report_id
    save(
        report_id,
        integration.radiologist,
        content(findings="Theirs: other text.", impression="Theirs."),
        version,
    )

    page.locator("#f-findings").fill("Mine: first sentence. Mine: second sentence.")
    conflict = page.locator("#conflict")
    expect(conflict).to_be_visible(timeout=15_000)
    expect(conflict).to_contain_text("changed elsewhere")
    expect(page.locator("#save-status")).to_have_attribute("data-state", "error")
    expect(page.get_by_role("button", name=re.compile("Sign report"))).to_be_disabled()
    # Nothing was dropped: the page still has the text, the server still has theirs.
    expect(page.locator("#f-findings")).to_have_value("Mine: first sentence. Mine: second sentence.")
    assert _server_content(study_id)["findings"]["text"] == "Theirs: other text."

    # Load theirs: my text stays on the page, aside, to copy from.
    page.get_by_role("button", name=re.compile("Load the saved version")).click()
    expect(page.locator("#f-findings")).to_have_value("Theirs: other text.")
    expect(page.locator("#aside")).to_be_visible()
    expect(page.locator("#aside-text")).to_have_value(
        re.compile("Mine: first sentence. Mine: second sentence.")
    )

    # Another conflict, resolved the other way: save my text over theirs.
    version = int(page.locator("#report-form").get_attribute("data-version") or 0)
    save(report_id, integration.radiologist, content(findings="Theirs again."), version)
    page.locator("#f-impression").fill("Mine wins.")
    expect(page.locator("#conflict")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Save my text over it").click()
    _wait_saved(page)
    saved = _server_content(study_id)
    assert saved["impression"] == "Mine wins." and saved["findings"]["text"] == "Theirs: other text."


def test_keyboard_signing_addenda_and_the_dictation_hooks(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    study_id, _ = integration.study(series[1:])
    page = ws_page()
    page.goto(integration.reroute(study_id))

    # What the dictation engine uses: a slot for its button, setSection/getContent, pre-sign checks.
    # (The editor appears once the page's report start has answered.)
    expect(page.locator("#dictation-slot[data-dictation-slot]")).to_have_count(1)
    page.evaluate(
        """() => {
          window.readyEvents = 0;
          document.addEventListener('autoscribe:report-ready', () => window.readyEvents++);
          const api = window.AutoScribeReport;
          const button = document.createElement('button');
          button.type = 'button'; button.textContent = 'Dictate';
          api.dictationSlot.append(button);
          api.setSection('findings',
                         {text: 'Dictated findings.', subsections: [{heading: 'Liver', text: 'Normal.'}]});
          api.appendToSection('impression', 'No acute abnormality.');
          api.registerPreSignCheck((content) => content.impression.includes('acute')
            ? [{level: 'error', message: 'Impression contradicts findings', section: 'impression'}] : []);
        }"""
    )
    expect(page.locator("#dictation-slot")).to_contain_text("Dictate")
    expect(page.locator("[data-subsection] [data-field=heading]")).to_have_value("Liver")
    _wait_saved(page)
    saved = _server_content(study_id)
    assert saved["findings"] == {
        "text": "Dictated findings.",
        "subsections": [{"heading": "Liver", "text": "Normal."}],
    }
    # The dictation routes accept the page's session with the headers the API hands out.
    created = page.evaluate(
        """() => fetch('/workspace/api/dictations', {method: 'POST',
             headers: {...AutoScribeReport.headers(), 'Content-Type': 'application/json'}, body: '{}'})
           .then(r => r.status)"""
    )
    assert created == 201
    content = page.evaluate("() => AutoScribeReport.getContent()")
    assert content["impression"] == "No acute abnormality." and content["isCritical"] is False

    # Labels for every field; Alt+Down moves to the next field.
    for name in ("clinicalIndication", "technique", "comparison", "findings", "impression", "isCritical"):
        assert page.locator(f"label[for=f-{name}]").count() == 1
    page.locator("#f-comparison").focus()
    page.keyboard.press("Alt+ArrowDown")
    assert page.evaluate("() => document.activeElement.id") == "f-findings"

    # Ctrl+Shift+Enter opens the confirmation; the failed check blocks signing.
    page.keyboard.press("Control+Shift+Enter")
    dialog = page.locator("#sign-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".ws-check--error")).to_contain_text("Impression contradicts findings")
    expect(page.locator("#sign-confirm")).to_be_disabled()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.evaluate("() => AutoScribeReport.setSection('impression', 'Normal MR.')")
    page.locator("#f-isCritical").check()
    page.keyboard.press("Control+Shift+Enter")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("critical result")
    expect(page.locator("#sign-confirm")).to_be_enabled()
    expect(page.locator("#sign-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#report-document")).to_contain_text("Normal MR.")
    expect(page.locator("#report-document")).to_contain_text("CRITICAL")
    assert integration.receiver.wait()[0].data.is_critical is True

    # Addendum: opened, then discarded (the page asks first), then opened, written and signed.
    page.on("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Addendum").click()
    expect(page.locator("#editor-heading")).to_have_text("Addendum (draft)")
    assert page.evaluate("() => window.readyEvents") >= 1
    page.get_by_role("button", name="Discard addendum").click()
    expect(page.locator("#report-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Addendum")).to_be_visible()
    assert integration.client.auto_scribe.studies.retrieve(study_id).study_report_status == "completed"

    page.get_by_role("button", name="Addendum").click()
    page.locator("#f-impression").fill("Addendum: the liver lesion is a cyst.")
    page.get_by_role("button", name=re.compile("Sign addendum")).click()
    expect(page.locator("#sign-title")).to_have_text("Sign this addendum?")
    page.locator("#sign-confirm").click()
    expect(page.locator("#report-document")).to_contain_text("the liver lesion is a cyst")
    events = integration.receiver.wait(2)
    assert len({e.data.report_id for e in events}) == 2
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_the_workspace_fits_a_phone_screen(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    study_id, _ = integration.study(series[1:])
    page = ws_page(390, 844)
    _open(page, integration.reroute(study_id))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # Images first, the report below them; both usable.
    assert canvas_stats(page)["lit"] > 0.1
    page.locator("#f-impression").fill("Fits.")
    _wait_saved(page)


def test_moving_a_sentence_to_another_section_is_saved(
    integration: Integration, series: list[Series], ws_page: PagePlease
) -> None:
    study_id, _ = integration.study(series[:1])
    page = ws_page()
    _open(page, integration.reroute(study_id))

    findings = page.locator("#f-findings")
    findings.fill("Heart size is normal.\nSmall left pleural effusion measuring 2.3 cm. Lungs are clear.")
    _wait_saved(page)
    # The cursor in the middle of the second sentence (its decimal point does not end it).
    findings.evaluate("el => { const i = el.value.indexOf('measuring'); el.setSelectionRange(i, i); }")
    page.get_by_label("Move the sentence at the cursor to").select_option("Impression")
    page.get_by_role("button", name="Move", exact=True).click()

    expect(page.locator("#move-status")).to_have_text("Moved to Impression.")
    expect(page.locator("#f-impression")).to_have_value("Small left pleural effusion measuring 2.3 cm.")
    expect(findings).to_have_value("Heart size is normal.\nLungs are clear.")
    _wait_saved(page)
    saved = _server_content(study_id)
    assert saved["impression"] == "Small left pleural effusion measuring 2.3 cm."
    assert saved["findings"]["text"] == "Heart size is normal.\nLungs are clear."

    # Without a sentence at the cursor, nothing moves and the page says why.
    page.locator("#f-comparison").fill("")
    page.locator("#f-comparison").focus()
    page.get_by_label("Move the sentence at the cursor to").select_option("Impression")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("#move-status")).to_have_text("There is no sentence at the cursor.")
    expect(page.locator("#f-impression")).to_have_value("Small left pleural effusion measuring 2.3 cm.")
