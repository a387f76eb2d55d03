"""Request shapes of the temporary-access endpoints (reference 4.2, 4.3.6, 4.3.9) and of the
workspace page's own JSON calls."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from autoscribe.schemas import ApiModel, ApiResponse

# ---- public API ------------------------------------------------------------------------------------


class RerouteUrlRequest(ApiModel):
    assigned_to_user_id: str
    study_id: str | None = None
    study_instance_uid: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ViewerOnlyRerouteUrlRequest(ApiModel):
    study_id: str | None = None
    study_instance_uid: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    user_id: str | None = None


ViewerLayout = Literal[
    "1x1", "1x2", "1x3", "1x4",
    "2x1", "2x2", "2x3", "2x4",
    "3x1", "3x2", "3x3", "3x4",
    "4x1", "4x2", "4x3", "4x4",
]  # fmt: skip

# JSON.stringify(options).length in UTF-8 bytes (reference 4.2).
MAX_OPTIONS_BYTES = 3072


class HangingProtocol(ApiModel):
    """EphemeralHangingProtocol: a single-monitor grid and the series shown in each viewport
    (series descriptions; null leaves a viewport empty)."""

    layout: ViewerLayout
    viewport_assignments: list[Annotated[str, Field(min_length=1, max_length=1000)] | None]

    @model_validator(mode="after")
    def _fits_layout(self) -> HangingProtocol:
        rows, cols = (int(n) for n in self.layout.split("x"))
        if len(self.viewport_assignments) > rows * cols:
            raise ValueError(
                f"viewportAssignments has {len(self.viewport_assignments)} entries but layout "
                f"{self.layout} has {rows * cols} viewports"
            )
        return self


def compact_json_bytes(value: Any) -> int:
    """Size of JSON.stringify(value) in UTF-8: compact separators, non-ASCII kept."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


class EphemeralSessionCreate(ApiModel):
    retrieval_id: Annotated[str, Field(min_length=1, max_length=512)]
    hanging_protocol: HangingProtocol | None = None
    options: dict[str, Any] | None = None

    @field_validator("retrieval_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("options")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and (size := compact_json_bytes(value)) > MAX_OPTIONS_BYTES:
            raise ValueError(
                f"is {size} bytes as JSON; at most {MAX_OPTIONS_BYTES} are allowed "
                "(send identifiers, not URLs or manifests)"
            )
        return value


# ---- the workspace page's calls --------------------------------------------------------------------


class DraftSave(ApiModel):
    report_id: str
    base_version: int = Field(ge=1)
    # Validated by the report service (ReportContent), which names the offending field.
    content: dict[str, Any]


class SignRequest(ApiModel):
    report_id: str
    base_version: int = Field(ge=1)
    is_critical: bool


class ReportSelector(ApiModel):
    report_id: str


class DraftSaved(ApiResponse):
    report_id: str
    version: int
    saved_at: str


class PaneOut(ApiResponse):
    """The report pane as it now is (after signing, opening or cancelling an addendum, or a reload)."""

    html: str
    report_id: str | None
    version: int | None
    status: str
    content: dict[str, Any] | None = None


class ReportStarted(PaneOut):
    """POST .../report/start: the pane, and the parts of the page clinical-context enrichment fills
    (the page's script puts them in place)."""

    clinical_context_html: str
    priors_html: str
