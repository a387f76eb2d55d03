"""The workspace shows archived studies: a reading link of a study the DICOM edge received draws its
images from the archive, JPEG-LS, JPEG 2000 and RLE included, in Debian's Chromium."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

from tests.conftest import ClinicFixture, Server
from tests.dicom.conftest import require_dcmtk
from tests.dicom.data import Series, compress, ct_series, transfer_syntax
from tests.helpers import make_key, make_user, sdk
from tests.viewerpage import canvas_stats, state, wait_all_loaded
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.browser


@dataclass
class Received:
    study_id: str
    series: Series


def _jpeg_2000(path: Path) -> None:
    """DCMTK has no free JPEG 2000 encoder: pydicom with OpenJPEG (pylibjpeg-openjpeg) makes it."""
    ds = dcmread(path)
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    ds.save_as(path, enforce_file_format=True)


def receive(clinic: ClinicFixture, tmp_path: Path, count: int = 8) -> Received:
    """A CT series stored in the clinic's archive the way the listener stores it, one slice in each
    compressed syntax, and the study seeded from it."""
    from autoscribe.db import session_scope
    from autoscribe.dicom.service import seed_study, store_instance
    from autoscribe.ids import Prefix, brand

    require_dcmtk()
    series = ct_series(tmp_path, count, rows=96, columns=80, patient_name="ARCHIVE^ALMA")
    compress(series.paths[0], "jpeg-ls")
    compress(series.paths[1], "rle")
    _jpeg_2000(series.paths[2])
    assert [transfer_syntax(p) for p in series.paths[:3]] == [JPEGLSLossless, RLELossless, JPEG2000Lossless]
    clinic_uuid = uuid.UUID(clinic.clinic_id)
    with session_scope() as session:
        for path in series.paths:
            store_instance(
                session, clinic_uuid, path.read_bytes(), calling_ae="MODALITY", address="127.0.0.1"
            )
        seeded = seed_study(session, clinic_uuid, series.study_uid)
    assert seeded.study_id is not None
    return Received(brand(Prefix.STUDY, seeded.study_id), series)


def _pixels(body: bytes) -> np.ndarray:
    ds = dcmread(io.BytesIO(body))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian  # what the viewer decodes
    return np.asarray(ds.pixel_array)


def test_a_reading_link_draws_archived_jpeg_ls_jpeg_2000_and_rle_images(
    server: Server, clinic: ClinicFixture, tmp_path: Path, ws_page: Callable[..., Page]
) -> None:
    received = receive(clinic, tmp_path)
    api = sdk(server.url, clinic.api_key)  # no study webhook: the platform is the archive
    rad = make_user(clinic.clinic_id)
    url = api.auto_scribe.studies.reroute_url(study_id=received.study_id, assigned_to_user_id=rad).url

    page = ws_page()
    page.goto(url)
    wait_all_loaded(page)
    seen = state(page)
    assert seen["error"] is None
    assert (seen["total"], seen["loaded"], seen["failed"]) == (8, 8, 0)
    (only,) = seen["series"]
    assert only["seriesInstanceUID"] == received.series.series_uid and only["loaded"] == 8

    # Each slice is drawn, the compressed ones included: not blank, and each one different.
    page.locator("#viewer").click()
    page.keyboard.press("Home")
    drawn: dict[str, float] = {}
    for _ in range(8):
        current = state(page)["current"]
        assert current["status"] == "loaded", current
        stats = canvas_stats(page)
        assert stats["lit"] > 0.05 and stats["std"] > 5, current  # drawn, not blank
        drawn[current["sopInstanceUID"]] = stats["hash"]
        page.keyboard.press("ArrowDown")
    assert set(drawn) == set(received.series.sop_uids) and len(set(drawn.values())) == 8
    assert page.page_errors == []  # type: ignore[attr-defined]

    # What the viewer decoded is exactly what the modality sent, compressed or not.
    for sop_uid, sent in received.series.pixels.items():
        response = page.request.get(f"{server.url}/workspace/{received.study_id}/archive/{sop_uid}")
        assert response.status == 200 and response.headers["content-type"] == "application/dicom"
        assert np.array_equal(_pixels(response.body()), sent)


def test_archived_images_need_the_readers_session_and_stay_in_the_study(
    server: Server,
    clinic: ClinicFixture,
    other_clinic: ClinicFixture,
    tmp_path: Path,
    ws_page: Callable[..., Page],
) -> None:
    received = receive(clinic, tmp_path / "ours", count=3)
    theirs = receive(other_clinic, tmp_path / "theirs", count=3)
    first = received.series.sop_uids[0]
    # No session: refused.
    anonymous = httpx.get(f"{server.url}/workspace/{received.study_id}/archive/{first}")
    assert anonymous.status_code == 401

    api = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id)
    page = ws_page()
    page.goto(api.auto_scribe.studies.reroute_url(study_id=received.study_id, assigned_to_user_id=rad).url)
    wait_all_loaded(page)
    base = f"{server.url}/workspace/{received.study_id}/archive"
    # Another clinic's instance, through this study's session: not there.
    foreign = page.request.get(f"{base}/{theirs.series.sop_uids[0]}")
    assert foreign.status == 404
    # The other clinic's study, with this session: not this reader's study.
    other = page.request.get(f"{server.url}/workspace/{theirs.study_id}/archive/{theirs.series.sop_uids[0]}")
    assert other.status in (401, 403, 404)
    bad = page.request.get(f"{base}/not-a-uid")
    assert bad.status == 400 and "sopInstanceUid" in bad.text()


def test_the_integrators_answer_still_decides_and_its_urls_are_shown_too(
    server: Server, clinic: ClinicFixture, tmp_path: Path, ws_page: Callable[..., Page]
) -> None:
    received = receive(clinic, tmp_path, count=3)
    hook = Receiver.on_free_port()
    extra = "https://pacs.example.test/wado?objectUID=1.2.3.4.5.6"
    answers = {
        "refused": {"authorized": False, "error": "Not on the reading list"},
        "merged": {"authorized": True, "urls": [extra]},
    }
    mode = ["refused"]
    hook.respond = lambda _r: (200, {}, json.dumps(answers[mode[0]]).encode())
    hook.start()
    try:
        key = make_key(clinic.clinic_id, study_webhook_url=hook.url, description="PACS")
        api = sdk(server.url, key.api_key)
        rad = make_user(clinic.clinic_id)
        for expected in ("refused", "merged"):
            mode[0] = expected
            page = ws_page()
            page.goto(
                api.auto_scribe.studies.reroute_url(study_id=received.study_id, assigned_to_user_id=rad).url
            )
            answer = page.request.get(f"{server.url}/workspace/{received.study_id}/images").json()
            if expected == "refused":
                assert answer["authorized"] is False and not answer.get("urls")
            else:
                archive = [
                    f"/workspace/{received.study_id}/archive/{uid}" for uid in received.series.sop_uids
                ]
                assert answer["authorized"] is True and answer["urls"] == [*archive, extra]
    finally:
        hook.stop()
