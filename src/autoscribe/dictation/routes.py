"""Workspace dictation endpoints: upload audio chunks, read partial and final text, pre-sign checks.

Authentication is the workspace session (`dictation_context`). These routes do not name the study
in their path, so the page's script names it in the `X-Workspace-Study` header
(`AutoScribeReport.studyId`); the study's own session cookie (sent to every /workspace path) or
the dashboard session must allow editing it. A custom header also means another site cannot make
a browser send these requests (it would need CORS).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from autoscribe.auth.context import SessionDep
from autoscribe.auth.sessions import SESSION_COOKIE
from autoscribe.db import get_sessionmaker
from autoscribe.dictation import service
from autoscribe.dictation.schemas import (
    DictationCreate,
    DictationFinish,
    DictationOut,
    ReportCheck,
    ReportCheckList,
    ReportCheckRequest,
    TemplateList,
    TemplateSummary,
)
from autoscribe.errors import AuthenticationFailed, InvalidRequest, PayloadTooLarge, PermissionDenied
from autoscribe.reports import service as reports
from autoscribe.workspace.access import STUDY_COOKIE_PREFIX, study_access

router = APIRouter(prefix="/workspace/api", tags=["workspace dictation"], include_in_schema=False)

MAX_CHUNK_BYTES = 4 * 1024 * 1024
STUDY_HEADER = "X-Workspace-Study"


@dataclass(frozen=True)
class DictationContext:
    clinic_id: uuid.UUID
    user_id: uuid.UUID | None
    study_id: uuid.UUID


def dictation_context(request: Request) -> DictationContext:
    """The signed-in radiologist's clinic and user, and the study open in the workspace (401, 403)."""
    study_id = request.headers.get(STUDY_HEADER)
    if not study_id:
        if not any(n == SESSION_COOKIE or n.startswith(STUDY_COOKIE_PREFIX) for n in request.cookies):
            raise AuthenticationFailed("Open the study in the workspace to dictate")
        raise InvalidRequest(
            f"Dictation calls name the study open in the workspace in the {STUDY_HEADER} header",
            param=STUDY_HEADER,
        )
    with get_sessionmaker()() as session:
        access = study_access(session, study_id, request.cookies)
        if not access.can_edit or access.user is None or access.study is None:
            raise PermissionDenied("This is a view-only session: it cannot dictate")
        return DictationContext(
            clinic_id=access.study.clinic_id, user_id=access.user.id, study_id=access.study.id
        )


ContextDep = Annotated[DictationContext, Depends(dictation_context)]


@router.get("/scribe/templates", response_model=TemplateList)
def list_templates(ctx: ContextDep, session: SessionDep) -> TemplateList:
    """Templates the radiologist can switch between: the clinic's, then the built-ins."""
    return TemplateList(
        data=[TemplateSummary.of(t) for t in service.available_templates(session, ctx.clinic_id)]
    )


@router.post("/scribe/checks", response_model=ReportCheckList)
def check_report(body: ReportCheckRequest, ctx: ContextDep, session: SessionDep) -> ReportCheckList:
    """Pre-sign checks on the report as it is on screen (the sign dialog lists them)."""
    results = reports.presign_checks(
        session, ctx.clinic_id, ctx.study_id, body.content, report_id=body.report_id
    )
    return ReportCheckList(data=[ReportCheck.model_validate(r) for r in results])


@router.post("/dictations", response_model=DictationOut, status_code=201)
def create_dictation(
    ctx: ContextDep, session: SessionDep, body: DictationCreate | None = None
) -> DictationOut:
    body = body or DictationCreate()
    row = service.create_dictation(
        session,
        clinic_id=ctx.clinic_id,
        study_id=ctx.study_id,
        user_id=ctx.user_id,
        template_id=body.template_id,
        content_type=body.content_type,
    )
    return DictationOut.of(row)


@router.post("/dictations/{dictation_id}/chunks", response_model=DictationOut)
async def upload_chunk(
    dictation_id: str,
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    seq: int = Query(..., ge=0, le=100000, description="0 for the first chunk, then 1, 2, ..."),
) -> DictationOut:
    """Append the next chunk of the recording (the raw bytes MediaRecorder produced)."""
    data = await request.body()
    if len(data) > MAX_CHUNK_BYTES:
        raise PayloadTooLarge(f"A chunk holds at most {MAX_CHUNK_BYTES} bytes", param="body")
    if not data:
        raise InvalidRequest("The chunk is empty", param="body")

    def store() -> DictationOut:
        row = service.get_dictation(session, ctx.clinic_id, dictation_id, study_id=ctx.study_id)
        return DictationOut.of(service.append_chunk(session, row, seq, data))

    return await run_in_threadpool(store)


@router.post("/dictations/{dictation_id}/finish", response_model=DictationOut, status_code=202)
def finish_dictation(
    dictation_id: str, ctx: ContextDep, session: SessionDep, body: DictationFinish | None = None
) -> JSONResponse:
    """Stop recording: the final transcription and the draft are made in the background."""
    row = service.get_dictation(session, ctx.clinic_id, dictation_id, study_id=ctx.study_id)
    row = service.finish_dictation(session, row, template_id=(body or DictationFinish()).template_id)
    return JSONResponse(DictationOut.of(row).model_dump(mode="json", by_alias=True), status_code=202)


@router.get("/dictations/{dictation_id}", response_model=DictationOut)
def get_dictation(dictation_id: str, ctx: ContextDep, session: SessionDep) -> DictationOut:
    """Poll: partial text while recording, then status done with the draft, impression and checks."""
    return DictationOut.of(service.get_dictation(session, ctx.clinic_id, dictation_id, study_id=ctx.study_id))
