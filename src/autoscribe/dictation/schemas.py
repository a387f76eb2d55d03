"""Wire shapes of the workspace dictation endpoints (camelCase)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from autoscribe.dictation.models import Dictation
from autoscribe.dictation.storage import is_audio_type
from autoscribe.ids import Prefix, brand
from autoscribe.schemas import ApiModel, ApiResponse
from autoscribe.scribe.types import Template


class DictationCreate(ApiModel):
    template_id: str | None = Field(default=None, max_length=100)
    # The recording's type (MediaRecorder's mimeType, or an uploaded file's); WebM when absent.
    content_type: str | None = Field(default=None, max_length=100)

    @field_validator("content_type")
    @classmethod
    def _audio(cls, value: str | None) -> str | None:
        if value and not is_audio_type(value):
            raise ValueError(
                f"{value!r} is not an audio recording the engine reads: "
                "send WAV, WebM, Ogg, MP3, M4A (MP4 audio), AAC or FLAC"
            )
        return value


class DictationFinish(ApiModel):
    template_id: str | None = Field(default=None, max_length=100)


class DictationOut(ApiResponse):
    dictation_id: str
    study_id: str
    status: str
    template_id: str | None
    chunk_count: int
    audio_bytes: int
    partial_text: str
    partial_chunks: int
    final_text: str | None
    # The engine's result once done: transcript, template, draft (Draft.to_dict()), sections,
    # impression, checks. The report service stores `draft` as the draft's content.
    result: dict[str, Any] | None
    error: str | None
    audio_deleted: bool

    @classmethod
    def of(cls, row: Dictation) -> DictationOut:
        return cls(
            dictation_id=brand(Prefix.DICTATION, row.id),
            study_id=brand(Prefix.STUDY, row.study_id),
            status=row.status,
            template_id=row.template_id,
            chunk_count=row.chunk_count,
            audio_bytes=row.audio_bytes,
            partial_text=row.partial_text,
            partial_chunks=row.partial_chunks,
            final_text=row.final_text,
            result=row.result,
            error=row.error,
            audio_deleted=row.audio_deleted_at is not None,
        )


class TemplateSummary(ApiResponse):
    template_id: str
    name: str
    modality: str
    builtin: bool

    @classmethod
    def of(cls, template: Template) -> TemplateSummary:
        return cls(
            template_id=template.id, name=template.name, modality=template.modality, builtin=template.builtin
        )


class TemplateList(ApiResponse):
    data: list[TemplateSummary]


class ReportCheckRequest(ApiModel):
    # The report or addendum being written (an addendum need not repeat every section).
    report_id: str | None = Field(default=None, max_length=100)
    # ReportContent as report.js's getContent() returns it; validated by the report service.
    content: dict[str, Any]


class ReportCheck(ApiResponse):
    code: str
    level: str  # error | warning | info
    message: str
    section: str | None  # the field's label, e.g. "Findings: Lungs"


class ReportCheckList(ApiResponse):
    data: list[ReportCheck]
