"""The DICOM viewer in a real Chromium: drawing, navigation, window/level, photometrics, errors.

Pages come from the test harness (tests/browser/viewer/harness.py), which serves the committed bundle
and relays the fake PACS's answer to a signed study.access_requested webhook; the browser then
fetches the DICOM files cross-origin from the fake PACS's presigned URLs.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pydicom.uid import generate_uid

from tests.browser.viewer.conftest import (
    Studies,
    canvas_stats,
    sample,
    state,
    wait_all_loaded,
    wait_first_image,
)
from tests.browser.viewer.harness import Harness
from tests.fakepacs import FakePacs, compressed_series, ct_series, mono8_series

pytestmark = pytest.mark.browser


def slice_label(page: Page) -> str:
    return page.locator(".asv-ov-bl").inner_text()


def window_label(page: Page) -> str:
    return page.locator(".asv-ov-br").inner_text()


def open_study(page: Page, harness: Harness, study_uid: str, **params: object) -> None:
    page.goto(harness.url(study_uid, **params))


def test_ct_first_image_is_drawn_and_scrolling_changes_the_slice(
    page: Page, harness: Harness, studies: Studies
) -> None:
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    wait_first_image(page)
    first = canvas_stats(page)
    assert first["lit"] > 0.1 and first["std"] > 20, first  # a body on black, not a blank pane
    assert slice_label(page).startswith("Slice 1/60")
    series = page.get_by_role("navigation", name="Series")
    expect(series.get_by_role("button", name="CT Chest w/o contrast")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(series.get_by_role("button", name="MR T2 axial")).to_contain_text("20 images")
    wait_all_loaded(page)

    page.locator(".asv-viewport").hover()
    page.mouse.wheel(0, 120)
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 2/60")
    second = canvas_stats(page)
    assert second["hash"] != first["hash"]

    viewport = page.get_by_role("group", name="Image viewer")
    viewport.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 3/60")
    page.keyboard.press("PageDown")
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 9/60")
    page.keyboard.press("ArrowUp")
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 8/60")
    page.keyboard.press("End")
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 60/60 (Im 60)")
    page.keyboard.press("PageUp")
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 54/60")
    page.get_by_role("slider", name="Slice").fill("30")
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 30/60")
    expect(page.get_by_role("slider", name="Slice")).to_have_attribute("aria-valuetext", "Slice 30 of 60")
    page.mouse.wheel(0, -120)
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 29/60")

    # Switching series keeps each series' own position.
    page.get_by_role("button", name="MR T2 axial").click()
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 1/20")
    expect(page.locator(".asv-ov-tl")).to_contain_text("MR T2 axial")
    page.get_by_role("button", name="CT Chest w/o contrast").click()
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 29/60")


def test_signed_ct_with_rescale_renders_hounsfield_units(
    page: Page, harness: Harness, studies: Studies
) -> None:
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    wait_first_image(page)
    assert window_label(page) == "W 400 L 40"  # from the file's WindowCenter/Width
    # Padding outside the field of view is stored as -2000 (signed): black, not wrapped to white.
    assert max(sample(page, 0.03, 0.03)) == 0
    # Soft tissue at 40 HU (stored 1064, intercept -1024) sits mid-grey in a 40/400 window.
    assert 118 <= sample(page, 0.5, 0.5)[0] <= 138
    assert sample(page, 0.5, 0.71)[0] == 255  # bone, 700 HU
    assert sample(page, 0.31, 0.48)[0] == 0  # lung, -850 HU


def test_window_level_drag_presets_zoom_pan_and_reset(page: Page, harness: Harness, studies: Studies) -> None:
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    wait_first_image(page)
    before = canvas_stats(page)
    box = page.locator(".asv-viewport").bounding_box()
    assert box
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 80, cy + 40, steps=4)
    page.mouse.up()
    assert window_label(page) != "W 400 L 40"
    assert canvas_stats(page)["hash"] != before["hash"]

    page.get_by_role("combobox", name="Window preset").select_option("ct-lung")
    expect(page.locator(".asv-ov-br")).to_have_text("W 1500 L -600")
    assert 60 <= sample(page, 0.31, 0.48)[0] <= 110  # lung now visible as dark grey

    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator(".asv-ov-tr")).to_have_text("Zoom 125%")
    assert state(page)["imageRect"]["width"] > 592
    page.get_by_role("button", name="Pan").click()
    rect = state(page)["imageRect"]
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 30, steps=3)
    page.mouse.up()
    moved = state(page)["imageRect"]
    assert moved["x"] == pytest.approx(rect["x"] + 60, abs=1)
    assert moved["y"] == pytest.approx(rect["y"] + 30, abs=1)

    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".asv-ov-br")).to_have_text("W 400 L 40")
    expect(page.locator(".asv-ov-tr")).to_have_text("Zoom 100%")
    assert canvas_stats(page)["hash"] == before["hash"]

    page.get_by_role("group", name="Image viewer").focus()
    page.keyboard.press("5")  # fifth preset: CT Lung
    expect(page.locator(".asv-ov-br")).to_have_text("W 1500 L -600")
    page.keyboard.press("i")
    assert sample(page, 0.03, 0.03)[0] == 255  # inverted: padding white


def test_mr_unsigned_without_window_uses_its_full_range(
    page: Page, harness: Harness, studies: Studies
) -> None:
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    wait_all_loaded(page)
    page.get_by_role("button", name="MR T2 axial").click()
    expect(page.locator(".asv-ov-tl")).to_contain_text("MR")
    assert sample(page, 0.5, 0.5)[0] == 255  # the brightest structure (1800) is white
    assert sample(page, 0.03, 0.5)[0] == 0  # background (0) black
    tissue = sample(page, 0.3, 0.5)[0]
    assert 30 < tissue < 200, tissue  # head tissue in between


def test_monochrome1_is_the_inverse_of_monochrome2(page: Page, harness: Harness, studies: Studies) -> None:
    open_study(page, harness, studies.mono.study_instance_uid)
    wait_all_loaded(page)
    xs = (0.1, 0.3, 0.5, 0.7, 0.9)
    mono2 = [sample(page, x, 0.5)[0] for x in xs]
    assert mono2 == sorted(mono2) and mono2[-1] - mono2[0] > 150  # ramp: dark left, bright right
    page.get_by_role("button", name="MONOCHROME1 ramp").click()
    expect(page.locator(".asv-ov-tl")).to_contain_text("MONOCHROME1")
    mono1 = [sample(page, x, 0.5)[0] for x in xs]
    for a, b in zip(mono1, mono2, strict=True):
        assert abs(a - (255 - b)) <= 2, (mono1, mono2)


def test_rgb_renders_colours_for_both_planar_configurations(
    page: Page, harness: Harness, studies: Studies
) -> None:
    open_study(page, harness, studies.rgb.study_instance_uid)
    wait_all_loaded(page)
    for name in ("RGB planar 0", "RGB planar 1"):
        page.get_by_role("button", name=name).click()
        expect(page.locator(".asv-ov-tl")).to_contain_text(name)
        red, green, blue = (sample(page, x, 0.5) for x in (1 / 6, 1 / 2, 5 / 6))
        assert red[0] > 200 and red[1] < 40 and red[2] < 40, (name, red)
        assert green[1] > 180 and green[0] < 40 and green[2] < 40, (name, green)
        assert blue[2] > 200 and blue[0] < 40 and blue[1] < 40, (name, blue)


def test_without_manifest_files_are_grouped_by_series_and_ordered_by_instance_number(
    page: Page, harness: Harness, studies: Studies
) -> None:
    open_study(page, harness, studies.unordered.study_instance_uid)
    wait_all_loaded(page)
    described = [(s["description"], s["count"]) for s in state(page)["series"]]
    assert described == [("MR T2 axial", 6), ("CT Chest w/o contrast", 12)]  # by SeriesNumber
    for name, count in described:
        page.get_by_role("button", name=name).click()
        page.get_by_role("group", name="Image viewer").focus()
        page.keyboard.press("Home")
        seen = []
        for _ in range(count):
            seen.append(state(page)["current"]["instanceNumber"])
            page.keyboard.press("ArrowDown")
        assert seen == list(range(1, count + 1)), (name, seen)


def test_manifest_lays_out_series_before_files_arrive(
    page: Page, harness: Harness, pacs: FakePacs, studies: Studies
) -> None:
    pacs.pause_files_after(0)  # no file arrives until the layout has been checked
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    expect(page.get_by_role("button", name="CT Chest w/o contrast")).to_contain_text("60 images")
    expect(page.locator(".asv-slice-label")).to_have_text("1 / 60")
    expect(page.locator(".asv-message")).to_contain_text("Loading slice 1 of 60")
    assert page.locator(".asv").get_attribute("data-first-image-ms") is None
    pacs.resume_files()
    wait_first_image(page)
    assert canvas_stats(page)["lit"] > 0.1


def test_loading_follows_the_slice_on_screen(page: Page, harness: Harness, pacs: FakePacs) -> None:
    study = pacs.add_study(series=[ct_series(40, 32)])
    sops = [i.sop_instance_uid for i in study.series[0].instances]
    # Two files come through, then the PACS holds the rest until the reader has jumped to the end,
    # so the order does not depend on how fast this machine is.
    pacs.pause_files_after(2)
    open_study(page, harness, study.study_instance_uid, concurrency=2)
    wait_first_image(page)
    page.get_by_role("group", name="Image viewer").focus()
    page.keyboard.press("End")
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 40/40")
    pacs.resume_files()
    wait_all_loaded(page)
    order = [r.path.rsplit("/", 1)[-1].removesuffix(".dcm") for r in pacs.file_requests()]
    assert sops[0] in order[:2]  # two requests run at once; either may reach the PACS first
    # Fetched in slice order the last slice would come 40th; jumping to it moved it to the front
    # of the queue (behind the few requests already under way).
    assert order.index(sops[-1]) < 8, order.index(sops[-1])
    expect(page.locator(".asv-ov-bl")).to_contain_text("Slice 40/40")


def test_broken_file_shows_an_error_with_retry(
    page: Page, harness: Harness, pacs: FakePacs, studies: Studies
) -> None:
    first = studies.ct_mr.series[0].instances[0].sop_instance_uid
    pacs.fail(first, "broken")
    # The broken file comes as a cacheable 200 at a URL the retry gets again: Retry must still
    # fetch it from the archive, not the browser's cache.
    pacs.stable_urls = True
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    wait_all_loaded(page)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Slice 1 of 60 could not be loaded")
    expect(alert).to_contain_text("Not a readable DICOM file")
    expect(page.get_by_role("status").filter(has_text="could not be loaded")).to_contain_text("79 of 80")
    page.get_by_role("group", name="Image viewer").focus()
    page.keyboard.press("ArrowDown")  # the other slices are there
    expect(page.get_by_role("alert")).to_have_count(0)
    assert canvas_stats(page)["lit"] > 0.1
    page.keyboard.press("Home")
    pacs.reset_faults()
    page.get_by_role("button", name="Retry", exact=True).click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator(".asv")).to_have_attribute("data-failed", "0")
    assert canvas_stats(page)["lit"] > 0.1


def test_forbidden_url_shows_an_error_and_retry_asks_for_fresh_urls(
    page: Page, harness: Harness, pacs: FakePacs, studies: Studies
) -> None:
    first = studies.ct_mr.series[0].instances[0].sop_instance_uid
    pacs.fail(first, 403)
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    wait_all_loaded(page)
    expect(page.get_by_role("alert")).to_contain_text("refused access to this image (HTTP 403)")
    assert len(pacs.webhook_requests()) == 1
    pacs.reset_faults()
    page.get_by_role("button", name="Retry failed images").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert len(pacs.webhook_requests()) == 2  # presigned URLs expire: Retry fetched new ones
    assert canvas_stats(page)["lit"] > 0.1


def test_every_file_failing_shows_one_clear_error(
    page: Page, harness: Harness, pacs: FakePacs, studies: Studies
) -> None:
    for _, inst in studies.mono.instances():
        pacs.fail(inst.sop_instance_uid, 500)
    open_study(page, harness, studies.mono.study_instance_uid)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("None of the 6 images could be loaded")
    expect(alert).to_contain_text("HTTP 500")
    expect(page.locator(".asv")).to_have_attribute("data-status", "error")
    pacs.reset_faults()
    alert.get_by_role("button", name="Retry").click()
    wait_first_image(page)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_unauthorized_study_shows_the_archive_error_text(
    page: Page, harness: Harness, pacs: FakePacs
) -> None:
    uid = generate_uid()
    open_study(page, harness, uid)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("did not authorize access: Study not found in PACS")
    assert page.locator(".asv").get_attribute("data-first-image-ms") is None
    # The archive gets the study; Retry asks again and shows it.
    pacs.add_study(uid, series=[mono8_series("MONOCHROME2", slices=2)])
    alert.get_by_role("button", name="Retry").click()
    wait_first_image(page)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_authorized_false_json_given_directly(page: Page, harness: Harness) -> None:
    page.goto(harness.url())
    page.evaluate("() => harnessMount({authorized: false, error: 'Patient record is locked'})")
    expect(page.get_by_role("alert")).to_contain_text("Patient record is locked")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    assert page.evaluate("() => harnessEvents.filter(e => e[0] === 'error').length") == 1


def test_archive_failure_and_timeout_of_the_image_list(
    page: Page, harness: Harness, pacs: FakePacs, studies: Studies
) -> None:
    pacs.webhook_status = 500
    open_study(page, harness, studies.mono.study_instance_uid)
    expect(page.get_by_role("alert")).to_contain_text("The image archive answered HTTP 500")
    pacs.webhook_status = None
    pacs.webhook_delay = 3.0
    open_study(page, harness, studies.mono.study_instance_uid, sourceTimeoutMs=800)
    expect(page.get_by_role("alert")).to_contain_text("did not arrive within 1 s")
    pacs.webhook_delay = 0
    page.get_by_role("button", name="Retry").click()
    wait_first_image(page)


def test_a_file_that_never_arrives_times_out_with_retry(
    page: Page, harness: Harness, pacs: FakePacs, studies: Studies
) -> None:
    pacs.fail(studies.mono.series[0].instances[0].sop_instance_uid, "hang")
    open_study(page, harness, studies.mono.study_instance_uid, timeoutMs=1000)
    expect(page.get_by_role("alert")).to_contain_text("did not send this image within 1 s", timeout=10_000)
    pacs.reset_faults()
    page.get_by_role("button", name="Retry", exact=True).click()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert canvas_stats(page)["lit"] > 0.1


def test_compressed_transfer_syntax_is_named_in_the_message(
    page: Page, harness: Harness, pacs: FakePacs
) -> None:
    study = pacs.add_study(series=[compressed_series(2)])
    page.goto(harness.url())
    page.evaluate("(urls) => harnessMount({urls})", pacs.urls_for(study.study_instance_uid))
    expect(page.get_by_role("alert")).to_contain_text(
        "JPEG Baseline compression, which this viewer does not decode"
    )


def test_keyboard_focus_is_visible_and_controls_are_labelled(
    page: Page, harness: Harness, studies: Studies
) -> None:
    open_study(page, harness, studies.ct_mr.study_instance_uid)
    wait_first_image(page)
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused == "W/L"
    style = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert style == "solid"
    for role, name in (
        ("button", "Zoom in"),
        ("button", "Zoom out"),
        ("button", "Reset"),
        ("button", "Invert"),
        ("combobox", "Window preset"),
        ("slider", "Slice"),
        ("toolbar", "Image tools"),
    ):
        expect(page.get_by_role(role, name=name)).to_be_visible()  # type: ignore[arg-type]
    viewport = page.get_by_role("group", name="Image viewer")
    expect(viewport).to_have_attribute(
        "aria-label", "Image viewer: CT Chest w/o contrast, slice 1 of 60, window 400 level 40"
    )
    for _ in range(30):
        if page.evaluate("() => document.activeElement.classList.contains('asv-viewport')"):
            break
        page.keyboard.press("Tab")
    # The image viewport's focus ring is a frame above the canvas.
    ring = "() => getComputedStyle(document.activeElement, '::after').borderTopStyle"
    assert page.evaluate(ring) == "solid"
    page.keyboard.press("ArrowDown")
    expect(viewport).to_have_attribute(
        "aria-label", "Image viewer: CT Chest w/o contrast, slice 2 of 60, window 400 level 40"
    )
    page.keyboard.press("]")
    expect(page.locator(".asv-ov-tl")).to_contain_text("MR T2 axial")


def test_urls_given_directly_with_media_attachments(page: Page, harness: Harness, pacs: FakePacs) -> None:
    study = pacs.add_study(series=[mono8_series("MONOCHROME2", slices=2)])
    page.goto(harness.url())
    page.evaluate(
        "(urls) => harnessMount({authorized: true, urls, mediaUrls: ["
        "{mimeType: 'application/pdf', url: 'http://127.0.0.1:9/requisition.pdf',"
        " fileName: 'Requisition.pdf'},"
        "{mimeType: 'text/html', url: 'javascript:alert(1)'}]})",
        pacs.urls_for(study.study_instance_uid),
    )
    wait_all_loaded(page)
    assert canvas_stats(page)["lit"] > 0.3
    link = page.get_by_role("link", name="Requisition.pdf")
    expect(link).to_have_attribute("href", "http://127.0.0.1:9/requisition.pdf")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator(".asv-media-list a")).to_have_count(1)  # the javascript: URL is dropped
    assert len(pacs.webhook_requests()) == 0  # no source: the viewer used the URLs it was given
