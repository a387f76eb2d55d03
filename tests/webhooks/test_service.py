"""The delivery log as the dashboard will read it: events per clinic, attempts, purge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from autoscribe.errors import InvalidRequest, NotFound
from tests.webhooks.conftest import (
    IsoDB,
    Receiver,
    enqueue,
    event_row,
    make_tenant,
    sample_report,
    wait_status,
)


def test_events_attempts_and_purge(
    iso: IsoDB, dispatcher: Callable[..., Any], receivers: Callable[..., Receiver]
) -> None:
    from autoscribe.webhooks import service

    ok = receivers()
    down = receivers(lambda _r: (500, {}, b"nope"))
    tenant = make_tenant(iso, report_url=ok.url)
    failing = make_tenant(iso, report_url=down.url)
    running = dispatcher(webhook_retry_schedule="0")
    delivered = [enqueue(iso, tenant, sample_report(n=n)) for n in range(3)]
    failed = enqueue(iso, failing, sample_report())
    for event_id in delivered:
        wait_status(iso, event_id, "succeeded")
    wait_status(iso, failed, "failed")

    with iso.maker() as session:
        page = service.list_events(session, clinic_id=tenant.clinic_id, limit=2)
        assert [e.id.hex for e in page.items] == [d[4:] for d in reversed(delivered)][:2] and page.has_more
        rest = service.list_events(session, clinic_id=tenant.clinic_id, limit=2, cursor=page.cursor)
        assert [e.id.hex for e in rest.items] == [delivered[0][4:]] and not rest.has_more
        # Tenancy: another clinic's event is not found through this clinic.
        assert service.list_events(session, clinic_id=tenant.clinic_id, status="failed").items == []
        with pytest.raises(NotFound):
            service.get_event(session, failed, clinic_id=tenant.clinic_id)
        with pytest.raises(InvalidRequest):
            service.list_events(session, clinic_id=tenant.clinic_id, status="lost")

        view = service.event_view(service.get_event(session, failed, clinic_id=failing.clinic_id))
        dumped = view.model_dump(mode="json")
        assert dumped["id"] == failed and dumped["status"] == "failed" and dumped["nextAttemptAt"] is None
        assert dumped["lastStatusCode"] == 500 and "gave up after 1 attempts" in dumped["lastError"]
        [attempt] = [
            service.attempt_view(a).model_dump(mode="json") for a in service.list_attempts(session, failed)
        ]
        assert attempt["statusCode"] == 500 and attempt["responseBody"] == "nope"
        assert attempt["startedAt"].endswith("Z") and attempt["url"] == down.url

        running.stop()
        pending = enqueue(iso, failing, sample_report())  # no dispatcher runs: it stays pending
        purged = service.purge(session, older_than=timedelta(0))
        session.commit()  # the caller's transaction (the CLI's, in production)
    assert purged >= 4
    assert event_row(iso, delivered[0]) is None and event_row(iso, failed) is None
    assert event_row(iso, pending) is not None
