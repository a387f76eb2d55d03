"""End to end over real HTTP: a study created with the SDK is read, signed, rendered, stored and
delivered as a verified report.delivered webhook whose link downloads the PDF.

Both storage backends: the local directory (the shared server) and an S3 bucket (moto on
loopback, served by a second server on a database of its own, so that only its dispatcher
delivers those events).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from avara.types import ReportDeliveredEvent

from tests.conftest import _DATA_DIR, PG_ADMIN_URL, TEST_DB, ClinicFixture, Server, start_server, stop_server
from tests.helpers import make_key, make_user, new_uid, sdk
from tests.reporting import FINDINGS, IMPRESSION, Receiver, create_study, dictate_and_sign, pdf_text
from tests.s3 import MotoS3, start_moto

NPI = "1245319599"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.start()
    yield rec
    rec.stop()


def _check_pdf(url: str, *, patient: str = "Johanna Testpatient") -> None:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    assert patient in text
    assert "right frontal lobe" in text  # findings
    assert "high-grade glioma" in text  # impression
    assert f"NPI {NPI}" in text


def test_signed_report_is_delivered_with_a_working_pdf_link(
    server: Server, clinic: ClinicFixture, receiver: Receiver
) -> None:
    key = make_key(clinic.clinic_id, report_webhook_url=receiver.url)
    receiver.secret = key.webhook_secret
    client = sdk(server.url, key.api_key)
    rad = make_user(clinic.clinic_id, first_name="Nora", last_name="Npi", npi=NPI)
    study_id = create_study(client, rad)

    report_id = dictate_and_sign(study_id, rad, is_critical=True)

    event = receiver.wait()[0]
    assert event.type == "report.delivered" and event.id.startswith("whe_")
    data = event.data
    assert (data.report_id, data.study_id, data.is_critical) == (report_id, study_id, True)
    assert data.plain_text is not None and FINDINGS in data.plain_text and IMPRESSION in data.plain_text
    assert data.presigned_url.startswith(server.url + "/files/")
    _check_pdf(data.presigned_url)

    # The link lasts one hour; an expired one is refused.
    expires = int(parse_qs(urlsplit(data.presigned_url).query)["expires"][0])
    assert 3500 < expires - time.time() <= 3600
    from autoscribe.config import get_settings
    from autoscribe.storage.local import LocalStorage

    key_path = urlsplit(data.presigned_url).path.removeprefix("/files/")
    expired = LocalStorage(get_settings().effective_storage_dir, server.url).presign(key_path, expires_in=-1)
    refused = httpx.get(expired)
    assert refused.status_code == 403 and "expired" in refused.json()["error"]["message"]

    # Delivered once: the first attempt succeeded.
    assert len(receiver.attempts) == 1


def test_a_real_signing_matches_the_sdk_event_model_in_strict_mode(
    server: Server, clinic: ClinicFixture, receiver: Receiver
) -> None:
    """SDK 0.3.0's ReportDeliveredEventData requires studyInstanceUid and has externalPatientId:
    the event of a real signing (not the send-test sample) validates with it, in strict mode."""
    key = make_key(clinic.clinic_id, report_webhook_url=receiver.url)
    receiver.secret = key.webhook_secret
    client = sdk(server.url, key.api_key)
    rad = make_user(clinic.clinic_id, npi=NPI)
    uid = new_uid()
    with_patient = create_study(client, rad, study_instance_uid=uid, external_patient_id="PAT-0042")
    without_patient = create_study(client, rad)
    first = dictate_and_sign(with_patient, rad, is_critical=True)
    receiver.wait(1)
    second = dictate_and_sign(without_patient, rad)
    receiver.wait(2)

    event = ReportDeliveredEvent.model_validate_json(receiver.bodies[0], strict=True)
    assert (event.data.report_id, event.data.study_id) == (first, with_patient)
    assert (event.data.study_instance_uid, event.data.external_patient_id) == (uid, "PAT-0042")
    assert event.data.is_critical is True and event.data.plain_text

    other = ReportDeliveredEvent.model_validate_json(receiver.bodies[1], strict=True)
    assert other.data.report_id == second
    other_uid = client.auto_scribe.studies.retrieve(without_patient).study_instance_uid
    assert other.data.study_instance_uid == other_uid
    # Unknown is absent, not null.
    assert "externalPatientId" not in json.loads(receiver.bodies[1])["data"]


def test_addenda_are_delivered_too(server: Server, clinic: ClinicFixture, receiver: Receiver) -> None:
    key = make_key(clinic.clinic_id, report_webhook_url=receiver.url)
    receiver.secret = key.webhook_secret
    client = sdk(server.url, key.api_key)
    rad = make_user(clinic.clinic_id, npi=NPI)
    study_id = create_study(client, rad)
    original = dictate_and_sign(study_id, rad)
    receiver.wait(1)
    client.auto_scribe.reports.addendum(original)
    addendum = dictate_and_sign(
        study_id, rad, body={"findings": "Addendum: lesion measured 2.1 cm on review."}
    )
    events = receiver.wait(2)
    assert [e.data.report_id for e in events] == [original, addendum]
    assert events[1].data.plain_text is not None and events[1].data.plain_text.startswith("ADDENDUM")
    text = pdf_text(httpx.get(events[1].data.presigned_url).content)
    assert "2.1 cm" in text and "high-grade glioma" in text


def test_dashboard_studies_go_to_every_all_scope_key(server: Server, clinic: ClinicFixture) -> None:
    receivers = [Receiver(), Receiver(), Receiver()]
    for rec in receivers:
        rec.start()
    try:
        keys = [
            make_key(clinic.clinic_id, report_webhook_url=receivers[0].url, study_scope="all"),
            make_key(clinic.clinic_id, report_webhook_url=receivers[1].url, study_scope="all"),
            make_key(clinic.clinic_id, report_webhook_url=receivers[2].url, study_scope="self"),
        ]
        for rec, key in zip(receivers, keys, strict=True):
            rec.secret = key.webhook_secret
        rad = make_user(clinic.clinic_id, npi=NPI)
        study_id = create_study(sdk(server.url, keys[0].api_key), rad)
        from tests.reporting import scope, study_row

        with scope() as session:  # as if created in the dashboard: no creating key
            study_row(session, study_id).created_by_api_key_id = None
        report_id = dictate_and_sign(study_id, rad)
        for rec in receivers[:2]:
            assert rec.wait(1)[0].data.report_id == report_id
        # The events were written with the signature: one per "all" key, none for the "self" key.
        from sqlalchemy import select

        from autoscribe.webhooks.models import WebhookEvent

        with scope() as session:
            targets = session.scalars(
                select(WebhookEvent.api_key_id).where(
                    WebhookEvent.event_type == "report.delivered",
                    WebhookEvent.data["reportId"].as_string() == report_id,
                )
            ).all()
        assert sorted(str(t) for t in targets) == sorted(k.api_key_id for k in keys[:2])
        assert receivers[2].attempts == []
    finally:
        for rec in receivers:
            rec.stop()


# ---- the same over S3 ------------------------------------------------------------------------------


@dataclass
class S3Stack:
    server: Server
    moto: MotoS3
    maker: Any
    clinic_id: uuid.UUID


@pytest.fixture(scope="module")
def s3_stack(database: str) -> Iterator[S3Stack]:
    """A server storing files in moto's S3, on a database of its own, delivering retries fast."""
    from sqlalchemy.orm import sessionmaker

    from autoscribe.db import make_engine

    name = f"autoscribe_s3_{os.getpid()}_{secrets.token_hex(3)}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    if TEST_DB == "postgresql":
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{_DATA_DIR / (name + '.db')}"
    env = dict(os.environ, AUTOSCRIBE_DATABASE_URL=url)
    subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", "migrate"], env=env, check=True, capture_output=True
    )
    moto = start_moto()
    srv = start_server(
        {**moto.env, "AUTOSCRIBE_DATABASE_URL": url, "AUTOSCRIBE_WEBHOOK_RETRY_SCHEDULE": "0,1,1"}, name="s3"
    )
    engine = make_engine(url)
    maker = sessionmaker(bind=engine, expire_on_commit=False)
    from autoscribe.clinics.models import Clinic

    with maker() as session:
        clinic = Clinic(name="S3 Imaging Partners")
        session.add(clinic)
        session.commit()
        clinic_id = clinic.id
    yield S3Stack(srv, moto, maker, clinic_id)
    stop_server(srv)
    engine.dispose()
    moto.server.stop()
    if TEST_DB == "postgresql":
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _s3_key_and_user(stack: S3Stack, report_url: str) -> tuple[str, str, str]:
    from autoscribe.audit.service import Actor
    from autoscribe.auth.service import create_api_key
    from autoscribe.users.models import User

    with stack.maker() as session:
        made = create_api_key(
            session,
            clinic_id=stack.clinic_id,
            description="S3 integration",
            study_scope="all",
            user_access="none",
            express_access="none",
            report_webhook_url=report_url,
            actor=Actor.system(),
        )
        user = User(
            clinic_id=stack.clinic_id,
            email=f"rad-{secrets.token_hex(3)}@example.test",
            first_name="Sam",
            last_name="Threes",
            suffix1="MD",
            clinic_role="Radiologist",
            can_create_reports=True,
            npi_number=NPI,
            has_dashboard_access=True,
        )
        session.add(user)
        session.commit()
        return made.plaintext_key, made.webhook_secret, f"usr_{user.id.hex}"


