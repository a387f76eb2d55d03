"""Clinic templates and macros (CRUD), dictation sessions and their transcription tasks, audio retention."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autoscribe import tasks
from autoscribe.audit.models import AuditEvent
from autoscribe.audit.service import Actor
from autoscribe.db import session_scope, utcnow
from autoscribe.dictation import service
from autoscribe.dictation.models import Dictation
from autoscribe.dictation.storage import audio_store
from autoscribe.errors import Conflict, InvalidRequest, NotFound
from autoscribe.queue.models import Task
from autoscribe.queue.runner import TaskRunner
from autoscribe.scribe import FakeTranscriber, builtin_template
from tests.conftest import ClinicFixture
from tests.helpers import new_uid

ACTOR = Actor.system()


def run_dictation_tasks(**changes: Any) -> int:
    """Run the due dictation tasks as a worker would (`changes` alters their specs, e.g. back-off)."""
    specs = {kind: replace(spec, **changes) for kind, spec in tasks.TASKS.items()}
    return TaskRunner(specs, queues={"dictation"}).run_pending()


def make_study(clinic_id: str, description: str = "CT CHEST WITHOUT CONTRAST", **fields: Any) -> uuid.UUID:
    from autoscribe.studies.models import Study

    with session_scope() as session:
        study = Study(
            clinic_id=uuid.UUID(clinic_id),
            study_instance_uid=new_uid(),
            study_description=description,
            severity="normal",
            study_report_status="unassigned",
            report_metadata=fields.pop("report_metadata", {"sex": "female"}),
            **fields,
        )
        session.add(study)
        session.flush()
        return study.id


def test_clinic_templates_crud_mrrt_and_tenancy(clinic: ClinicFixture, other_clinic: ClinicFixture) -> None:
    cid, other = uuid.UUID(clinic.clinic_id), uuid.UUID(other_clinic.clinic_id)
    base = builtin_template("ct-head")
    assert base is not None
    from dataclasses import replace

    with session_scope() as session:
        row = service.create_template(
            session, cid, replace(base, name="Trauma head CT", match=("trauma", "head")), actor=ACTOR
        )
        template_id = f"tpl_{row.id.hex}"
        with pytest.raises(Conflict):
            service.create_template(session, cid, replace(base, name="trauma HEAD ct"), actor=ACTOR)
        with pytest.raises(InvalidRequest):
            service.create_template(
                session, cid, replace(base, name="No findings", sections=base.sections[:2]), actor=ACTOR
            )
    with session_scope() as session:
        mine = service.clinic_templates(session, cid)
        assert [t.id for t in mine] == [template_id] and not mine[0].builtin
        assert service.clinic_templates(session, other) == []
        with pytest.raises(NotFound):
            service.get_template_row(session, other, template_id)
        # The clinic's template now wins for its words.
        assert (
            service.engine_for_clinic(session, cid)
            .template_for(service.StudyContext(procedure="CT HEAD TRAUMA"))
            .id
            == template_id
        )
        document = service.export_mrrt(session, cid, template_id)
        assert "Trauma head CT" in document
        imported = service.import_mrrt(
            session, cid, document.replace("Trauma head CT", "Imported head"), actor=ACTOR
        )
        assert service.row_to_template(imported).organs() == base.organs()
        service.update_template(session, cid, template_id, is_active=False, actor=ACTOR)
        assert [t.name for t in service.clinic_templates(session, cid)] == ["Imported head"]
        service.delete_template(session, cid, template_id, actor=ACTOR)
        with pytest.raises(NotFound):
            service.find_template(session, cid, template_id)
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.clinic_id == cid)))
        assert {"scribe_template.created", "scribe_template.updated", "scribe_template.deleted"} <= actions


def test_macros_crud_and_expansion(clinic: ClinicFixture) -> None:
    cid = uuid.UUID(clinic.clinic_id)
    with session_scope() as session:
        macro = service.create_macro(
            session, cid, "  Normal   Knee ", "The menisci are intact. No joint effusion.", actor=ACTOR
        )
        assert macro.name == "normal knee"
        with pytest.raises(Conflict):
            service.create_macro(session, cid, "normal knee", "x", actor=ACTOR)
        with pytest.raises(InvalidRequest):
            service.create_macro(session, cid, "!", "x", actor=ACTOR)
    with session_scope() as session:
        engine = service.engine_for_clinic(session, cid, FakeTranscriber())
        result = engine.from_text("insert normal knee period", service.StudyContext(procedure="MRI KNEE"))
        menisci = result.draft.section("findings.menisci")
        assert menisci is not None and menisci.text() == "The menisci are intact."
        service.update_macro(session, cid, f"mac_{macro.id.hex}", text="Knee normal.", actor=ACTOR)
        assert service.clinic_macros(session, cid) == {"normal knee": "Knee normal."}
        service.delete_macro(session, cid, f"mac_{macro.id.hex}", actor=ACTOR)
        assert service.clinic_macros(session, cid) == {}


@pytest.fixture
def fake_transcriber(monkeypatch: pytest.MonkeyPatch) -> FakeTranscriber:
    fake = FakeTranscriber("There is a small right pleural effusion period. No pneumothorax period.")
    monkeypatch.setattr(service, "TRANSCRIBER_FACTORY", lambda: fake)
    return fake


def test_a_dictation_for_a_study_that_says_nothing_is_heard_again_with_what_it_is_about(
    clinic: ClinicFixture, fake_transcriber: FakeTranscriber
) -> None:
    fake_transcriber.default = (
        "The lungs are clear period. There is a small right plural infusion period. No pneumothorax "
        "period. The heart size is normal period. The mediastinal contours are normal period."
    )
    cid = uuid.UUID(clinic.clinic_id)
    study_id = make_study(clinic.clinic_id, description="")
    with session_scope() as session:
        row = service.create_dictation(session, clinic_id=cid, study_id=study_id, user_id=None)
        assert row.template_id == "generic"
        dictation = service.dictation_id(row)
        service.append_chunk(session, row, 0, b"chunk-0")
        service.finish_dictation(session, row)
    fake_transcriber.prompts.clear()
    run_dictation_tasks()
    with session_scope() as session:
        row = service.get_dictation(session, cid, dictation)
        assert row.status == "done" and row.result is not None
        assert row.result["template"]["id"] == "generic"
    final = fake_transcriber.prompts[-2:]  # the general vocabulary, then the chest one
    assert "pneumothorax" not in (final[0] or "") and "pneumothorax" in (final[1] or "")


def test_dictation_chunks_partial_final_and_retention(
    clinic: ClinicFixture, fake_transcriber: FakeTranscriber
) -> None:
    cid = uuid.UUID(clinic.clinic_id)
    study_id = make_study(clinic.clinic_id, clinical_indication="Cough")
    with session_scope() as session:
        row = service.create_dictation(session, clinic_id=cid, study_id=study_id, user_id=None)
        assert row.template_id == "ct-chest" and row.status == "recording"
        dictation = service.dictation_id(row)
        service.append_chunk(session, row, 0, b"chunk-0")
        service.append_chunk(session, row, 0, b"chunk-0")  # a retry is not stored twice
        with pytest.raises(Conflict):
            service.append_chunk(session, row, 5, b"gap")
        service.append_chunk(session, row, 1, b"chunk-1")
        assert row.audio_key is not None
        assert audio_store().read(row.audio_key, row.chunk_count) == b"chunk-0chunk-1"
    run_dictation_tasks()
    with session_scope() as session:
        row = service.get_dictation(session, cid, dictation)
        assert row.partial_text.startswith("There is a small right pleural effusion")
        assert row.partial_chunks == 2
        assert fake_transcriber.prompts[-1] and "pneumothorax" in fake_transcriber.prompts[-1]
        service.finish_dictation(session, row)
        with pytest.raises(Conflict):
            service.append_chunk(session, row, 2, b"late")
    run_dictation_tasks()
    with session_scope() as session:
        row = service.get_dictation(session, cid, dictation, study_id=study_id)
        assert row.status == "done" and row.result is not None
        sections = row.result["sections"]
        assert sections["clinicalIndication"] == "Cough."
        assert "Pleura: There is a small right pleural effusion." in sections["findings"]
        assert row.result["impression"] == ["Small right pleural effusion."]
        with pytest.raises(NotFound):
            service.get_dictation(session, cid, dictation, study_id=uuid.uuid4())
        key, chunks = row.audio_key, row.chunk_count
        assert key is not None
        # Unsigned: kept whatever its age. Signed long ago: purged. Text and draft stay. (Other
        # tests' dictations share the database: this one's audio is what is looked at.)
        service.purge_expired_audio(session, now=utcnow() + timedelta(days=400))
        session.commit()
        assert row.audio_deleted_at is None and audio_store().read(key, chunks) == b"chunk-0chunk-1"
        row.signed_at = utcnow() - timedelta(days=31)  # its report signed a month ago
        session.commit()
        service.purge_expired_audio(session, retention_days=60)
        session.commit()
        assert row.audio_deleted_at is None and audio_store().read(key, chunks) == b"chunk-0chunk-1"
        assert service.purge_expired_audio(session, retention_days=30) >= 1
        session.commit()
        assert audio_store().read(key, chunks) == b""
        row = service.get_dictation(session, cid, dictation)
        assert row.audio_deleted_at is not None and row.final_text


def test_unsigned_audio_is_kept(
    clinic: ClinicFixture, fake_transcriber: FakeTranscriber, tmp_path: Path
) -> None:
    cid = uuid.UUID(clinic.clinic_id)
    with session_scope() as session:
        row = service.create_dictation(
            session, clinic_id=cid, study_id=make_study(clinic.clinic_id), user_id=None
        )
        service.append_chunk(session, row, 0, b"audio")
        row.created_at = utcnow() - timedelta(days=1000)
        session.commit()
        service.purge_expired_audio(session, now=utcnow() + timedelta(days=1000), retention_days=1)
        session.commit()
        assert row.audio_key is not None and audio_store().read(row.audio_key, 1) == b"audio"


def test_the_final_transcription_is_biased_by_the_study_not_only_the_template(
    clinic: ClinicFixture, fake_transcriber: FakeTranscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With contextual biasing on, the model hears the whole recording with the terms of the body
    regions the study covers: a chest template on a chest-abdomen-pelvis CT gets abdominal terms."""
    engine_for_clinic = service.engine_for_clinic

    def biased(*args: Any, **kwargs: Any) -> Any:
        engine = engine_for_clinic(*args, **kwargs)
        engine.biasing = True
        return engine

    monkeypatch.setattr(service, "engine_for_clinic", biased)
    cid = uuid.UUID(clinic.clinic_id)
    study_id = make_study(clinic.clinic_id, "CT CHEST ABDOMEN PELVIS WITH CONTRAST")
    with session_scope() as session:
        row = service.create_dictation(session, clinic_id=cid, study_id=study_id, user_id=None)
        service.append_chunk(session, row, 0, b"audio")
        service.finish_dictation(session, row, template_id="ct-chest")
    run_dictation_tasks()
    final_prompt = fake_transcriber.prompts[-1] or ""
    assert "pneumoperitoneum" in final_prompt and "pulmonary nodule" in final_prompt


