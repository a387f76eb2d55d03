"""Report rendering: one Jinja2 template for the screen and the PDF, WeasyPrint for the PDF,
and the plain text that the API and the report.delivered webhook carry.

Patient and study values come from integrators' API keys: they are escaped for the context they
land in (HTML text, or the CSS string of the PDF footer), and WeasyPrint gets a URL fetcher that
serves only assets bundled in this package, so a value that slipped through could still fetch
nothing (no network, no file on the server)."""

from __future__ import annotations

import logging
import mimetypes
import re
import threading
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from autoscribe.documents.model import Header, Part, ReportDocument, Sections, Signature

log = logging.getLogger("autoscribe.documents")

# URLs of bundled assets (fonts, a logo: files in autoscribe/documents/assets/) in templates:
# `autoscribe-asset:logo.png`. The renderer fetches nothing else.
ASSET_SCHEME = "autoscribe-asset"
_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")


def format_when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# C0 and C1 controls, DEL, the Unicode line/paragraph separators and lone surrogates (which no
# encoder takes). Tab and line feed are kept where text may span lines.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LINE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable_text(value: str) -> str:
    """Text for HTML: line breaks become \\n, every other control character a space."""
    return _CONTROLS.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))


def printable_line(value: str) -> str:
    """One line of text: every control character (line breaks and tabs too) becomes a space."""
    return _LINE_CONTROLS.sub(" ", value)


_CSS_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,-_#+/")


def _css_string(value: str) -> str:
    """Content for a double-quoted CSS string literal (@page margin boxes).

    Everything outside a small safe set becomes a CSS hex escape (`\\HH ` with its terminating
    space): quotes, backslashes, every control character (form feed and carriage return end a
    CSS string), braces, `<` (which could end the <style> element), and all non-ASCII text.
    The result holds no character that can end the string, the rule or the element, and none
    that HTML escaping changes."""
    return "".join(c if c in _CSS_SAFE else f"\\{ord(c):x} " for c in value)


def _finalize(value: Any) -> Any:
    """Every {{ value }} of the templates: no control characters reach the HTML."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable_text(value)
    return value


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("autoscribe.documents", "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["when"] = format_when
    env.filters["css_string"] = lambda value: Markup(_css_string(value))  # noqa: S704 - fully escaped
    return env


@lru_cache(maxsize=1)
def report_css() -> str:
    return (resources.files("autoscribe.documents") / "templates" / "documents" / "report.css").read_text()


def render_fragment(doc: ReportDocument) -> Markup:
    """The report as an HTML fragment for a page (the workspace adds report_css() once)."""
    return Markup(environment().get_template("documents/report_body.html").render(doc=doc))  # noqa: S704


def render_html(doc: ReportDocument, *, page_size: str = "Letter") -> str:
    """A standalone HTML document: exactly what the PDF is made from."""
    header = doc.header
    footer = " · ".join(
        printable_line(p)
        for p in (header.patient_name, f"MRN {header.mrn}" if header.mrn else "", header.clinic_name)
        if p
    )
    css = Markup(report_css())  # noqa: S704 - our own packaged stylesheet, not user input
    template = environment().get_template("documents/report.html")
    return template.render(doc=doc, css=css, page_size=page_size, footer_left=footer)


class FetchRefused(ValueError):
    """The PDF renderer was asked for a resource that is not one of the bundled assets."""


@lru_cache(maxsize=1)
def _fetcher_class() -> type:
    # WeasyPrint is imported on first use: it loads Pango and fonts, which `autoscribe` commands
    # that never render do not need.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class BundledAssetFetcher(URLFetcher):  # type: ignore[misc]
        """WeasyPrint's URL fetcher for reports: `autoscribe-asset:<name>` from the assets
        directory, and nothing else. Every other URL (http, https, file, data, ftp, a name with
        a path in it, a missing asset) raises FetchRefused before any I/O: WeasyPrint then leaves
        that image, font or stylesheet out and goes on rendering."""

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

    return BundledAssetFetcher


def asset_fetcher(root: Traversable | Path | None = None) -> Any:
    """A WeasyPrint URL fetcher serving only the bundled assets under `root` (default: the
    package's autoscribe/documents/assets/)."""
    if root is None:
        return _default_fetcher()
    return _fetcher_class()(root)


@lru_cache(maxsize=1)
def _default_fetcher() -> Any:
    return _fetcher_class()(resources.files("autoscribe.documents") / "assets")


def html_to_pdf(html: str, *, url_fetcher: Any = None) -> bytes:
    """A PDF from an HTML string, with nothing fetched from outside the bundled assets."""
    from weasyprint import HTML

    fetcher = url_fetcher if url_fetcher is not None else asset_fetcher()
    return bytes(HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf())


def render_pdf(doc: ReportDocument) -> bytes:
    return html_to_pdf(render_html(doc))


def _section_lines(sections: Sections) -> list[str]:
    lines: list[str] = []
    for title, text in (
        ("CLINICAL INDICATION", sections.clinical_indication),
        ("TECHNIQUE", sections.technique),
        ("COMPARISON", sections.comparison),
    ):
        if text.strip():
            lines += [f"{title}:", text.strip(), ""]
    if sections.findings.strip() or sections.findings_subsections:
        lines.append("FINDINGS:")
        if sections.findings.strip():
            lines.append(sections.findings.strip())
        for sub in sections.findings_subsections:
            lines.append(
                f"{sub.heading.strip()}: {sub.text.strip()}" if sub.heading.strip() else sub.text.strip()
            )
        lines.append("")
    if sections.impression.strip():
        lines += ["IMPRESSION:", sections.impression.strip(), ""]
    return lines


def signature_line(signature: Signature) -> str:
    return (
        f"Electronically signed by {signature.display_name} (NPI {signature.npi}) "
        f"on {format_when(signature.signed_at)}"
    )


def part_text(part: Part) -> str:
    """Plain text of one report or addendum, as delivered to integrators."""
    lines: list[str] = []
    if part.is_addendum:
        lines += ["ADDENDUM", ""]
    if part.is_critical:
        lines += ["*** CRITICAL RESULT ***", ""]
    lines += _section_lines(part.sections)
    if part.signature is not None:
        lines.append(signature_line(part.signature))
    return "\n".join(lines).strip() + "\n"


def document_text(doc: ReportDocument) -> str:
    return "\n".join(part_text(p) for p in doc.parts)


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
