"""Uploading a recording in the workspace, the spoken-commands help, and the suggested impression.

The upload goes down the microphone's path (create a dictation with the file's type, send the
file as chunks, finish, poll) and a real task runner transcribes it with the real model. A
spoken "Impression" lands in the Impression field, the radiologist's own; an impression the
engine wrote because none was dictated is marked "Suggested" until accepted or edited.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import snap
from tests.fakepacs import Series
from tests.workspace.conftest import Integration, uuid_of

pytestmark = [pytest.mark.browser]

SPOKEN = (
    "Findings. The lungs are clear. There is no pleural effusion. "
    "Impression. No acute cardiopulmonary abnormality."
)


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a radiologist might upload: a WAV of the dictation (espeak-ng, bare spoken headings)."""
    wav = tmp_path_factory.mktemp("upload-audio") / "dictation.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), SPOKEN], check=True)
    return wav


@pytest.fixture
def job_runner(database: str) -> Iterator[None]:
    """A worker for the transcription tasks (the test server runs none), with the real model."""
    from autoscribe import tasks
    from autoscribe.queue.runner import TaskRunner

    runner = TaskRunner(tasks.TASKS, queues={"dictation"}, poll_seconds=0.2).start()
    yield
    runner.stop(timeout=120)


def _subsections(page: Page) -> dict[str, str]:
    content = page.evaluate("() => AutoScribeReport.getContent()")
    return {s["heading"]: s["text"] for s in content["findings"]["subsections"]}


def _server_content(study_id: str) -> dict[str, Any]:
    from autoscribe.db import session_scope
    from autoscribe.reports import service
    from tests.reporting import study_row

    with session_scope() as session:
        draft = service.current_draft(session, study_row(session, study_id))
        assert draft is not None
        return dict(draft.content)


def _open(integration: Integration, series: list[Series], ws_page: Callable[..., Page]) -> tuple[str, Page]:
    study_id, _ = integration.study(series[1:], study_description="XR CHEST 2 VIEWS", modality="CR")
    page = ws_page()
    page.goto(integration.reroute(study_id))
    page.wait_for_function("() => window.AutoScribeDictation && window.AutoScribeReport.isEditable()")
    return study_id, page


@pytest.mark.slow
def test_an_uploaded_recording_fills_the_draft_and_its_spoken_impression_is_kept(
    integration: Integration,
    series: list[Series],
    ws_page: Callable[..., Page],
    job_runner: None,
    spoken_wav: Path,
) -> None:
    study_id, page = _open(integration, series, ws_page)
    upload = page.get_by_role("button", name="Upload audio…")
    expect(upload).to_be_enabled()
    page.locator("#dictation-file").set_input_files(str(spoken_wav))

    status = page.locator("#dictation-status")
    expect(status).to_have_text(
        re.compile("“dictation.wav” was transcribed and added to the report"), timeout=180_000
    )
    expect(page.locator("#dictate-button")).to_have_attribute("data-state", "idle")
    expect(upload).to_be_enabled()

    # The findings sentences went to their organs; the spoken "Impression" to the impression,
    # as said; the heading words themselves nowhere.
    organs = _subsections(page)
    assert organs["Lungs"] == "The lungs are clear.", organs
    assert organs["Pleura"] == "There is no pleural effusion.", organs
    impression = page.locator("#f-impression")
    expect(impression).to_have_value(re.compile(r"^No acute \S.*\.$"))
    content = page.evaluate("() => AutoScribeReport.getContent()")
    everything = " ".join(
        [
            content["findings"]["text"],
            content["impression"],
            *(s["text"] for s in content["findings"]["subsections"]),
        ]
    ).lower()
    assert "findings" not in everything and "impression" not in everything, content
    impression.scroll_into_view_if_needed()
    snap(page, "workspace-audio-upload-done")
    # The radiologist dictated it: no "Suggested" mark, and the saved draft says so too.
    expect(page.locator("#impression-suggested")).to_be_hidden()
    assert content["impressionSuggested"] is False
    assert page.evaluate("() => AutoScribeReport.save()") is True
    saved = _server_content(study_id)
    assert saved["impression"] == content["impression"] and saved["impressionSuggested"] is False
    # The upload went down the dictation path: a WAV stored with its type.
    from sqlalchemy import select

    from autoscribe.db import session_scope
    from autoscribe.dictation.models import Dictation

    with session_scope() as session:
        row = session.scalars(select(Dictation).where(Dictation.study_id == uuid_of(study_id))).one()
        assert (
            row.status == "done"
            and row.content_type == "audio/wav"
            and row.audio_key
            and row.audio_key.endswith(".wav")
        )
        assert row.result is not None and row.result["impressionSource"] == "dictated"
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_a_file_that_is_not_audio_is_refused_with_a_clear_message(
    integration: Integration, series: list[Series], ws_page: Callable[..., Page]
) -> None:
    _, page = _open(integration, series, ws_page)
    page.locator("#dictation-file").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Findings. Normal."}]
    )
    status = page.locator("#dictation-status")
    expect(status).to_have_text(re.compile(r"“notes\.txt” is not an audio file .*WAV, WebM, MP3 or M4A"))
    expect(status).to_have_attribute("data-state", "error")
    page.locator("#dictation-file").set_input_files(
        files=[{"name": "empty.wav", "mimeType": "audio/wav", "buffer": b""}]
    )
    expect(status).to_have_text("“empty.wav” is empty.")
    expect(page.locator("#f-findings")).to_have_value("")
    # The server refuses a non-audio type too, naming the field and the types it takes.
    answer = page.evaluate(
        """() => fetch('/workspace/api/dictations', {method: 'POST',
             headers: {...AutoScribeReport.headers(), 'Content-Type': 'application/json'},
             body: JSON.stringify({contentType: 'text/plain'})})
           .then(async r => [r.status, await r.json()])"""
    )
    assert answer[0] == 400 and answer[1]["error"]["param"] == "contentType", answer
    assert "WAV, WebM" in answer[1]["error"]["message"]
    assert page.page_errors == []  # type: ignore[attr-defined]


