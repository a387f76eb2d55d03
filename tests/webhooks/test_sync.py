"""Synchronous calls (study.access_requested, ephemeral.access_requested): answers and failures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import standardwebhooks

from autoscribe.errors import UpstreamFailed, UpstreamTimeout, WebhookNotConfigured
from tests.webhooks.conftest import IsoDB, Received, Receiver, Reply, Tenant, attempts, event_row, make_tenant

URLS = [
    "https://storage.example.test/dicom/1.dcm?token=a",
    "https://storage.example.test/dicom/2.dcm?token=b",
]
IMAGE_SOP = {
    "sopClassUID": "1.2.840.10008.5.1.4.1.1.2",
    "sopInstanceUID": "1.2.3.1",
    "rows": 512,
    "columns": 512,
    "bitsAllocated": 16,
    "photometricInterpretation": "MONOCHROME2",
    "samplesPerPixel": 1,
    "instanceNumber": 1,
}


def _json(data: Any, status: int = 200) -> Reply:
    return (status, {"Content-Type": "application/json"}, json.dumps(data).encode())


def _call(iso: IsoDB, tenant: Tenant, event_type: str, data: dict[str, Any], **kw: Any) -> Any:
    from autoscribe.auth.models import ApiKey
    from autoscribe.webhooks.sync import call_sync

    with iso.maker() as session:
        key = session.get(ApiKey, tenant.api_key_id)
        return call_sync(session, key, event_type, data, **kw)


def test_study_access_answer_is_validated_and_the_manifest_cleaned(
    iso: IsoDB, receivers: Callable[..., Receiver]
) -> None:
    uid = "1.2.840.113619.2.55.3.604688119.868.1234567890.123"
    manifest = {
        "studyInstanceUID": uid,
        "series": [
            {
                "modality": "CT",
                "seriesDescription": "Axial 5mm",
                "seriesInstanceUID": "1.2.3",
                "seriesNumber": 2,
                "sops": [IMAGE_SOP, {**IMAGE_SOP, "sopInstanceUID": "1.2.3.2", "rows": None}],
            },
            {
                "modality": "",
                "seriesDescription": "bad",
                "seriesInstanceUID": "1.2.4",
                "seriesNumber": "3",
                "sops": [],
            },
        ],
    }
    seen: list[Received] = []

    def respond(req: Received) -> Reply:
        seen.append(req)
        return _json(
            {
                "authorized": True,
                "urls": URLS,
                "manifest": manifest,
                "mediaUrls": [{"mimeType": "application/pdf", "url": "https://s.example.test/req.pdf"}],
                "vendorExtra": {"ignored": True},
            }
        )

    receiver = receivers(respond)
    tenant = make_tenant(iso, study_url=receiver.url, report_url="http://127.0.0.1:9/not-this-one")
    answer = _call(
        iso, tenant, "study.access_requested", {"studyId": "stu_" + "a" * 32, "studyInstanceUid": uid}
    )

    assert answer.authorized and answer.urls == URLS and answer.error is None
    # The SOP without rows and the empty series are dropped; the valid rest is kept as sent.
    assert answer.manifest["series"] == [{**manifest["series"][0], "sops": [IMAGE_SOP]}]
    assert answer.media_urls[0].mime_type == "application/pdf"
    # Sent to the study endpoint, signed like every webhook.
    [req] = seen
    event = standardwebhooks.Webhook(tenant.secret).verify(req.body, req.headers)
    assert event["type"] == "study.access_requested" and event["data"]["studyInstanceUid"] == uid
    logged = event_row(iso, event["id"])
    assert logged.kind == "sync" and logged.status == "succeeded"
    assert attempts(iso, event["id"])[0].status_code == 200


def test_unauthorized_is_an_answer_not_a_failure(iso: IsoDB, receivers: Callable[..., Receiver]) -> None:
    # Exactly what the guide's samples return when the PACS does not know the study (no urls).
    receiver = receivers(lambda _r: _json({"authorized": False, "error": "Study not found in PACS"}))
    tenant = make_tenant(iso, study_url=receiver.url)
    answer = _call(
        iso, tenant, "study.access_requested", {"studyId": "stu_" + "b" * 32, "studyInstanceUid": "1.2"}
    )
    assert not answer.authorized and answer.error == "Study not found in PACS" and answer.urls == []


def test_ephemeral_access_returns_one_manifest_per_study(
    iso: IsoDB, receivers: Callable[..., Receiver]
) -> None:
    manifests = [
        {
            "studyInstanceUID": f"1.2.{n}",
            "series": [
                {
                    "modality": "MR",
                    "seriesDescription": "T1",
                    "seriesInstanceUID": f"1.2.{n}.1",
                    "seriesNumber": "1",
                    "sops": [IMAGE_SOP],
                }
            ],
        }
        for n in range(2)
    ]
    receiver = receivers(
        lambda _r: _json({"authorized": True, "urls": URLS, "manifests": [*manifests, {"x": 1}]})
    )
    tenant = make_tenant(iso, study_url=receiver.url)
    answer = _call(
        iso, tenant, "ephemeral.access_requested", {"retrievalId": "r-1", "options": {"a": {"b": [1]}}}
    )
    assert answer.authorized and [m["studyInstanceUID"] for m in answer.manifests] == ["1.2.0", "1.2.1"]
    assert receiver.events()[0]["data"] == {"retrievalId": "r-1", "options": {"a": {"b": [1]}}}


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((500, {}, b"oops"), "HTTP 500"),
        ((302, {"Location": "https://elsewhere.example.test/"}, b""), "HTTP 302"),
        ((200, {}, b"<html>not json</html>"), "did not answer study.access_requested with JSON"),
        (_json({"urls": URLS}), "authorized is missing"),
        (_json({"authorized": True, "urls": []}), "authorized is true but urls is empty"),
        (_json({"authorized": True, "urls": ["javascript:alert(1)"]}), "urls[0] must be an http"),
    ],
    ids=["5xx", "redirect", "not-json", "no-authorized", "no-urls", "bad-url"],
)
def test_bad_answers_raise_a_clear_upstream_error(
    iso: IsoDB, receivers: Callable[..., Receiver], reply: Reply, message: str
) -> None:
    receiver = receivers(lambda _r: reply)
    tenant = make_tenant(iso, study_url=receiver.url)
    with pytest.raises(UpstreamFailed) as err:
        _call(
            iso, tenant, "study.access_requested", {"studyId": "stu_" + "c" * 32, "studyInstanceUid": "1.2"}
        )
    assert err.value.status_code == 502 and err.value.param == "studyWebhookUrl"
    assert message in err.value.message and "study data webhook endpoint" in err.value.message


def test_timeout_raises_upstream_timeout_and_is_logged(
    iso: IsoDB, receivers: Callable[..., Receiver]
) -> None:
    def slow(_r: Received) -> Reply:
        time.sleep(2)
        return _json({"authorized": True, "urls": URLS})

    receiver = receivers(slow)
    tenant = make_tenant(iso, study_url=receiver.url)
    with pytest.raises(UpstreamTimeout) as err:
        _call(
            iso,
            tenant,
            "study.access_requested",
            {"studyId": "stu_" + "d" * 32, "studyInstanceUid": "1.2"},
            timeout=0.5,
        )
    assert err.value.status_code == 504 and "in time" in err.value.message
    from sqlalchemy import select

    from autoscribe.webhooks.models import WebhookEvent

    with iso.maker() as session:
        row = session.scalars(select(WebhookEvent).where(WebhookEvent.api_key_id == tenant.api_key_id)).one()
    assert row.kind == "sync" and row.status == "failed" and "in time" in row.last_error


def test_no_endpoint_or_refused_target(iso: IsoDB, receivers: Callable[..., Receiver]) -> None:
    tenant = make_tenant(iso, report_url="https://example.test/report")
    with pytest.raises(WebhookNotConfigured) as err:
        _call(
            iso, tenant, "study.access_requested", {"studyId": "stu_" + "e" * 32, "studyInstanceUid": "1.2"}
        )
    assert err.value.status_code == 422 and err.value.param == "studyWebhookUrl"

    for url in ("http://169.254.169.254/latest/meta-data", "http://[::1]:9/x", "http://localhost:9/x"):
        refused = make_tenant(iso, study_url=url)
        from autoscribe.config import get_settings

        settings = get_settings()
        settings.webhook_allow_private = False
        try:
            with pytest.raises(UpstreamFailed) as err2:
                _call(
                    iso,
                    refused,
                    "study.access_requested",
                    {"studyId": "stu_" + "f" * 32, "studyInstanceUid": "1"},
                )
        finally:
            settings.webhook_allow_private = True
        assert "refused" in err2.value.message
