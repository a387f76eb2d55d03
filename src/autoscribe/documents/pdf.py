"""Report PDFs: the report's HTML (documents/render.py) through WeasyPrint.

WeasyPrint gets a URL fetcher that serves only assets bundled in this package, so a patient or
study value that slipped through escaping could still fetch nothing (no network, no file on the
server). Only processes that render (the worker, `autoscribe serve` with its in-process worker)
import this module; it loads Pango and fonts."""

from __future__ import annotations

import logging
import mimetypes
import re
import threading
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from autoscribe.documents.model import Header, Part, ReportDocument, Sections
from autoscribe.documents.render import render_html

log = logging.getLogger("autoscribe.documents")

# URLs of bundled assets (fonts, a logo: files in autoscribe/documents/assets/) in templates:
# `autoscribe-asset:logo.png`. The renderer fetches nothing else.
ASSET_SCHEME = "autoscribe-asset"
_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")


class FetchRefused(ValueError):
    """The PDF renderer was asked for a resource that is not one of the bundled assets."""


class BundledAssetFetcher(URLFetcher):  # type: ignore[misc]
    """WeasyPrint's URL fetcher for reports: `autoscribe-asset:<name>` from the assets directory,
    and nothing else. Every other URL (http, https, file, data, ftp, a name with a path in it, a
    missing asset) raises FetchRefused before any I/O: WeasyPrint then leaves that image, font or
    stylesheet out and goes on rendering."""

    def __init__(self, root: Traversable | Path) -> None:
        super().__init__(allowed_protocols=(ASSET_SCHEME,), allow_redirects=False)
        self.root = root

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme, _, name = url.partition(":")
        if scheme.lower() != ASSET_SCHEME or not _ASSET_NAME.fullmatch(name):
            raise FetchRefused(f"the report renderer fetches bundled assets only, not {url[:80]!r}")
        resource = self.root / name
        if not resource.is_file():
            raise FetchRefused(f"no bundled asset named {name!r}")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, resource.read_bytes(), {"Content-Type": content_type})

    def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
        return self.fetch(url.full_url if hasattr(url, "full_url") else str(url))


def asset_fetcher(root: Traversable | Path | None = None) -> BundledAssetFetcher:
    """A fetcher serving only the bundled assets under `root` (default: the package's
    autoscribe/documents/assets/)."""
    if root is None:
        return _default_fetcher()
    return BundledAssetFetcher(root)


@lru_cache(maxsize=1)
def _default_fetcher() -> BundledAssetFetcher:
    return BundledAssetFetcher(resources.files("autoscribe.documents") / "assets")


def html_to_pdf(html: str, *, url_fetcher: Any = None) -> bytes:
    """A PDF from an HTML string, with nothing fetched from outside the bundled assets."""
    fetcher = url_fetcher if url_fetcher is not None else asset_fetcher()
    return bytes(HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf())


def render_pdf(doc: ReportDocument) -> bytes:
    return html_to_pdf(render_html(doc))


_warm = threading.Event()


def warm_up() -> None:
    """Load WeasyPrint, fonts and the template once, so the first real render is a warm one."""
    if _warm.is_set():
        return
    try:
        render_pdf(
            ReportDocument(
                header=Header(clinic_name="Warm-up", patient_name="Warm Up"),
                parts=(Part("rep_warmup", False, Sections(findings="Warm-up."), False, None),),
            )
        )
        _warm.set()
    except Exception:  # a broken PDF stack must not stop the server; signing reports the error
        log.exception("PDF renderer warm-up failed")
