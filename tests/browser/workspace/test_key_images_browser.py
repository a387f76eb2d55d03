"""Key images in Debian's Chromium: the viewer's "Save key image" stores the viewport as displayed as
a DICOM Secondary Capture object in the integrator's archive (issue 15 item 3).

The integrator is the fake PACS (secondary_capture.access_requested answered with presigned PUT
URLs) and a loopback upload receiver standing in for its object store.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

from tests.fakepacs import QuietServer, Series
from tests.helpers import make_user, strict_event
from tests.viewerpage import settle, state, wait_first_image
from tests.workspace.conftest import Integration

pytestmark = pytest.mark.browser

PagePlease = Callable[..., Page]

REFUSAL = "Key images are not accepted for studies under legal hold"


@dataclass
class Upload:
    path: str
    content_type: str
    body: bytes


class UploadReceiver:
    """The integrator's object store: accepts PUTs, answers `status` (200 unless told otherwise)."""

    def __init__(self) -> None:
        self.uploads: list[Upload] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.uploads.append(Upload(self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, name="uploads", daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bucket/{name}?X-Amz-Signature=abc"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def uploads() -> Iterator[UploadReceiver]:
    receiver = UploadReceiver()
    yield receiver
    receiver.stop()


def answer_capture(integration: Integration, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The fake PACS answers secondary_capture.access_requested with `answer(data)`, images as usual."""
    pacs = integration.pacs

    def respond(event: dict[str, Any]) -> dict[str, Any]:
        if event["type"] == "secondary_capture.access_requested":
            return answer(event["data"])
        return pacs.access_response(event["data"]["studyInstanceUid"])

    pacs.webhook_response = respond


def capture_events(integration: Integration) -> list[bytes]:
    return [
        r.body
        for r in integration.pacs.webhook_requests()
        if r.json()["type"] == "secondary_capture.access_requested"
    ]


def key_image_audit(study_id: str) -> list[tuple[str, dict[str, Any]]]:
    from sqlalchemy import select

    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_id == study_id, AuditEvent.action.like("workspace.key_image%"))
            .order_by(AuditEvent.id)
        ).all()
        return [(row.action, dict(row.details or {})) for row in rows]


# SHA-256 of the canvas's grey channel, row by row: what the viewer shows, to compare with the file.
CANVAS_GREY_SHA256 = """async () => {
  const c = document.querySelector('.asv-canvas');
  const rgba = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const grey = new Uint8Array(c.width * c.height);
  for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i];
  const digest = await crypto.subtle.digest('SHA-256', grey);
  return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def test_save_key_image_puts_a_secondary_capture_of_the_viewport_to_every_upload_url(
    integration: Integration, series: list[Series], ws_page: PagePlease, uploads: UploadReceiver
) -> None:
    study_id, pacs_study = integration.study(series)
    answer_capture(
        integration,
        lambda data: {"authorized": True, "uploadUrls": [uploads.url("a.dcm"), uploads.url("b.dcm")]},
    )
    page = ws_page()
    page.goto(integration.reroute(study_id))
    wait_first_image(page, timeout=30_000)

    # The reader changes what is displayed: a lung window, zoomed in, five slices down.
    viewport = page.locator(".asv-viewport")
    viewport.focus()
    page.keyboard.press("5")  # CT Lung (W 1500 / L -600)
    page.keyboard.press("+")
    for _ in range(5):
        page.keyboard.press("ArrowDown")
    settle(page)
    shown = state(page)
    assert shown["window"] == {"center": -600, "width": 1500} and shown["zoom"] == 1.25
    shown_sha = page.evaluate(CANVAS_GREY_SHA256)

    button = page.get_by_role("button", name="Save key image")
    expect(button).to_be_visible()
    page.keyboard.press("k")  # the keyboard shortcut, focus still in the viewer
    status = page.locator(".asv-key-image-status")
    expect(status).to_have_attribute("data-state", "saved", timeout=20_000)
    expect(status).to_have_text("Key image saved to the study's archive (2 destinations).")
    assert page.page_errors == []  # type: ignore[comparison-overlap]

    # The same object went to both URLs, as application/dicom.
    assert sorted(u.path.split("?")[0] for u in uploads.uploads) == ["/bucket/a.dcm", "/bucket/b.dcm"]
    assert {u.content_type for u in uploads.uploads} == {"application/dicom"}
    assert uploads.uploads[0].body == uploads.uploads[1].body
    ds = dcmread(BytesIO(uploads.uploads[0].body))  # a Part 10 file: preamble, DICM, file meta

    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPClassUID == SecondaryCaptureImageStorage
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert ds.StudyInstanceUID == pacs_study.study_instance_uid
    existing_series = {s.series_instance_uid for s in pacs_study.series}
    existing_sops = {inst.sop_instance_uid for _, inst in pacs_study.instances()}
    assert ds.SeriesInstanceUID not in existing_series | {ds.StudyInstanceUID}
    assert ds.SOPInstanceUID not in existing_sops | {ds.SeriesInstanceUID}
    assert ds.ConversionType == "WSD" and ds.Modality == "OT"
    assert (ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex) == (
        "Testpatient^Johanna",
        "MRN-778899",
        "19710412",
        "F",
    )
    # The image it was taken from: the slice on screen.
    (source,) = ds.SourceImageSequence
    assert source.ReferencedSOPInstanceUID == shown["current"]["sopInstanceUID"]
    assert source.ReferencedSOPInstanceUID in existing_sops
    assert "window 1500 / level -600" in ds.DerivationDescription and "zoom 125%" in ds.DerivationDescription

    # The pixels are the viewport as displayed: its size, 8-bit grey, exactly what the canvas shows.
    assert (ds.Columns, ds.Rows) == (shown["canvas"]["width"], shown["canvas"]["height"])
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.SamplesPerPixel == 1
    assert (ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation) == (8, 8, 0)
    pixels = ds.pixel_array
    assert pixels.shape == (shown["canvas"]["height"], shown["canvas"]["width"])
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == shown_sha
    assert pixels.std() > 10  # an image, not a blank frame

    # The event: what the SDK's own model accepts in strict mode, naming the new object's UIDs.
    (body,) = capture_events(integration)
    event = strict_event(body)
    assert event.data.study_id == study_id
    assert event.data.study_instance_uid == pacs_study.study_instance_uid
    assert event.data.series_instance_uid == ds.SeriesInstanceUID
    assert event.data.sop_instance_uid == ds.SOPInstanceUID

    # Audited, with the new object's UIDs.
    ((action, details),) = key_image_audit(study_id)
    assert action == "workspace.key_image_saved"
    assert details["sopInstanceUid"] == ds.SOPInstanceUID and details["uploads"] == 2

    # A second save is another object in another new series.
    page.get_by_role("button", name="Save key image").click()
    expect(status).to_have_attribute("data-state", "saved", timeout=20_000)
    second = dcmread(BytesIO(uploads.uploads[-1].body))
    assert second.StudyInstanceUID == ds.StudyInstanceUID
    assert second.SeriesInstanceUID != ds.SeriesInstanceUID and second.SOPInstanceUID != ds.SOPInstanceUID


def test_refusal_and_a_failed_upload_are_shown_and_nothing_is_stored(
    integration: Integration, series: list[Series], ws_page: PagePlease, uploads: UploadReceiver
) -> None:
    study_id, _ = integration.study(series)
    answer_capture(integration, lambda data: {"authorized": False, "uploadUrls": [], "error": REFUSAL})
    page = ws_page()
    page.goto(integration.reroute(study_id))
    wait_first_image(page, timeout=30_000)

    button = page.get_by_role("button", name="Save key image")
    status = page.locator(".asv-key-image-status")
    button.click()
    expect(status).to_have_attribute("data-state", "refused", timeout=20_000)
    expect(status).to_have_text(f"Key image not saved: {REFUSAL}")
    assert uploads.uploads == []
    assert len(capture_events(integration)) == 1

    # Authorized, but the archive's store refuses the PUT: the reader is told which and why.
    answer_capture(integration, lambda data: {"authorized": True, "uploadUrls": [uploads.url("c.dcm")]})
    uploads.status = 403
    button.click()
    expect(status).to_have_attribute("data-state", "error", timeout=20_000)
    expect(status).to_contain_text("Key image not saved: The key image could not be uploaded (0 of 1")
    expect(status).to_contain_text("/bucket/c.dcm answered HTTP 403")
    expect(status).not_to_contain_text("X-Amz-Signature")  # presigned queries are not shown

    assert [action for action, _ in key_image_audit(study_id)] == [
        "workspace.key_image_refused",
        "workspace.key_image_failed",
    ]

    # Pixels that do not match the size they claim: a 400 naming the field, nothing sent.
    status_code, error = page.evaluate(
        """async (studyId) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const r = await fetch(`/workspace/${studyId}/key-images`, {method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: JSON.stringify({columns: 4, rows: 4, photometricInterpretation: 'MONOCHROME2',
                                  pixelData: btoa('\\x00\\x40\\x80')})});
          return [r.status, (await r.json()).error];
        }""",
        study_id,
    )
    assert status_code == 400 and error["param"] == "pixelData"
    assert "3 bytes" in error["message"] and "16 bytes" in error["message"]
    assert len(capture_events(integration)) == 2


def test_view_only_links_cannot_save_key_images(
    integration: Integration, series: list[Series], ws_page: PagePlease, uploads: UploadReceiver
) -> None:
    study_id, _ = integration.study(series, assigned_to=integration.radiologist)
    answer_capture(integration, lambda data: {"authorized": True, "uploadUrls": [uploads.url("d.dcm")]})
    referrer = make_user(integration.clinic.clinic_id, can_create_reports=False, npi=None, first_name="Ref")
    page = ws_page()
    page.goto(integration.viewer_only(study_id, referrer))
    wait_first_image(page, timeout=30_000)

    # No button, and K does nothing.
    expect(page.locator("#view-only-badge")).to_be_visible()
    expect(page.get_by_role("button", name="Save key image")).to_have_count(0)
    page.locator(".asv-viewport").focus()
    page.keyboard.press("k")

    # The server refuses this session too (its own cookie and CSRF token, a well-formed image).
    status, message = page.evaluate(
        """async (studyId) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const r = await fetch(`/workspace/${studyId}/key-images`, {method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: JSON.stringify({columns: 2, rows: 2, photometricInterpretation: 'MONOCHROME2',
                                  pixelData: btoa('\\x00\\x40\\x80\\xff')})});
          return [r.status, (await r.json()).error.message];
        }""",
        study_id,
    )
    assert status == 403 and "read-only" in message
    assert uploads.uploads == [] and capture_events(integration) == []
    assert key_image_audit(study_id) == []
