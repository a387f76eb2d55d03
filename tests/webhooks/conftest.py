"""Webhook test harness: an isolated database, local receivers, dispatchers and worker processes.

Webhook tests use a database of their own (a second SQLite file, or a second PostgreSQL
database) so that the shared `server` fixture's in-process dispatcher cannot take their events:
which process delivers is exactly what several of these tests are about.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import _DATA_DIR, PG_ADMIN_URL, TEST_DB

REPO = Path(__file__).resolve().parents[2]


# ---- isolated database ---------------------------------------------------------------------------


@dataclass
class IsoDB:
    url: str
    engine: Engine
    maker: sessionmaker[Session]

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["AUTOSCRIBE_DATABASE_URL"] = self.url
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def iso_db(database: str) -> Iterator[IsoDB]:
    from autoscribe.db import make_engine

    name = f"autoscribe_wh_{os.getpid()}_{secrets.token_hex(3)}"
    if TEST_DB == "postgresql":
        import psycopg

        admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{_DATA_DIR / (name + '.db')}"
    env = dict(os.environ, AUTOSCRIBE_DATABASE_URL=url)
    subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", "migrate"], env=env, check=True, capture_output=True
    )
    engine = make_engine(url)
    yield IsoDB(url, engine, sessionmaker(bind=engine, expire_on_commit=False))
    engine.dispose()
    if TEST_DB == "postgresql":
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def iso(iso_db: IsoDB) -> Iterator[IsoDB]:
    """The isolated database; events a test leaves pending are failed afterwards so that they do
    not keep the next test's dispatchers busy."""
    yield iso_db
    from autoscribe.webhooks.models import WebhookEvent

    with iso_db.maker() as session:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.status == "pending")
            .values(status="failed", next_attempt_at=None)
        )
        session.commit()


@dataclass
class Tenant:
    clinic_id: uuid.UUID
    api_key_id: uuid.UUID
    secret: str


def make_tenant(
    iso: IsoDB, *, report_url: str | None = None, study_url: str | None = None, name: str = "Webhook Clinic"
) -> Tenant:
    from autoscribe.audit.service import Actor
    from autoscribe.auth.service import create_api_key
    from autoscribe.clinics.models import Clinic

    with iso.maker() as session:
        clinic = Clinic(name=f"{name} {secrets.token_hex(3)}")
        session.add(clinic)
        session.flush()
        made = create_api_key(
            session,
            clinic_id=clinic.id,
            description="webhook test key",
            study_scope="all",
            user_access="none",
            express_access="none",
            report_webhook_url=report_url,
            study_webhook_url=study_url,
            actor=Actor.system(),
        )
        session.commit()
        return Tenant(clinic.id, made.api_key.id, made.webhook_secret)


def enqueue(iso: IsoDB, tenant: Tenant, data: dict[str, Any], event_type: str = "report.delivered") -> str:
    from autoscribe.webhooks import outbox

    with iso.maker() as session:
        event_id = outbox.enqueue(
            session,
            clinic_id=tenant.clinic_id,
            api_key_id=tenant.api_key_id,
            event_type=event_type,
            data=data,
        )
        session.commit()
    return event_id


def event_row(iso: IsoDB, event_id: str) -> Any:
    from autoscribe.ids import Prefix, parse
    from autoscribe.webhooks.models import WebhookEvent

    with iso.maker() as session:
        return session.get(WebhookEvent, parse(Prefix.WEBHOOK_EVENT, event_id, "eventId"))


def attempts(iso: IsoDB, event_id: str) -> list[Any]:
    from autoscribe.webhooks.service import list_attempts

    with iso.maker() as session:
        return list_attempts(session, event_id)


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_status(iso: IsoDB, event_id: str, status: str, timeout: float = 30.0) -> Any:
    return wait_until(
        lambda: (row := event_row(iso, event_id)) is not None and row.status == status and row,
        timeout,
        f"{event_id} to be {status}",
    )


def sample_report(**extra: Any) -> dict[str, Any]:
    from autoscribe.ids import Prefix, brand, new_id

    return {
        "reportId": brand(Prefix.REPORT, new_id()),
        "studyId": brand(Prefix.STUDY, new_id()),
        "studyInstanceUid": f"2.25.{uuid.uuid4().int}",
        "isCritical": False,
        "plainText": "Patient: Zoë Ångström\nIMPRESSION: Normal study.",
        "presignedUrl": "https://files.example.test/r.pdf?X-Amz-Signature=abc&X-Amz-Expires=3600",
        **extra,
    }


