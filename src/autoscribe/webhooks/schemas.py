"""Answers integrators give to synchronous events (reference 7.2), and the attempt-log views.

Manifests are optional sidecars: the reference says invalid parts are ignored and the URLs still
load, so invalid SOPs and series are dropped rather than failing the call. Everything else that
does not match the reference's shape fails the call.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from autoscribe.schemas import ApiResponse, Timestamp


class _Answer(BaseModel):
    # Integrators may add fields of their own; we keep what we know.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def _http_url(value: str) -> str:
    if not isinstance(value, str) or not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _check_urls(value: list[str], name: str) -> list[str]:
    for i, url in enumerate(value):
        try:
            _http_url(url)
        except ValueError:
            raise ValueError(f"{name}[{i}] must be an http:// or https:// URL") from None
    return value


class ManifestSop(_Answer):
    sop_class_uid: str = Field(alias="sopClassUID", min_length=1)
    sop_instance_uid: str = Field(alias="sopInstanceUID", min_length=1)
    rows: int | None = Field(default=None, gt=0)
    columns: int | None = Field(default=None, gt=0)
    bits_allocated: int | None = None
    bits_stored: int | None = None
    high_bit: int | None = None
    photometric_interpretation: str | None = None
    samples_per_pixel: int | None = None
    instance_number: int | None = None
    is_double_float_pixel_data: bool | None = None
    is_float_pixel_data: bool | None = None
    number_of_frames: int | None = None
    pixel_representation: int | None = None
    rescale_intercept: float | None = None
    rescale_slope: float | None = None

    @field_validator("bits_allocated")
    @classmethod
    def _bits(cls, value: int | None) -> int | None:
        if value is not None and value not in (8, 16, 32):
            raise ValueError("bitsAllocated must be 8, 16 or 32")
        return value

    @field_validator("samples_per_pixel")
    @classmethod
    def _samples(cls, value: int | None) -> int | None:
        if value is not None and value not in (1, 3):
            raise ValueError("samplesPerPixel must be 1 or 3")
        return value

    @property
    def has_geometry(self) -> bool:
        return (
            self.rows is not None
            and self.columns is not None
            and self.bits_allocated is not None
            and bool(self.photometric_interpretation)
            and self.samples_per_pixel is not None
        )


# SR, PR and KO objects carry no pixels and so need no geometry (DICOM PS3.4 storage SOP classes).
_NON_IMAGE_SOP_PREFIXES = (
    "1.2.840.10008.5.1.4.1.1.88.",  # structured reports
    "1.2.840.10008.5.1.4.1.1.11.",  # presentation states
)
_KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"


def _sop_is_usable(sop: ManifestSop) -> bool:
    non_image = (
        sop.sop_class_uid.startswith(_NON_IMAGE_SOP_PREFIXES) or sop.sop_class_uid == _KEY_OBJECT_SELECTION
    )
    return non_image or sop.has_geometry


class ManifestSeries(_Answer):
    modality: str = Field(min_length=1)
    series_description: str = Field(min_length=1)
    series_instance_uid: str = Field(alias="seriesInstanceUID", min_length=1)
    series_number: str | int | float
    sops: list[ManifestSop]


class Manifest(_Answer):
    study_instance_uid: str = Field(alias="studyInstanceUID", min_length=1)
    series: list[ManifestSeries]


def clean_manifest(raw: Any, study_instance_uid: str | None = None) -> dict[str, Any] | None:
    """The valid part of a manifest (camelCase, as received), or None when nothing valid is left."""
    if not isinstance(raw, dict):
        return None
    uid = raw.get("studyInstanceUID")
    if not isinstance(uid, str) or not uid or (study_instance_uid is not None and uid != study_instance_uid):
        return None
    series_out: list[dict[str, Any]] = []
    for series in raw.get("series") or []:
        if not isinstance(series, dict):
            continue
        sops_out = []
        for sop in series.get("sops") or []:
            try:
                parsed = ManifestSop.model_validate(sop)
            except ValidationError:
                continue
            if _sop_is_usable(parsed):
                sops_out.append(sop)
        if not sops_out:
            continue
        candidate = {**series, "sops": sops_out}
        try:
            ManifestSeries.model_validate(candidate)
        except ValidationError:
            continue
        series_out.append(candidate)
    if not series_out:
        return None
    return {**raw, "series": series_out}


class MediaUrl(_Answer):
    mime_type: str = Field(min_length=1)
    url: str
    file_name: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class StudyAccessAnswer(_Answer):
    """`study.access_requested` answer: `authorized` and the presigned DICOM URLs.

    `authorized: false` is a valid answer (shown to the user with `error`), not a failure.
    """

    authorized: bool
    # Required by the reference; the guide's own samples omit it when unauthorized.
    urls: list[str] = Field(default_factory=list)
    error: str | None = None
    manifest: dict[str, Any] | None = None
    media_urls: list[MediaUrl] = Field(default_factory=list)

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return _check_urls(value, "urls")

    @field_validator("manifest", mode="before")
    @classmethod
    def _manifest(cls, value: Any) -> Any:
        return clean_manifest(value)

    @model_validator(mode="after")
    def _authorized_has_images(self) -> StudyAccessAnswer:
        if self.authorized and not self.urls and not self.media_urls:
            raise ValueError("authorized is true but urls is empty")
        return self


class EphemeralAccessAnswer(_Answer):
    """`ephemeral.access_requested` answer: like study access, with one manifest per study."""

    authorized: bool
    urls: list[str] = Field(default_factory=list)
    error: str | None = None
    manifests: list[dict[str, Any]] = Field(default_factory=list)
    media_urls: list[MediaUrl] = Field(default_factory=list)

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return _check_urls(value, "urls")

    @field_validator("manifests", mode="before")
    @classmethod
    def _manifests(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            return []
        return [m for m in (clean_manifest(item) for item in value) if m is not None]

    @model_validator(mode="after")
    def _authorized_has_images(self) -> EphemeralAccessAnswer:
        if self.authorized and not self.urls and not self.media_urls:
            raise ValueError("authorized is true but urls is empty")
        return self


class SecondaryCaptureAnswer(_Answer):
    authorized: bool
    upload_urls: list[str] = Field(default_factory=list)
    error: str | None = None

    @field_validator("upload_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return _check_urls(value, "uploadUrls")

    @model_validator(mode="after")
    def _authorized_has_urls(self) -> SecondaryCaptureAnswer:
        if self.authorized and not self.upload_urls:
            raise ValueError("authorized is true but uploadUrls is empty")
        return self


SYNC_ANSWERS: dict[str, type[_Answer]] = {
    "study.access_requested": StudyAccessAnswer,
    "ephemeral.access_requested": EphemeralAccessAnswer,
    "secondary_capture.access_requested": SecondaryCaptureAnswer,
}


# ---- attempt log (dashboard Deliveries page, CLI) -------------------------------------------------


class AttemptView(ApiResponse):
    attempt_number: int
    trigger: str
    started_at: Timestamp
    url: str | None
    status_code: int | None
    duration_ms: int
    succeeded: bool
    response_body: str | None
    error: str | None


class EventView(ApiResponse):
    id: str
    type: str
    kind: str
    api_key_id: str
    status: str
    attempt_count: int
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: Timestamp | None
    created_at: Timestamp
    data: dict[str, Any]
