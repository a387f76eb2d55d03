"""Scribe rules over the database: clinic templates and macros (CRUD for the dashboard), dictation
sessions (chunk upload, partial and final transcription jobs) and audio retention."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autoscribe.audit.service import Actor, record
from autoscribe.config import get_settings
from autoscribe.db import utcnow
from autoscribe.dictation.models import Dictation, ScribeMacro, ScribeTemplate
from autoscribe.dictation.storage import audio_key, audio_store
from autoscribe.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UpstreamFailed,
)
from autoscribe.ids import Prefix, brand, parse
from autoscribe.observability import metrics
from autoscribe.queue import runner as queue
from autoscribe.queue.models import Task
from autoscribe.reports import checks
from autoscribe.reports.models import Report
from autoscribe.scribe.engine import ScribeEngine
from autoscribe.scribe.impression import LlmConfig
from autoscribe.scribe.templates import BUILTIN_TEMPLATES, builtin_template, from_mrrt, to_mrrt
from autoscribe.scribe.transcribe import Transcriber, WhisperTranscriber
from autoscribe.scribe.types import FINDINGS, IMPRESSION, StudyContext, Template
from autoscribe.storage import StorageError
from autoscribe.studies.models import Study

log = logging.getLogger("autoscribe.scribe")

MAX_DICTATION_BYTES = 200 * 1024 * 1024
PARTIAL_JOB = "dictation.partial"
FINAL_JOB = "dictation.final"

# Tests and deployments with special hardware may swap the transcriber the jobs use.
TRANSCRIBER_FACTORY: Callable[[], Transcriber] | None = None


# ---- templates ------------------------------------------------------------------------------------


def _flush_unique(session: Session, row: object | None, message: str) -> None:
    """Flush in a savepoint: a duplicate name becomes 409 without undoing the caller's other work."""
    try:
        with session.begin_nested():
            if row is not None:
                session.add(row)
            session.flush()
    except IntegrityError:
        if row is not None and row in session:
            session.expunge(row)
        raise Conflict(message, param="name") from None


def _template_id(row: ScribeTemplate) -> str:
    return brand(Prefix.TEMPLATE, row.id)


def row_to_template(row: ScribeTemplate) -> Template:
    return replace(Template.from_dict(row.content), id=_template_id(row), name=row.name, builtin=False)


def _validate_template(template: Template) -> None:
    name = template.name.strip()
    if not name or len(name) > 200:
        raise InvalidRequest("name must be 1 to 200 characters", param="name")
    keys = [s.key for s in template.sections]
    if len(set(keys)) != len(keys):
        raise InvalidRequest("section keys must be unique", param="sections")
    for key in (FINDINGS, IMPRESSION):
        if key not in keys:
            raise InvalidRequest(f"a template needs a {key} section", param="sections")
    for section in template.sections:
        organ_keys = [o.key for o in section.organs]
        if len(set(organ_keys)) != len(organ_keys):
            raise InvalidRequest(f"organ keys in {section.key} must be unique", param="sections")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,59}", section.key) or any(
            not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,59}", k) for k in organ_keys
        ):
            raise InvalidRequest("section and organ keys must be letters and digits", param="sections")


def list_templates(
    session: Session, clinic_id: uuid.UUID, *, include_inactive: bool = False
) -> list[ScribeTemplate]:
    query = select(ScribeTemplate).where(ScribeTemplate.clinic_id == clinic_id).order_by(ScribeTemplate.id)
    if not include_inactive:
        query = query.where(ScribeTemplate.is_active.is_(True))
    return list(session.scalars(query))


def clinic_templates(session: Session, clinic_id: uuid.UUID) -> list[Template]:
    """The clinic's active templates as engine templates (they compete with the built-ins)."""
    return [row_to_template(r) for r in list_templates(session, clinic_id)]


def available_templates(session: Session, clinic_id: uuid.UUID) -> list[Template]:
    """What the radiologist can switch to: the clinic's templates, then the built-ins."""
    return [*clinic_templates(session, clinic_id), *BUILTIN_TEMPLATES]


