"""External (archive) study and report shapes (reference 4.4)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from autoscribe.schemas import ApiModel, ApiResponse, Metadata, Timestamp
from autoscribe.studies.schemas import DicomUid, ReportMetadataIn, Severity

ReaderName = Annotated[str, Field(min_length=1, max_length=256)]
SignedAtLabel = Annotated[str, Field(min_length=1, max_length=256)]
ReportText = Annotated[str, Field(min_length=1, max_length=200000)]
FileName = Annotated[str, Field(min_length=1, max_length=256)]
FileUrl = Annotated[str, Field(min_length=1, max_length=4096)]


class _ReportFields(ApiModel):
    reader_name: ReaderName | None = None
    report_file_name: FileName | None = None
    report_file_url: FileUrl | None = None
    report_text: ReportText | None = None
    signed_at: SignedAtLabel | None = None

    @model_validator(mode="after")
    def _file_name_with_url(self) -> Any:
        if self.report_file_url and not self.report_file_name:
            raise ValueError("reportFileName is required when reportFileUrl is given")
        return self

    def has_report(self) -> bool:
        return any(
            v is not None for v in (self.reader_name, self.report_file_url, self.report_text, self.signed_at)
        )


class ExternalStudyCreate(_ReportFields):
    report_metadata: ReportMetadataIn
    severity: Severity
    study_description: str = Field(min_length=1, max_length=1000)
    study_instance_uid: DicomUid
    express_customer_id: str | None = None
    external_patient_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    metadata: Metadata | None = None
    modality: Annotated[str, Field(max_length=100)] | None = None


class ExternalReportCreate(_ReportFields):
    study_id: str | None = None
    study_instance_uid: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ExternalReportCreated(ApiResponse):
    external_report_id: str
    study_id: str
    study_instance_uid: str


class ExternalReportOut(ApiResponse):
    created_at: Timestamp | None
    external_report_id: str
    study_id: str
    study_instance_uid: str
    presigned_url: str | None = None
    reader_name: str | None = None
    report_text: str | None = None
    signed_at: str | None = None
    snapshot_metadata: dict[str, Any] | None = None


class ExternalReportListItem(ApiResponse):
    created_at: Timestamp | None
    external_report_id: str
    has_report_text: bool
    report_pdf_present: bool
    study_id: str
    study_instance_uid: str
    reader_name: str | None = None
    signed_at: str | None = None


class ExternalReportList(ApiResponse):
    reports: list[ExternalReportListItem]
    has_more: bool
    cursor: str | None = None