def test_a_failing_transcription_marks_the_dictation_failed(
    clinic: ClinicFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(data: bytes) -> None:
        raise RuntimeError("cannot decode")

    monkeypatch.setattr(service, "TRANSCRIBER_FACTORY", lambda: FakeTranscriber(on_call=broken))
    cid = uuid.UUID(clinic.clinic_id)
    with session_scope() as session:
        row = service.create_dictation(
            session, clinic_id=cid, study_id=make_study(clinic.clinic_id), user_id=None
        )
        service.append_chunk(session, row, 0, b"audio")
        service.finish_dictation(session, row)
        dictation = service.dictation_id(row)
    run_dictation_tasks(backoff_seconds=(0,))
    with session_scope() as session:
        row = service.get_dictation(session, cid, dictation)
        assert row.status == "failed" and "cannot decode" in (row.error or "")
        final_jobs = session.scalars(
            select(Task).where(Task.kind == service.FINAL_JOB, Task.clinic_id == cid)
        ).all()
        assert [j.attempts for j in final_jobs] == [3]
    with session_scope() as session:
        assert session.scalar(select(Dictation).where(Dictation.clinic_id == cid)) is not None


def test_cli_worker_process_runs_the_queued_transcription(
    clinic: ClinicFixture, dictation_webm: Path
) -> None:
    """`autoscribe worker --once` in its own process: the real model, the real audio."""
    import json
    import os
    import subprocess
    import sys

    cid = uuid.UUID(clinic.clinic_id)
    with session_scope() as session:
        row = service.create_dictation(
            session,
            clinic_id=cid,
            study_id=make_study(clinic.clinic_id),
            user_id=None,
            content_type="audio/webm",
        )
        service.append_chunk(session, row, 0, dictation_webm.read_bytes())
        service.finish_dictation(session, row)
        dictation = service.dictation_id(row)
    env = {**os.environ, "AUTOSCRIBE_LLM_BASE_URL": ""}
    out = subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", "worker", "--queues", "dictation", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    assert re.search(r"ran [12] task\(s\)", out.stdout), out.stdout
    with session_scope() as session:
        row = service.get_dictation(session, cid, dictation)
        assert row.status == "done", row.error
        assert "pneumothorax" in (row.final_text or "").lower()
    purged = subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", "scribe", "purge-audio", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert json.loads(purged.stdout) == {"purged": 0}  # not signed: the audio stays


def test_a_clinic_engine_writes_impressions_with_the_configured_llm(
    clinic: ClinicFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUTOSCRIBE_LLM_BASE_URL reaches the engine the workspace dictates with (the engine itself
    reads no settings); without it the impression is rule-based."""
    from autoscribe.config import get_settings

    cid = uuid.UUID(clinic.clinic_id)
    monkeypatch.setenv("AUTOSCRIBE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    try:
        with session_scope() as session:
            engine = service.engine_for_clinic(session, cid, FakeTranscriber())
        assert engine.llm is not None
        assert engine.llm.base_url == "http://127.0.0.1:9/v1"
        monkeypatch.setenv("AUTOSCRIBE_LLM_BASE_URL", "")
        get_settings.cache_clear()
        with session_scope() as session:
            assert service.engine_for_clinic(session, cid, FakeTranscriber()).llm is None
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