def get_template_row(session: Session, clinic_id: uuid.UUID, template_id: str) -> ScribeTemplate:
    row = session.get(ScribeTemplate, parse(Prefix.TEMPLATE, template_id, "templateId"))
    if row is None or row.clinic_id != clinic_id:
        raise NotFound("No such template", param="templateId")
    return row


def find_template(session: Session, clinic_id: uuid.UUID, template_id: str) -> Template:
    """A built-in (by slug) or one of the clinic's templates (by tpl_ id)."""
    builtin = builtin_template(template_id)
    if builtin is not None:
        return builtin
    return row_to_template(get_template_row(session, clinic_id, template_id))


def create_template(
    session: Session, clinic_id: uuid.UUID, template: Template, *, actor: Actor
) -> ScribeTemplate:
    _validate_template(template)
    row = ScribeTemplate(
        clinic_id=clinic_id,
        name=template.name.strip(),
        modality=template.modality[:10],
        content=replace(template, builtin=False).to_dict(),
        is_active=True,
    )
    _flush_unique(session, row, "This clinic already has a template with that name")
    row.content = {**row.content, "id": _template_id(row)}
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="scribe_template.created",
        target_type="scribe_template",
        target_id=_template_id(row),
        details={"name": row.name},
    )
    return row


def update_template(
    session: Session,
    clinic_id: uuid.UUID,
    template_id: str,
    template: Template | None = None,
    *,
    is_active: bool | None = None,
    actor: Actor,
) -> ScribeTemplate:
    row = get_template_row(session, clinic_id, template_id)
    if template is not None:
        _validate_template(template)
        row.name = template.name.strip()
        row.modality = template.modality[:10]
        row.content = replace(template, id=template_id, builtin=False).to_dict()
    if is_active is not None:
        row.is_active = is_active
    _flush_unique(session, None, "This clinic already has a template with that name")
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="scribe_template.updated",
        target_type="scribe_template",
        target_id=template_id,
        details={"name": row.name},
    )
    return row


def delete_template(session: Session, clinic_id: uuid.UUID, template_id: str, *, actor: Actor) -> None:
    row = get_template_row(session, clinic_id, template_id)
    session.delete(row)
    session.flush()  # gone for the rest of this transaction too
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="scribe_template.deleted",
        target_type="scribe_template",
        target_id=template_id,
        details={"name": row.name},
    )


def import_mrrt(session: Session, clinic_id: uuid.UUID, document: str, *, actor: Actor) -> ScribeTemplate:
    try:
        template = from_mrrt(document)
    except Exception as exc:  # html.parser is lenient; anything it raises is a bad document
        raise InvalidRequest(f"not an MRRT template: {exc}", param="document") from None
    if not template.sections:
        raise InvalidRequest("the document has no <section> elements", param="document")
    return create_template(session, clinic_id, template, actor=actor)


def export_mrrt(session: Session, clinic_id: uuid.UUID, template_id: str) -> str:
    return to_mrrt(find_template(session, clinic_id, template_id))


# ---- macros ---------------------------------------------------------------------------------------


def _macro_name(name: str) -> str:
    clean = re.sub(r"\s+", " ", name.strip().lower())
    if not re.fullmatch(r"[a-z][a-z0-9 \-]{1,59}", clean):
        raise InvalidRequest("name must be 2 to 60 letters, digits, spaces or hyphens", param="name")
    return clean


def list_macros(session: Session, clinic_id: uuid.UUID) -> list[ScribeMacro]:
    return list(
        session.scalars(
            select(ScribeMacro).where(ScribeMacro.clinic_id == clinic_id).order_by(ScribeMacro.name)
        )
    )


def clinic_macros(session: Session, clinic_id: uuid.UUID) -> dict[str, str]:
    return {m.name: m.text for m in list_macros(session, clinic_id)}


