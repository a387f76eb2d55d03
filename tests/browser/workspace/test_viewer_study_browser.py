"""A Viewer study's reroute URL in Debian's Chromium, against the fake PACS: the images are
drawn and scroll, there is no report pane and nothing to type or dictate, and the URL works once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.fakepacs import Series
from tests.helpers import new_uid
from tests.viewerpage import canvas_stats, state, wait_first_image
from tests.workspace.conftest import Integration

pytestmark = pytest.mark.browser


def test_a_viewer_reroute_url_shows_images_and_no_report_pane(
    integration: Integration, series: list[Series], ws_page: Callable[..., Page]
) -> None:
    uid = new_uid()
    integration.pacs.add_study(uid, series=series)
    client = integration.client
    study = client.viewer.studies.create(
        severity="stat", study_description="CT Chest PE", study_instance_uid=uid
    )
    url = client.viewer.studies.reroute_url(study_id=study.study_id).url

    page = ws_page()
    page.goto(url)
    wait_first_image(page, timeout=30_000)
    assert page.url == f"{integration.server.url}/workspace/{study.study_id}"  # token-free
    assert canvas_stats(page)["lit"] > 0.1
    viewer = state(page)
    assert len(viewer["series"]) == 2  # the CT and the MR from study.access_requested
    before = canvas_stats(page)["hash"]
    page.locator("#viewer").click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert canvas_stats(page)["hash"] != before  # scrolling shows another slice

    expect(page.locator("body")).to_have_attribute("data-mode", "images")
    expect(page.locator(".ws-title-sub")).to_have_text("CT Chest PE")
    expect(page.locator("#view-only-badge")).to_be_visible()
    # No report pane, nothing to type, sign or dictate.
    for selector in ("#report-pane", "#sign-dialog", "textarea", "[contenteditable]", "#dictation-slot"):
        expect(page.locator(selector)).to_have_count(0)
    assert page.evaluate("() => typeof window.AutoScribeReport") == "undefined"
    assert page.page_errors == []  # type: ignore[attr-defined]
    # The integrator was asked for this study's images, and only that.
    (event,) = [r.json() for r in integration.pacs.webhook_requests()]
    assert event["type"] == "study.access_requested" and event["data"]["studyId"] == study.study_id

    # One-time: a second browser gets the "already used" page.
    again = ws_page()
    response = again.goto(url)
    assert response is not None and response.status == 410
