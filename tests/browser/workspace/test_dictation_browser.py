"""Dictating in the workspace with a real microphone stream: Chromium's fake capture device plays
an espeak-ng recording, MediaRecorder uploads it in chunks, a real job runner transcribes it with
the real faster-whisper model, the draft fills the report, and the sign dialog checks the text.

The study is of the RIGHT side and the dictation says "left": the sign dialog must say so, and
the signed report keeps the warning that was signed through.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.fakepacs import Series
from tests.workspace.conftest import Integration

pytestmark = [pytest.mark.browser]

# Dictation style: spoken headings and punctuation ("colon", "period"), as radiologists dictate.
DICTATION = (
    "findings colon there is a small left pleural effusion period. "
    "impression colon small left pleural effusion period."
)


@pytest.fixture(scope="module")
def dictation_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """espeak-ng speech, 16 kHz mono, then twelve seconds of silence: Chromium loops the file, and
    the pause gives the page time to show the partial text (and the test to stop) before the
    radiologist seems to say it all again, even on a busy machine."""
    folder = tmp_path_factory.mktemp("dictation-audio")
    raw, wav = folder / "raw.wav", folder / "dictation.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "120", "-g", "6", "-w", str(raw), DICTATION], check=True
    )
    pad = ["-af", "apad=pad_dur=12", "-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"]
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(raw), *pad, str(wav)], check=True)
    return wav


@pytest.fixture(scope="module")
def mic_browser(playwright: Any, dictation_wav: Path) -> Iterator[Browser]:
    """A Chromium of its own whose microphone is the recording (and whose permission prompt is
    answered yes)."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={dictation_wav}",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def job_runner(database: str) -> Iterator[None]:
    """A worker for the transcription tasks (the test server runs none), with the real model."""
    from autoscribe import tasks
    from autoscribe.queue.runner import TaskRunner

    runner = TaskRunner(tasks.TASKS, queues={"dictation"}, poll_seconds=0.2).start()
    yield
    runner.stop(timeout=120)


def _page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.page_errors = errors  # type: ignore[attr-defined]
    return page


def _subsections(page: Page) -> dict[str, str]:
    content = page.evaluate("() => AutoScribeReport.getContent()")
    return {s["heading"]: s["text"] for s in content["findings"]["subsections"]}


@pytest.mark.slow
def test_dictate_a_left_finding_on_a_right_study(
    integration: Integration, series: list[Series], mic_browser: Browser, job_runner: None
) -> None:
    study_id, _ = integration.study(
        series[1:],
        study_description="XR RIBS RIGHT 2 VIEWS",
        modality="CR",
        technologist_technique="Right rib series, two views.",
    )
    page = _page(mic_browser)
    page.goto(integration.reroute(study_id))
    button = page.locator("#dictate-button")
    expect(button).to_have_attribute("data-state", "idle")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#dictation-template option")).not_to_have_count(1)  # the templates loaded

    # The radiologist has typed an impression already: dictation must not overwrite it.
    page.locator("#f-impression").fill("Typed before dictating.")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_attribute("data-state", "recording")
    # The partial transcription, polled while recording, has heard the whole dictation once.
    partial = page.locator("#dictation-partial")
    expect(partial).to_have_text(re.compile(r"impression.*effusion", re.I | re.S), timeout=120_000)

    page.keyboard.press("Alt+m")  # the shortcut stops, like the button
    expect(button).to_have_attribute("aria-pressed", "false")
    status = page.locator("#dictation-status")
    expect(status).to_have_text(re.compile("Dictation added to the report"), timeout=180_000)
    expect(button).to_have_attribute("data-state", "idle")

    # The draft went into the right fields: the finding into its organ, the dictated impression
    # after the typed one, the template's normal sentences into empty organs; the order's
    # indication and technique stay.
    organs = _subsections(page)
    assert "left pleural effusion" in organs["Pleura"].lower(), organs
    assert organs["Lungs"], organs
    impression = re.compile(r"^Typed before dictating\. .*left pleural effusion", re.I | re.S)
    try:
        expect(page.locator("#f-impression")).to_have_value(impression)
    except AssertionError as exc:  # say what was heard: it failed once under a full suite
        heard = page.evaluate("() => AutoScribeReport.getContent()")
        raise AssertionError(f"{exc}; last partial: {partial.text_content()!r}; report: {heard!r}") from None
    expect(status).to_contain_text("Added after your text in: Impression")
    expect(page.locator("#f-clinicalIndication")).to_have_value("Cough for six weeks.")
    expect(page.locator("#f-technique")).to_have_value("Right rib series, two views.")
    # The dictation's own checks are listed under the button, named by the report's labels.
    dictated = page.locator("#dictation-checks [data-code=laterality_mismatch]")
    expect(dictated.first).to_contain_text("(Findings: Pleura)")

    # The radiologist edits the impression; the sign dialog checks the text as it now is.
    page.locator("#f-impression").fill("Small left pleural effusion. No pneumothorax.")
    page.get_by_role("button", name=re.compile("Sign report")).click()
    dialog = page.locator("#sign-dialog")
    expect(dialog).to_be_visible()
    warning = dialog.locator(".ws-check--warning", has_text="right side")
    expect(warning.first).to_contain_text('says "left"')
    expect(dialog.locator(".ws-check--warning", has_text="(Impression)")).to_have_count(1)
    expect(page.locator("#sign-confirm")).to_be_enabled()  # warnings do not block signing
    page.locator("#sign-confirm").click()

    # Signed: the report shows the warnings it was signed with.
    expect(page.locator("#report-document")).to_contain_text("No pneumothorax")
    signed = page.locator("#signed-checks")
    expect(signed).to_contain_text("signed with")
    expect(signed.locator("[data-code=laterality_mismatch]").first).to_be_visible()
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_a_refused_microphone_is_explained(
    integration: Integration, series: list[Series], ws_page: Callable[..., Page]
) -> None:
    """The shared browser has no fake device and nobody to answer the permission prompt."""
    study_id, _ = integration.study(series[1:])
    page = ws_page()
    page.goto(integration.reroute(study_id))
    button = page.locator("#dictate-button")
    expect(button).to_have_attribute("aria-keyshortcuts", "Alt+M")
    button.click()
    expect(button).to_have_attribute("data-state", "error")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#dictation-status")).to_have_text(re.compile(r"microphone", re.I))
    # Nothing was inserted into the report.
    expect(page.locator("#f-findings")).to_have_value("")
    assert page.page_errors == []  # type: ignore[attr-defined]


