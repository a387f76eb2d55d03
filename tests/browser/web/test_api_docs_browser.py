"""/docs renders the API reference from the package: no request leaves the machine."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import console_errors
from tests.conftest import Server

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_docs_render_every_operation_offline(page: Page, server: Server) -> None:
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("AutoScribe API")
    operations = page.locator(".opblock")
    expect(operations.nth(19)).to_be_visible()  # at least 20 operations drawn
    assert operations.count() >= 20
    expect(page.locator(".opblock-summary-path", has_text="/v1/autoScribe/studies").first).to_be_visible()
    # One operation opens, with its parameters and responses.
    page.locator(".opblock-summary", has=page.locator("[data-path='/v1/autoScribe/users']")).first.click()
    expect(page.locator(".opblock.is-open .responses-wrapper").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert outside == []
    assert console_errors(page) == []


def test_docs_page_names_no_other_site(server: Server) -> None:
    page = httpx.get(server.url + "/docs")
    assert page.status_code == 200
    assert re.findall(r'(?:src|href)="(https?:)?//', page.text) == []
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(server.url + "/redoc").status_code == 404  # FastAPI's CDN-loading page is off
    assert httpx.get(server.url + "/openapi.json").status_code == 200