def test_delivery_with_the_s3_backend_and_a_fresh_link_per_attempt(
    s3_stack: S3Stack, receiver: Receiver
) -> None:
    api_key, secret, rad = _s3_key_and_user(s3_stack, receiver.url)
    receiver.secret = secret
    receiver.fail_first = 1  # the first attempt fails; the retry must carry a new link
    # Links are signed to the second: the retry comes in a later second than the first attempt.
    receiver.fail_delay = 1.1
    client = sdk(s3_stack.server.url, api_key)
    study_id = create_study(client, rad)

    report_id = dictate_and_sign(study_id, rad, maker=s3_stack.maker)

    event = receiver.wait(timeout=60)[0]
    assert event.data.report_id == report_id and event.data.study_id == study_id
    first, second = receiver.attempts[0]["data"]["presignedUrl"], event.data.presigned_url
    assert first != second
    for url in (first, second):
        parts = urlsplit(url)
        assert url.startswith(s3_stack.moto.endpoint_url + "/autoscribe-test/tenant-files/reports/")
        assert parse_qs(parts.query)["X-Amz-Expires"] == ["3600"]
    _check_pdf(second)
    # The API hands out links into the same bucket.
    pdf = client.auto_scribe.reports.pdf(report_id=report_id)
    assert pdf.presigned_url.startswith(s3_stack.moto.endpoint_url)
    _check_pdf(pdf.presigned_url)
    # The PDF lives in the bucket.
    assert s3_stack.moto.storage().exists(urlsplit(second).path.split("/tenant-files/", 1)[1])
