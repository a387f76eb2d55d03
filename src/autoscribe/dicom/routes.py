"""/dicomweb: QIDO-RS, WADO-RS and STOW-RS (PS3.18) over the archive, for API keys (Bearer),
scoped exactly like the REST API. Thin routes over dicom.web."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from autoscribe.audit import service as audit
from autoscribe.auth.context import ApiContext, ApiContextDep, SessionDep, api_context
from autoscribe.config import get_settings
from autoscribe.db import get_sessionmaker
from autoscribe.dicom import web
from autoscribe.dicom.header import parse_part10
from autoscribe.dicom.models import SOURCE_STOW, DicomInstance
from autoscribe.dicom.service import store_instance
from autoscribe.errors import APIError, InvalidRequest, NotFound
from autoscribe.studies.models import Study
from autoscribe.studies.schemas import UID_PATTERN
from autoscribe.studies.service import StudyScope, get_study_by_uid

# DICOMweb is its own standard (PS3.18), not part of the Avara REST API: kept out of /openapi.json.
router = APIRouter(prefix="/dicomweb", tags=["dicomweb"], include_in_schema=False)

DICOM_JSON = "application/dicom+json"
UidPath = Annotated[str, Path(pattern=f"^{UID_PATTERN}$", max_length=64)]


def scope_for(ctx: ApiContext) -> StudyScope:
    return StudyScope(clinic_id=ctx.clinic_id, api_key_id=ctx.api_key.id if ctx.own_studies_only else None)


def base_url() -> str:
    return get_settings().public_url.rstrip("/") + "/dicomweb"


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")), status, media_type=DICOM_JSON
    )


def _multipart(parts: list[tuple[str, bytes]], part_type: str, syntax: str | None = None) -> Response:
    body, boundary = web.multipart(parts)
    media = f'multipart/related; type="{part_type}"; boundary={boundary}'
    if syntax:
        media += f"; transfer-syntax={syntax}"
    return Response(body, media_type=media)


def _audit(session: Any, ctx: ApiContext, rows: list[DicomInstance], what: str) -> None:
    study_ids = {row.study_id for row in rows if row.study_id is not None}
    for study_id in study_ids:
        study = session.get(Study, study_id)
        if study is not None:
            audit.record_read(session, ctx.actor, study, "read.dicom", details={"retrieve": what})


# ---- QIDO-RS -------------------------------------------------------------------------------------


def _search(
    request: Request,
    ctx: ApiContext,
    session: Any,
    level: str,
    study: str | None = None,
    series: str | None = None,
) -> Response:
    query = web.parse_search(level, list(request.query_params.multi_items()), study, series)
    found = web.search(session, scope_for(ctx), query, base_url())
    # One row per search (what was asked, how many matched), like the REST API's lists.
    asked = {"level": level, **({"study": study} if study else {}), **({"series": series} if series else {})}
    audit.record_list(
        session,
        ctx.actor,
        ctx.clinic_id,
        "read.dicom_search",
        query={**asked, **request.query_params},
        count=len(found),
    )
    return _json(found)


@router.get("/studies")
def search_studies(request: Request, ctx: ApiContextDep, session: SessionDep) -> Response:
    """QIDO-RS: studies (PatientName, PatientID, AccessionNumber, StudyDate, ModalitiesInStudy,
    StudyInstanceUID, ..., limit, offset)."""
    return _search(request, ctx, session, web.STUDY)


@router.get("/series")
def search_all_series(request: Request, ctx: ApiContextDep, session: SessionDep) -> Response:
    return _search(request, ctx, session, web.SERIES)


@router.get("/instances")
def search_all_instances(request: Request, ctx: ApiContextDep, session: SessionDep) -> Response:
    return _search(request, ctx, session, web.INSTANCE)


@router.get("/studies/{study}/series")
def search_series(request: Request, ctx: ApiContextDep, session: SessionDep, study: UidPath) -> Response:
    return _search(request, ctx, session, web.SERIES, study)


@router.get("/studies/{study}/instances")
def search_study_instances(
    request: Request, ctx: ApiContextDep, session: SessionDep, study: UidPath
) -> Response:
    return _search(request, ctx, session, web.INSTANCE, study)


@router.get("/studies/{study}/series/{series}/instances")
def search_series_instances(
    request: Request, ctx: ApiContextDep, session: SessionDep, study: UidPath, series: UidPath
) -> Response:
    return _search(request, ctx, session, web.INSTANCE, study, series)


# ---- WADO-RS -------------------------------------------------------------------------------------


def _retrieve(
    request: Request,
    ctx: ApiContext,
    session: Any,
    study: str,
    series: str | None = None,
    sop: str | None = None,
) -> Response:
    rows = web.instance_rows(session, scope_for(ctx), study, series, sop)
    wanted = web.accepted(request.headers.get("accept"), "application/dicom")
    plan: list[tuple[DicomInstance, str]] = []
    for row in rows:
        syntax = web.choose_instance_syntax(wanted, row.transfer_syntax_uid)
        if syntax is None:
            raise web.NotAcceptable(
                f"instance {row.sop_instance_uid} is stored as {row.transfer_syntax_uid}; ask for "
                'multipart/related; type="application/dicom" with that transfer-syntax, '
                "1.2.840.10008.1.2.1 (uncompressed) or *",
                param="Accept",
            )
        plan.append((row, syntax))
    _audit(session, ctx, rows, "instances")
    syntaxes = {syntax for _row, syntax in plan}
    boundary = uuid.uuid4().hex

    def parts() -> Iterator[bytes]:
        # One instance in memory at a time: a study can be gigabytes.
        for row, syntax in plan:
            data = web.read_instance(row)
            if syntax != row.transfer_syntax_uid:
                data = web.transcode(data, syntax)
            yield web.part(f"application/dicom; transfer-syntax={syntax}", data, boundary)
        yield web.closing(boundary)

    media = f'multipart/related; type="application/dicom"; boundary={boundary}'
    if len(syntaxes) == 1:
        media += f"; transfer-syntax={syntaxes.pop()}"
    return StreamingResponse(parts(), media_type=media)


def _metadata(
    ctx: ApiContext, session: Any, study: str, series: str | None = None, sop: str | None = None
) -> Response:
    rows = web.instance_rows(session, scope_for(ctx), study, series, sop)
    base = base_url()
    items = [web.metadata_of(web.read_instance(row), row, base) for row in rows]
    _audit(session, ctx, rows, "metadata")
    return _json(items)


@router.get("/studies/{study}")
def retrieve_study(request: Request, ctx: ApiContextDep, session: SessionDep, study: UidPath) -> Response:
    return _retrieve(request, ctx, session, study)


@router.get("/studies/{study}/metadata")
def retrieve_study_metadata(ctx: ApiContextDep, session: SessionDep, study: UidPath) -> Response:
    return _metadata(ctx, session, study)


@router.get("/studies/{study}/series/{series}")
def retrieve_series(
    request: Request, ctx: ApiContextDep, session: SessionDep, study: UidPath, series: UidPath
) -> Response:
    return _retrieve(request, ctx, session, study, series)


@router.get("/studies/{study}/series/{series}/metadata")
def retrieve_series_metadata(
    ctx: ApiContextDep, session: SessionDep, study: UidPath, series: UidPath
) -> Response:
    return _metadata(ctx, session, study, series)


@router.get("/studies/{study}/series/{series}/instances/{sop}")
def retrieve_instance(
    request: Request, ctx: ApiContextDep, session: SessionDep, study: UidPath, series: UidPath, sop: UidPath
) -> Response:
    return _retrieve(request, ctx, session, study, series, sop)


@router.get("/studies/{study}/series/{series}/instances/{sop}/metadata")
def retrieve_instance_metadata(
    ctx: ApiContextDep, session: SessionDep, study: UidPath, series: UidPath, sop: UidPath
) -> Response:
    return _metadata(ctx, session, study, series, sop)


@router.get("/studies/{study}/series/{series}/instances/{sop}/frames/{frames}")
def retrieve_frames(
    request: Request,
    ctx: ApiContextDep,
    session: SessionDep,
    study: UidPath,
    series: UidPath,
    sop: UidPath,
    frames: Annotated[str, Path(pattern=r"^\d+(,\d+)*$", max_length=2000)],
) -> Response:
    """Frames, as stored (image/jls, image/jp2, image/jpeg, image/x-dicom-rle) or decoded to
    application/octet-stream (the default), by the Accept header."""
    [row] = web.instance_rows(session, scope_for(ctx), study, series, sop)
    numbers = [int(n) for n in frames.split(",")]
    wanted = web.accepted(request.headers.get("accept"), "application/octet-stream")
    media, syntax, payloads = web.frames_of(web.read_instance(row), numbers, wanted)
    part_type = f"{media}; transfer-syntax={syntax}" if syntax else media
    _audit(session, ctx, [row], "frames")
    return _multipart([(part_type, p) for p in payloads], media, syntax)


@router.get("/studies/{study}/series/{series}/instances/{sop}/bulkdata/{tag}")
def retrieve_bulkdata(
    ctx: ApiContextDep,
    session: SessionDep,
    study: UidPath,
    series: UidPath,
    sop: UidPath,
    tag: Annotated[str, Path(pattern=r"^[0-9A-Fa-f]{8}$")],
) -> Response:
    [row] = web.instance_rows(session, scope_for(ctx), study, series, sop)
    value = web.bulk_value(web.read_instance(row), tag)
    _audit(session, ctx, [row], "bulkdata")
    return _multipart([("application/octet-stream", value)], "application/octet-stream")


# ---- STOW-RS -------------------------------------------------------------------------------------

_FAILURE_CANNOT_UNDERSTAND = 0xC000
_FAILURE_MISMATCH = 0xA900
_FAILURE_NOT_AUTHORIZED = 0x0124
_FAILURE_OUT_OF_RESOURCES = 0xA700


def _stow(parts: list[tuple[str, bytes]], ctx: ApiContext, study: str | None) -> tuple[int, dict[str, Any]]:

    base = base_url()
    scope = scope_for(ctx)
    stored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    with get_sessionmaker()() as session:
        for content_type, data in parts:
            sop_class = sop_uid = ""
            try:
                if content_type != "application/dicom":
                    raise InvalidRequest(f"parts must be application/dicom, not {content_type}")
                parsed = parse_part10(data)
                sop_class, sop_uid = parsed.sop_class_uid, parsed.sop_instance_uid
                if study is not None and parsed.study_instance_uid != study:
                    failed.append(_failed(sop_class, sop_uid, _FAILURE_MISMATCH))
                    continue
                if not _may_store_into(session, scope, parsed.study_instance_uid):
                    failed.append(_failed(sop_class, sop_uid, _FAILURE_NOT_AUTHORIZED))
                    continue
                row = store_instance(
                    session,
                    ctx.clinic_id,
                    data,
                    source=SOURCE_STOW,
                    api_key_id=ctx.api_key.id,
                    address=ctx.address,
                )
            except APIError:
                session.rollback()
                failed.append(_failed(sop_class, sop_uid, _FAILURE_CANNOT_UNDERSTAND))
                continue
            except Exception:
                session.rollback()
                failed.append(_failed(sop_class, sop_uid, _FAILURE_OUT_OF_RESOURCES))
                continue
            stored.append(
                {
                    "00081150": {"vr": "UI", "Value": [row.sop_class_uid]},
                    "00081155": {"vr": "UI", "Value": [row.sop_instance_uid]},
                    "00081190": {
                        "vr": "UR",
                        "Value": [
                            f"{base}/studies/{row.study_instance_uid}/series/{row.series_instance_uid}"
                            f"/instances/{row.sop_instance_uid}"
                        ],
                    },
                }
            )
    body: dict[str, Any] = {}
    if study is not None:
        body["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{study}"]}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": stored}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    status = 200 if not failed else 202 if stored else 409
    return status, body


def _failed(sop_class: str, sop_uid: str, reason: int) -> dict[str, Any]:
    item: dict[str, Any] = {"00081197": {"vr": "US", "Value": [reason]}}
    if sop_class:
        item["00081150"] = {"vr": "UI", "Value": [sop_class]}
    if sop_uid:
        item["00081155"] = {"vr": "UI", "Value": [sop_uid]}
    return item


def _may_store_into(session: Any, scope: StudyScope, study_uid: str) -> bool:
    """A key may add instances to a study it can see, or to a study that does not exist yet."""

    exists = session.scalar(
        select(Study.id).where(
            Study.clinic_id == scope.clinic_id,
            Study.study_instance_uid == study_uid,
            Study.deleted_at.is_(None),
        )
    )
    if exists is None:
        return True
    try:
        get_study_by_uid(session, scope, study_uid)
    except NotFound:
        return False
    return True


async def _stow_request(request: Request, study: str | None) -> Response:
    session = get_sessionmaker()()
    try:
        ctx = await run_in_threadpool(api_context, request, session, None)
    finally:
        await run_in_threadpool(session.close)
    body = await request.body()
    parts = web.parse_multipart(body, request.headers.get("content-type", ""))
    if not parts:
        raise InvalidRequest("the request has no parts")
    status, result = await run_in_threadpool(_stow, parts, ctx, study)
    return _json(result, status)


@router.post("/studies")
async def store_instances(request: Request) -> Response:
    """STOW-RS: multipart/related; type="application/dicom" parts, stored as sent."""
    return await _stow_request(request, None)


@router.post("/studies/{study}")
async def store_study_instances(request: Request, study: UidPath) -> Response:
    return await _stow_request(request, study)
