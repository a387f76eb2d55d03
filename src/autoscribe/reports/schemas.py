"""Report shapes: the draft content the workspace and scribe engine edit, and the API's
responses exactly as reference section 4.7 names them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from autoscribe.schemas import ApiModel, ApiResponse, Timestamp

SectionText = Annotated[str, Field(max_length=50000)]


class Subsection(ApiModel):
    """An organ or region inside Findings ("Liver", "Kidneys", ...)."""

    heading: Annotated[str, Field(max_length=200)] = ""
    text: SectionText = ""


class Findings(ApiModel):
    text: SectionText = ""
    subsections: Annotated[list[Subsection], Field(max_length=100)] = []

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, data: Any) -> Any:
        # A plain string is the general findings text with no organ subsections.
        return {"text": data} if isinstance(data, str) else data


class ReportContent(ApiModel):
    """A report's structured sections, as drafts are saved and as signing freezes them."""

    clinical_indication: SectionText = ""
    technique: SectionText = ""
    comparison: SectionText = ""
    findings: Findings = Findings()
    impression: SectionText = ""
    # The radiologist's critical-result flag while drafting; signing freezes it on the report.
    is_critical: bool = False
    # The impression is the scribe engine's suggestion (none was dictated), shown as "Suggested"
    # in the workspace until the radiologist accepts or edits it.
    impression_suggested: bool = False

    def stored(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


ReportStatus = Literal["in_progress", "completed"]


class ReportOut(ApiResponse):
    created_at: Timestamp | None
    is_addendum: bool
    is_critical: bool | None
    report_id: str
    signed_at: Timestamp | None
    snapshot_metadata: dict[str, Any]
    status: ReportStatus
    study_id: str
    updated_at: Timestamp | None
    user_id: str
    report_plain_text: str | None = None


class ReportList(ApiResponse):
    reports: list[ReportOut]
    study_id: str
    study_instance_uid: str


class ReportTextItem(ApiResponse):
    is_critical: bool | None
    report_id: str
    snapshot_metadata: dict[str, Any]
    study_id: str
    study_instance_uid: str
    plain_text: str | None = None


class ReportTextList(ApiResponse):
    reports: list[ReportTextItem]
    study_id: str
    study_instance_uid: str


class ReportPdfItem(ApiResponse):
    is_critical: bool | None
    presigned_url: str
    report_id: str
    snapshot_metadata: dict[str, Any]
    study_id: str
    study_instance_uid: str


class ReportPdfList(ApiResponse):
    reports: list[ReportPdfItem]
    study_id: str
    study_instance_uid: str