# ---- a programmable local receiver ---------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Receiver:
    """Records every request; `respond(request) -> (status, headers, body)` decides the answer."""

    port: int
    respond: Callable[[Received], Reply] = field(default=lambda _r: (200, {}, b'{"success":true}'))
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    # Bound but not listening until start(): connections are refused, and no other process can
    # take the port in the meantime.
    reserved: socket.socket | None = None

    @classmethod
    def on_free_port(cls) -> Receiver:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        return cls(port=sock.getsockname()[1], reserved=sock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/avara"

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.event for r in self.requests]

    def ids(self) -> list[str]:
        with self.lock:
            return [r.headers.get("webhook-id", "") for r in self.requests]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                event_id = got.headers.get("webhook-id", "")
                with receiver.lock:
                    receiver.requests.append(got)
                    if receiver.in_flight.get(event_id):
                        receiver.overlaps.append(event_id)
                    receiver.in_flight[event_id] = receiver.in_flight.get(event_id, 0) + 1
                try:
                    status, headers, payload = receiver.respond(got)
                finally:
                    with receiver.lock:
                        receiver.in_flight[event_id] -= 1
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout, killed worker)

            do_GET = do_POST

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that go away mid-request (killed workers, timeouts) are expected

        if self.reserved is not None:
            self.server = Server(("127.0.0.1", self.port), Handler, bind_and_activate=False)
            self.server.socket.close()
            self.server.socket, self.reserved = self.reserved, None
            self.server.server_activate()  # listen
        else:
            self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.reserved is not None:
            self.reserved.close()
            self.reserved = None
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(
        respond: Callable[[Received], Reply] | None = None, port: int | None = None, start: bool = True
    ) -> Receiver:
        receiver = Receiver(port) if port else Receiver.on_free_port()
        if respond is not None:
            receiver.respond = respond
        made.append(receiver)
        return receiver.start() if start else receiver

    yield make
    for receiver in made:
        receiver.stop()


# ---- dispatchers ---------------------------------------------------------------------------------


def fast_settings(**overrides: Any) -> Any:
    """Settings with a short retry schedule, for dispatchers run inside the test process."""
    from autoscribe.config import Settings

    values: dict[str, Any] = {
        "webhook_retry_schedule": "0,0.2,0.2,0.2,0.2",
        "webhook_retry_jitter": 0.0,
        "webhook_timeout": 5.0,
        "webhook_poll_seconds": 0.1,
        "webhook_concurrency": 4,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def dispatcher(iso: IsoDB) -> Iterator[Callable[..., Any]]:
    from autoscribe.webhooks.dispatcher import Dispatcher

    started: list[Dispatcher] = []

    def start(refreshers: dict[str, Any] | None = None, **overrides: Any) -> Dispatcher:
        d = Dispatcher(maker=iso.maker, settings=fast_settings(**overrides), refreshers=refreshers)
        d.start()
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop(timeout=1.0)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker_processes(iso: IsoDB) -> Iterator[Callable[..., WorkerProcess]]:
    """`autoscribe worker` processes on the isolated database."""
    started: list[WorkerProcess] = []

    def start(concurrency: int = 4, **env: str) -> WorkerProcess:
        log_path = _DATA_DIR / f"worker-{secrets.token_hex(3)}.log"
        defaults = {
            "AUTOSCRIBE_WEBHOOK_RETRY_SCHEDULE": "0,0.2,0.2,0.2,0.2",
            "AUTOSCRIBE_WEBHOOK_RETRY_JITTER": "0",
            "AUTOSCRIBE_WEBHOOK_POLL_SECONDS": "0.1",
        }
        full_env = iso.env(**{**defaults, **env})
        proc = subprocess.Popen(
            [sys.executable, "-m", "autoscribe.cli", "worker", "--concurrency", str(concurrency)],
            env=full_env,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wp = WorkerProcess(proc, log_path)
        started.append(wp)
        wait_until(lambda: "running" in wp.log() or proc.poll() is not None, 30, "worker to start")
        assert proc.poll() is None, wp.log()
        return wp

    yield start
    for wp in started:
        if wp.process.poll() is None:
            wp.process.terminate()
            try:
                wp.process.wait(10)
            except subprocess.TimeoutExpired:
                wp.process.kill()


def worker_names(iso: IsoDB, event_ids: list[str]) -> set[str]:
    from autoscribe.ids import Prefix, parse
    from autoscribe.webhooks.models import WebhookAttempt

    uuids = [parse(Prefix.WEBHOOK_EVENT, e, "eventId") for e in event_ids]
    with iso.maker() as session:
        names: set[str] = set()
        for chunk in range(0, len(uuids), 500):
            names.update(
                n
                for n in session.scalars(
                    select(WebhookAttempt.worker).where(
                        WebhookAttempt.event_id.in_(uuids[chunk : chunk + 500])
                    )
                )
                if n
            )
        return names


def tls_contexts(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context whose certificate names `name`, from a test CA, and a client trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def cert(subject: str, key: Any, issuer: Any, issuer_key: Any, ca: bool) -> Any:
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AutoScribe test CA")])
    ca_cert = cert("AutoScribe test CA", ca_key, ca_name, ca_key, True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = cert(name, leaf_key, ca_name, ca_key, False)
    cert_path, key_path = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.create_default_context(cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    return server_ctx, client_ctx