def _draft(
    lungs: tuple[str, str], pleura: tuple[str, str], impression: list[tuple[str, str]]
) -> dict[str, Any]:
    """A dictation's draft (Draft.to_dict()): (text, source) per organ and impression item."""

    def sentences(*items: tuple[str, str]) -> list[dict[str, str]]:
        return [{"id": f"s{i}", "text": t, "source": src} for i, (t, src) in enumerate(items)]

    def organ(key: str, title: str, item: tuple[str, str]) -> dict[str, Any]:
        return {"key": key, "title": title, "sentences": sentences(item), "subsections": []}

    return {
        "sections": [
            {"key": "comparison", "title": "Comparison", "sentences": sentences(("None.", "default"))},
            {
                "key": "findings",
                "title": "Findings",
                "sentences": [],
                "subsections": [organ("lungs", "Lungs", lungs), organ("pleura", "Pleura", pleura)],
            },
            {"key": "impression", "title": "Impression", "sentences": sentences(*impression)},
        ]
    }


def test_a_dictation_never_overwrites_what_the_radiologist_wrote(
    integration: Integration, series: list[Series], ws_page: Callable[..., Page]
) -> None:
    """The merge rules of dictation.js, with drafts as the server returns them (no model)."""
    study_id, _ = integration.study(series[1:])
    page = ws_page()
    page.goto(integration.reroute(study_id))
    page.wait_for_function("() => window.AutoScribeDictation && window.AutoScribeReport.isEditable()")
    apply = "(draft) => AutoScribeDictation.applyDraft(draft)"

    # 1. Empty fields take the draft: normal defaults and dictated sentences alike.
    first = _draft(
        ("The lungs are clear.", "default"),
        ("Small left pleural effusion.", "dictated"),
        [("Small left pleural effusion.", "generated")],
    )
    assert page.evaluate(apply, first) == []
    assert _subsections(page) == {"Lungs": "The lungs are clear.", "Pleura": "Small left pleural effusion."}
    expect(page.locator("#f-comparison")).to_have_value("None.")
    expect(page.locator("#f-impression")).to_have_value("Small left pleural effusion.")

    # 2. A second dictation about the lungs replaces their untouched normal sentence; its own
    #    defaults (Pleura) and generated impression do not touch what is there.
    second = _draft(
        ("Right lower lobe opacity.", "dictated"),
        ("No pleural effusion.", "default"),
        [("Right lower lobe opacity.", "generated")],
    )
    assert page.evaluate(apply, second) == []
    assert _subsections(page) == {
        "Lungs": "Right lower lobe opacity.",
        "Pleura": "Small left pleural effusion.",
    }
    expect(page.locator("#f-impression")).to_have_value("Small left pleural effusion.")

    # 3. Text the radiologist typed stays; newly dictated sentences go after it, and are named.
    page.locator("[data-subsection] [data-field=text]").first.fill("Lungs typed by hand.")
    page.locator("#f-impression").fill("1. Typed impression.")
    third = _draft(
        ("Mild atelectasis.", "dictated"),
        ("Trace effusion.", "dictated"),
        [("Mild atelectasis.", "dictated"), ("Trace effusion.", "dictated")],
    )
    appended = page.evaluate(apply, third)
    assert appended == ["Findings: Lungs", "Findings: Pleura", "Impression"]
    assert _subsections(page) == {
        "Lungs": "Lungs typed by hand. Mild atelectasis.",
        "Pleura": "Small left pleural effusion. Trace effusion.",
    }
    # A numbered impression goes on numbering.
    expect(page.locator("#f-impression")).to_have_value(
        "1. Typed impression.\n2. Mild atelectasis.\n3. Trace effusion."
    )
    saved = page.evaluate("() => AutoScribeReport.save()")
    assert saved is True
    assert page.page_errors == []  # type: ignore[attr-defined]
