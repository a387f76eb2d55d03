"""Driving the report service in-process (the workspace's job in production) for API tests.

The test process and the server share one database, so a report started and signed here is
what the server then lists, renders and delivers.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from avara import Avara
from avara.types.report_delivered_event import ReportDeliveredEvent
from pydantic import ValidationError

from tests.helpers import new_uid, sdk, strict_event

FINDINGS = "Enhancing 2 cm mass in the right frontal lobe with surrounding vasogenic edema."
IMPRESSION = "Right frontal enhancing mass, most likely high-grade glioma. Neurosurgical consult advised."

PATIENT = {
    "patient_name": "Johanna Testpatient",
    "date_of_birth": "1971-04-12",
    "sex": "female",
    "mrn": "MRN-778899",
    "procedure": "MRI Brain with and without contrast",
    "study_date": "2026-11-20",
    "study_time": "09:30",
    "referring_physician_name": "Dr. Alan Referrer",
    "facility_name": "North Campus Imaging",
}


def content(findings: str = FINDINGS, impression: str = IMPRESSION, **extra: Any) -> dict[str, Any]:
    return {
        "clinicalIndication": "Headaches for three weeks.",
        "technique": "Multiplanar multisequence MRI of the brain before and after gadolinium.",
        "comparison": "None.",
        "findings": {
            "text": findings,
            "subsections": [{"heading": "Ventricles", "text": "Normal in size."}],
        },
        "impression": impression,
        **extra,
    }


def create_study(client: Avara, radiologist: str | None, **fields: Any) -> str:
    params: dict[str, Any] = {
        "severity": "normal",
        "study_description": "Brain MRI with Contrast",
        "study_instance_uid": new_uid(),
        "report_metadata": PATIENT,
    }
    if radiologist:
        params["assigned_to"] = radiologist
    params.update(fields)
    return client.auto_scribe.studies.create(**params).study_id


def _uuid(branded: str) -> uuid.UUID:
    return uuid.UUID(hex=branded.split("_", 1)[1])


def study_row(session: Any, study_id: str) -> Any:
    from autoscribe.studies.models import Study

    return session.get(Study, _uuid(study_id), populate_existing=True)


def user_row(session: Any, user_id: str) -> Any:
    from autoscribe.users.models import User

    return session.get(User, _uuid(user_id), populate_existing=True)


def report_row(session: Any, report_id: str) -> Any:
    from autoscribe.reports.models import Report

    return session.get(Report, _uuid(report_id), populate_existing=True)


Maker = Callable[[], Any] | None


@contextmanager
def scope(maker: Maker = None) -> Iterator[Any]:
    """A session on the shared test database, or on another one (maker = its sessionmaker)."""
    if maker is None:
        from autoscribe.db import session_scope

        with session_scope() as session:
            yield session
        return
    session = maker()
    try:
        yield session
        session.commit()
    finally:
        session.close()


def start(study_id: str, user_id: str, maker: Maker = None) -> tuple[str, int]:
    from autoscribe.reports import service

    with scope(maker) as session:
        report = service.start_report(session, study_row(session, study_id), user_row(session, user_id))
        return service.rid(report), report.version


def save(report_id: str, user_id: str, body: dict[str, Any], base_version: int, maker: Maker = None) -> int:
    from autoscribe.reports import service

    with scope(maker) as session:
        report = service.save_draft(
            session, report_row(session, report_id), user_row(session, user_id), body, base_version
        )
        return int(report.version)


def sign(report_id: str, user_id: str, *, is_critical: bool | None = False, maker: Maker = None) -> None:
    from autoscribe.reports import service

    with scope(maker) as session:
        service.sign_report(
            session, report_row(session, report_id), user_row(session, user_id), is_critical=is_critical
        )


def dictate_and_sign(
    study_id: str,
    user_id: str,
    *,
    is_critical: bool = False,
    body: dict[str, Any] | None = None,
    maker: Maker = None,
) -> str:
    report_id, version = start(study_id, user_id, maker)
    save(report_id, user_id, body or content(), version, maker)
    sign(report_id, user_id, is_critical=is_critical, maker=maker)
    return report_id


def pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


@dataclass
class Receiver:
    """The integrator's report endpoint: verifies every request with the official SDK."""

    secret: str = ""
    events: list[ReportDeliveredEvent] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)  # the raw bodies of the accepted events
    invalid: list[str] = field(default_factory=list)  # bodies the SDK's strict model refused
    fail_first: int = 0
    fail_delay: float = 0.0  # seconds a failing answer takes
    url: str = ""

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.attempts.append(json.loads(body))
                if len(receiver.attempts) <= receiver.fail_first:
                    time.sleep(receiver.fail_delay)
                    self.send_response(503)
                    self.end_headers()
                    return
                client = sdk("http://unused", "unused")
                # Verified as the SDK does, then held to the SDK's model in strict mode: a field
                # the platform leaves out or mistypes is a 400 here and a failure in wait().
                client.webhooks.unwrap(body, headers=dict(self.headers), key=receiver.secret)
                try:
                    event = strict_event(body)
                except ValidationError as exc:
                    receiver.invalid.append(str(exc))
                    self.send_response(400)
                    self.end_headers()
                    return
                assert isinstance(event, ReportDeliveredEvent)
                receiver.bodies.append(body)
                receiver.events.append(event)
                reply = b'{"success":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/avara/reports"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, count: int = 1, timeout: float = 60.0) -> list[ReportDeliveredEvent]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.events) < count and not self.invalid:
            time.sleep(0.05)
        assert not self.invalid, f"the SDK's ReportDeliveredEvent refused the body: {self.invalid[0]}"
        assert len(self.events) >= count, f"received {len(self.events)} of {count} events"
        return self.events

    def stop(self) -> None:
        self.httpd.shutdown()
        # Closed, not just stopped: an open listening socket accepts connections nobody answers,
        # and the platform's retries to this endpoint would each hang for the whole timeout.
        self.httpd.server_close()
