"""Behind a reverse proxy (README "Reverse proxy"): `autoscribe serve` believes X-Forwarded-For
from the addresses in FORWARDED_ALLOW_IPS only, so the audit log (and sign-in throttling) sees
the client's address through the proxy, and nobody else can claim one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import ClinicFixture, Server, start_server, stop_server
from tests.helpers import sdk, study_body, web_client

PROXY = "127.0.0.7"


@pytest.fixture(scope="module")
def behind_proxy(database: str) -> Iterator[Server]:
    srv = start_server({"FORWARDED_ALLOW_IPS": PROXY}, name="behind-proxy")
    yield srv
    stop_server(srv)


def _read_from(server: Server, clinic: ClinicFixture, study_id: str, source: str, forwarded: str) -> str:
    """Read the study from `source` with this X-Forwarded-For; the address the audit log recorded."""
    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    client: httpx.Client = web_client(server.url, local_address=source)
    answer = client.get(
        f"/v1/autoScribe/studies/{study_id}",
        headers={"Authorization": f"Bearer {clinic.api_key}", "X-Forwarded-For": forwarded},
    )
    assert answer.status_code == 200, answer.text
    with session_scope() as session:
        row = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.clinic_id == uuid.UUID(clinic.clinic_id), AuditEvent.action.like("read%"))
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(1)
        ).one()
        return str(row.address)


def test_the_proxy_is_believed_and_nobody_else(behind_proxy: Server, clinic: ClinicFixture) -> None:
    study_id = sdk(behind_proxy.url, clinic.api_key).auto_scribe.studies.create(**study_body()).study_id
    # Through the proxy: the client's address, as the proxy saw it.
    assert _read_from(behind_proxy, clinic, study_id, PROXY, "203.0.113.50") == "203.0.113.50"
    # A client that sent its own X-Forwarded-For through a proxy that appends: the proxy's entry
    # (the rightmost one not from a trusted proxy) counts, not the client's claim.
    assert _read_from(behind_proxy, clinic, study_id, PROXY, "10.9.9.9, 203.0.113.51") == "203.0.113.51"
    # Straight to the server, not through the proxy: the header is ignored.
    assert _read_from(behind_proxy, clinic, study_id, "127.0.0.8", "198.51.100.66") == "127.0.0.8"
