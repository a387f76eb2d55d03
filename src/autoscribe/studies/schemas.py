"""Study request and response shapes, exactly as the Avara reference names them."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from autoscribe.errors import InvalidRequest
from autoscribe.ids import CustomerIdStr, Prefix, StudyIdStr, UserIdStr, brand
from autoscribe.schemas import (
    ApiModel,
    ApiResponse,
    DateStr,
    LongText,
    Metadata,
    NonBlank,
    ShortText,
    Timestamp,
    TimeStr,
)
from autoscribe.studies.models import Study
from autoscribe.users.models import User

Severity = Literal["normal", "high", "stat"]
StudyReportStatus = Literal["unassigned", "assigned", "in_progress", "completed", "addendum_active"]
StudyType = Literal["standard", "external"]
Sex = Literal["male", "female", "other"]

SEVERITIES: tuple[str, ...] = ("normal", "high", "stat")
REPORT_STATUSES: tuple[str, ...] = ("unassigned", "assigned", "in_progress", "completed", "addendum_active")
STUDY_TYPES: tuple[str, ...] = ("standard", "external")

# DICOM PS3.5 §9.1: digits and dots, no empty or zero-led components, at most 64 characters.
UID_PATTERN = r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+"
_UID = re.compile(UID_PATTERN)


def check_dicom_uid(value: str) -> str:
    if len(value) > 64:
        raise ValueError("must be a DICOM UID of at most 64 characters")
    if not _UID.fullmatch(value):
        raise ValueError(
            "must be a valid DICOM UID: numeric components separated by dots, "
            "no leading zeros (e.g. 1.2.840.10008.5.1.4.1.1.2)"
        )
    return value


DicomUid = Annotated[
    str,
    AfterValidator(check_dicom_uid),
    WithJsonSchema({"type": "string", "pattern": f"^{UID_PATTERN}$", "maxLength": 64}),
]

# Older clients send the pre-2026-05-30 metadata names.
_LEGACY_METADATA = {"scanDate": "studyDate", "scanTime": "studyTime", "scanType": "procedure"}


def _rename_legacy(data: Any, renames: dict[str, str], where: str = "") -> Any:
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for old, new in renames.items():
        if old in data:
            value = data.pop(old)
            if new in data and data[new] != value:
                # Raised as our own error (pydantic passes it through) so that it can name the field.
                raise InvalidRequest(
                    f"{where}{old} and {where}{new} are the same field and were given different values",
                    param=f"{where}{old}",
                )
            data.setdefault(new, value)
    return data


class Height(ApiModel):
    unit: Literal["in", "cm"]
    value: float = Field(ge=0, le=1000)


class Weight(ApiModel):
    unit: Literal["lbs", "kg"]
    value: float = Field(ge=0, le=5000)


class ReportMetadataIn(ApiModel):
    """Patient and scan header values; on PATCH an explicit null clears one field."""

    age: Annotated[str, Field(max_length=64)] | None = None
    date_of_birth: DateStr | None = None
    facility_name: ShortText | None = None
    height: Height | None = None
    mrn: Annotated[str, Field(max_length=64)] | None = None
    patient_name: ShortText | None = None
    procedure: ShortText | None = None
    referring_physician_name: ShortText | None = None
    sex: Sex | None = None
    study_date: DateStr | None = None
    study_time: TimeStr | None = None
    weight: Weight | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_names(cls, data: Any) -> Any:
        return _rename_legacy(data, _LEGACY_METADATA, "reportMetadata.")

    def as_stored(self, only: set[str] | None = None) -> dict[str, Any]:
        """camelCase dict of the given fields (None values kept, meaning "clear")."""
        dumped = self.model_dump(by_alias=True, include=only, exclude_unset=True)
        for measure in ("height", "weight"):
            item = dumped.get(measure)
            if isinstance(item, dict) and float(item["value"]).is_integer():
                # 70 stays 70, not 70.0: webhook receivers re-serialize what they parse.
                item["value"] = int(item["value"])
        return dumped


class PriorReportIn(ApiModel):
    report_text: str = Field(min_length=1, max_length=50000)
    external_study_id: str | None = Field(default=None, min_length=1, max_length=256)
    modality: str | None = Field(default=None, min_length=1, max_length=100)
    study_date: DateStr | None = None
    study_description: str | None = Field(default=None, min_length=1, max_length=1000)


TechnologistNote = Annotated[str, Field(max_length=1000)]


class _StudyFields(ApiModel):
    clinical_history: LongText | None = None
    clinical_indication: LongText | None = None
    external_patient_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    metadata: Metadata | None = None
    modality: Annotated[str, Field(max_length=100)] | None = None
    prior_reports: Annotated[list[PriorReportIn], Field(max_length=50)] | None = None
    technologist_notes: Annotated[list[TechnologistNote], Field(max_length=50)] | None = None
    technologist_technique: LongText | None = None


StudyDescription = Annotated[NonBlank, Field(min_length=1, max_length=1000)]


class StudyCreate(_StudyFields):
    report_metadata: ReportMetadataIn
    severity: Severity
    study_description: StudyDescription
    study_instance_uid: DicomUid
    assigned_to: UserIdStr | None = None
    express_customer_id: CustomerIdStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_names(cls, data: Any) -> Any:
        # The integration guide's TypeScript sample sends studyUid; early clients sent prior texts.
        data = _rename_legacy(data, {"studyUid": "studyInstanceUid"})
        if isinstance(data, dict) and "priorReportTexts" in data:
            texts = data.pop("priorReportTexts")
            if isinstance(texts, list) and "priorReports" not in data:
                data["priorReports"] = [{"reportText": t} for t in texts]
        return data


class StudyUpdate(_StudyFields):
    """Only the fields sent change; null clears (assignedTo: null unassigns)."""

    assigned_to: UserIdStr | None = None
    express_customer_id: CustomerIdStr | None = None
    report_metadata: ReportMetadataIn | None = None
    severity: Severity | None = None
    study_description: StudyDescription | None = None
    # Accepted only to be refused with a clear message; not part of the documented body.
    study_instance_uid: SkipJsonSchema[Any] = None

    @field_validator("study_instance_uid")
    @classmethod
    def _immutable_uid(cls, value: Any) -> Any:
        raise ValueError("cannot be changed; cancel this study and create a new one")

    @field_validator("severity", "study_description")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class StudySelector(ApiModel):
    """Cancel / uncancel / delete take either identifier."""

    study_id: StudyIdStr | None = None
    study_instance_uid: DicomUid | None = None


# ---- responses -------------------------------------------------------------------------------


class UserReference(ApiResponse):
    email: str
    user_id: str
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix1: str | None = None
    suffix2: str | None = None


class ApiKeyReference(ApiResponse):
    api_key_id: str
    description: str
    is_viewer_enabled: bool | None = None
    is_clinical_context_enrichment_enabled: bool | None = None


class ExpressCustomerReference(ApiResponse):
    express_customer_id: str
    express_customer_name: str


class ReportIdWithStatus(ApiResponse):
    report_id: str
    status: Literal["in_progress", "completed"]
    is_critical: bool | None = None


class HeightOut(ApiResponse):
    unit: Literal["in", "cm"]
    value: int | float  # 70 stays 70


class WeightOut(ApiResponse):
    unit: Literal["lbs", "kg"]
    value: float


def _is_none(value: Any) -> bool:
    return value is None


# Only the fields that hold a value are sent.
Opt = Field(default=None, exclude_if=_is_none)


class ReportMetadataOut(ApiResponse):
    age: str | None = Opt
    date_of_birth: str | None = Opt
    facility_name: str | None = Opt
    height: HeightOut | None = Opt
    mrn: str | None = Opt
    patient_name: str | None = Opt
    procedure: str | None = Opt
    referring_physician_name: str | None = Opt
    sex: Sex | None = Opt
    study_date: str | None = Opt
    study_time: str | None = Opt
    weight: WeightOut | None = Opt


class PriorReportOut(ApiResponse):
    report_text: str
    external_study_id: str | None = None
    modality: str | None = None
    study_date: str | None = None
    study_description: str | None = None


class StudyOut(ApiResponse):
    study_id: str
    study_instance_uid: str
    study_description: str
    severity: Severity
    study_report_status: StudyReportStatus
    study_type: StudyType
    is_cancelled: bool
    cancelled_at: Timestamp | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    report_metadata: ReportMetadataOut
    assigned_to: UserReference | None = None
    created_by_api_key: ApiKeyReference | None = None
    created_by_user: UserReference | None = None
    express_customer: ExpressCustomerReference | None = None
    clinical_history: str | None = None
    clinical_indication: str | None = None
    external_patient_id: str | None = None
    external_report_id: str | None = None
    is_critical: bool | None = None
    metadata: dict[str, str] | None = None
    modality: str | None = None
    prior_reports: list[PriorReportOut] = []
    report_ids: list[ReportIdWithStatus] = []
    technologist_notes: list[str] = []
    technologist_technique: str | None = None


class StudyList(ApiResponse):
    studies: list[StudyOut]
    has_more: bool
    cursor: str | None = None


# ---- serialisation: what the API answers for a study ---------------------------------------------


def user_reference(user: User | None) -> UserReference | None:
    if user is None:
        return None
    return UserReference(
        email=user.email,
        user_id=brand(Prefix.USER, user.id),
        first_name=user.first_name,
        last_name=user.last_name,
        middle_name=user.middle_name,
        suffix1=user.suffix1,
        suffix2=user.suffix2,
    )


def common_fields(study: Study) -> dict[str, Any]:
    """What a study shows in both products' APIs (AutoScribe's StudyOut, the Viewer's study)."""
    key = study.created_by_api_key
    customer = study.express_customer
    return {
        "study_id": brand(Prefix.STUDY, study.id),
        "study_instance_uid": study.study_instance_uid,
        "study_description": study.study_description,
        "severity": study.severity,
        "is_cancelled": study.is_cancelled,
        "cancelled_at": study.cancelled_at,
        "created_at": study.created_at,
        "updated_at": study.updated_at,
        "assigned_to": user_reference(study.assigned_to),
        "created_by_user": user_reference(study.created_by_user),
        "created_by_api_key": ApiKeyReference(
            api_key_id=str(key.id),
            description=key.description,
            is_viewer_enabled=key.is_viewer_enabled,
            is_clinical_context_enrichment_enabled=key.is_clinical_context_enrichment_enabled,
        )
        if key
        else None,
        "express_customer": ExpressCustomerReference(
            express_customer_id=brand(Prefix.CUSTOMER, customer.id), express_customer_name=customer.name
        )
        if customer
        else None,
        "metadata": study.custom_metadata,
    }


def study_out(study: Study) -> StudyOut:
    return StudyOut(
        **common_fields(study),
        study_report_status=study.study_report_status,  # type: ignore[arg-type]
        study_type=study.study_type,  # type: ignore[arg-type]
        report_metadata=study.report_metadata or {},
        clinical_history=study.clinical_history,
        clinical_indication=study.clinical_indication,
        external_patient_id=study.external_patient_id,
        is_critical=study.is_critical,
        external_report_id=brand(Prefix.EXTERNAL_REPORT, study.external_report.id)
        if study.external_report
        else None,
        report_ids=[
            ReportIdWithStatus(
                report_id=brand(Prefix.REPORT, r.id),
                status=r.status,  # type: ignore[arg-type]
                is_critical=r.is_critical if r.status == "completed" else None,
            )
            for r in study.reports
        ],
        modality=study.modality,
        prior_reports=[PriorReportOut.model_validate(p) for p in study.prior_reports or []],
        technologist_notes=study.technologist_notes or [],
        technologist_technique=study.technologist_technique,
    )
