"""The DIMSE listener: `autoscribe dicom serve`. One process for every clinic.

- An association is routed by its called AE title to the clinic that has it; unknown called AE
  titles are rejected at association ("called AE title not recognised"), and so are peers outside
  the clinic's optional allow-lists ("calling AE title not recognised").
- Verification (C-ECHO).
- Storage (C-STORE) of every storage SOP class, in uncompressed, JPEG baseline/extended/lossless,
  JPEG-LS, JPEG 2000 and RLE transfer syntaxes; the data set is kept as received (file meta and
  bytes exactly as sent) in the storage backend and indexed (dicom.service.store_instance).
- Modality Worklist C-FIND (dicom.worklist).
- A loop seeds the studies that have gone idle (dicom.service.finalize_idle_studies).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from pydicom import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.transport import ThreadedAssociationServer

from autoscribe.clinics.models import Clinic
from autoscribe.config import get_settings
from autoscribe.db import get_sessionmaker, session_scope
from autoscribe.dicom import service
from autoscribe.dicom.syntaxes import (
    MODALITY_WORKLIST_FIND,
    STORAGE_TRANSFER_SYNTAXES,
    UNCOMPRESSED,
    VERIFICATION,
)
from autoscribe.dicom.worklist import query_worklist
from autoscribe.errors import APIError
from autoscribe.storage import StorageError

log = logging.getLogger("autoscribe.dicom")

# What the listener answers to the A-ASSOCIATE-RQ's called AE title when it routes; its own title
# only matters for peers that check it, so each association answers with the title it was called by.
DEFAULT_AE_TITLE = "AUTOSCRIBE"

# C-STORE statuses (PS3.4 B.2.3).
STORE_OK = 0x0000
STORE_OUT_OF_RESOURCES = 0xA700
STORE_CANNOT_UNDERSTAND = 0xC000
STORE_REFUSED = 0xC001


@dataclass(frozen=True)
class Peer:
    """Who is on the other end of an association, and for which clinic."""

    clinic_id: Any
    called_ae: str
    calling_ae: str
    address: str | None


def _peer(event: evt.Event) -> Peer | None:
    return getattr(event.assoc, "autoscribe_peer", None)


def _reject(assoc: Any, result: int, source: int, diagnostic: int) -> None:
    """Send A-ASSOCIATE-RJ and wait until it has gone out (as pynetdicom's own rejections do):
    closing the connection first would look like an abort to the peer."""
    assoc.acse.send_reject(result, source, diagnostic)
    assoc.kill()


def on_requested(event: evt.Event) -> None:
    """EVT_REQUESTED: route by called AE title, or reject before negotiation."""
    assoc = event.assoc
    request: Any = assoc.requestor.primitive
    called = str(getattr(request, "called_ae_title", "") or "").strip()
    calling = str(getattr(request, "calling_ae_title", "") or "").strip()
    address = assoc.requestor.address
    try:
        with session_scope() as session:
            clinic = service.clinic_for_ae_title(session, called)
            allowed = clinic is not None and service.peer_allowed(clinic, calling, address)
            clinic_id = clinic.id if clinic is not None else None
    except Exception:
        log.exception("association from %s (%s): could not look up %r", calling, address, called)
        _reject(assoc, 0x02, 0x01, 0x01)  # transient, no reason given
        return
    if clinic_id is None:
        log.warning("rejected association from %s (%s): unknown called AE title %r", calling, address, called)
        _reject(assoc, 0x01, 0x01, 0x07)  # permanent, called AE title not recognised
        return
    if not allowed:
        log.warning(
            "rejected association from %s (%s) to %r: not on the clinic's allow-list",
            calling,
            address,
            called,
        )
        _reject(assoc, 0x01, 0x01, 0x03)  # permanent, calling AE title not recognised
        return
    setattr(assoc, "autoscribe_peer", Peer(clinic_id, called, calling, address))  # noqa: B010
    _no_delay(assoc)
    assoc.acceptor.ae_title = called


def _no_delay(assoc: Any) -> None:
    """Small responses (C-STORE-RSP, C-FIND matches) go out at once instead of waiting for the
    peer's delayed ACK (Nagle), which costs up to 40 ms per message on some peers."""
    with contextlib.suppress(AttributeError, OSError):
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def on_echo(event: evt.Event) -> int:
    return 0x0000


def on_store(event: evt.Event) -> int | Dataset:
    peer = _peer(event)
    if peer is None:
        return STORE_REFUSED
    try:
        data = event.encoded_dataset(include_meta=True)
        with session_scope() as session:
            service.store_instance(
                session,
                peer.clinic_id,
                data,
                source="dimse",
                calling_ae=peer.calling_ae,
                address=peer.address,
            )
    except APIError as exc:
        log.warning("C-STORE from %s refused: %s", peer.calling_ae, exc.message)
        status = Dataset()
        status.Status = STORE_CANNOT_UNDERSTAND
        status.ErrorComment = exc.message[:64]
        return status
    except StorageError as exc:
        log.error("C-STORE from %s: storage failed: %s", peer.calling_ae, exc)
        return STORE_OUT_OF_RESOURCES
    except Exception:
        log.exception("C-STORE from %s failed", peer.calling_ae)
        return STORE_OUT_OF_RESOURCES
    return STORE_OK


def on_find(event: evt.Event) -> Any:

    peer = _peer(event)
    if peer is None:
        yield 0xC000, None
        return
    if event.request.AffectedSOPClassUID != MODALITY_WORKLIST_FIND:
        yield 0xC000, None
        return
    try:
        query = event.identifier
    except Exception:
        yield 0xA900, None  # identifier does not match SOP class
        return
    session = get_sessionmaker()()
    try:
        clinic = session.get(Clinic, peer.clinic_id)
        if clinic is None:
            yield 0xC000, None
            return
        outcome = query_worklist(session, clinic, query, calling_ae=peer.calling_ae, address=peer.address)
    finally:
        session.close()
    if outcome.failure is not None:
        code, comment = outcome.failure
        status = Dataset()
        status.Status = code
        status.ErrorComment = comment[:64]
        yield status, None
        return
    for item in outcome.datasets:
        if event.is_cancelled:
            yield 0xFE00, None
            return
        yield 0xFF00, item


HANDLERS: list[Any] = [
    (evt.EVT_REQUESTED, on_requested),
    (evt.EVT_C_ECHO, on_echo),
    (evt.EVT_C_STORE, on_store),
    (evt.EVT_C_FIND, on_find),
]


def make_ae(ae_title: str = DEFAULT_AE_TITLE) -> AE:
    ae = AE(ae_title=ae_title)
    ae.maximum_associations = 64
    ae.maximum_pdu_size = 0  # no limit on what peers send us
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    ae.network_timeout = 120
    for context in AllStoragePresentationContexts:
        if context.abstract_syntax is not None:
            ae.add_supported_context(context.abstract_syntax, list(STORAGE_TRANSFER_SYNTAXES))
    ae.add_supported_context(VERIFICATION, list(UNCOMPRESSED))
    ae.add_supported_context(MODALITY_WORKLIST_FIND, list(UNCOMPRESSED))
    return ae


class IdleSeeder(threading.Thread):
    """Every few seconds, seed the studies that have gone idle. A study whose seeding failed is
    tried again after 10 s, then 20 s, ... up to 10 minutes (not at every tick: each try calls the
    integrator's webhook)."""

    MAX_BACKOFF = 600.0

    def __init__(self, interval: float | None = None) -> None:
        super().__init__(name="dicom-idle-seeder", daemon=True)
        idle = get_settings().dicom_study_idle_seconds
        self.interval = interval if interval is not None else max(0.2, min(5.0, idle / 4))
        self.stopping = threading.Event()
        self.backoff: dict[tuple[Any, str], tuple[float, float]] = {}  # -> (retry at, delay)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        skip = frozenset(key for key, (at, _delay) in self.backoff.items() if at > now)
        session = get_sessionmaker()()
        try:
            for result in service.finalize_idle_studies(session, skip=skip):
                key = (result.clinic_id, result.study_instance_uid)
                if result.error:
                    delay = min(self.MAX_BACKOFF, 2 * self.backoff.get(key, (0.0, 5.0))[1])
                    self.backoff[key] = (time.monotonic() + delay, delay)
                    log.warning("seeding %s failed (next try in %.0f s): %s", key[1], delay, result.error)
                else:
                    self.backoff.pop(key, None)
        except Exception:
            log.exception("idle study check failed")
        finally:
            session.close()

    def stop(self) -> None:
        self.stopping.set()


class Listener:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.ae = make_ae()
        self.server: ThreadedAssociationServer | None = None
        self.seeder = IdleSeeder()

    def start(self) -> Listener:
        server = self.ae.start_server((self.host, self.port), block=False, evt_handlers=HANDLERS)
        assert server is not None
        self.server = server
        self.port = int(server.server_address[1])
        self.seeder.start()
        return self

    def stop(self) -> None:
        self.seeder.stop()
        if self.server is not None:
            self.server.shutdown()
            self.server = None
