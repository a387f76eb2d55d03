"""Key images: the viewer's "Save key image" as a DICOM Secondary Capture object for the integrator.

    POST /workspace/<studyId>/key-images   (the workspace page, CSRF-protected)
    {"columns": 800, "rows": 600, "photometricInterpretation": "MONOCHROME2",
     "pixelData": "<base64>", "compression": "gzip",
     "sourceSopInstanceUid": "1.2...", "sourceSopClassUid": "1.2...", "sourceSeriesInstanceUid": "1.2...",
     "windowCenter": 40, "windowWidth": 400, "zoom": 1.5, "inverted": false}

The browser sends the viewport exactly as drawn: the canvas's 8-bit pixels (its window/level,
zoom, pan and inversion applied; grey when every pixel is grey, else RGB), optionally gzipped.
The server then

1. builds a Secondary Capture Image Storage object (`build_secondary_capture`): a new series and
   instance in the study (new SeriesInstanceUID and SOPInstanceUID, the study's StudyInstanceUID),
   the patient and study attributes of the archived images when the archive holds some, else those
   of the study's reportMetadata, the image it was taken from in SourceImageSequence, ConversionType
   WSD, 8-bit MONOCHROME2 or RGB, Explicit VR Little Endian with a valid file meta header;
2. asks the integrator with `secondary_capture.access_requested` (synchronous, signed, to the
   study data webhook of the key that serves the study's images), with the new UIDs;
3. on `authorized: true` PUTs the object (Content-Type application/dicom) to every `uploadUrls`
   entry through the outbound guard (`outbound.guard`: private and loopback targets only with
   AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1), each within UPLOAD_TIMEOUT_SECONDS;
4. audits the outcome (workspace.key_image_saved / _refused / _failed).

Who may save: the person reading the study (`Access.can_edit`: a reroute-URL session of the
assigned radiologist, or that radiologist from the dashboard). View-only links, Viewer-product
links and ephemeral sessions show images but save nothing (403), since a key image adds an object
to the patient's study in the integrator's archive.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from datetime import UTC, datetime
from io import BytesIO
from typing import Annotated, Any, Literal

from pydantic import Field
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from autoscribe.audit.service import record
from autoscribe.dicom.header import TAGS, json_value
from autoscribe.dicom.models import DicomInstance
from autoscribe.errors import APIError, InvalidRequest, PermissionDenied, UpstreamFailed
from autoscribe.outbound.guard import FetchFailed, FetchTimeout, TargetRefused, fetch_checked, redact
from autoscribe.schemas import ApiModel, ApiResponse
from autoscribe.studies.models import Study
from autoscribe.studies.schemas import DicomUid
from autoscribe.webhooks import sync
from autoscribe.webhooks.schemas import SecondaryCaptureAnswer
from autoscribe.workspace.access import Access, stu
from autoscribe.workspace.images import image_key

EVENT = "secondary_capture.access_requested"
UPLOAD_TIMEOUT_SECONDS = 30.0
MAX_SIDE = 8192
MAX_PIXELS = 4096 * 4096
SERIES_NUMBER = 9001  # key-image series sort after the acquired ones
SERIES_DESCRIPTION = "Key images (AutoScribe)"
IMPLEMENTATION_VERSION = "AUTOSCRIBE_01"  # SH, at most 16 characters


class KeyImageRequest(ApiModel):
    columns: Annotated[int, Field(ge=1, le=MAX_SIDE)]
    rows: Annotated[int, Field(ge=1, le=MAX_SIDE)]
    photometric_interpretation: Literal["MONOCHROME2", "RGB"]
    # Base64 of the rows x columns x samples bytes (row by row, RGB interleaved), gzipped or not.
    pixel_data: Annotated[str, Field(min_length=1)]
    compression: Literal["gzip"] | None = None
    source_sop_instance_uid: DicomUid | None = None
    source_sop_class_uid: DicomUid | None = None
    source_series_instance_uid: DicomUid | None = None
    window_center: float | None = None
    window_width: float | None = None
    zoom: Annotated[float, Field(gt=0, le=100)] | None = None
    inverted: bool | None = None


class KeyImageResult(ApiResponse):
    saved: bool
    authorized: bool
    error: str | None = None
    series_instance_uid: str
    sop_instance_uid: str
    uploads: int = 0


# ---- pixels ------------------------------------------------------------------------------------------


def decode_pixels(body: KeyImageRequest) -> bytes:
    """The raw 8-bit pixels the browser sent; InvalidRequest naming the field when they are not
    exactly rows x columns x samples bytes."""
    if body.rows * body.columns > MAX_PIXELS:
        raise InvalidRequest(
            f"the image is {body.columns} x {body.rows} pixels; at most {MAX_PIXELS} pixels are accepted",
            param="rows",
        )
    samples = 3 if body.photometric_interpretation == "RGB" else 1
    expected = body.rows * body.columns * samples
    try:
        raw = base64.b64decode(body.pixel_data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("pixelData is not valid base64", param="pixelData") from None
    if body.compression == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(raw, expected + 1)
        except zlib.error:
            raise InvalidRequest("pixelData is not valid gzip data", param="pixelData") from None
    else:
        data = raw
    if len(data) != expected:
        raise InvalidRequest(
            f"pixelData holds {'more than ' if len(data) > expected else ''}{len(data)} bytes; "
            f"{body.columns} x {body.rows} {body.photometric_interpretation} pixels are {expected} bytes",
            param="pixelData",
        )
    return data


# ---- the DICOM object --------------------------------------------------------------------------------


def _pn(name: str | None) -> str:
    """A display name as DICOM PN: "Johanna Testpatient" -> "Testpatient^Johanna";
    "Family, Given" -> "Family^Given"; a value already in PN form is kept."""
    name = (name or "").strip()
    if not name or "^" in name:
        return name[:320]
    if "," in name:
        family, _, given = name.partition(",")
        return f"{family.strip()}^{given.strip()}"[:320]
    parts = name.split()
    if len(parts) == 1:
        return parts[0][:64]
    family, given, middle = parts[-1], parts[0], " ".join(parts[1:-1])
    return "^".join(p[:64] for p in (family, given, middle) if p)


def _da(value: Any) -> str:
    text = str(value or "").strip().replace("-", "")
    return text if len(text) == 8 and text.isdigit() else ""


def _tm(value: Any) -> str:
    text = str(value or "").strip().replace(":", "")
    return text if text[:4].isdigit() and len(text) >= 4 else ""


_SEX = {"male": "M", "female": "F", "other": "O"}


def study_attributes(session: Session, study: Study) -> dict[str, str]:
    """Patient and study attributes for the new object: the archived images' own (so that the key
    image files with them in any PACS), else the study's reportMetadata."""
    meta = study.report_metadata or {}
    attrs = {
        "PatientName": _pn(meta.get("patientName")),
        "PatientID": str(meta.get("mrn") or study.external_patient_id or "")[:64],
        "PatientBirthDate": _da(meta.get("dateOfBirth")),
        "PatientSex": _SEX.get(str(meta.get("sex") or ""), ""),
        "StudyDate": _da(meta.get("studyDate")),
        "StudyTime": _tm(meta.get("studyTime")),
        "ReferringPhysicianName": _pn(meta.get("referringPhysicianName")),
        "AccessionNumber": "",
        "StudyID": "",
        "StudyDescription": (study.study_description or "")[:64],
        "InstitutionName": str(meta.get("facilityName") or "")[:64],
    }
    archived = session.scalars(
        select(DicomInstance)
        .where(
            DicomInstance.clinic_id == study.clinic_id,
            DicomInstance.study_instance_uid == study.study_instance_uid,
        )
        .order_by(DicomInstance.received_at)
        .limit(1)
    ).first()
    if archived is not None:
        for keyword in attrs:
            tag = TAGS.get(keyword)
            value = json_value(archived.attributes or {}, tag) if tag else None
            if value not in (None, ""):
                attrs[keyword] = str(value)
    return attrs


