"""Fixtures for the viewer tests: Debian's Chromium through Playwright, the fake PACS, the harness page.

The browser is the session-wide one from tests/conftest.py (one Playwright per process).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.viewer.harness import Harness
from tests.fakepacs import FakePacs, Study, ct_series, mono8_series, mr_series, rgb_series
from tests.viewerpage import (  # noqa: F401  (re-exported for the viewer tests)
    CANVAS_STATS,
    SAMPLE,
    canvas_stats,
    overlay,
    sample,
    settle,
    state,
    wait_all_loaded,
    wait_first_image,
)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 700}, device_scale_factor=1)
    pg = context.new_page()
    yield pg
    context.close()


@dataclass
class Studies:
    """The synthetic studies every viewer test may use (built once: pydicom is not free)."""

    ct_mr: Study  # CT 60 slices (signed, rescaled) + MR 20 slices (unsigned), with manifest
    mono: Study  # MONOCHROME1 and MONOCHROME2 ramps with identical pixels
    rgb: Study  # RGB planar 0 and planar 1
    unordered: Study  # CT 12 + MR 6, URLs shuffled, no manifest


@pytest.fixture(scope="package")
def pacs_server() -> Iterator[FakePacs]:
    pacs = FakePacs.start()
    yield pacs
    pacs.stop()


@pytest.fixture(scope="package")
def studies(pacs_server: FakePacs) -> Studies:
    return Studies(
        ct_mr=pacs_server.add_study(series=[ct_series(60, 128), mr_series(20, 96)]),
        mono=pacs_server.add_study(
            series=[mono8_series("MONOCHROME2", number=1), mono8_series("MONOCHROME1", number=2)]
        ),
        rgb=pacs_server.add_study(series=[rgb_series(0, number=1), rgb_series(1, number=2)]),
        unordered=pacs_server.add_study(
            series=[ct_series(12, 64, number=5), mr_series(6, 64, number=4)],
            manifest=False,
            shuffle_urls=True,
        ),
    )


@pytest.fixture
def pacs(pacs_server: FakePacs) -> Iterator[FakePacs]:
    """The shared fake PACS, with faults, delays and the request log reset after each test."""
    pacs_server.clear_log()
    with pacs_server.faults_cleared():
        yield pacs_server


@pytest.fixture(scope="package")
def harness(pacs_server: FakePacs) -> Iterator[Harness]:
    h = Harness(pacs_server).start()
    yield h
    h.stop()
