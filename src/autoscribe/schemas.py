"""Wire-format building blocks shared by every domain: camelCase, UTC timestamps, limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel
from starlette.responses import Response


# NUL cannot be stored in PostgreSQL text or JSONB columns: refuse it at the door (a 400 naming
# the field) rather than fail in the database (a 500).
def _check_storable(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)


class ApiModel(BaseModel):
    """Request bodies: camelCase on the wire, unknown fields refused with their name."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=False,
        allow_inf_nan=False,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _check_storable(value)
        return value

    def provided(self) -> set[str]:
        """Field names the client actually sent (PATCH: absent means unchanged, null means clear)."""
        return set(self.model_fields_set)


class ApiResponse(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 50:
        raise ValueError("metadata holds at most 50 key/value pairs")
    for key, item in value.items():
        if not key or len(key) > 100:
            raise ValueError("metadata keys must be 1 to 100 characters")
        if len(item) > 1000:
            raise ValueError(f"metadata value for '{key}' is longer than 1000 characters")
    return value


Metadata = Annotated[
    dict[str, str],
    AfterValidator(_check_metadata),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 50,
            "propertyNames": {"minLength": 1, "maxLength": 100},
            "additionalProperties": {"type": "string", "maxLength": 1000},
        }
    ),
]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIME_PATTERN = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
_TIME = re.compile(TIME_PATTERN)


def _check_date(value: str) -> str:
    if not _DATE.fullmatch(value):
        raise ValueError("must be a date in the form YYYY-MM-DD")
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValueError("is not a real calendar date") from None
    return value


def _check_time(value: str) -> str:
    if not _TIME.fullmatch(value):
        raise ValueError("must be a time of day in the form HH:MM (24-hour)")
    return value


DateStr = Annotated[str, AfterValidator(_check_date), WithJsonSchema({"type": "string", "format": "date"})]
TimeStr = Annotated[
    str, AfterValidator(_check_time), WithJsonSchema({"type": "string", "pattern": f"^{TIME_PATTERN}$"})
]

# Limits the reference leaves open are set generously but finitely.
ShortText = Annotated[str, Field(max_length=256)]
LongText = Annotated[str, Field(max_length=20000)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# Names and descriptions people read: at least one visible character.
NonBlank = Annotated[str, AfterValidator(_not_blank), Field(json_schema_extra={"pattern": r"\S"})]


class ErrorDetail(ApiResponse):
    type: str = Field(description="invalid_request, authentication_error, permission_denied, not_found, ...")
    message: str = Field(description="What went wrong, naming the offending field")
    param: str | None = Field(default=None, description="The offending field, e.g. reportMetadata.sex")


class ErrorBody(ApiResponse):
    """Every 4xx and 5xx answer has this shape."""

    error: ErrorDetail


class Success(ApiResponse):
    success: bool = True
    message: str | None = None


class UrlResponse(ApiResponse):
    url: str


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def json_response(model: BaseModel) -> Response:
    """Serialize a response model directly (the route still declares response_model for the docs):
    for a sync route FastAPI would otherwise re-validate the model in another thread hop."""
    return Response(model.model_dump_json(by_alias=True), media_type="application/json")
