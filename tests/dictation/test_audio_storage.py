"""Dictation audio lives in the platform storage (local directory or S3, like report PDFs), stays
while the report is unsigned, and is deleted AUTOSCRIBE_AUDIO_RETENTION_DAYS after signing by the
purge the job runner runs (and `autoscribe scribe purge-audio`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from autoscribe import tasks
from autoscribe.config import get_settings
from autoscribe.db import session_scope, utcnow
from autoscribe.dictation import service
from autoscribe.dictation.models import Dictation
from autoscribe.dictation.storage import AudioStore, audio_store
from autoscribe.queue.runner import TaskRunner
from autoscribe.storage import get_storage
from tests.conftest import ClinicFixture
from tests.dictation.test_service import make_study
from tests.helpers import make_user
from tests.reporting import save, sign, start
from tests.s3 import MotoS3, start_moto


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    s3 = start_moto()
    yield s3
    s3.server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The backend the platform is configured with: the test data directory, or a bucket."""
    if request.param == "local":
        return get_storage()
    bucket = request.getfixturevalue("moto").storage()
    monkeypatch.setattr("autoscribe.dictation.storage.get_storage", lambda: bucket)
    return bucket


def _dictation(clinic: ClinicFixture, chunks: list[bytes], *, signed_by: str | None = None) -> uuid.UUID:
    """A dictation with these chunks uploaded; with signed_by, its study's report signed by them."""
    cid = uuid.UUID(clinic.clinic_id)
    study_id = make_study(clinic.clinic_id)
    if signed_by:
        from autoscribe.studies.models import Study

        with session_scope() as session:
            study = session.get(Study, study_id)
            assert study is not None
            study.assigned_to_user_id = uuid.UUID(hex=signed_by[4:])
            study.study_report_status = "assigned"
    with session_scope() as session:
        row = service.create_dictation(
            session, clinic_id=cid, study_id=study_id, user_id=None, content_type="audio/webm;codecs=opus"
        )
        for seq, data in enumerate(chunks):
            service.append_chunk(session, row, seq, data)
        dictation_id = row.id
    if signed_by:
        report_id, version = start(f"stu_{study_id.hex}", signed_by)
        body = {"findings": "Normal chest.", "impression": "No acute abnormality."}
        save(report_id, signed_by, body, version)
        sign(report_id, signed_by)
    return dictation_id


def _row(dictation_id: uuid.UUID) -> Dictation:
    with session_scope() as session:
        row = session.get(Dictation, dictation_id)
        assert row is not None
        session.expunge(row)
        return row


def _age(dictation_id: uuid.UUID, days: int) -> None:
    """Pretend the report was signed `days` ago."""
    with session_scope() as session:
        service.record_signatures(session)
        row = session.get(Dictation, dictation_id)
        assert row is not None and row.signed_at is not None
        row.signed_at = utcnow() - timedelta(days=days)


def test_chunks_are_objects_in_the_platform_storage(clinic: ClinicFixture, storage: Any) -> None:
    dictation_id = _dictation(clinic, [b"one-", b"two-", b"three"])
    row = _row(dictation_id)
    assert row.audio_key == f"dictations/{clinic.clinic_id.replace('-', '')}/{dictation_id.hex}.webm"
    assert row.chunk_count == 3 and row.audio_bytes == len(b"one-two-three")
    keys = [AudioStore.chunk_key(row.audio_key, seq) for seq in range(3)]
    assert keys[2].endswith(f"/{dictation_id.hex}/000002.webm")
    assert [storage.get(k) for k in keys] == [b"one-", b"two-", b"three"]
    assert audio_store().read(row.audio_key, row.chunk_count) == b"one-two-three"
    # Nothing in the scribe's old private directory.
    assert not (get_settings().data_dir / "audio").exists()


def test_a_retried_chunk_counts_once(clinic: ClinicFixture, storage: Any) -> None:
    dictation_id = _dictation(clinic, [b"a", b"b"])
    with session_scope() as session:
        row = session.get(Dictation, dictation_id)
        assert row is not None
        service.append_chunk(session, row, 1, b"b")  # the client did not see the answer: resends
        assert row.chunk_count == 2 and row.audio_bytes == 2
        service.append_chunk(session, row, 2, b"c")
        assert audio_store().read(row.audio_key or "", row.chunk_count) == b"abc"


def test_a_chunk_the_storage_refused_is_not_counted(
    clinic: ClinicFixture, storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoscribe.errors import UpstreamFailed
    from autoscribe.storage import StorageError

    dictation_id = _dictation(clinic, [b"a"])

    def down(self: AudioStore, key: str, seq: int, data: bytes, content_type: str | None = None) -> None:
        raise StorageError("bucket unreachable")

    with session_scope() as session:
        row = session.get(Dictation, dictation_id)
        assert row is not None
        with monkeypatch.context() as patched:
            patched.setattr(AudioStore, "put_chunk", down)
            with pytest.raises(UpstreamFailed) as refused:
                service.append_chunk(session, row, 1, b"b")
        assert refused.value.param == "seq" and "send it again" in refused.value.message
        assert row.chunk_count == 1
        service.append_chunk(session, row, 1, b"b")  # the client's retry
        assert row.chunk_count == 2
        assert audio_store().read(row.audio_key or "", 2) == b"ab"


def test_audio_is_purged_after_signing_plus_the_retention(
    clinic: ClinicFixture, storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    radiologist = make_user(clinic.clinic_id)
    signed = _dictation(clinic, [b"signed-0", b"signed-1"], signed_by=radiologist)
    unsigned = _dictation(clinic, [b"unsigned"])
    signed_row, unsigned_row = _row(signed), _row(unsigned)

    monkeypatch.setattr(get_settings(), "audio_retention_days", 30)
    runner = TaskRunner(tasks.TASKS, queues={"dictation"}, periodic=tasks.PERIODIC)
    runner.run_periodic(force=True)  # what a worker does between tasks (once an hour by default)
    assert audio_store().read(signed_row.audio_key or "", 2) == b"signed-0signed-1"  # signed just now
    # The dictation belongs to the report signed after it, from that signature on.
    assert _row(signed).report_id is not None and _row(signed).signed_at is not None
    assert _row(unsigned).signed_at is None

    _age(signed, 31)
    runner.run_periodic(force=True)
    assert _row(signed).audio_deleted_at is not None
    for seq in range(2):
        assert not storage.exists(AudioStore.chunk_key(signed_row.audio_key or "", seq))
    # The text stays; the unsigned dictation's audio stays, however old.
    assert _row(signed).chunk_count == 2
    assert _row(unsigned).audio_deleted_at is None
    assert storage.exists(AudioStore.chunk_key(unsigned_row.audio_key or "", 0))


def test_a_longer_retention_keeps_the_audio_and_a_failed_delete_is_retried(
    clinic: ClinicFixture, storage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoscribe.storage import StorageError

    radiologist = make_user(clinic.clinic_id)
    dictation_id = _dictation(clinic, [b"x"], signed_by=radiologist)
    _age(dictation_id, 31)
    with session_scope() as session:
        service.purge_expired_audio(session, retention_days=60)
    assert _row(dictation_id).audio_deleted_at is None

    def down(self: AudioStore, key: str, chunks: int) -> None:
        raise StorageError("bucket unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(AudioStore, "delete", down)
        with session_scope() as session:
            service.purge_expired_audio(session, retention_days=30)
        assert _row(dictation_id).audio_deleted_at is None  # not marked: tried again next time
    with session_scope() as session:
        service.purge_expired_audio(session, retention_days=30)
    assert _row(dictation_id).audio_deleted_at is not None
