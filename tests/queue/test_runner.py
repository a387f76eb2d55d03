"""The task queue: claims are exclusive, failures are retried with back-off then handed to the
task's failure handler, dedupe keys keep one queued task, queues split the work, and a running
runner is woken by the commit that enqueued a task (no waiting for its poll)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from autoscribe.db import session_scope, utcnow
from autoscribe.queue.models import Task
from autoscribe.queue.runner import TaskRunner, TaskSpec, enqueue, queue_of
from autoscribe.worker import parse_queues
from tests.conftest import ClinicFixture


def test_retries_then_fails_and_each_task_is_claimed_once(clinic: ClinicFixture) -> None:
    cid = uuid.UUID(clinic.clinic_id)
    calls: list[str] = []
    failures: list[str] = []

    def flaky(session: Any, task: Task) -> None:
        calls.append(str(task.payload["n"]))
        if task.payload["n"] == "bad":
            raise RuntimeError("model exploded")

    specs = {
        "testq.flaky": TaskSpec(
            "testq.flaky", flaky, on_failure=lambda s, t, m: failures.append(m), backoff_seconds=(0,)
        )
    }
    with session_scope() as session:
        ok = enqueue(session, "testq.flaky", {"n": "good"}, clinic_id=cid)
        bad = enqueue(session, "testq.flaky", {"n": "bad"}, clinic_id=cid, max_attempts=2)
        assert enqueue(session, "testq.flaky", {"n": "x"}, clinic_id=cid, dedupe_key="k") is not None
        assert enqueue(session, "testq.flaky", {"n": "y"}, clinic_id=cid, dedupe_key="k") is None
        assert ok is not None and bad is not None and ok.queue == "testq"
        ids = (ok.id, bad.id)

    # Two runners race: each claims a different task.
    one, two = TaskRunner(specs, name="runner-1"), TaskRunner(specs, name="runner-2")
    with session_scope() as s1, session_scope() as s2:
        first, second = one.claim(s1), two.claim(s2)
        assert first is not None and second is not None and first != second
    with session_scope() as session:
        for task_id in (first, second):
            task = session.get(Task, task_id)
            assert task is not None and task.status == "running"
            assert task.locked_by in ("runner-1", "runner-2")
            task.status, task.locked_until, task.attempts = "queued", None, 0  # hand them back

    assert one.run_pending() == 4  # good, bad twice, x
    with session_scope() as session:
        good_task, bad_task = (session.get(Task, i) for i in ids)
        assert good_task is not None and good_task.status == "done"
        assert bad_task is not None and (bad_task.status, bad_task.attempts) == ("failed", 2)
        assert "model exploded" in (bad_task.last_error or "")
    assert calls.count("bad") == 2 and failures and "model exploded" in failures[0]


def test_an_abandoned_task_is_claimed_again_when_its_lease_ends(clinic: ClinicFixture) -> None:
    ran: list[str] = []
    specs = {"testlease.job": TaskSpec("testlease.job", lambda s, t: ran.append("ran"))}
    with session_scope() as session:
        enqueue(session, "testlease.job", {}, clinic_id=uuid.UUID(clinic.clinic_id))
    dead = TaskRunner(specs, name="dead")
    with session_scope() as session:
        task_id = dead.claim(session)  # ... and the process dies here
    assert TaskRunner(specs).run_pending() == 0  # leased: nobody else takes it
    with session_scope() as session:
        task = session.get(Task, task_id)
        assert task is not None
        task.locked_until = utcnow()  # the lease runs out
    assert TaskRunner(specs).run_pending() == 1 and ran == ["ran"]


def test_runners_take_only_their_queues(clinic: ClinicFixture) -> None:
    cid = uuid.UUID(clinic.clinic_id)
    seen: list[str] = []
    specs = {
        kind: TaskSpec(kind, lambda s, t: seen.append(t.kind))
        for kind in ("testsplit-a.job", "testsplit-b.job")
    }
    with session_scope() as session:
        enqueue(session, "testsplit-a.job", {}, clinic_id=cid)
        enqueue(session, "testsplit-b.job", {}, clinic_id=cid)
    assert TaskRunner(specs, queues={"testsplit-a"}).run_pending() == 1
    assert seen == ["testsplit-a.job"]
    assert TaskRunner(specs, queues={"testsplit-b"}).run_pending() == 1
    assert seen == ["testsplit-a.job", "testsplit-b.job"]
    assert queue_of("reports.render_pdf") == "reports"


def test_a_commit_wakes_the_running_runner(clinic: ClinicFixture) -> None:
    done = threading.Event()
    specs = {"testwake.job": TaskSpec("testwake.job", lambda s, t: done.set())}
    # A poll interval far longer than the test: only the wake-up can make it run in time.
    runner = TaskRunner(specs, queues={"testwake"}, poll_seconds=600).start()
    try:
        time.sleep(0.2)  # let it go idle
        with session_scope() as session:
            enqueue(session, "testwake.job", {}, clinic_id=uuid.UUID(clinic.clinic_id))
        assert done.wait(30)
    finally:
        runner.stop()
    with session_scope() as session:
        statuses = session.scalars(select(Task.status).where(Task.kind == "testwake.job")).all()
        assert list(statuses) == ["done"]


def test_worker_queue_names_are_checked() -> None:
    assert parse_queues("") == {"webhooks", "dictation", "reports", "mail"}
    assert parse_queues(" webhooks , reports ") == {"webhooks", "reports"}
    with pytest.raises(ValueError, match="unknown queue\\(s\\): webhook"):
        parse_queues("webhook")


def test_a_runner_with_several_threads_runs_tasks_side_by_side(clinic: ClinicFixture) -> None:
    """A burst of signatures renders its PDFs in parallel: two tasks that each wait for the other
    both finish only if two threads run them at once."""
    barrier = threading.Barrier(2, timeout=30)
    finished: list[str] = []

    def meet(session: Any, task: Task) -> None:
        barrier.wait()  # raises BrokenBarrierError if the other task never starts meanwhile
        finished.append(str(task.payload["n"]))

    specs = {"testpar.job": TaskSpec("testpar.job", meet)}
    with session_scope() as session:
        for n in range(2):
            enqueue(session, "testpar.job", {"n": n}, clinic_id=uuid.UUID(clinic.clinic_id))
    runner = TaskRunner(specs, queues={"testpar"}, threads=2).start()
    try:
        deadline = time.monotonic() + 60
        while len(finished) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    assert sorted(finished) == ["0", "1"]
