"""DICOMweb service logic (PS3.18), used by dicom.routes and usable by other readers of the archive
(the workspace viewer): scoping, QIDO-RS search, WADO-RS retrieval and transcoding, STOW-RS.

Everything takes a `StudyScope` (studies.service): an API key sees the archive the way it sees
studies in the REST API (its clinic; a "self" key only the studies it created, and what it stored
itself that is not yet part of a study).
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, TypeVar

from pydicom import Dataset, dcmread
from pydicom.encaps import generate_frames
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from autoscribe.db import ulower
from autoscribe.dicom.header import STUDY_KEYWORDS, TAGS
from autoscribe.dicom.models import DicomInstance
from autoscribe.dicom.syntaxes import FRAME_MEDIA_TYPES, UNCOMPRESSED
from autoscribe.dicom.worklist import element_matches
from autoscribe.errors import InvalidRequest, NotFound
from autoscribe.storage import get_storage
from autoscribe.studies.models import Study
from autoscribe.studies.service import StudyScope


class NotAcceptable(InvalidRequest):
    status_code = 406
    error_type = "not_acceptable"


# ---- scope ---------------------------------------------------------------------------------------


SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


def visible(stmt: SelectT, scope: StudyScope) -> SelectT:
    """Instances of the scope's clinic whose study the scope sees (or, not yet seeded, that the
    scope could see: every one for clinic-wide keys, its own uploads for a "self" key)."""
    studies = select(Study.id).where(Study.clinic_id == scope.clinic_id, Study.deleted_at.is_(None))
    if scope.api_key_id is not None:
        studies = studies.where(Study.created_by_api_key_id == scope.api_key_id)
    if scope.express_customer_ids is not None:
        studies = studies.where(Study.express_customer_id.in_(scope.express_customer_ids))
    if scope.assigned_user_id is not None:
        studies = studies.where(Study.assigned_to_user_id == scope.assigned_user_id)
    in_study: ColumnElement[bool] = DicomInstance.study_id.in_(studies)
    clinic_wide = (
        scope.api_key_id is None and scope.express_customer_ids is None and scope.assigned_user_id is None
    )
    if clinic_wide:
        pending: ColumnElement[bool] = DicomInstance.study_id.is_(None)
    elif scope.api_key_id is not None:
        pending = and_(DicomInstance.study_id.is_(None), DicomInstance.source_api_key_id == scope.api_key_id)
    else:
        return stmt.where(DicomInstance.clinic_id == scope.clinic_id, in_study)
    return stmt.where(DicomInstance.clinic_id == scope.clinic_id, or_(in_study, pending))


def instance_rows(
    session: Session,
    scope: StudyScope,
    study_uid: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> list[DicomInstance]:
    stmt = visible(select(DicomInstance), scope).where(DicomInstance.study_instance_uid == study_uid)
    if series_uid is not None:
        stmt = stmt.where(DicomInstance.series_instance_uid == series_uid)
    if sop_uid is not None:
        stmt = stmt.where(DicomInstance.sop_instance_uid == sop_uid)
    rows = list(session.scalars(in_viewing_order(stmt)))
    if not rows:
        what = sop_uid or series_uid or study_uid
        raise NotFound(f"No instances of {what} here")
    return rows


def in_viewing_order(stmt: SelectT) -> SelectT:
    """Series by number, then instances by number (unnumbered last), UIDs breaking ties."""
    return stmt.order_by(
        DicomInstance.series_number.is_(None),
        DicomInstance.series_number,
        DicomInstance.series_instance_uid,
        DicomInstance.instance_number.is_(None),
        DicomInstance.instance_number,
        DicomInstance.sop_instance_uid,
    )


# ---- QIDO-RS -------------------------------------------------------------------------------------

STUDY, SERIES, INSTANCE = "study", "series", "instance"

# Query keys a search may use, by keyword and by tag, with the column that holds them (None: the
# stored attributes, matched in Python).
_KEYS: dict[str, tuple[str, str, Any]] = {}


def _key(keyword: str, tag: str, vr: str, column: Any) -> None:
    _KEYS[keyword] = (tag, vr, column)
    _KEYS[tag] = (tag, vr, column)


_key("StudyInstanceUID", "0020000D", "UI", DicomInstance.study_instance_uid)
_key("SeriesInstanceUID", "0020000E", "UI", DicomInstance.series_instance_uid)
_key("SOPInstanceUID", "00080018", "UI", DicomInstance.sop_instance_uid)
_key("SOPClassUID", "00080016", "UI", DicomInstance.sop_class_uid)
_key("PatientID", "00100020", "LO", DicomInstance.patient_id)
_key("PatientName", "00100010", "PN", DicomInstance.patient_name)
_key("AccessionNumber", "00080050", "SH", DicomInstance.accession_number)
_key("StudyDate", "00080020", "DA", DicomInstance.study_date)
_key("Modality", "00080060", "CS", DicomInstance.modality)
_key("ModalitiesInStudy", "00080061", "CS", DicomInstance.modality)
_key("SeriesNumber", "00200011", "IS", DicomInstance.series_number)
_key("InstanceNumber", "00200013", "IS", DicomInstance.instance_number)
for _keyword in (
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "StudyDescription",
    "PatientBirthDate",
    "PatientSex",
    "InstitutionName",
    "SeriesDescription",
    "BodyPartExamined",
    "SeriesDate",
    "PerformedProcedureStepStartDate",
):
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    _tag = tag_for_keyword(_keyword)
    assert _tag is not None
    _key(_keyword, f"{_tag:08X}", dictionary_VR(_keyword), None)

_CONTROL = {"limit", "offset", "includefield", "fuzzymatching", "orderby"}


@dataclass
class Search:
    level: str
    study_uid: str | None = None
    series_uid: str | None = None
    filters: list[tuple[str, str, str, Any]] = field(default_factory=list)  # (tag, vr, value, column)
    limit: int = 1000
    offset: int = 0


def parse_search(
    level: str, params: list[tuple[str, str]], study_uid: str | None = None, series_uid: str | None = None
) -> Search:
    search = Search(level, study_uid, series_uid)
    for name, value in params:
        if name == "limit":
            search.limit = _int(value, name, 1, 10000)
        elif name == "offset":
            search.offset = _int(value, name, 0, 10**9)
        elif name in _CONTROL:
            continue
        elif "\x00" in value:
            raise InvalidRequest(f"{name} contains a NUL character", param=name)
        elif name.upper() in _KEYS or name in _KEYS:
            tag, vr, column = _KEYS.get(name) or _KEYS[name.upper()]
            if value.strip():
                search.filters.append((tag, vr, value.strip(), column))
        else:
            raise InvalidRequest(f"unsupported query parameter {name!r}", param=name)
    return search


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a whole number", param=name) from None
    if not low <= number <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}", param=name)
    return number


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _sql_filter(column: Any, vr: str, value: str) -> Any:
    if vr == "UI":
        return column.in_([v for v in value.replace(",", "\\").split("\\") if v])
    if vr == "DA" and "-" in value:
        low, _, high = value.replace(".", "").partition("-")
        clauses = []
        if low:
            clauses.append(column >= low)
        if high:
            clauses.append(column <= high)
        return and_(*clauses) if clauses else True
    if vr == "IS":
        try:
            return column == int(value)
        except ValueError:
            raise InvalidRequest(f"{value!r} is not a number") from None
    if vr == "PN":
        # Names match case-insensitively, and "DOE" finds "DOE^JANE" (prefix match of components).
        pattern = value if ("*" in value or "?" in value) else value + "*"
        return ulower(column).like(_like(pattern.lower()), escape="\\")
    if "*" in value or "?" in value:
        return column.like(_like(value), escape="\\")
    return column == value


def _python_match(attrs: dict[str, Any], tag: str, vr: str, value: str) -> bool:
    element = attrs.get(tag)
    values = element.get("Value") if isinstance(element, dict) else None
    if not values:
        return False
    for item in values:
        text = item.get("Alphabetic", "") if isinstance(item, dict) else str(item)
        if element_matches(vr, value, text):
            return True
    return False


def search(session: Session, scope: StudyScope, query: Search, base_url: str) -> list[dict[str, Any]]:
    stmt = visible(select(DicomInstance), scope)
    if query.study_uid:
        stmt = stmt.where(DicomInstance.study_instance_uid == query.study_uid)
    if query.series_uid:
        stmt = stmt.where(DicomInstance.series_instance_uid == query.series_uid)
    later: list[tuple[str, str, str]] = []
    for tag, vr, value, column in query.filters:
        if column is None:
            later.append((tag, vr, value))
        elif tag == "00080061":  # ModalitiesInStudy: studies having a series of that modality
            having = select(DicomInstance.study_instance_uid).where(
                DicomInstance.clinic_id == scope.clinic_id,
                DicomInstance.modality.in_([v for v in value.split("\\") if v]),
            )
            stmt = stmt.where(DicomInstance.study_instance_uid.in_(having))
        else:
            stmt = stmt.where(_sql_filter(column, vr, value))
    if not later:
        page = _page_in_sql(session, stmt, query)
    else:
        # Keys only the stored attributes know: match in Python, then page.
        rows = list(session.scalars(stmt.order_by(DicomInstance.received_at.desc(), DicomInstance.id)))
        results = [
            members
            for members in _group(rows, query.level).values()
            if all(_python_match(members[0].attributes, tag, vr, value) for tag, vr, value in later)
        ]
        page = results[query.offset : query.offset + query.limit]
    # Study-level counts and modalities need every instance of the study, not only the matches.
    return [_result(session, scope, query.level, members, base_url) for members in page]


def _page_in_sql(session: Session, stmt: Select[Any], query: Search) -> list[list[DicomInstance]]:
    """One page of matches, newest first, paged by the database; one row per study or series."""
    if query.level == INSTANCE:
        rows = session.scalars(
            stmt.order_by(DicomInstance.received_at.desc(), DicomInstance.id)
            .offset(query.offset)
            .limit(query.limit)
        )
        return [[row] for row in rows]
    column = DicomInstance.study_instance_uid if query.level == STUDY else DicomInstance.series_instance_uid
    last = func.max(DicomInstance.received_at)
    keys = session.execute(
        stmt.with_only_columns(column, func.min(DicomInstance.sop_instance_uid), last)
        .group_by(column)
        .order_by(last.desc(), column)
        .offset(query.offset)
        .limit(query.limit)
    ).all()
    if not keys:
        return []
    representatives = {
        getattr(row, column.key): row
        for row in session.scalars(
            stmt.where(
                DicomInstance.sop_instance_uid.in_([k[1] for k in keys]), column.in_([k[0] for k in keys])
            )
        )
    }
    return [[representatives[k[0]]] for k in keys if k[0] in representatives]


def _group(rows: list[DicomInstance], level: str) -> OrderedDict[str, list[DicomInstance]]:
    groups: OrderedDict[str, list[DicomInstance]] = OrderedDict()
    for row in rows:
        key = {STUDY: row.study_instance_uid, SERIES: row.series_instance_uid}.get(
            level, row.sop_instance_uid
        )
        groups.setdefault(key, []).append(row)
    return groups


def _cs(values: list[str]) -> dict[str, Any]:
    return {"vr": "CS", "Value": values} if values else {"vr": "CS"}


def _is(value: int) -> dict[str, Any]:
    return {"vr": "IS", "Value": [value]}


def _ur(url: str) -> dict[str, Any]:
    return {"vr": "UR", "Value": [url]}


_STUDY_TAGS = {TAGS.get(k) for k in STUDY_KEYWORDS if TAGS.get(k)} | {
    "00080020",
    "00080030",
    "00080050",
    "00080090",
    "00100010",
    "00100020",
    "00100030",
    "00100040",
    "0020000D",
    "00200010",
    "00081030",
    "00100021",
    "00080005",
    "00080201",
}


def _result(
    session: Session, scope: StudyScope, level: str, members: list[DicomInstance], base: str
) -> dict[str, Any]:
    first = members[0]
    attrs = dict(first.attributes)
    study_url = f"{base}/studies/{first.study_instance_uid}"
    if level == STUDY:
        out = {tag: value for tag, value in attrs.items() if tag in _STUDY_TAGS}
        counts: Any = session.execute(
            visible(
                select(
                    func.count(DicomInstance.id),
                    func.count(func.distinct(DicomInstance.series_instance_uid)),
                ),
                scope,
            ).where(DicomInstance.study_instance_uid == first.study_instance_uid)
        ).one()
        modalities = session.scalars(
            visible(select(DicomInstance.modality).distinct(), scope).where(
                DicomInstance.study_instance_uid == first.study_instance_uid,
                DicomInstance.modality.is_not(None),
            )
        ).all()
        out["00080061"] = _cs(sorted(m for m in modalities if m))
        out["00201206"] = _is(counts[1])
        out["00201208"] = _is(counts[0])
        out["00081190"] = _ur(study_url)
    elif level == SERIES:
        out = attrs
        for tag in ("00080016", "00080018", "00200013", "00280010", "00280011", "00280100", "00280008"):
            out.pop(tag, None)
        count = session.scalar(
            visible(select(func.count(DicomInstance.id)), scope).where(
                DicomInstance.series_instance_uid == first.series_instance_uid,
                DicomInstance.study_instance_uid == first.study_instance_uid,
            )
        )
        out["00201209"] = _is(count or 0)
        out["00081190"] = _ur(f"{study_url}/series/{first.series_instance_uid}")
    else:
        out = attrs
        out["00083002"] = {"vr": "UI", "Value": [first.transfer_syntax_uid]}
        out["00081190"] = _ur(
            f"{study_url}/series/{first.series_instance_uid}/instances/{first.sop_instance_uid}"
        )
    return dict(sorted(out.items()))


# ---- a viewer's manifest ---------------------------------------------------------------------------


def _first(attrs: dict[str, Any], tag: str) -> Any:
    element = attrs.get(tag)
    values = element.get("Value") if isinstance(element, dict) else None
    return values[0] if values else None


def study_manifest(session: Session, scope: StudyScope, study_uid: str) -> dict[str, Any]:
    """The archived study in the shape of the reference's StudyAccessRequestedManifest
    (studyInstanceUID, series[], sops[] with geometry), from the index alone: what the workspace
    viewer needs to load the study progressively from WADO-RS. NotFound when nothing is visible."""
    return manifest_of(instance_rows(session, scope, study_uid), study_uid)


def manifest_of(rows: list[DicomInstance], study_uid: str) -> dict[str, Any]:
    """The manifest of these instances (in series then instance order, as instance_rows gives)."""
    series: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for row in rows:
        attrs = row.attributes
        entry = series.setdefault(
            row.series_instance_uid,
            {
                "seriesInstanceUID": row.series_instance_uid,
                "seriesNumber": row.series_number if row.series_number is not None else 0,
                "modality": row.modality or "OT",
                "seriesDescription": _first(attrs, "0008103E") or row.modality or "Series",
                "sops": [],
            },
        )
        sop: dict[str, Any] = {
            "sopClassUID": row.sop_class_uid,
            "sopInstanceUID": row.sop_instance_uid,
            "instanceNumber": row.instance_number or 0,
            "transferSyntaxUID": row.transfer_syntax_uid,
        }
        for key, tag in (
            ("rows", "00280010"),
            ("columns", "00280011"),
            ("bitsAllocated", "00280100"),
            ("bitsStored", "00280101"),
            ("highBit", "00280102"),
            ("pixelRepresentation", "00280103"),
            ("samplesPerPixel", "00280002"),
            ("photometricInterpretation", "00280004"),
            ("numberOfFrames", "00280008"),
            ("rescaleIntercept", "00281052"),
            ("rescaleSlope", "00281053"),
        ):
            value = _first(attrs, tag)
            if value is not None:
                sop[key] = int(value) if key == "numberOfFrames" else value
        entry["sops"].append(sop)
    return {"studyInstanceUID": study_uid, "series": list(series.values())}


# ---- WADO-RS: what the client accepts ------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    media_type: str  # application/dicom, application/octet-stream, image/jls, ...
    transfer_syntax: str | None  # None: the default for the media type; "*": as stored


def _params(text: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in re.split(r';(?=(?:[^"]*"[^"]*")*[^"]*$)', text)]
    main = parts[0].lower()
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, _, value = part.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return main, params


_ALIASES = {"image/x-jls": "image/jls", "image/dicom-rle": "image/x-dicom-rle"}


def accepted(accept: str | None, default_type: str) -> list[Wanted]:
    """The Accept header as (media type, transfer syntax) choices, best first (q-values)."""
    if not accept or not accept.strip():
        return [Wanted(default_type, None)]
    choices: list[tuple[float, int, Wanted]] = []
    for index, item in enumerate(a for a in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', accept) if a.strip()):
        main, params = _params(item)
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 1.0
        if q <= 0:
            continue
        if main == "multipart/related":
            media = params.get("type", default_type).lower()
        elif main in ("*/*", "multipart/*"):
            media = default_type
        else:
            media = main
        media = _ALIASES.get(media, media)
        choices.append((-q, index, Wanted(media, params.get("transfer-syntax"))))
    return [c[2] for c in sorted(choices, key=lambda c: (c[0], c[1]))]


def choose_instance_syntax(wanted: list[Wanted], stored: str) -> str | None:
    """The transfer syntax to send an instance in, or None when nothing asked can be served.
    application/dicom without a transfer-syntax means Explicit VR Little Endian (PS3.18 8.7.3.5)."""
    for choice in wanted:
        if choice.media_type not in ("application/dicom", "*/*", "application/*"):
            continue
        syntax = choice.transfer_syntax
        if syntax == "*":
            return stored
        syntax = syntax or ExplicitVRLittleEndian
        if syntax == stored or syntax in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
            return syntax
    return None


def transcode(data: bytes, target: str) -> bytes:
    """A Part 10 object in `target` (the same bytes when it already is)."""
    ds = dcmread(BytesIO(data))
    source = UID(str(ds.file_meta.TransferSyntaxUID))
    if source == target:
        return data
    if source.is_compressed:
        ds.decompress(generate_instance_uid=False)  # -> Explicit VR Little Endian
    elif source not in UNCOMPRESSED:
        raise NotAcceptable(f"cannot convert from transfer syntax {source}")
    ds.file_meta.TransferSyntaxUID = UID(target)
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def read_instance(row: DicomInstance) -> bytes:
    return get_storage().get(row.storage_key)


# ---- WADO-RS: frames and bulk data ---------------------------------------------------------------


def frames_of(data: bytes, numbers: list[int], wanted: list[Wanted]) -> tuple[str, str | None, list[bytes]]:
    """(part media type, its transfer syntax, the frames) for 1-based frame `numbers`: as stored
    when the client takes the stored syntax's media type (or `*`), else decoded to little endian
    bytes (application/octet-stream)."""
    ds = dcmread(BytesIO(data))
    if "PixelData" not in ds:
        raise NotFound("This instance has no pixel data")
    stored = UID(str(ds.file_meta.TransferSyntaxUID))
    count = int(ds.get("NumberOfFrames", 1) or 1)
    for number in numbers:
        if not 1 <= number <= count:
            raise NotFound(f"Frame {number} does not exist (the instance has {count})")
    native_type = FRAME_MEDIA_TYPES.get(stored, "application/octet-stream")
    for choice in wanted:
        media = choice.media_type
        if (
            stored.is_compressed
            and media in (native_type, "*/*", "image/*")
            and choice.transfer_syntax in (None, "*", stored)
            and media != "application/octet-stream"
        ):
            frames = list(generate_frames(ds.PixelData, number_of_frames=count))
            return native_type, stored, [frames[n - 1] for n in numbers]
        if (
            media == "application/octet-stream"
            and stored.is_compressed
            and choice.transfer_syntax in ("*", stored)
        ):
            frames = list(generate_frames(ds.PixelData, number_of_frames=count))
            return "application/octet-stream", stored, [frames[n - 1] for n in numbers]
        if media in ("application/octet-stream", "*/*") and choice.transfer_syntax in (
            None,
            "*",
            ExplicitVRLittleEndian,
        ):
            return "application/octet-stream", ExplicitVRLittleEndian, _native_frames(ds, numbers, count)
    raise NotAcceptable(
        f"frames of this instance are available as {native_type} ({stored}) or application/octet-stream"
    )


def _native_frames(ds: Dataset, numbers: list[int], count: int) -> list[bytes]:
    stored = UID(str(ds.file_meta.TransferSyntaxUID))
    if not stored.is_compressed and stored != "1.2.840.10008.1.2.2":
        bits = int(ds.BitsAllocated)
        size = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * bits // 8
        if bits % 8 == 0:
            raw = bytes(ds.PixelData)
            return [raw[(n - 1) * size : n * size] for n in numbers]
    arr = ds.pixel_array
    if count == 1:
        return [arr.astype(arr.dtype.newbyteorder("<")).tobytes()]
    return [arr[n - 1].astype(arr.dtype.newbyteorder("<")).tobytes() for n in numbers]


def bulk_value(data: bytes, tag: str) -> bytes:
    ds = dcmread(BytesIO(data))
    try:
        element = ds[int(tag, 16)]
    except (KeyError, ValueError):
        raise NotFound(f"No bulk data {tag}") from None
    value = element.value
    if not isinstance(value, bytes | bytearray):
        raise NotFound(f"{tag} is not bulk data")
    return bytes(value)


def metadata_of(data: bytes, row: DicomInstance, base: str) -> dict[str, Any]:
    """The instance's attributes (DICOM JSON) with bulk data as BulkDataURIs."""
    ds = dcmread(BytesIO(data), defer_size=4096)
    url = (
        f"{base}/studies/{row.study_instance_uid}/series/{row.series_instance_uid}"
        f"/instances/{row.sop_instance_uid}"
    )

    def bulk(element: Any) -> str:
        return f"{url}/bulkdata/{element.tag:08X}"

    pixels = ds.get((0x7FE0, 0x0010))
    if pixels is not None:
        del ds[0x7FE00010]  # always a reference, however small
    out = ds.to_json_dict(
        bulk_data_threshold=1024, bulk_data_element_handler=bulk, suppress_invalid_tags=True
    )
    if pixels is not None:
        count = int(ds.get("NumberOfFrames", 1) or 1)
        frames = ",".join(str(i) for i in range(1, count + 1))
        out["7FE00010"] = {"vr": pixels.VR, "BulkDataURI": f"{url}/frames/{frames}"}
    out["00083002"] = {"vr": "UI", "Value": [row.transfer_syntax_uid]}
    out["00081190"] = _ur(url)
    return out


