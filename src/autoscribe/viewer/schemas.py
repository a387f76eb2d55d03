"""The Viewer product on the wire (reference section 5, SDK 0.3.0 `client.viewer.*`).

Parallel to AutoScribe without reports: a Viewer study has no report metadata, clinical context
or report ids, and a `studyViewerStatus` instead of a `studyReportStatus`; Viewer users and
invitations are AutoScribe's without `canCreateReports` and `npiNumber`. The user and invitation
shapes are derived from AutoScribe's (users.schemas) by leaving those fields out, so the two
products cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, create_model, field_validator

from autoscribe.ids import CustomerIdStr, UserIdStr
from autoscribe.schemas import ApiModel, ApiResponse, Metadata, Timestamp
from autoscribe.studies.schemas import (
    ApiKeyReference,
    DicomUid,
    ExpressCustomerReference,
    Severity,
    StudyDescription,
    UserReference,
)
from autoscribe.users import schemas as users_schemas
from autoscribe.users.models import User
from autoscribe.users.schemas import InvitationOut, ProfileUpdate, UserInvite, UserOut

StudyViewerStatus = Literal["incomplete", "complete"]
VIEWER_STATUSES: tuple[str, ...] = ("incomplete", "complete")

# What AutoScribe has and the Viewer has not.
REPORTING_FIELDS = ("can_create_reports", "npi_number")


class ViewerStudyCreate(ApiModel):
    severity: Severity
    study_description: StudyDescription
    study_instance_uid: DicomUid
    assigned_to: UserIdStr | None = None
    express_customer_id: CustomerIdStr | None = None
    metadata: Metadata | None = None


class ViewerStudyUpdate(ApiModel):
    """Only the fields sent change; `assignedTo: null` unassigns, `metadata: null` clears."""

    assigned_to: UserIdStr | None = None
    metadata: Metadata | None = None
    severity: Severity | None = None
    study_description: StudyDescription | None = None
    study_viewer_status: StudyViewerStatus | None = None

    @field_validator("severity", "study_description", "study_viewer_status")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class ViewerStudyOut(ApiResponse):
    cancelled_at: Timestamp | None
    created_at: Timestamp | None
    is_cancelled: bool
    severity: Severity
    study_description: str
    study_id: str
    study_instance_uid: str
    study_viewer_status: StudyViewerStatus
    updated_at: Timestamp | None
    assigned_to: UserReference | None = None
    created_by_api_key: ApiKeyReference | None = None
    created_by_user: UserReference | None = None
    express_customer: ExpressCustomerReference | None = None
    metadata: dict[str, str] | None = None


class ViewerStudyList(ApiResponse):
    studies: list[ViewerStudyOut]
    has_more: bool
    cursor: str | None = None


def _without_reporting(model: type[BaseModel], name: str) -> Any:
    """`model` without canCreateReports and npiNumber: the same fields, types, limits and
    validators (those of its own re-declared for the fields that remain)."""
    base = cast(type[BaseModel], model.__bases__[0])
    inherited = base.__pydantic_decorators__.field_validators
    validators: dict[str, Any] = {}
    for key, decorator in model.__pydantic_decorators__.field_validators.items():
        if key in inherited:
            continue
        kept = [f for f in decorator.info.fields if f not in REPORTING_FIELDS]
        function: Any = decorator.func.__func__  # type: ignore[attr-defined]
        validators[key] = field_validator(*kept, mode=decorator.info.mode)(function)
    fields: dict[str, Any] = {
        field_name: (info.annotation, info)
        for field_name, info in model.model_fields.items()
        if field_name not in REPORTING_FIELDS
    }
    return create_model(
        name,
        __base__=base,
        __doc__=model.__doc__,
        __module__=__name__,
        __validators__=validators,
        **fields,
    )


# Requests: AutoScribe's, minus the reporting fields (a Viewer client sending them gets a 400
# naming the field: unknown fields are refused).
ViewerUserInvite: Any = _without_reporting(UserInvite, "ViewerUserInvite")
ViewerProfileUpdate: Any = _without_reporting(ProfileUpdate, "ViewerProfileUpdate")

# Responses.
ViewerUserOut: Any = _without_reporting(UserOut, "ViewerUserOut")
ViewerInvitationOut: Any = _without_reporting(InvitationOut, "ViewerInvitationOut")
ViewerUserList: Any = create_model(
    "ViewerUserList",
    __base__=ApiResponse,
    __module__=__name__,
    users=(list[ViewerUserOut], ...),
    has_more=(bool, ...),
    cursor=(str | None, None),
)
ViewerInvitationList: Any = create_model(
    "ViewerInvitationList",
    __base__=ApiResponse,
    __module__=__name__,
    invitations=(list[ViewerInvitationOut], ...),
    has_more=(bool, ...),
    cursor=(str | None, None),
)


def as_viewer_user(out: UserOut) -> Any:
    return ViewerUserOut.model_validate(out.model_dump(exclude=set(REPORTING_FIELDS)))


def as_viewer_invitation(out: InvitationOut) -> Any:
    return ViewerInvitationOut.model_validate(out.model_dump(exclude=set(REPORTING_FIELDS)))


def user_out(user: User) -> Any:
    return as_viewer_user(users_schemas.user_out(user))
