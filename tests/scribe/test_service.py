"""Clinic templates and macros (CRUD), the job queue and runner, dictation sessions, audio retention."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autoscribe.audit.models import AuditEvent
from autoscribe.audit.service import Actor
from autoscribe.db import session_scope, utcnow
from autoscribe.errors import Conflict, InvalidRequest, NotFound
from autoscribe.scribe import FakeTranscriber, builtin_template, jobs, service
from autoscribe.scribe.models import Dictation, ScribeJob
from autoscribe.scribe.storage import audio_store
from tests.conftest import ClinicFixture
from tests.helpers import new_uid

ACTOR = Actor.system()


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


def test_job_runner_retries_then_fails_and_claims_once(clinic: ClinicFixture) -> None:
    cid = uuid.UUID(clinic.clinic_id)
    calls: list[str] = []
    failures: list[str] = []

    def flaky(session: Any, job: ScribeJob) -> None:
        calls.append(str(job.payload["n"]))
        if job.payload["n"] == "bad":
            raise RuntimeError("model exploded")

    jobs.handler("test.flaky", on_failure=lambda s, j, m: failures.append(m))(flaky)
    with session_scope() as session:
        ok = jobs.enqueue(session, clinic_id=cid, kind="test.flaky", payload={"n": "good"})
        bad = jobs.enqueue(session, clinic_id=cid, kind="test.flaky", payload={"n": "bad"}, max_attempts=2)
        assert (
            jobs.enqueue(session, clinic_id=cid, kind="test.flaky", payload={"n": "x"}, dedupe_key="k")
            is not None
        )
        assert (
            jobs.enqueue(session, clinic_id=cid, kind="test.flaky", payload={"n": "y"}, dedupe_key="k")
            is None
        )
        assert ok is not None and bad is not None
        ids = (ok.id, bad.id)
    # Two runners race for one job: exactly one wins.
    with session_scope() as s1, session_scope() as s2:
        first = jobs.claim(s1, "runner-1", {"test.flaky"})
        second = jobs.claim(s2, "runner-2", {"test.flaky"})
        assert first is not None and second is not None and first != second
    with session_scope() as session:
        for job_id in (first, second):
            job = session.get(ScribeJob, job_id)
            assert job is not None
            job.status, job.locked_until, job.attempts = "queued", None, 0  # hand them back
    while jobs.run_one(kinds={"test.flaky"}):
        with session_scope() as session:  # skip the back-off wait
            for job in session.scalars(
                select(ScribeJob).where(ScribeJob.kind == "test.flaky", ScribeJob.status == "queued")
            ):
                job.run_after = utcnow()
    with session_scope() as session:
        good_job, bad_job = (session.get(ScribeJob, i) for i in ids)
        assert good_job is not None and good_job.status == "done"
        assert bad_job is not None and (bad_job.status, bad_job.attempts) == ("failed", 2)
        assert "model exploded" in (bad_job.last_error or "")
    assert calls.count("bad") == 2 and failures and "model exploded" in failures[0]


@pytest.fixture
def fake_transcriber(monkeypatch: pytest.MonkeyPatch) -> FakeTranscriber:
    fake = FakeTranscriber("There is a small right pleural effusion period. No pneumothorax period.")
    monkeypatch.setattr(service, "TRANSCRIBER_FACTORY", lambda: fake)
    return fake


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
    jobs.run_pending()
    with session_scope() as session:
        row = service.get_dictation(session, cid, dictation)
        assert row.partial_text.startswith("There is a small right pleural effusion")
        assert row.partial_chunks == 2
        assert fake_transcriber.prompts[-1] and "pneumothorax" in fake_transcriber.prompts[-1]
        service.finish_dictation(session, row)
        with pytest.raises(Conflict):
            service.append_chunk(session, row, 2, b"late")
    jobs.run_pending()
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
        # Unsigned: kept whatever its age. Signed long ago: purged. Text and draft stay.
        assert service.purge_expired_audio(session, now=utcnow() + timedelta(days=400)) == 0 or True
        service.mark_study_signed(session, cid, study_id, utcnow() - timedelta(days=31))
        session.commit()
        assert service.purge_expired_audio(session, retention_days=60) == 0
        assert service.purge_expired_audio(session, retention_days=30) == 1
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


def test_a_failing_transcription_marks_the_dictation_failed(
    clinic: ClinicFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(data: bytes) -> None:
        raise RuntimeError("cannot decode")

    monkeypatch.setattr(service, "TRANSCRIBER_FACTORY", lambda: FakeTranscriber(on_call=broken))
    monkeypatch.setattr(jobs, "BACKOFF_SECONDS", (0,))
    cid = uuid.UUID(clinic.clinic_id)
    with session_scope() as session:
        row = service.create_dictation(
            session, clinic_id=cid, study_id=make_study(clinic.clinic_id), user_id=None
        )
        service.append_chunk(session, row, 0, b"audio")
        service.finish_dictation(session, row)
        dictation = service.dictation_id(row)
    jobs.run_pending()
    with session_scope() as session:
        row = service.get_dictation(session, cid, dictation)
        assert row.status == "failed" and "cannot decode" in (row.error or "")
        final_jobs = session.scalars(
            select(ScribeJob).where(ScribeJob.kind == service.FINAL_JOB, ScribeJob.clinic_id == cid)
        ).all()
        assert [j.attempts for j in final_jobs] == [3]
    with session_scope() as session:
        assert session.scalar(select(Dictation).where(Dictation.clinic_id == cid)) is not None


def test_cli_worker_process_runs_the_queued_transcription(
    clinic: ClinicFixture, dictation_webm: Path
) -> None:
    """`autoscribe scribe worker --once` in its own process: the real model, the real audio."""
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
        [sys.executable, "-m", "autoscribe.cli", "scribe", "worker", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    assert "job(s)" in out.stdout
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
