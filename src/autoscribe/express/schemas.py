"""Express customer shapes (reference section 3.9 and 6)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from autoscribe.ids import UserIdStr
from autoscribe.schemas import ApiModel, ApiResponse, Metadata, NonBlank, Timestamp

CustomerName = Annotated[NonBlank, Field(min_length=1, max_length=200)]


class ExpressCustomerCreate(ApiModel):
    express_customer_name: CustomerName
    metadata: Metadata | None = None


class ExpressCustomerUpdate(ApiModel):
    """Only the fields sent change; metadata: null removes all metadata."""

    express_customer_name: CustomerName | None = None
    metadata: Metadata | None = None

    @field_validator("express_customer_name")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ExpressUserBody(ApiModel):
    user_id: UserIdStr


class ExpressCustomerOut(ApiResponse):
    express_customer_id: str
    express_customer_name: str
    is_active: bool
    user_count: int
    created_at: Timestamp | None
    updated_at: Timestamp | None
    created_by_api_key_id: str | None = None
    created_by_user_id: str | None = None
    metadata: dict[str, str] | None = None


class ExpressCustomerList(ApiResponse):
    express_customers: list[ExpressCustomerOut]
    has_more: bool
    cursor: str | None = None