def source_sop_class(session: Session, study: Study, body: KeyImageRequest) -> str | None:
    """The SOP class of the image the key image was taken from: as the viewer read it from the
    file, else as the archive recorded it."""
    if body.source_sop_class_uid or not body.source_sop_instance_uid:
        return body.source_sop_class_uid
    return session.scalars(
        select(DicomInstance.sop_class_uid).where(
            DicomInstance.clinic_id == study.clinic_id,
            DicomInstance.study_instance_uid == study.study_instance_uid,
            DicomInstance.sop_instance_uid == body.source_sop_instance_uid,
        )
    ).first()


def _derivation(body: KeyImageRequest) -> str:
    parts = ["Viewport of the AutoScribe workspace viewer as displayed"]
    if body.window_center is not None and body.window_width is not None:
        parts.append(f"window {body.window_width:g} / level {body.window_center:g}")
    if body.zoom is not None:
        parts.append(f"zoom {round(body.zoom * 100)}%")
    if body.inverted:
        parts.append("grey scale inverted")
    return ", ".join(parts)


def build_secondary_capture(
    *,
    study_instance_uid: str,
    series_instance_uid: str,
    sop_instance_uid: str,
    attributes: dict[str, str],
    body: KeyImageRequest,
    pixels: bytes,
    source_class: str | None,
    now: datetime,
) -> bytes:
    """A Part 10 file: Secondary Capture Image Storage, Explicit VR Little Endian."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: names from reportMetadata may be anything
    # SOP Common
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_instance_uid
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.TimezoneOffsetFromUTC = "+0000"
    # Patient, General Study
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
        setattr(ds, keyword, attributes.get(keyword, ""))
    ds.StudyInstanceUID = study_instance_uid
    for keyword in ("StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber"):
        setattr(ds, keyword, attributes.get(keyword, ""))
    if attributes.get("StudyDescription"):
        ds.StudyDescription = attributes["StudyDescription"]
    # General Series
    ds.Modality = "OT"
    ds.SeriesInstanceUID = series_instance_uid
    ds.SeriesNumber = SERIES_NUMBER
    ds.SeriesDescription = SERIES_DESCRIPTION
    ds.SeriesDate, ds.SeriesTime = date, time
    # General Equipment, SC Equipment
    ds.Manufacturer = "AutoScribe"
    if attributes.get("InstitutionName"):
        ds.InstitutionName = attributes["InstitutionName"]
    ds.ConversionType = "WSD"  # workstation
    ds.SecondaryCaptureDeviceManufacturer = "AutoScribe"
    ds.SecondaryCaptureDeviceManufacturerModelName = "AutoScribe workspace viewer"
    # General Image, SC Image
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.ContentDate, ds.ContentTime = date, time
    ds.DateOfSecondaryCapture, ds.TimeOfSecondaryCapture = date, time
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.DerivationDescription = _derivation(body)
    ds.BurnedInAnnotation = "NO"  # the viewer's overlay text is not part of the pixels
    if body.source_sop_instance_uid and source_class:
        source = Dataset()
        source.ReferencedSOPClassUID = source_class
        source.ReferencedSOPInstanceUID = body.source_sop_instance_uid
        ds.SourceImageSequence = [source]
    # Image Pixel: 8 bits, as displayed
    rgb = body.photometric_interpretation == "RGB"
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = body.photometric_interpretation
    if rgb:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = body.rows, body.columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    if not rgb:
        ds.PresentationLUTShape = "IDENTITY"
    ds.PixelData = pixels + (b"\x00" if len(pixels) % 2 else b"")
    ds["PixelData"].VR = "OB"
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


# ---- save ------------------------------------------------------------------------------------------


def _audit(
    session: Session, access: Access, address: str | None, action: str, details: dict[str, Any]
) -> None:
    study = access.study
    assert study is not None
    record(
        session,
        clinic_id=study.clinic_id,
        actor=access.actor(address),
        action=action,
        target_type="study",
        target_id=stu(study),
        details=details,
        patient=study,
    )
    session.commit()  # a refused or failed save is audited although the request then fails


def _upload(url: str, data: bytes) -> str | None:
    """PUT the object to one presigned URL: None when it was stored, else why not."""
    where = redact(url)
    try:
        result = fetch_checked(
            url,
            method="PUT",
            headers={"Content-Type": "application/dicom"},
            content=data,
            timeout=UPLOAD_TIMEOUT_SECONDS,
            max_bytes=4096,
        )
    except TargetRefused as exc:
        return f"{where} was refused: {exc}"
    except FetchTimeout:
        return f"{where} did not accept the upload within {UPLOAD_TIMEOUT_SECONDS:g} s"
    except FetchFailed as exc:
        return f"{where} could not be reached: {exc}"
    if not 200 <= result.status_code < 300:
        return f"{where} answered HTTP {result.status_code}"
    return None


def save_key_image(
    session: Session, access: Access, body: KeyImageRequest, address: str | None
) -> KeyImageResult:
    """Build the object, ask the integrator, upload it; see the module docstring."""
    study = access.study
    if study is None or not access.can_edit:
        raise PermissionDenied(
            "Key images can only be saved by the radiologist reading this study; this view is read-only",
            param="studyId",
        )
    pixels = decode_pixels(body)
    key = image_key(session, access)
    series_uid, sop_uid = generate_uid(), generate_uid()
    data = build_secondary_capture(
        study_instance_uid=study.study_instance_uid,
        series_instance_uid=series_uid,
        sop_instance_uid=sop_uid,
        attributes=study_attributes(session, study),
        body=body,
        pixels=pixels,
        source_class=source_sop_class(session, study, body),
        now=datetime.now(UTC),
    )
    event = {
        "studyId": stu(study),
        "studyInstanceUid": study.study_instance_uid,
        "seriesInstanceUid": series_uid,
        "sopInstanceUid": sop_uid,
    }
    details: dict[str, Any] = {
        "seriesInstanceUid": series_uid,
        "sopInstanceUid": sop_uid,
        "columns": body.columns,
        "rows": body.rows,
        "bytes": len(data),
    }
    if body.source_sop_instance_uid:
        details["sourceSopInstanceUid"] = body.source_sop_instance_uid
    # Nothing uncommitted may be held while the integrator answers (SQLite: one writer).
    session.commit()
    try:
        answer = sync.call_sync(session, key, EVENT, event, answer_model=SecondaryCaptureAnswer)
    except APIError as exc:
        _audit(session, access, address, "workspace.key_image_failed", {**details, "error": exc.message})
        raise
    if not answer.authorized:
        error = (answer.error or "").strip() or "The integrator did not authorize saving this key image."
        _audit(session, access, address, "workspace.key_image_refused", {**details, "error": error})
        return KeyImageResult(
            saved=False,
            authorized=False,
            error=error,
            series_instance_uid=series_uid,
            sop_instance_uid=sop_uid,
        )
    problems = [p for p in (_upload(url, data) for url in answer.upload_urls) if p]
    stored = len(answer.upload_urls) - len(problems)
    if problems:
        message = (
            f"The key image could not be uploaded ({stored} of {len(answer.upload_urls)} uploads "
            f"succeeded): {'; '.join(problems)}"
        )
        _audit(session, access, address, "workspace.key_image_failed", {**details, "error": message})
        raise UpstreamFailed(message, param="uploadUrls")
    _audit(session, access, address, "workspace.key_image_saved", {**details, "uploads": stored})
    return KeyImageResult(
        saved=True, authorized=True, series_instance_uid=series_uid, sop_instance_uid=sop_uid, uploads=stored
    )
