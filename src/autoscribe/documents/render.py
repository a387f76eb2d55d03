"""Report rendering: one Jinja2 template for the screen and the PDF, WeasyPrint for the PDF,
and the plain text that the API and the report.delivered webhook carry."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from autoscribe.documents.model import Header, Part, ReportDocument, Sections, Signature

log = logging.getLogger("autoscribe.documents")


def format_when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _css_string(value: str) -> str:
    """Content for a CSS string literal in @page margin boxes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("autoscribe.documents", "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.filters["css_string"] = _css_string
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
        p for p in (header.patient_name, f"MRN {header.mrn}" if header.mrn else "", header.clinic_name) if p
    )
    css = Markup(report_css())  # noqa: S704 - our own packaged stylesheet, not user input
    template = environment().get_template("documents/report.html")
    return template.render(doc=doc, css=css, page_size=page_size, footer_left=footer)


def render_pdf(doc: ReportDocument) -> bytes:
    from weasyprint import HTML

    # No base_url and no external resources: the template is self-contained, so rendering
    # never reaches the network or the file system.
    return bytes(HTML(string=render_html(doc), base_url=None).write_pdf())


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
