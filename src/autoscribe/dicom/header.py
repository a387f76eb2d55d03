"""Reading what the platform needs from a DICOM header: the index row's matching keys, the QIDO-RS
attributes (DICOM JSON model), and the "light metadata" a study is seeded from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from autoscribe.errors import InvalidRequest
from autoscribe.studies.schemas import check_dicom_uid

# Attributes kept per instance for QIDO-RS (PS3.18 Table 10.6.3-3/4/5) and for seeding.
STUDY_KEYWORDS = (
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "StudyInstanceUID",
    "StudyID",
    "StudyDescription",
    "InstitutionName",
    "RequestedProcedureDescription",
    "TimezoneOffsetFromUTC",
)
SERIES_KEYWORDS = (
    "Modality",
    "SeriesDescription",
    "SeriesNumber",
    "SeriesInstanceUID",
    "SeriesDate",
    "SeriesTime",
    "BodyPartExamined",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
)
INSTANCE_KEYWORDS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
    "SpecificCharacterSet",
    # Image geometry: what a viewer's manifest needs (dicom.web.study_manifest) without the files.
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "RescaleIntercept",
    "RescaleSlope",
)
KEYWORDS = STUDY_KEYWORDS + SERIES_KEYWORDS + INSTANCE_KEYWORDS


@dataclass
class Parsed:
    dataset: Dataset  # without pixel data
    transfer_syntax_uid: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str


def parse_part10(data: bytes) -> Parsed:
    """Parse a Part 10 file (preamble, file meta, data set) up to the pixel data; InvalidRequest
    when it is not DICOM or lacks the UIDs an archive needs."""
    try:
        ds = dcmread(BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InvalidRequest(f"not a DICOM Part 10 object: {exc}") from None
    meta = getattr(ds, "file_meta", None)
    syntax = str(getattr(meta, "TransferSyntaxUID", "") or "")
    if not syntax:
        raise InvalidRequest("the file meta information has no TransferSyntaxUID")
    uids = {}
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        value = str(ds.get(keyword, "") or "").strip().rstrip("\x00")
        if not value and keyword == "SOPClassUID":
            value = str(getattr(meta, "MediaStorageSOPClassUID", "") or "")
        try:
            check_dicom_uid(value)
        except ValueError:
            raise InvalidRequest(f"{keyword} is missing or not a valid UID: {value!r}") from None
        uids[keyword] = value
    return Parsed(
        dataset=ds,
        transfer_syntax_uid=syntax,
        study_instance_uid=uids["StudyInstanceUID"],
        series_instance_uid=uids["SeriesInstanceUID"],
        sop_instance_uid=uids["SOPInstanceUID"],
        sop_class_uid=uids["SOPClassUID"],
    )


def _no_nul(value: Any) -> Any:
    """NUL characters removed (DICOM pads with them; PostgreSQL text and JSONB refuse them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    if isinstance(value, dict):
        return {k: _no_nul(v) for k, v in value.items()}
    return value


def attributes_json(ds: Dataset) -> dict[str, Any]:
    """The QIDO/seeding attributes of `ds` in the DICOM JSON model."""
    return _no_nul(_attributes_json(ds))  # type: ignore[no-any-return]


def _attributes_json(ds: Dataset) -> dict[str, Any]:
    subset = Dataset()
    for keyword in KEYWORDS:
        element = ds.data_element(keyword) if keyword in ds else None
        if element is not None and element.VR != "SQ":
            subset.add(element)
    try:
        return subset.to_json_dict()
    except Exception:
        # A malformed value (bad DS/IS text, undecodable name) must not lose the instance.
        out: dict[str, Any] = {}
        for element in subset:
            single = Dataset()
            single.add(element)
            try:
                out.update(single.to_json_dict())
            except Exception:  # noqa: S112
                continue
        return out


def text(ds: Dataset, keyword: str, limit: int | None = None) -> str | None:
    try:
        value = ds.get(keyword)
    except Exception:
        return None
    if value is None:
        return None
    if isinstance(value, MultiValue | list | tuple):
        value = "\\".join(str(v) for v in value)
    elif isinstance(value, bytes):
        return None
    value = str(value).replace("\x00", "").strip()
    if not value:
        return None
    return value[:limit] if limit else value


def integer(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# ---- JSON model access (rows store attributes as DICOM JSON) ------------------------------------


def json_value(attrs: dict[str, Any], tag: str) -> Any:
    element = attrs.get(tag)
    if not isinstance(element, dict):
        return None
    values = element.get("Value")
    if not values:
        return None
    first = values[0]
    if isinstance(first, dict):  # PN
        return first.get("Alphabetic")
    return first


TAGS = {
    "StudyDate": "00080020",
    "StudyTime": "00080030",
    "AccessionNumber": "00080050",
    "Modality": "00080060",
    "InstitutionName": "00080080",
    "ReferringPhysicianName": "00080090",
    "StudyDescription": "00081030",
    "PatientName": "00100010",
    "PatientID": "00100020",
    "PatientBirthDate": "00100030",
    "PatientSex": "00100040",
    "PatientAge": "00101010",
    "PatientSize": "00101020",
    "PatientWeight": "00101030",
    "StudyInstanceUID": "0020000D",
    "RequestedProcedureDescription": "00321060",
}


# ---- DICOM values -> study fields ----------------------------------------------------------------


def person_name(value: str | None) -> str | None:
    """PN `Family^Given^Middle^Prefix^Suffix` (alphabetic group) -> "Prefix Given Middle Family Suffix"."""
    if not value:
        return None
    alphabetic = value.split("=")[0]
    parts = [p.strip() for p in alphabetic.split("^")] + [""] * 5
    family, given, middle, prefix, suffix = parts[:5]
    name = " ".join(p for p in (prefix, given, middle, family, suffix) if p)
    return name or None


def dicom_date(value: str | None) -> str | None:
    """DA `YYYYMMDD` (or `YYYY.MM.DD`) -> `YYYY-MM-DD`."""
    if not value:
        return None
    digits = value.strip().replace(".", "")
    if re.fullmatch(r"\d{8}", digits):
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return None


def dicom_time(value: str | None) -> str | None:
    """TM `HHMMSS.ffffff` (or `HH:MM:SS`) -> `HH:MM`."""
    if not value:
        return None
    digits = value.strip().replace(":", "")
    if re.fullmatch(r"\d{4}(\d{2}(\.\d{1,6})?)?", digits):
        return f"{digits[:2]}:{digits[2:4]}"
    return None


_SEX = {"M": "male", "F": "female", "O": "other"}
_AGE_UNITS = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


def dicom_age(value: str | None) -> str | None:
    """AS `034Y` -> "34 years"."""
    if not value:
        return None
    match = re.fullmatch(r"(\d{3})([DWMY])", value.strip())
    if not match:
        return None
    number = int(match.group(1))
    unit = _AGE_UNITS[match.group(2)]
    return f"{number} {unit[:-1] if number == 1 else unit}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def seed_values(attrs: dict[str, Any]) -> dict[str, Any]:
    """The study fields a DICOM header gives (camelCase, reportMetadata keys flattened), from one
    instance's attributes: the "DICOM light metadata" of the reference's merge order."""

    def get(keyword: str) -> Any:
        return json_value(attrs, TAGS[keyword])

    out: dict[str, Any] = {
        "patientName": person_name(get("PatientName")),
        "mrn": get("PatientID"),
        "dateOfBirth": dicom_date(get("PatientBirthDate")),
        "sex": _SEX.get(str(get("PatientSex") or "").strip().upper()),
        "age": dicom_age(get("PatientAge")),
        "studyDate": dicom_date(get("StudyDate")),
        "studyTime": dicom_time(get("StudyTime")),
        "facilityName": get("InstitutionName"),
        "referringPhysicianName": person_name(get("ReferringPhysicianName")),
        "procedure": get("RequestedProcedureDescription") or get("StudyDescription"),
        "studyDescription": get("StudyDescription"),
    }
    size = _number(get("PatientSize"))  # metres
    if size is not None:
        out["height"] = {"unit": "cm", "value": round(size * 100, 1)}
    weight = _number(get("PatientWeight"))  # kilograms
    if weight is not None:
        out["weight"] = {"unit": "kg", "value": round(weight, 1)}
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in out.items() if v not in (None, "")}