def get_macro(session: Session, clinic_id: uuid.UUID, macro_id: str) -> ScribeMacro:
    row = session.get(ScribeMacro, parse(Prefix.MACRO, macro_id, "macroId"))
    if row is None or row.clinic_id != clinic_id:
        raise NotFound("No such macro", param="macroId")
    return row


def _macro_text(text: str) -> str:
    if not text.strip() or len(text) > 10000:
        raise InvalidRequest("text must be 1 to 10000 characters", param="text")
    return text.strip()


def create_macro(
    session: Session, clinic_id: uuid.UUID, name: str, text: str, *, actor: Actor
) -> ScribeMacro:
    row = ScribeMacro(clinic_id=clinic_id, name=_macro_name(name), text=_macro_text(text))
    _flush_unique(session, row, "This clinic already has a macro with that name")
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="scribe_macro.created",
        target_type="scribe_macro",
        target_id=brand(Prefix.MACRO, row.id),
        details={"name": row.name},
    )
    return row


def update_macro(
    session: Session,
    clinic_id: uuid.UUID,
    macro_id: str,
    *,
    name: str | None = None,
    text: str | None = None,
    actor: Actor,
) -> ScribeMacro:
    row = get_macro(session, clinic_id, macro_id)
    if name is not None:
        row.name = _macro_name(name)
    if text is not None:
        row.text = _macro_text(text)
    _flush_unique(session, None, "This clinic already has a macro with that name")
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="scribe_macro.updated",
        target_type="scribe_macro",
        target_id=macro_id,
        details={"name": row.name},
    )
    return row


def delete_macro(session: Session, clinic_id: uuid.UUID, macro_id: str, *, actor: Actor) -> None:
    row = get_macro(session, clinic_id, macro_id)
    session.delete(row)
    session.flush()  # gone for the rest of this transaction too
    record(
        session,
        clinic_id=clinic_id,
        actor=actor,
        action="scribe_macro.deleted",
        target_type="scribe_macro",
        target_id=macro_id,
        details={"name": row.name},
    )


# ---- engine per clinic -------------------------------------------------------------------------------------


def engine_for_clinic(
    session: Session, clinic_id: uuid.UUID, transcriber: Transcriber | None = None
) -> ScribeEngine:
    if transcriber is None and TRANSCRIBER_FACTORY is not None:
        transcriber = TRANSCRIBER_FACTORY()
    return ScribeEngine(
        transcriber,
        templates=clinic_templates(session, clinic_id),
        macros=clinic_macros(session, clinic_id),
        llm=LlmConfig.from_settings(get_settings()),  # None unless AUTOSCRIBE_LLM_BASE_URL is set
    )


def study_context(session: Session, clinic_id: uuid.UUID, study_id: uuid.UUID) -> StudyContext:
    study = session.get(Study, study_id)
    if study is None or study.clinic_id != clinic_id:
        raise NotFound("No such study", param="studyId")
    return checks.study_context(study)


# ---- dictations -----------------------------------------------------------------------------------


def dictation_id(row: Dictation) -> str:
    return brand(Prefix.DICTATION, row.id)


def create_dictation(
    session: Session,
    *,
    clinic_id: uuid.UUID,
    study_id: uuid.UUID,
    user_id: uuid.UUID | None,
    template_id: str | None = None,
    content_type: str | None = None,
) -> Dictation:
    context = study_context(session, clinic_id, study_id)  # the study must exist in this clinic
    if template_id is not None:
        template = find_template(session, clinic_id, template_id)
    else:
        template = engine_for_clinic(session, clinic_id).template_for(context)
    row = Dictation(
        clinic_id=clinic_id,
        study_id=study_id,
        user_id=user_id,
        status="recording",
        template_id=template.id,
        content_type=(content_type or "audio/webm")[:100],
    )
    session.add(row)
    session.flush()
    row.audio_key = audio_key(clinic_id, row.id, row.content_type)
    return row


