"""What counts as delivered, retry timing rules, refreshed payloads, the serve-embedded dispatcher."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tests.conftest import TEST_DB, start_server, stop_server
from tests.webhooks.conftest import (
    IsoDB,
    Received,
    Receiver,
    Reply,
    attempts,
    enqueue,
    event_row,
    make_tenant,
    sample_report,
    wait_status,
    wait_until,
)


def test_any_2xx_is_success_and_the_answer_is_logged(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(lambda _r: (202, {}, b"queued " + b"x" * 5000))
    tenant = make_tenant(iso, report_url=receiver.url + "?token=secret-in-query")
    dispatcher()
    event_id = enqueue(iso, tenant, sample_report())
    wait_status(iso, event_id, "succeeded")
    [attempt] = attempts(iso, event_id)
    assert attempt.status_code == 202 and attempt.succeeded and attempt.error is None
    assert attempt.response_body.startswith("queued xxx") and len(attempt.response_body) == 2048
    assert attempt.url == receiver.url  # the query string (often a token) is not logged
    assert attempt.duration_ms >= 0 and attempt.started_at is not None
    assert receiver.requests[0].path == "/webhooks/avara?token=secret-in-query"


def test_redirects_are_not_followed(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    target = receivers()
    receiver = receivers(lambda _r: (307, {"Location": target.url}, b""))
    tenant = make_tenant(iso, report_url=receiver.url)
    dispatcher(webhook_retry_schedule="0,0.1")
    event_id = enqueue(iso, tenant, sample_report())
    row = wait_status(iso, event_id, "failed")
    assert target.requests == []
    assert [a.status_code for a in attempts(iso, event_id)] == [307, 307]
    assert "redirects are not followed" in row.last_error and "gave up after 2 attempts" in row.last_error


def test_timeouts_and_5xx_are_retried_until_success(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    answers = iter([(500, {}, b"boom"), "sleep", (200, {}, b"ok")])

    def respond(_r: Received) -> Reply:
        answer = next(answers)
        if answer == "sleep":
            time.sleep(6.0)
            return (200, {}, b"too late")
        assert isinstance(answer, tuple)
        return answer

    receiver = receivers(respond)
    tenant = make_tenant(iso, report_url=receiver.url)
    dispatcher(webhook_timeout=2.0)
    event_id = enqueue(iso, tenant, sample_report())
    wait_status(iso, event_id, "succeeded")
    log = attempts(iso, event_id)
    assert [a.status_code for a in log] == [500, None, 200]
    assert log[0].response_body == "boom" and "timed out" in log[1].error
    assert len(set(receiver.ids())) == 1


def test_retry_after_is_honoured(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(lambda _r: (503, {"Retry-After": "3600"}, b"busy"))
    tenant = make_tenant(iso, report_url=receiver.url)
    dispatcher()  # schedule says 0.2 s; the endpoint asks for an hour
    event_id = enqueue(iso, tenant, sample_report())
    row = wait_until(
        lambda: (r := event_row(iso, event_id)).attempt_count == 1 and r.lock_token is None and r
    )
    assert row.status == "pending"
    assert row.next_attempt_at - row.last_attempt_at >= timedelta(seconds=3590)
    assert len(receiver.requests) == 1


def test_retry_schedule_has_jitter_and_gives_up() -> None:
    from autoscribe.config import Settings
    from autoscribe.webhooks.delivery import next_delay, parse_retry_after

    settings = Settings()
    assert settings.webhook_retry_delays == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    delays = [next_delay(2, settings, None) for _ in range(50)]
    assert all(d is not None and 240 <= d <= 360 for d in delays) and len(set(delays)) > 1
    assert next_delay(8, settings, None) is None  # eight attempts in all
    assert next_delay(1, settings, 120.0) == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_refresher_rebuilds_data_before_every_attempt(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    from autoscribe.webhooks import outbox

    calls: list[dict[str, Any]] = []

    def refresh(session: Session, data: dict[str, Any]) -> dict[str, Any]:
        assert isinstance(session, Session)
        calls.append(dict(data))
        return {**data, "presignedUrl": f"https://files.example.test/r.pdf?attempt={len(calls)}"}

    answers = iter([(500, {}, b""), (200, {}, b"")])
    receiver = receivers(lambda _r: next(answers))
    tenant = make_tenant(iso, report_url=receiver.url)
    dispatcher(refreshers={"test.refreshed": outbox.EventRefresher(refresh)})
    stored = sample_report()
    event_id = enqueue(iso, tenant, stored, event_type="test.refreshed")
    wait_status(iso, event_id, "succeeded")
    sent = [e["data"]["presignedUrl"] for e in receiver.events()]
    assert sent == [
        "https://files.example.test/r.pdf?attempt=1",
        "https://files.example.test/r.pdf?attempt=2",
    ]
    assert calls == [stored, stored]  # each refresh starts from the stored data
    assert event_row(iso, event_id).data == stored


def test_events_without_a_usable_endpoint_fail_without_a_request(
    iso: IsoDB, dispatcher: Callable[..., Any]
) -> None:
    from autoscribe.audit.service import Actor
    from autoscribe.auth.models import ApiKey
    from autoscribe.auth.service import revoke_api_key

    no_endpoint = make_tenant(iso, report_url=None, study_url="http://127.0.0.1:9/study")
    revoked = make_tenant(iso, report_url="http://127.0.0.1:9/report")
    with iso.maker() as session:
        revoke_api_key(session, session.get(ApiKey, revoked.api_key_id), actor=Actor.system())
        session.commit()
    dispatcher()
    a = enqueue(iso, no_endpoint, sample_report())
    b = enqueue(iso, revoked, sample_report())
    assert "reportWebhookUrl" in wait_status(iso, a, "failed").last_error
    assert "revoked" in wait_status(iso, b, "failed").last_error
    assert attempts(iso, a)[0].status_code is None


def test_private_targets_are_refused_unless_allowed(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    tenant = make_tenant(iso, report_url=receiver.url)
    dispatcher(webhook_allow_private=False, webhook_retry_schedule="0")
    event_id = enqueue(iso, tenant, sample_report())
    row = wait_status(iso, event_id, "failed")
    assert "refused" in row.last_error and "127.0.0.1" in row.last_error
    assert receiver.requests == []


def test_rollback_writes_no_event(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    from autoscribe.webhooks import outbox

    receiver = receivers()
    tenant = make_tenant(iso, report_url=receiver.url)
    dispatcher()
    with iso.maker() as session:
        dropped = outbox.enqueue(
            session,
            clinic_id=tenant.clinic_id,
            api_key_id=tenant.api_key_id,
            event_type="report.delivered",
            data=sample_report(),
        )
        session.rollback()
    kept = enqueue(iso, tenant, sample_report())
    wait_status(iso, kept, "succeeded")
    assert event_row(iso, dropped) is None and receiver.ids() == [kept]


def test_serve_delivers_with_its_in_process_dispatcher(
    iso: IsoDB, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    tenant = make_tenant(iso, report_url=receiver.url)
    server = start_server(iso.env(AUTOSCRIBE_WEBHOOK_POLL_SECONDS="0.2"), name="serve-webhooks")
    try:
        event_id = enqueue(iso, tenant, sample_report())
        wait_status(iso, event_id, "succeeded")
    finally:
        stop_server(server)
    assert receiver.ids() == [event_id]
    assert attempts(iso, event_id)[0].worker.split(":")[1] == str(server.process.pid)


def test_a_commit_wakes_the_dispatcher_without_waiting_for_a_poll(
    iso: IsoDB,
    dispatcher: Callable[..., Any],
    worker_processes: Callable[..., Any],
    receivers: Callable[..., Receiver],
) -> None:
    # Polling is set to a minute, so only a wake-up can deliver within the wait below: NOTIFY to a
    # separate worker process on PostgreSQL; on SQLite, the writing process's own dispatcher.
    receiver = receivers()
    tenant = make_tenant(iso, report_url=receiver.url)
    if TEST_DB == "postgresql":
        worker_processes(AUTOSCRIBE_WEBHOOK_POLL_SECONDS="60")
    else:
        dispatcher(webhook_poll_seconds=60.0)
    time.sleep(0.5)  # let it finish its first look at the outbox and go idle
    for n in range(3):
        event_id = enqueue(iso, tenant, sample_report(n=n))
        wait_status(iso, event_id, "succeeded", timeout=20)
    assert len(receiver.requests) == 3


def test_synchronous_events_cannot_be_queued(iso: IsoDB) -> None:
    import pytest

    tenant = make_tenant(iso, study_url="http://127.0.0.1:9/study")
    with pytest.raises(ValueError, match="call_sync"):
        enqueue(
            iso, tenant, {"studyId": "stu_" + "0" * 32, "studyInstanceUid": "1.2"}, "study.access_requested"
        )


def test_a_batch_refresher_refreshes_claimed_events_at_once_and_leaves_the_rest_per_attempt(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    from autoscribe.webhooks import outbox

    batches: list[list[int]] = []
    singles: list[int] = []

    def refresh(session: Session, data: dict[str, Any]) -> dict[str, Any]:
        singles.append(data["n"])
        return {**data, "by": "attempt"}

    def refresh_batch(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        assert isinstance(session, Session)
        batches.append([d["n"] for d in items])
        # Even numbers are ready at once; odd ones need the slow per-attempt path.
        return [{**d, "by": "batch"} if d["n"] % 2 == 0 else None for d in items]

    receiver = receivers()
    tenant = make_tenant(iso, report_url=receiver.url)
    ids = [enqueue(iso, tenant, sample_report(n=n), event_type="test.batched") for n in range(6)]
    dispatcher(
        refreshers={"test.batched": outbox.EventRefresher(refresh, batch=refresh_batch)},
        webhook_concurrency=8,
    )
    for event_id in ids:
        wait_status(iso, event_id, "succeeded")
    by = {e["data"]["n"]: e["data"]["by"] for e in receiver.events()}
    assert by == {n: "batch" if n % 2 == 0 else "attempt" for n in range(6)}
    assert sorted(singles) == [1, 3, 5]
    assert sorted(n for batch in batches for n in batch) == list(range(6))
    assert len(batches) < 6  # claimed together, refreshed together


def test_report_delivered_batch_refresher_links_stored_pdfs_and_leaves_the_rest(
    iso: IsoDB,
) -> None:
    """One query for the batch: a signed report with its PDF stored gets a fresh link at once; a
    PDF still to render, a report not signed and an unknown report go to the per-attempt path."""
    import uuid

    from autoscribe.reports.delivery import refresh_report_delivered_batch
    from autoscribe.reports.models import Report
    from autoscribe.reports.pdf import PDF_TYPE, pdf_key_of
    from autoscribe.storage import get_storage
    from autoscribe.studies.models import Study
    from autoscribe.users.models import User

    tenant = make_tenant(iso, report_url="http://127.0.0.1:9/r")
    storage = get_storage()
    with iso.maker() as session:
        reader = User(
            clinic_id=tenant.clinic_id,
            email=f"r-{uuid.uuid4().hex[:6]}@example.test",
            first_name="R",
            last_name="Reader",
        )
        session.add(reader)
        session.flush()
        made = []
        for n, status in enumerate(["completed", "completed", "in_progress"]):
            study = Study(
                clinic_id=tenant.clinic_id,
                study_instance_uid=f"2.25.{uuid.uuid4().int}",
                study_description="CT",
                severity="normal",
                study_report_status="completed",
            )
            session.add(study)
            session.flush()
            report = Report(
                clinic_id=tenant.clinic_id, study_id=study.id, status=status, author_user_id=reader.id
            )
            session.add(report)
            session.flush()
            made.append(report)
            if n == 0:
                storage.put(
                    pdf_key_of(tenant.clinic_id, study.id, report.id), b"%PDF-1.4", content_type=PDF_TYPE
                )
        session.commit()
        # Events carry the study's UID (SDK 0.3.0); older ones are left to the per-attempt path.
        items = [
            {"reportId": f"rep_{r.id.hex}", "studyInstanceUid": "2.25.1", "presignedUrl": "stale"}
            for r in made
        ]
        items.append(
            {"reportId": f"rep_{uuid.uuid4().hex}", "studyInstanceUid": "2.25.1", "presignedUrl": "stale"}
        )
        fresh = refresh_report_delivered_batch(session, items)
    assert fresh[0] is not None and fresh[0]["presignedUrl"] != "stale"
    assert f"rep_{made[0].id.hex}" in fresh[0]["presignedUrl"]
    assert fresh[1:] == [None, None, None]
