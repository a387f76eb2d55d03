"""Browser fixtures shared by every browser test: a headless Debian Chromium driven by Playwright,
and pages that leave a screenshot under var/screenshots/ when the test ends (for reviewers).

    def test_something(page: Page, server: Server) -> None:
        page.goto(server.url + "/login")

The `browser` itself is the session-wide one from tests/conftest.py.
`make_page(width, height)` gives more pages (another viewport, a second user) with the same
screenshot-on-teardown behaviour; `console_errors(page)` lists what the page logged as errors.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = (1280, 800)
PHONE = (390, 844)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


@pytest.fixture
def make_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    pages: list[tuple[str, Page]] = []

    def factory(width: int = DESKTOP[0], height: int = DESKTOP[1], name: str | None = None) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.console_errors = errors  # type: ignore[attr-defined]
        pages.append((name or f"{width}x{height}-{len(pages)}", page))
        return page

    yield factory
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = _slug(request.node.name)
    for name, page in pages:
        # A test that failed half-way must not hide its own error behind a screenshot error.
        with contextlib.suppress(Exception):
            page.screenshot(path=str(SCREENSHOTS / f"{test_name}--{_slug(name)}.png"), full_page=True)
        page.context.close()


@pytest.fixture
def page(make_page: Callable[..., Page]) -> Page:
    return make_page(*DESKTOP, name="desktop")


def snap(page: Page, name: str) -> None:
    """An extra screenshot in the middle of a test (var/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{_slug(name)}.png"), full_page=True)


def console_errors(page: Page) -> list[str]:
    """Script errors and policy violations. Pages answered with an error status on purpose
    (a wrong password is a 401) make Chromium log "Failed to load resource": not counted."""
    return [e for e in page.console_errors if not e.startswith("Failed to load resource")]  # type: ignore[attr-defined]
