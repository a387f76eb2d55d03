"""The PDF renderer fetches nothing from outside the package (issue 12, item 1).

Patient name and MRN come from any API key. Before the fix, a form feed or carriage return ended
the CSS string of the PDF footer and the rest of the value became CSS rules: WeasyPrint then
fetched `url(...)` targets (loopback, private addresses) and read `file://` paths, embedding the
image in the PDF. Each test renders hostile values and checks, with a real listener on loopback
and an audit hook on `open`, that nothing was fetched and that the PDF shows the value as text.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from avara.types.auto_scribe.report_pdf_response import SingleReportPdfResponse

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_user, sdk
from tests.reporting import PATIENT, create_study, dictate_and_sign, pdf_text
from tests.security.conftest import Listener

# ---- watching file reads -----------------------------------------------------------------------

_watch_lock = threading.Lock()
_watched: dict[str, list[str]] = {}  # directory -> paths opened under it
_hook_installed = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not _watched:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = path.decode(errors="replace")
    if not isinstance(path, str):
        return
    for directory, seen in _watched.items():
        if path.startswith(directory):
            seen.append(path)


@pytest.fixture
def secret_image(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A PNG on the server's disk, and the list of times this process opened anything next to it."""
    from PIL import Image

    global _hook_installed
    with _watch_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)  # audit hooks cannot be removed: one, switched by _watched
            _hook_installed = True
    directory = tmp_path / "server-secrets"
    directory.mkdir()
    image = directory / "secret.png"
    Image.new("RGB", (24, 24), "red").save(image)
    opened: list[str] = []
    _watched[str(directory)] = opened
    yield image, opened
    del _watched[str(directory)]


# ---- documents ---------------------------------------------------------------------------------


def hostile_values(url: str, image: Path) -> list[str]:
    """Values that ended the footer's CSS string, or tried to, before the fix."""
    return [
        # Form feed and carriage return end a CSS string; `}` leaves the margin box.
        f"Eve\f}} @top-left {{ content: url({url}/ff.png) }}",
        f"Eve\r}} @top-left {{ content: url({url}/cr.png) }}",
        f"Eve\r\n}} @top-center {{ content: url({url}/crlf.png) }}",
        # Leave the @page rule too and start new rules: @font-face, @import, a background.
        f"Eve\f}}}} @font-face {{ font-family: X; src: url({url}/font.woff) }} p {{",
        f"Eve\f}}}} @import url({url}/import.css); @page {{ @top-left {{ content: url({url}/imp.png) }}",
        f"Eve\f}}}} body {{ background: url({url}/bg.png) }} p {{",
        # A backslash before the form feed (escaped by the old code) and quotes.
        f'Eve\\\f"}} @top-right {{ content: url("{url}/quote.png") }}',
        # A file on the server: before the fix it was read and its image put in the PDF.
        f"Eve\f}} @top-left {{ content: url(file://{image}) }}",
        # HTML context: a raw-text end tag and other control characters.
        f"Eve</style><img src={url}/tag.png>\x0b\x1b[31m\x7f\x85\u2028",
    ]


def compact(text: str) -> str:
    """Text without whitespace: PDF text extraction breaks lines where the layout wraps."""
    return "".join(text.split())


def shown(value: str) -> str:
    """How a value reads in the PDF: control characters show as spaces."""
    return "".join(
        " " if (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029") else c for c in value
    )


def pdf_images(data: bytes) -> int:
    from pypdf import PdfReader

    return sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)


def document(**header: str) -> object:
    from autoscribe.documents.model import Header, Part, ReportDocument, Sections

    return ReportDocument(
        header=Header(clinic_name="Hardening Clinic", **header),
        parts=(Part("rep_security", False, Sections(findings="No acute findings."), False, None),),
    )


@pytest.mark.parametrize("field", ["patient_name", "mrn"])
def test_hostile_patient_values_fetch_nothing(
    field: str, listener: Listener, secret_image: tuple[Path, list[str]]
) -> None:
    from autoscribe.documents.pdf import render_pdf

    image, opened = secret_image
    for value in hostile_values(listener.url, image):
        data = render_pdf(document(**{field: value}))  # type: ignore[arg-type]
        assert data.startswith(b"%PDF-")
        assert listener.requests == [], (value, listener.requests)
        assert opened == [], (value, opened)
        assert pdf_images(data) == 0, value
        # The value is text, in the patient block and in the footer (the CSS string).
        text = compact(pdf_text(data))
        footer = shown(value) if field == "patient_name" else f"MRN {shown(value)}"
        assert compact(f"{footer} · Hardening Clinic") in text, (value, text)
        assert text.count(compact(shown(value))) >= 2, (value, text)


