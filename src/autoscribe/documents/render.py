"""Report rendering: one Jinja2 template for the screen and the PDF (documents/pdf.py turns it
into a PDF), and the plain text that the API and the report.delivered webhook carry.

Patient and study values come from integrators' API keys: they are escaped for the context they
land in (HTML text, or the CSS string of the PDF footer), and WeasyPrint gets a URL fetcher that
serves only assets bundled in this package, so a value that slipped through could still fetch
nothing (no network, no file on the server)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from autoscribe.documents.model import Part, ReportDocument, Sections, Signature

log = logging.getLogger("autoscribe.documents")


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