def _draft(impression: list[tuple[str, str]]) -> dict[str, Any]:
    """A dictation's draft (Draft.to_dict()) with a finding and the given impression items."""
    sentences = [{"id": f"s{i}", "text": t, "source": src} for i, (t, src) in enumerate(impression)]
    lungs = {
        "key": "lungs",
        "title": "Lungs",
        "sentences": [{"id": "x", "text": "Small nodule.", "source": "dictated"}],
    }
    return {
        "sections": [
            {"key": "findings", "title": "Findings", "sentences": [], "subsections": [lungs]},
            {"key": "impression", "title": "Impression", "sentences": sentences},
        ]
    }


def test_a_suggested_impression_is_marked_until_accepted_or_edited(
    integration: Integration, series: list[Series], ws_page: Callable[..., Page]
) -> None:
    study_id, page = _open(integration, series, ws_page)
    apply = "(draft) => AutoScribeDictation.applyDraft(draft)"
    mark = page.locator("#impression-suggested")
    expect(mark).to_be_hidden()

    # The spoken commands are listed next to the buttons.
    help_ = page.locator("#spoken-commands")
    help_.locator("summary").click()
    for said in ("Impression", "Scratch that", "delete last sentence", "New line", "Period"):
        expect(help_).to_contain_text(said)

    # Nothing dictated for the impression: the engine's goes in, marked, and is saved as such.
    page.evaluate(apply, _draft([("Small nodule.", "generated")]))
    expect(page.locator("#f-impression")).to_have_value("Small nodule.")
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("Suggested")
    page.locator("#f-impression").scroll_into_view_if_needed()
    snap(page, "workspace-suggested-impression")
    assert page.evaluate("() => AutoScribeReport.save()") is True
    assert _server_content(study_id)["impressionSuggested"] is True

    # Still marked after a reload; the sign dialog warns about it.
    page.reload()
    page.wait_for_function("() => window.AutoScribeReport && window.AutoScribeReport.isEditable()")
    expect(mark).to_be_visible()
    page.get_by_role("button", name=re.compile("Sign report")).click()
    dialog = page.locator("#sign-dialog")
    expect(dialog.locator("[data-level=warning]", has_text="engine's suggestion").first).to_be_visible()
    page.locator("#sign-cancel").click()

    # Accepting it makes it the radiologist's.
    page.get_by_role("button", name="Accept").click()
    expect(mark).to_be_hidden()
    expect(page.locator("#save-status")).to_have_attribute("data-state", "ok", timeout=15_000)
    assert _server_content(study_id)["impressionSuggested"] is False

    # A suggestion again in an emptied field; typing in it clears the mark.
    page.evaluate("() => AutoScribeReport.setSection('impression', '')")
    page.evaluate(apply, _draft([("Small nodule.", "generated")]))
    expect(mark).to_be_visible()
    page.locator("#f-impression").press("End")
    page.locator("#f-impression").type(" Follow-up CT in 3 months.")
    expect(mark).to_be_hidden()

    # A dictated impression is never marked.
    page.evaluate("() => AutoScribeReport.setSection('impression', '')")
    page.evaluate(apply, _draft([("No acute abnormality.", "dictated")]))
    expect(page.locator("#f-impression")).to_have_value("No acute abnormality.")
    expect(mark).to_be_hidden()
    assert page.evaluate("() => AutoScribeReport.getContent().impressionSuggested") is False
    assert page.page_errors == []  # type: ignore[attr-defined]
