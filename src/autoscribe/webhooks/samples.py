"""Realistic sample payloads for test events (CLI `webhooks send-test`, the dashboard button)."""

from __future__ import annotations

import uuid
from typing import Any

from autoscribe.config import get_settings
from autoscribe.ids import Prefix, brand, new_id

SAMPLE_REPORT_TEXT = (
    "EXAMINATION: MRI brain with and without contrast.\n"
    "CLINICAL HISTORY: Headache for 3 weeks.\n"
    "FINDINGS: No acute intracranial abnormality. No mass effect or midline shift. "
    "Ventricles and sulci are normal in size for age.\n"
    "IMPRESSION: Normal MRI of the brain."
)


def sample_data(event_type: str) -> dict[str, Any]:
    study_id = brand(Prefix.STUDY, new_id())
    uid = f"2.25.{uuid.uuid4().int}"
    if event_type == "report.delivered":
        report_uuid = new_id()
        base = get_settings().public_url.rstrip("/")
        return {
            "reportId": brand(Prefix.REPORT, report_uuid),
            "studyId": study_id,
            "studyInstanceUid": uid,
            "isCritical": False,
            "plainText": SAMPLE_REPORT_TEXT,
            # A test event has no real PDF behind it; the link has the shape of a real one.
            "presignedUrl": f"{base}/v1/files/reports/{report_uuid.hex}.pdf?expires=3600&signature=test",
            "externalPatientId": "TEST-PATIENT-0001",
        }
    if event_type == "study.access_requested":
        return {"studyId": study_id, "studyInstanceUid": uid}
    if event_type == "ephemeral.access_requested":
        return {"retrievalId": "test-retrieval-0001", "options": {"source": "send-test"}}
    raise ValueError(f"no sample payload for {event_type}")


TEST_EVENT_TYPES = ("report.delivered", "study.access_requested", "ephemeral.access_requested")
