"""Clinical reference shapes (reference 3.10 and 4.1)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from autoscribe.schemas import ApiModel, ApiResponse, Metadata, Timestamp
from autoscribe.studies.schemas import ExpressCustomerReference

ReferenceType = Literal["facility", "referring_provider", "study_description", "procedure"]
REFERENCE_TYPES: tuple[str, ...] = ("facility", "referring_provider", "study_description", "procedure")

Name = Annotated[str, Field(min_length=1, max_length=256)]


def _clean_name(value: Any) -> Any:
    if isinstance(value, str):
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be blank")
    return value


class ClinicalReferenceCreate(ApiModel):
    name: Name
    type: ReferenceType
    express_customer_id: str | None = None
    external_reference_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    metadata: Metadata | None = None

    _name = field_validator("name", mode="before")(_clean_name)


class ClinicalReferenceUpdate(ApiModel):
    name: Name | None = None
    metadata: Metadata | None = None
    express_customer_id: str | None = None
    type: Any = None

    _name = field_validator("name", mode="before")(_clean_name)

    @field_validator("type")
    @classmethod
    def _immutable_type(cls, value: Any) -> Any:
        raise ValueError("cannot be changed after creation; create a new reference instead")

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ClinicalReferenceOut(ApiResponse):
    clinical_reference_id: str
    created_at: Timestamp | None
    is_active: bool
    name: str
    type: ReferenceType
    updated_at: Timestamp | None
    express_customer: ExpressCustomerReference | None = None
    external_reference_id: str | None = None
    metadata: dict[str, str] | None = None


class ClinicalReferenceList(ApiResponse):
    clinical_references: list[ClinicalReferenceOut]
    has_more: bool
    cursor: str | None = None