def test_css_string_escapes_everything_that_could_end_it() -> None:
    from autoscribe.documents.render import _css_string

    hostile = "a\\b\"c'd\ne\rf\fg\x00h\x0bi\x1bj\x7fk\x85l\u2028m}n{o;p<q>r&s/t(u)v@w:x"
    escaped = _css_string(hostile)
    for dangerous in "\"'\n\r\f\x00\x0b\x1b\x7f\x85\u2028}{;<>&()@:":
        assert dangerous not in escaped, (dangerous, escaped)
    # Only hex escapes use a backslash: none is left to escape the next character.
    assert "\\\\" not in escaped
    assert _css_string("Jane Doe · MRN 123-45") == "Jane Doe \\b7  MRN 123-45"


def test_html_values_hold_no_control_characters() -> None:
    from autoscribe.documents.render import render_html

    html = render_html(document(patient_name="Eve\f\r\x0b\x1b\x00\x7f\x85 Doe", mrn="1\r2"))  # type: ignore[arg-type]
    body = html.split("</style>", 1)[1]
    for control in "\f\r\x0b\x1b\x00\x7f\x85":
        assert control not in body, repr(control)
    assert "Eve" in body and "Doe" in body


def test_the_renderer_refuses_direct_references(
    listener: Listener, secret_image: tuple[Path, list[str]]
) -> None:
    """Even a template that named an outside resource would fetch nothing."""
    from autoscribe.documents.pdf import html_to_pdf

    image, opened = secret_image
    url = listener.url
    html = f"""<!doctype html><html><head><style>
        @import url({url}/direct-import.css);
        @font-face {{ font-family: Remote; src: url({url}/direct-font.woff) }}
        body {{ background: url({url}/direct-bg.png); font-family: Remote }}
        @page {{ @top-left {{ content: url(file://{image}) }} }}
        </style><link rel="stylesheet" href="{url}/direct-link.css"></head>
        <body><p>Direct references</p>
        <img src="{url}/direct-img.png"><img src="file://{image}">
        <img src="//127.0.0.1:{listener.port}/scheme-relative.png">
        <object data="{url}/direct-object.svg"></object></body></html>"""
    data = html_to_pdf(html)
    assert listener.requests == []
    assert opened == []
    assert pdf_images(data) == 0
    assert "Direct references" in pdf_text(data)


def test_fetcher_serves_bundled_assets_only(tmp_path: Path, listener: Listener) -> None:
    from PIL import Image

    from autoscribe.documents.pdf import ASSET_SCHEME, FetchRefused, asset_fetcher, html_to_pdf

    assets = tmp_path / "assets"
    assets.mkdir()
    Image.new("RGB", (8, 8), "blue").save(assets / "logo.png")
    (tmp_path / "outside.png").write_bytes((assets / "logo.png").read_bytes())
    fetcher = asset_fetcher(assets)

    assert fetcher(f"{ASSET_SCHEME}:logo.png").read()[:8] == b"\x89PNG\r\n\x1a\n"
    for refused in (
        f"{ASSET_SCHEME}:../outside.png",
        f"{ASSET_SCHEME}:%2e%2e/outside.png",
        f"{ASSET_SCHEME}:missing.png",
        f"{ASSET_SCHEME}:/etc/passwd",
        f"{listener.url}/x.png",
        f"file://{assets / 'logo.png'}",
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://127.0.0.1/x",
    ):
        with pytest.raises(FetchRefused):
            fetcher(refused)
    assert listener.requests == []

    data = html_to_pdf(
        f'<p>Logo</p><img src="{ASSET_SCHEME}:logo.png"><img src="{listener.url}/no.png">',
        url_fetcher=fetcher,
    )
    assert pdf_images(data) == 1  # the bundled logo, not the listener's image
    assert listener.requests == []


def test_signing_a_report_with_a_hostile_patient_renders_its_pdf(
    server: Server, clinic: ClinicFixture, listener: Listener, secret_image: tuple[Path, list[str]]
) -> None:
    """The whole flow: an API key sets the values, a radiologist signs, the server renders the PDF."""
    image, _ = secret_image
    client = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id, first_name="Sigrid", last_name="Signer")
    name = (
        f"Eve\f}} @top-left {{ content: url(file://{image}) }}"
        f" @top-right {{ content: url({listener.url}/n.png) }}"
    )
    mrn = f"M\r}} @top-center {{ content: url({listener.url}/m.png) }}"
    assert len(mrn) <= 64
    study_id = create_study(client, rad, report_metadata={**PATIENT, "patient_name": name, "mrn": mrn})
    report_id = dictate_and_sign(study_id, rad)

    pdf = client.auto_scribe.reports.pdf(report_id=report_id)
    assert isinstance(pdf, SingleReportPdfResponse)
    assert pdf.snapshot_metadata.patient_name == name  # stored as given; only rendering escapes
    response = httpx.get(pdf.presigned_url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert listener.requests == []
    assert pdf_images(response.content) == 0
    text = compact(pdf_text(response.content))
    assert compact(shown(name)) in text and compact(shown(mrn)) in text
    assert compact(f"{shown(name)} · MRN {shown(mrn)} · ") in text  # the footer
