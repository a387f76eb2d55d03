"""One unit of work per request (`db.request_transaction`, behind every route's `SessionDep`): a
route's changes are committed before its answer leaves, and a route that fails keeps none of them.
Services no longer commit, so a failure after a change must not leave half of it behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from sqlalchemy import select

from autoscribe.audit.models import AuditEvent
from autoscribe.audit.service import Actor, record
from autoscribe.auth.context import SessionDep
from autoscribe.db import get_sessionmaker, has_writes, on_rollback, session_scope
from autoscribe.errors import InvalidRequest
from tests.conftest import ClinicFixture


def _events(action: str) -> int:
    with session_scope() as session:
        return len(session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


@pytest.fixture
def client(clinic: ClinicFixture) -> Iterator[tuple[TestClient, dict[str, bool]]]:
    app = FastAPI()
    seen: dict[str, bool] = {}
    clinic_id = uuid.UUID(clinic.clinic_id)

    @app.post("/change/{action}")
    def change(action: str, session: SessionDep, fail: bool = False) -> dict[str, str]:
        record(session, clinic_id=clinic_id, actor=Actor.system(), action=action)
        session.flush()  # as a service does when it needs the database's verdict
        # Work outside the database that the change points to (a stored file, say).
        on_rollback(session, lambda: seen.__setitem__(f"undone {action}", True))
        if fail:
            raise InvalidRequest("refused after the change", param="fail")
        return {"action": action}

    @app.post("/stream/{action}")
    def stream(action: str, session: SessionDep) -> StreamingResponse:
        record(session, clinic_id=clinic_id, actor=Actor.system(), action=action)

        def body() -> Iterator[bytes]:
            # Runs while the answer is being sent: the change must already be committed.
            seen["committed_before_answer"] = _events(action) == 1
            yield b"done"

        return StreamingResponse(body())

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, seen


def test_a_route_change_is_committed_before_its_answer_is_sent(
    client: tuple[TestClient, dict[str, bool]],
) -> None:
    test_client, seen = client
    action = f"test.kept.{uuid.uuid4().hex[:8]}"
    answer = test_client.post(f"/stream/{action}")
    assert answer.status_code == 200 and answer.text == "done"
    assert seen["committed_before_answer"] is True
    assert _events(action) == 1


def test_a_route_that_fails_after_a_change_keeps_nothing(client: tuple[TestClient, dict[str, bool]]) -> None:
    test_client, seen = client
    action = f"test.undone.{uuid.uuid4().hex[:8]}"
    failed = test_client.post(f"/change/{action}", params={"fail": "true"})
    assert failed.status_code != 200
    assert _events(action) == 0
    assert seen.pop(f"undone {action}") is True  # the failed request's outside work was undone too
    kept = test_client.post(f"/change/{action}")
    assert kept.status_code == 200 and _events(action) == 1
    assert f"undone {action}" not in seen  # committed: nothing to undo


def test_has_writes_sees_flushed_and_statement_writes(clinic: ClinicFixture) -> None:
    """A read's audit row skips the wait for the disk only when the transaction wrote nothing else;
    flushed changes and UPDATE statements count as writes until the commit."""
    clinic_id = uuid.UUID(clinic.clinic_id)
    with get_sessionmaker()() as session:
        session.scalars(select(AuditEvent).limit(1)).all()
        assert not has_writes(session)
        record(session, clinic_id=clinic_id, actor=Actor.system(), action="test.pending")
        assert has_writes(session)
        session.flush()
        assert has_writes(session)  # no longer pending in the session, still uncommitted
        session.commit()
        assert not has_writes(session)
        session.execute(
            AuditEvent.__table__.update().where(AuditEvent.action == "nothing.such").values(action="x")
        )
        assert has_writes(session)
        session.rollback()
        assert not has_writes(session)

        # A savepoint ending (released or rolled back) is not the transaction ending.
        record(session, clinic_id=clinic_id, actor=Actor.system(), action="test.outer")
        session.flush()
        nothing = AuditEvent.__table__.update().where(AuditEvent.action == "nothing").values(action="x")
        with session.begin_nested():
            session.execute(nothing)
        assert has_writes(session)
        with pytest.raises(RuntimeError), session.begin_nested():
            session.execute(nothing)
            raise RuntimeError("savepoint undone")
        assert has_writes(session)
        session.rollback()
        assert not has_writes(session)


def test_work_outside_the_database_is_undone_only_when_the_transaction_rolls_back(
    clinic: ClinicFixture,
) -> None:
    clinic_id = uuid.UUID(clinic.clinic_id)
    undone: list[str] = []
    with get_sessionmaker()() as session:
        record(session, clinic_id=clinic_id, actor=Actor.system(), action="test.file")
        session.flush()
        on_rollback(session, lambda: undone.append("first"))
        with pytest.raises(RuntimeError), session.begin_nested():
            record(session, clinic_id=clinic_id, actor=Actor.system(), action="test.inner")
            session.flush()
            raise RuntimeError("a savepoint rolled back")
        assert undone == []  # the outer transaction, and its file, still stand
        session.rollback()
        assert undone == ["first"]

        record(session, clinic_id=clinic_id, actor=Actor.system(), action="test.file")
        session.flush()
        on_rollback(session, lambda: undone.append("second"))
        session.commit()
        session.rollback()  # nothing left to undo: the commit kept it
        assert undone == ["first"]