# ---- multipart -----------------------------------------------------------------------------------


def part(content_type: str, body: bytes, boundary: str) -> bytes:
    """One part of a multipart/related body (PS3.18 8.6.1.2)."""
    head = f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body + b"\r\n"


def closing(boundary: str) -> bytes:
    return f"--{boundary}--\r\n".encode("ascii")


def multipart(parts: list[tuple[str, bytes]], boundary: str | None = None) -> tuple[bytes, str]:
    """(body, boundary) of a multipart/related body; `parts` are (content type, bytes)."""
    boundary = boundary or uuid.uuid4().hex
    chunks = [part(content_type, body, boundary) for content_type, body in parts]
    return b"".join([*chunks, closing(boundary)]), boundary


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, bytes]]:
    """The parts of a multipart/related body: (content type, bytes)."""
    main, params = _params(content_type or "")
    if main != "multipart/related" or not params.get("boundary"):
        raise InvalidRequest('STOW-RS takes multipart/related; type="application/dicom" with a boundary')
    default_type = params.get("type", "application/dicom").lower()
    delimiter = b"--" + params["boundary"].encode("latin-1")
    pieces = body.split(delimiter)
    parts: list[tuple[str, bytes]] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        piece = piece[2:] if piece.startswith(b"\r\n") else piece
        head, sep, content = piece.partition(b"\r\n\r\n")
        if not sep:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        part_type = default_type
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-type":
                part_type = _params(value.strip())[0]
        parts.append((part_type, content))
    return parts
