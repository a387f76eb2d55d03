"""Clinical-context enrichment, in process: which answers are used (any subset, `{}` allowed;
anything else is an invalid body, treated as empty), and the outbound rules for documentUrls
as production applies them (no private addresses, https only, no credentials)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from autoscribe.config import get_settings
from autoscribe.context.service import ClinicalContextAnswer, DocumentUrlAnswer, fetch_documents


def test_any_subset_is_an_answer() -> None:
    assert ClinicalContextAnswer.model_validate({}).prior_reports == []
    nulls = ClinicalContextAnswer.model_validate({"technologistNotes": None, "documentUrls": None})
    assert nulls.technologist_notes == [] and nulls.document_urls == []
    full = ClinicalContextAnswer.model_validate(
        {
            "clinicalIndication": "Cough",
            "priorReports": [{"reportText": "Normal.", "studyDate": "2025-01-31"}],
            "documents": [{"fileName": "a.txt", "content": ["one", "two"]}],
            "documentUrls": [{"url": "https://ehr.example.test/a.pdf"}],
            "somethingOfTheirOwn": 1,
        }
    )
    assert full.prior_reports[0].report_text == "Normal." and full.documents[0].content == ["one", "two"]


@pytest.mark.parametrize(
    "body",
    [
        {"technologistNotes": "not a list"},
        {"priorReports": [{"modality": "CT"}]},  # reportText is required
        {"priorReports": [{"reportText": "x", "studyDate": "31/01/2025"}]},
        {"documents": [{"content": ["no name"]}]},
        {"documentUrls": [{"url": "ftp://ehr.example.test/a.pdf"}]},
        {"clinicalIndication": 42},
    ],
)
def test_other_shapes_are_invalid(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ClinicalContextAnswer.model_validate(body)


def test_document_urls_follow_the_outbound_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "webhook_allow_private", False)
    urls = [
        DocumentUrlAnswer(url="http://93.184.216.34/history.pdf"),
        DocumentUrlAnswer(url="https://127.0.0.1:9/history.pdf", file_name="local.pdf"),
        DocumentUrlAnswer(url="https://169.254.169.254/latest/meta-data"),
        DocumentUrlAnswer(url="https://user:pw@93.184.216.34/x.pdf?sig=secret"),
    ]
    listed = fetch_documents(uuid.uuid4(), uuid.uuid4(), urls)
    assert [d["fileName"] for d in listed] == ["history.pdf", "local.pdf", "meta-data", "x.pdf"]
    assert "must use https://" in listed[0]["error"]
    assert "private" in listed[1]["error"] and "private" in listed[2]["error"]
    assert "credentials" in listed[3]["error"]
    assert all("storageKey" not in d for d in listed)
    assert "secret" not in listed[3]["url"] and "pw" not in listed[3]["url"]  # kept without the query