def get_dictation(
    session: Session, clinic_id: uuid.UUID, dictation: str, *, study_id: uuid.UUID | None = None
) -> Dictation:
    row = session.get(Dictation, parse(Prefix.DICTATION, dictation, "dictationId"))
    if row is None or row.clinic_id != clinic_id or (study_id is not None and row.study_id != study_id):
        raise NotFound("No such dictation", param="dictationId")
    return row


def append_chunk(session: Session, row: Dictation, seq: int, data: bytes) -> Dictation:
    """Store the next audio chunk and queue a partial transcription.

    `seq` numbers chunks from 0: a retried chunk (seq below the count) is acknowledged without being
    stored twice; a gap (seq above the count) is refused so the client resends what is missing.
    """
    if row.status != "recording":
        raise Conflict("This dictation is finished; start a new one", param="dictationId")
    if seq < row.chunk_count:
        return row
    if seq > row.chunk_count:
        raise Conflict(f"Expected chunk {row.chunk_count}, got {seq}", param="seq")
    if not data:
        raise InvalidRequest("The chunk is empty", param="body")
    if row.audio_bytes + len(data) > MAX_DICTATION_BYTES:
        raise PayloadTooLarge("The recording is too long", param="body")
    assert row.audio_key is not None
    # The conditional UPDATE lets exactly one upload of a chunk count it (a retry racing its
    # original is acknowledged); the row stays locked until the chunk is stored and committed.
    counted = session.execute(
        update(Dictation)
        .where(Dictation.id == row.id, Dictation.chunk_count == seq, Dictation.status == "recording")
        .values(chunk_count=seq + 1, audio_bytes=Dictation.audio_bytes + len(data), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(counted, "rowcount", 0) != 1:
        session.rollback()
        session.refresh(row)
        if row.status != "recording":
            raise Conflict("This dictation is finished; start a new one", param="dictationId")
        if seq < row.chunk_count:
            return row
        raise Conflict(f"Expected chunk {row.chunk_count}, got {seq}", param="seq")
    try:
        audio_store().put_chunk(row.audio_key, seq, data, row.content_type)
    except StorageError as exc:
        session.rollback()  # not counted: the client sends this chunk again
        log.warning("could not store chunk %d of dictation %s: %s", seq, dictation_id(row), exc)
        raise UpstreamFailed(
            f"Chunk {seq} could not be stored (the file storage failed); send it again", param="seq"
        ) from None
    queue.enqueue(
        session,
        PARTIAL_JOB,
        {"dictationId": str(row.id)},
        clinic_id=row.clinic_id,
        dedupe_key=f"partial:{row.id.hex}",
        max_attempts=1,
    )
    session.flush()
    session.refresh(row)
    return row


def finish_dictation(session: Session, row: Dictation, *, template_id: str | None = None) -> Dictation:
    if row.status in ("processing", "done"):
        return row
    if row.status == "failed" and row.audio_bytes == 0:
        raise Unprocessable("This dictation has no audio", param="dictationId")
    if row.chunk_count == 0:
        raise Unprocessable("No audio was uploaded for this dictation", param="dictationId")
    if template_id is not None:
        row.template_id = find_template(session, row.clinic_id, template_id).id
    row.status = "processing"
    row.error = None
    queue.enqueue(session, FINAL_JOB, {"dictationId": str(row.id)}, clinic_id=row.clinic_id)
    return row


def _job_dictation(session: Session, job: Task) -> Dictation | None:
    return session.get(Dictation, uuid.UUID(str(job.payload["dictationId"])))


def run_partial(session: Session, job: Task) -> None:
    """Task: transcribe what has arrived so far (the live text under the microphone button)."""
    row = _job_dictation(session, job)
    if row is None or row.status != "recording" or row.audio_key is None:
        return  # finished meanwhile: the final transcription supersedes the partial one
    chunks = row.chunk_count
    audio = audio_store().read(row.audio_key, chunks)
    engine = engine_for_clinic(session, row.clinic_id)
    template = find_template(session, row.clinic_id, row.template_id) if row.template_id else None
    session.commit()  # do not hold a transaction open while the model runs
    transcriber = engine.transcriber
    prompt = engine.prompt_for(template) if template else None
    if isinstance(transcriber, WhisperTranscriber):
        # Partial text is replaced by the next pass anyway: greedy decoding keeps it quick.
        transcript = transcriber.transcribe(audio, prompt=prompt, beam_size=1)
    else:
        transcript = transcriber.transcribe(audio, prompt=prompt)
    session.refresh(row)
    if row.status == "recording" and chunks >= row.partial_chunks:
        row.partial_text = transcript.text
        row.partial_chunks = chunks


def final_failed(session: Session, job: Task, message: str) -> None:
    row = _job_dictation(session, job)
    if row is not None:
        row.status = "failed"
        row.error = message[:500]


def run_final(session: Session, job: Task) -> None:
    """Task: transcribe the whole recording and build the draft."""
    row = _job_dictation(session, job)
    if row is None or row.audio_key is None:
        return
    audio = audio_store().read(row.audio_key, row.chunk_count)
    context = study_context(session, row.clinic_id, row.study_id)
    engine = engine_for_clinic(session, row.clinic_id)
    template = (
        find_template(session, row.clinic_id, row.template_id)
        if row.template_id
        else engine.template_for(context)
    )
    session.commit()  # do not hold a transaction open while the model runs
    # The template was the automatic choice (not one the radiologist picked): it may be guessed.
    automatic = not row.template_id or row.template_id == engine.template_for(context).id
    transcript, heard_with = engine.hear(audio, template, context, guess=automatic)
    metrics.transcription(transcript.duration, transcript.processing_seconds)
    result = engine.from_text(
        transcript.text, context, template=template, transcript=transcript, heard_with=heard_with
    )
    session.refresh(row)
    row.final_text = transcript.text
    row.partial_text = transcript.text
    row.partial_chunks = row.chunk_count
    row.result = result.to_dict()
    row.status = "done"
    row.finished_at = utcnow()


# ---- retention ------------------------------------------------------------------------------------


def record_signatures(session: Session) -> int:
    """Dictations of a study whose report has since been signed belong to the first report signed
    after they began (`report_id`), and their audio's retention clock starts at its signature.

    Read from the reports, which know nothing of dictations; the purge records it before deleting.
    Adds to the caller's transaction; returns how many dictations it recorded.
    """
    found = session.execute(
        select(Dictation, Report.id, Report.signed_at)
        .join(Report, (Report.study_id == Dictation.study_id) & (Report.clinic_id == Dictation.clinic_id))
        .where(
            Dictation.signed_at.is_(None),
            Report.status == "completed",
            Report.signed_at >= Dictation.created_at,
        )
        .order_by(Report.signed_at)
    ).all()
    recorded: set[uuid.UUID] = set()
    for row, report_id, signed_at in found:
        if row.id not in recorded:
            row.signed_at, row.report_id = signed_at, report_id
            recorded.add(row.id)
    return len(recorded)


def purge_expired_audio(
    session: Session, now: datetime | None = None, retention_days: int | None = None
) -> int:
    """Delete the audio of dictations signed more than the retention period ago (text and draft stay)."""
    record_signatures(session)
    days = get_settings().audio_retention_days if retention_days is None else retention_days
    cutoff = (now or utcnow()) - timedelta(days=days)
    store = audio_store()
    rows = session.scalars(
        select(Dictation).where(
            Dictation.signed_at.is_not(None),
            Dictation.signed_at <= cutoff,
            Dictation.audio_deleted_at.is_(None),
        )
    ).all()
    purged = 0
    for row in rows:
        if row.audio_key:
            try:
                store.delete(row.audio_key, row.chunk_count)
            except StorageError as exc:  # a bucket hiccup: this one is tried again next time
                log.warning("could not delete the audio of dictation %s: %s", dictation_id(row), exc)
                continue
        row.audio_deleted_at = utcnow()
        purged += 1
    return purged
