"""The fake PACS itself: webhook signature checks as in the guide's Flask sample, presigned URLs,
CORS, and files that pydicom reads back with the values the browser tests rely on."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from tests.fakepacs import NOT_FOUND_ERROR, FakePacs, avara_headers, ct_series, mr_series, rgb_series


@pytest.fixture
def small_pacs() -> Iterator[FakePacs]:
    pacs = FakePacs.start(secret="whsec_dGVzdC1zZWNyZXQtZm9yLWZha2VwYWNz")
    yield pacs
    pacs.stop()


def _event(study_uid: str) -> bytes:
    event = {
        "id": "whe_" + "0" * 32,
        "type": "study.access_requested",
        "data": {"studyId": "stu_" + "1" * 32, "studyInstanceUid": study_uid},
    }
    return json.dumps(event, separators=(",", ":")).encode()


def test_webhook_answers_signed_requests_and_refuses_others(small_pacs: FakePacs) -> None:
    study = small_pacs.add_study(series=[ct_series(3, 32), mr_series(2, 32)])
    body = _event(study.study_instance_uid)
    ok = httpx.post(small_pacs.webhook_url, content=body, headers=avara_headers(small_pacs.secret, body))
    assert ok.status_code == 200
    answer = ok.json()
    assert answer["authorized"] is True and len(answer["urls"]) == 5
    manifest = answer["manifest"]
    assert manifest["studyInstanceUID"] == study.study_instance_uid
    assert [s["modality"] for s in manifest["series"]] == ["CT", "MR"]
    sop = manifest["series"][0]["sops"][0]
    assert sop["rows"] == 32 and sop["bitsAllocated"] == 16 and sop["pixelRepresentation"] == 1
    assert sop["rescaleIntercept"] == -1024 and sop["instanceNumber"] == 1

    # Same bytes, wrong secret / tampered body / missing headers: 401 like the sample.
    wrong = avara_headers("whsec_other", body)
    assert httpx.post(small_pacs.webhook_url, content=body, headers=wrong).status_code == 401
    headers = avara_headers(small_pacs.secret, body)
    tampered = body.replace(b"study.access", b"study.accesz")
    assert httpx.post(small_pacs.webhook_url, content=tampered, headers=headers).status_code == 401
    assert httpx.post(small_pacs.webhook_url, content=body).status_code == 401
    # The secret can be changed to the one an API key got.
    small_pacs.secret = "whsec_rotated"
    rotated = avara_headers("whsec_rotated", body)
    assert httpx.post(small_pacs.webhook_url, content=body, headers=rotated).status_code == 200
    assert [r.status for r in small_pacs.webhook_requests()] == [200, 401, 401, 401, 200]


def test_unknown_and_refused_studies(small_pacs: FakePacs) -> None:
    body = _event(generate_uid())
    answer = httpx.post(
        small_pacs.webhook_url, content=body, headers=avara_headers(small_pacs.secret, body)
    ).json()
    assert answer == {"authorized": False, "error": NOT_FOUND_ERROR}
    refused = small_pacs.add_study(series=[ct_series(1, 16)], authorized=False, error="Order cancelled")
    body = _event(refused.study_instance_uid)
    answer = httpx.post(
        small_pacs.webhook_url, content=body, headers=avara_headers(small_pacs.secret, body)
    ).json()
    assert answer == {"authorized": False, "error": "Order cancelled"}


def test_ephemeral_access_by_retrieval_id(small_pacs: FakePacs) -> None:
    study = small_pacs.add_study(series=[ct_series(2, 16)], retrieval_id="order-12345")
    event = {
        "id": "whe_" + "2" * 32,
        "type": "ephemeral.access_requested",
        "data": {"retrievalId": "order-12345"},
    }
    body = json.dumps(event).encode()
    answer = httpx.post(
        small_pacs.webhook_url, content=body, headers=avara_headers(small_pacs.secret, body)
    ).json()
    assert answer["authorized"] is True and len(answer["urls"]) == 2
    assert answer["manifests"][0]["studyInstanceUID"] == study.study_instance_uid


def test_presigned_urls_serve_dicom_with_cors_and_expire(small_pacs: FakePacs) -> None:
    study = small_pacs.add_study(series=[ct_series(2, 64)])
    url = small_pacs.urls_for(study.study_instance_uid)[0]
    resp = httpx.get(url, headers={"Origin": "http://127.0.0.1:1"})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["content-type"] == "application/dicom"
    ds = dcmread(io.BytesIO(resp.content))
    assert ds.StudyInstanceUID == study.study_instance_uid
    hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
    assert ds.PixelRepresentation == 1 and ds.pixel_array.min() == -2000  # signed padding
    assert hu[32, 32] == 40  # soft tissue in the middle

    assert httpx.get(url.replace("signature=", "signature=f")).status_code == 403
    assert httpx.get(url.split("?")[0]).status_code == 403
    expired = small_pacs.signed_url(
        study.study_instance_uid,
        study.series[0].series_instance_uid,
        study.series[0].instances[0].sop_instance_uid,
        ttl=-1,
    )
    assert httpx.get(expired).status_code == 403
    preflight = httpx.options(url, headers={"Origin": "http://x", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"


def test_fault_injection(small_pacs: FakePacs) -> None:
    study = small_pacs.add_study(series=[ct_series(3, 16)])
    urls = small_pacs.urls_for(study.study_instance_uid)
    sops = [i.sop_instance_uid for i in study.series[0].instances]
    small_pacs.fail(sops[0], 403)
    small_pacs.fail(sops[1], "broken")
    small_pacs.fail(sops[2], "truncated")
    assert httpx.get(urls[0]).status_code == 403
    assert not httpx.get(urls[1]).content.startswith(b"\0" * 128)
    assert len(httpx.get(urls[2]).content) < len(study.series[0].instances[2].data)
    small_pacs.reset_faults()
    small_pacs.webhook_delay = 0.3
    body = _event(study.study_instance_uid)
    started = time.monotonic()
    httpx.post(small_pacs.webhook_url, content=body, headers=avara_headers(small_pacs.secret, body))
    assert time.monotonic() - started >= 0.3
    small_pacs.webhook_delay = 0
    small_pacs.webhook_status = 503
    assert (
        httpx.post(
            small_pacs.webhook_url, content=body, headers=avara_headers(small_pacs.secret, body)
        ).status_code
        == 503
    )


def test_rgb_planar_configurations_hold_the_same_colours() -> None:
    for planar in (0, 1):
        ds = dcmread(io.BytesIO(rgb_series(planar, slices=1, size=48).instances[0].data))
        assert ds.PlanarConfiguration == planar
        rgb = ds.pixel_array  # pydicom de-interleaves planar data
        assert tuple(rgb[24, 8]) == (230, 20, 20)
        assert tuple(rgb[24, 24]) == (20, 200, 20)
        assert tuple(rgb[24, 40]) == (20, 20, 230)
