"""A fake PACS for tests and benchmarks: synthetic DICOM studies behind HMAC-signed, expiring URLs.

It plays the integrator's side of the viewer contract (integration guide, "Temporary access
views"; API reference 7.2):

- answers ``study.access_requested`` (and ``ephemeral.access_requested``) webhooks, verifying
  ``X-Avara-Signature`` / ``X-Avara-Timestamp`` exactly as the guide's Flask sample does
  (HMAC-SHA256, key = the whole ``whsec_...`` string, message = timestamp + raw body, hex);
- returns ``{"authorized": true, "urls": [...], "manifest": {...}}`` for a known study, or
  ``{"authorized": false, "error": "Study not found in PACS"}``;
- serves the DICOM files at presigned URLs (``?expires=<unix s>&signature=<hex>``) with CORS
  headers, since the browser fetches them cross-origin from the workspace page;
- has knobs for error tests: per-file failures (HTTP status, broken bytes, hang), delays, a forced
  webhook status or body; and logs every request.

Usage::

    pacs = FakePacs.start(secret=clinic.webhook_secret)      # threaded, free loopback port
    study = pacs.add_study(series=[ct_series(60), mr_series(20)])
    # point the API key's study webhook at pacs.webhook_url, open the workspace, ...
    pacs.fail(study.series[0].instances[0].sop_instance_uid, 403)
    pacs.stop()

Synthetic series builders: ``ct_series`` (16-bit signed, rescale -1024, padding -2000 outside the
field of view), ``mr_series`` (16-bit unsigned, implicit VR, no window in the file),
``mono8_series`` (8-bit MONOCHROME1 or 2, same pixels for both), ``rgb_series`` (planar
configuration 0 or 1), ``compressed_series`` (JPEG Baseline transfer syntax, not decodable here).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

NOT_FOUND_ERROR = "Study not found in PACS"

# ---- synthetic DICOM ------------------------------------------------------------------------------


@dataclass
class Instance:
    """One DICOM file. ``info`` holds the manifest fields (reference 7.2) for this SOP."""

    sop_instance_uid: str
    instance_number: int
    data: bytes
    info: dict[str, Any]


@dataclass
class Series:
    series_instance_uid: str
    modality: str
    description: str
    number: int
    instances: list[Instance]

    def manifest(self) -> dict[str, Any]:
        return {
            "modality": self.modality,
            "seriesDescription": self.description,
            "seriesInstanceUID": self.series_instance_uid,
            "seriesNumber": self.number,
            "sops": [inst.info for inst in self.instances],
        }


@dataclass
class Study:
    study_instance_uid: str
    series: list[Series]
    with_manifest: bool = True
    authorized: bool = True
    error: str | None = None
    retrieval_id: str | None = None
    shuffle_urls: bool = False
    media_urls: list[dict[str, str]] = field(default_factory=list)

    def instances(self) -> Iterator[tuple[Series, Instance]]:
        for s in self.series:
            for inst in s.instances:
                yield s, inst

    def manifest(self) -> dict[str, Any]:
        return {"studyInstanceUID": self.study_instance_uid, "series": [s.manifest() for s in self.series]}


def _file_bytes(
    *,
    sop_class: str,
    sop_uid: str,
    series_uid: str,
    modality: str,
    description: str,
    series_number: int,
    instance_number: int,
    pixels: np.ndarray,
    photometric: str,
    transfer_syntax: str = ExplicitVRLittleEndian,
    extra: dict[str, Any] | None = None,
    slice_z: float | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """A Part 10 file with the given pixels (rows x cols, or rows x cols x 3 for colour)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = "1.2.3"  # replaced per study in FakePacs.add_study
    ds.SeriesInstanceUID = series_uid
    ds.Modality = modality
    ds.SeriesDescription = description
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.PatientName = "Synthetic^Phantom"
    ds.PatientID = "FAKE-0001"
    colour = pixels.ndim == 3
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.PixelSpacing = [0.7, 0.7]
    if slice_z is not None:
        ds.ImagePositionPatient = [0.0, 0.0, slice_z]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    if transfer_syntax == JPEGBaseline8Bit:
        # Not a real JPEG stream: the viewer must refuse the syntax before touching the bytes.
        ds.PixelData = encapsulate([b"\xff\xd8\xff\xdb" + bytes(64) + b"\xff\xd9"])
    else:
        ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True, implicit_vr=transfer_syntax == ImplicitVRLittleEndian)
    info: dict[str, Any] = {
        "sopClassUID": sop_class,
        "sopInstanceUID": sop_uid,
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "bitsAllocated": bits,
        "bitsStored": bits,
        "highBit": bits - 1,
        "photometricInterpretation": photometric,
        "samplesPerPixel": int(ds.SamplesPerPixel),
        "pixelRepresentation": int(ds.PixelRepresentation),
        "instanceNumber": instance_number,
        "numberOfFrames": 1,
    }
    if "RescaleSlope" in ds:
        info["rescaleSlope"] = float(ds.RescaleSlope)
        info["rescaleIntercept"] = float(ds.RescaleIntercept)
    return buf.getvalue(), info


def ct_phantom_hu(index: int, size: int) -> np.ndarray:
    """Hounsfield units of a body phantom for one slice; pixels outside the field of view are NaN."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2
    r = np.hypot(xx - c, yy - c) / (size / 2)
    hu = np.full((size, size), -1000.0, dtype=np.float32)
    body = ((xx - c) / (0.82 * c)) ** 2 + ((yy - c) / (0.62 * c)) ** 2 <= 1
    hu[body] = 40.0
    for side in (-1, 1):
        lung = ((xx - c - side * 0.38 * c) / (0.26 * c)) ** 2 + ((yy - c + 0.05 * c) / (0.38 * c)) ** 2 <= 1
        hu[lung] = -850.0
    spine = np.hypot(xx - c, yy - (c + 0.42 * c)) <= 0.1 * c
    hu[spine] = 700.0
    # A lesion whose size changes along the series, and a bar whose length is the slice index:
    # every slice differs from its neighbours, and a person can see which slice is shown.
    lesion = np.hypot(xx - c, yy - (c - 0.3 * c)) <= (0.04 + 0.08 * abs(np.sin(index / 7.0))) * c
    hu[lesion] = 90.0
    bar_len = 2 + index % max(1, size // 2)
    hu[int(0.22 * size) : int(0.22 * size) + 2, int(c - size // 4) : int(c - size // 4) + bar_len] = 1000.0
    hu[r > 1.0] = np.nan
    return hu


def ct_series(
    slices: int = 60,
    size: int = 128,
    *,
    description: str = "CT Chest w/o contrast",
    number: int = 2,
    window: tuple[float, float] | None = (40, 400),
    series_uid: str | None = None,
) -> Series:
    """16-bit signed CT, RescaleIntercept -1024, stored -2000 outside the field of view."""
    series_uid = series_uid or generate_uid()
    instances = []
    for k in range(slices):
        hu = ct_phantom_hu(k, size)
        stored = np.where(np.isnan(hu), -2000, hu + 1024).astype(np.int16)
        extra: dict[str, Any] = {"RescaleIntercept": -1024, "RescaleSlope": 1, "RescaleType": "HU"}
        if window:
            extra["WindowCenter"], extra["WindowWidth"] = window
        sop = generate_uid()
        data, info = _file_bytes(
            sop_class=CTImageStorage,
            sop_uid=sop,
            series_uid=series_uid,
            modality="CT",
            description=description,
            series_number=number,
            instance_number=k + 1,
            pixels=stored,
            photometric="MONOCHROME2",
            extra=extra,
            slice_z=-2.5 * k,
        )
        instances.append(Instance(sop, k + 1, data, info))
    return Series(series_uid, "CT", description, number, instances)


def mr_series(
    slices: int = 20, size: int = 128, *, description: str = "MR T2 axial", number: int = 3
) -> Series:
    """16-bit unsigned MR in Implicit VR Little Endian, no window in the file."""
    series_uid = generate_uid()
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2
    instances = []
    for k in range(slices):
        head = ((xx - c) / (0.7 * c)) ** 2 + ((yy - c) / (0.85 * c)) ** 2 <= 1
        img = np.zeros((size, size), dtype=np.float32)
        img[head] = 300 + 500 * (xx[head] / size) + 40 * k
        ventricle = np.hypot(xx - c, yy - c) <= (0.1 + 0.01 * k) * c
        img[ventricle] = 1800
        img[2:4, 2 : 2 + k + 1] = 1500
        data, info = _file_bytes(
            sop_class=MRImageStorage,
            sop_uid=(sop := generate_uid()),
            series_uid=series_uid,
            modality="MR",
            description=description,
            series_number=number,
            instance_number=k + 1,
            pixels=img.astype(np.uint16),
            photometric="MONOCHROME2",
            transfer_syntax=ImplicitVRLittleEndian,
            slice_z=4.0 * k,
        )
        instances.append(Instance(sop, k + 1, data, info))
    return Series(series_uid, "MR", description, number, instances)


def mono8_series(
    photometric: str = "MONOCHROME1", slices: int = 3, size: int = 64, *, number: int = 10
) -> Series:
    """8-bit greyscale: a left-to-right ramp 0..255 (identical pixels for MONOCHROME1 and 2)."""
    series_uid = generate_uid()
    ramp = np.tile(np.linspace(0, 255, size).astype(np.uint8), (size, 1))
    instances = []
    for k in range(slices):
        data, info = _file_bytes(
            sop_class=SecondaryCaptureImageStorage,
            sop_uid=(sop := generate_uid()),
            series_uid=series_uid,
            modality="DX",
            description=f"{photometric} ramp",
            series_number=number,
            instance_number=k + 1,
            pixels=ramp,
            photometric=photometric,
            extra={"WindowCenter": 128, "WindowWidth": 256},
        )
        instances.append(Instance(sop, k + 1, data, info))
    return Series(series_uid, "DX", f"{photometric} ramp", number, instances)


RGB_BANDS = ((230, 20, 20), (20, 200, 20), (20, 20, 230))


def rgb_series(planar: int = 0, slices: int = 2, size: int = 96, *, number: int = 20) -> Series:
    """8-bit RGB: three vertical bands red | green | blue, PlanarConfiguration 0 or 1."""
    series_uid = generate_uid()
    img = np.zeros((size, size, 3), dtype=np.uint8)
    third = size // 3
    for i, colour in enumerate(RGB_BANDS):
        img[:, i * third : (i + 1) * third if i < 2 else size] = colour
    instances = []
    for k in range(slices):
        pixels = img.transpose(2, 0, 1).copy() if planar else img
        # For planar data the array is (3, rows, cols); _file_bytes needs rows/cols from img.
        data, info = _file_bytes(
            sop_class=SecondaryCaptureImageStorage,
            sop_uid=(sop := generate_uid()),
            series_uid=series_uid,
            modality="XC",
            description=f"RGB planar {planar}",
            series_number=number,
            instance_number=k + 1,
            pixels=img,
            photometric="RGB",
            extra={"PlanarConfiguration": planar},
        )
        if planar:
            data = _replace_pixel_data(data, pixels.tobytes())
        instances.append(Instance(sop, k + 1, data, info))
    return Series(series_uid, "XC", f"RGB planar {planar}", number, instances)


def _replace_pixel_data(data: bytes, new: bytes) -> bytes:
    """Swap the (same-length) pixel bytes at the end of an uncompressed file."""
    assert len(new) <= len(data)
    return data[: len(data) - len(new)] + new


def compressed_series(slices: int = 2, size: int = 32, *, number: int = 30) -> Series:
    """Files declaring JPEG Baseline: the viewer must say it does not decode them."""
    series_uid = generate_uid()
    instances = []
    for k in range(slices):
        data, info = _file_bytes(
            sop_class=SecondaryCaptureImageStorage,
            sop_uid=(sop := generate_uid()),
            series_uid=series_uid,
            modality="OT",
            description="JPEG compressed",
            series_number=number,
            instance_number=k + 1,
            pixels=np.zeros((size, size), dtype=np.uint8),
            photometric="MONOCHROME2",
            transfer_syntax=JPEGBaseline8Bit,
        )
        instances.append(Instance(sop, k + 1, data, info))
    return Series(series_uid, "OT", "JPEG compressed", number, instances)


def _with_study_uid(data: bytes, study_uid: str) -> bytes:
    """Files are built before they join a study; patch StudyInstanceUID (0020,000D) into them."""
    from pydicom import dcmread

    ds = dcmread(io.BytesIO(data))
    ds.StudyInstanceUID = study_uid
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


# ---- signing --------------------------------------------------------------------------------------


def avara_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The guide's scheme: hex HMAC-SHA256, key = the whole whsec_ string, message = timestamp + body."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256).hexdigest()


def avara_headers(secret: str, body: bytes, timestamp_ms: int | None = None) -> dict[str, str]:
    """Headers AutoScribe sends with a webhook (the X-Avara pair), for callers that emulate it."""
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    return {
        "Content-Type": "application/json",
        "X-Avara-Timestamp": ts,
        "X-Avara-Signature": avara_signature(secret, ts, body),
    }


# ---- the server -----------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


FileFault = int | str  # an HTTP status, or "broken" | "truncated" | "hang"


class QuietServer(ThreadingHTTPServer):
    """A threaded loopback server that does not print a traceback when a browser hangs up."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a closed page or an aborted fetch: normal for a viewer
        super().handle_error(request, client_address)


class FakePacs:
    """See the module docstring. All knobs may be changed while the server runs."""

    def __init__(self, *, secret: str | None = None, host: str = "127.0.0.1", url_ttl: float = 300.0):
        self.host = host
        self._secret = secret or "whsec_" + secrets.token_urlsafe(24)
        self._url_key = secrets.token_bytes(32)
        self.url_ttl = url_ttl
        # Some archives round expiries to the hour so that their URLs (and browser caches) stay
        # stable; a test sets this to get the same URL for a file on every access request.
        self.stable_urls = False
        self.studies: dict[str, Study] = {}
        self._files: dict[tuple[str, str, str], bytes] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # fault injection
        self.file_delay = 0.0
        self.webhook_delay = 0.0
        self.webhook_status: int | None = None
        self.webhook_response: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.verify_signatures = True
        # Events the official SDK's model of their type refuses in strict mode (the platform's
        # contract; the tests' fixtures fail on any).
        self.invalid_events: list[str] = []
        self.faults: dict[str, FileFault] = {}
        self.hang_seconds = 30.0
        # A gate for ordering tests: after `_files_before_pause` files, requests wait for resume.
        self._files_before_pause: int | None = None
        self._files_served = 0
        self._files_open = threading.Event()
        self._files_open.set()
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @classmethod
    def start(cls, **kwargs: Any) -> FakePacs:
        pacs = cls(**kwargs)
        pacs.serve()
        return pacs

    def serve(self) -> None:
        handler = _make_handler(self)
        self._server = QuietServer((self.host, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakepacs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakePacs:
        if self._server is None:
            self.serve()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakePacs is not running"
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def webhook_url(self) -> str:
        return self.base_url + "/webhooks/avara"

    @property
    def secret(self) -> str:
        """The whsec_ secret webhooks must be signed with (the API key's webhook secret)."""
        return self._secret

    @secret.setter
    def secret(self, value: str) -> None:
        self._secret = value

    # -- content

    def add_study(
        self,
        study_uid: str | None = None,
        series: Sequence[Series] = (),
        *,
        manifest: bool = True,
        authorized: bool = True,
        error: str | None = None,
        retrieval_id: str | None = None,
        shuffle_urls: bool = False,
        media_urls: list[dict[str, str]] | None = None,
    ) -> Study:
        """Register a study. ``authorized=False`` makes the webhook refuse it with ``error``."""
        study_uid = study_uid or generate_uid()
        study = Study(
            study_uid,
            list(series),
            with_manifest=manifest,
            authorized=authorized,
            error=error,
            retrieval_id=retrieval_id,
            shuffle_urls=shuffle_urls,
            media_urls=media_urls or [],
        )
        with self._lock:
            for s, inst in study.instances():
                self._files[(study_uid, s.series_instance_uid, inst.sop_instance_uid)] = _with_study_uid(
                    inst.data, study_uid
                )
            self.studies[study_uid] = study
        return study

    def remove_study(self, study_uid: str) -> None:
        with self._lock:
            self.studies.pop(study_uid, None)
            for key in [k for k in self._files if k[0] == study_uid]:
                del self._files[key]

    def signed_url(self, study_uid: str, series_uid: str, sop_uid: str, ttl: float | None = None) -> str:
        path = f"/dicom/{quote(study_uid)}/{quote(series_uid)}/{quote(sop_uid)}.dcm"
        expires = int(time.time() + (self.url_ttl if ttl is None else ttl))
        if self.stable_urls:
            expires = (expires // 3600 + 1) * 3600
        return f"{self.base_url}{path}?expires={expires}&signature={self._sign_path(path, expires)}"

    def urls_for(self, study_uid: str, ttl: float | None = None) -> list[str]:
        study = self.studies[study_uid]
        urls = [
            self.signed_url(study_uid, s.series_instance_uid, inst.sop_instance_uid, ttl)
            for s, inst in study.instances()
        ]
        if study.shuffle_urls:
            random.Random(study_uid).shuffle(urls)
        return urls

    def access_response(self, study_uid: str) -> dict[str, Any]:
        """What the webhook answers for this StudyInstanceUID."""
        study = self.studies.get(study_uid)
        if study is None:
            return {"authorized": False, "error": NOT_FOUND_ERROR}
        if not study.authorized:
            return {"authorized": False, "error": study.error or "Access denied by the PACS"}
        body: dict[str, Any] = {"authorized": True, "urls": self.urls_for(study_uid)}
        if study.with_manifest:
            body["manifest"] = study.manifest()
        if study.media_urls:
            body["mediaUrls"] = study.media_urls
        return body

    # -- faults and log

    def fail(self, sop_uid: str, mode: FileFault) -> None:
        """Make one file fail: an HTTP status (403, 404, 500...), "broken", "truncated" or "hang"."""
        self.faults[sop_uid] = mode

    def pause_files_after(self, count: int) -> None:
        """Serve `count` more files, then hold every further file request until resume_files()."""
        with self._lock:
            self._files_served = 0
            self._files_before_pause = count
            self._files_open.clear()

    def resume_files(self) -> None:
        with self._lock:
            self._files_before_pause = None
        self._files_open.set()

    def _wait_at_gate(self) -> None:
        with self._lock:
            self._files_served += 1
            held = self._files_before_pause is not None and self._files_served > self._files_before_pause
        if held:
            self._files_open.wait(self.hang_seconds)

    def reset_faults(self) -> None:
        self.resume_files()
        self.faults.clear()
        self.file_delay = 0.0
        self.webhook_delay = 0.0
        self.webhook_status = None
        self.webhook_response = None
        self.verify_signatures = True

    @contextmanager
    def faults_cleared(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.reset_faults()
            self.stable_urls = False

    def file_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith("/dicom/")]

    def webhook_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith("/webhooks/")]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- internals

    def _sign_path(self, path: str, expires: int) -> str:
        return hmac.new(self._url_key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def _check_url(self, path: str, query: str) -> str | None:
        """None when the presigned URL is valid, else the reason."""
        q = parse_qs(query)
        try:
            expires = int(q["expires"][0])
            signature = q["signature"][0]
        except (KeyError, ValueError, IndexError):
            return "missing signature"
        if not hmac.compare_digest(signature, self._sign_path(path, expires)):
            return "bad signature"
        if expires < time.time():
            return "expired"
        return None

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _check_contract(self, body: bytes) -> None:
        try:
            from pydantic import ValidationError

            from tests.helpers import strict_event
        except ImportError:  # the benchmarks run without the test extras (the SDK)
            return
        try:
            strict_event(body)
        except (ValidationError, AssertionError) as exc:
            with self._lock:
                self.invalid_events.append(str(exc))

    def _webhook(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if self.verify_signatures:
            signature = headers.get("x-avara-signature")
            timestamp = headers.get("x-avara-timestamp")
            if not signature or not timestamp:
                return 401, {"error": "Invalid signature"}
            expected = avara_signature(self._secret, timestamp, body)
            if not hmac.compare_digest(signature, expected):
                return 401, {"error": "Invalid signature"}
        try:
            event = json.loads(body)
        except ValueError:
            return 400, {"error": "Invalid JSON"}
        self._check_contract(body)
        self._sleep(self.webhook_delay)
        if self.webhook_status is not None:
            return self.webhook_status, {"error": f"forced HTTP {self.webhook_status}"}
        if self.webhook_response is not None:
            override = self.webhook_response
            return 200, override(event) if callable(override) else override
        kind = event.get("type") if isinstance(event, dict) else None
        data = (event.get("data") or {}) if isinstance(event, dict) else {}
        if kind == "study.access_requested":
            return 200, self.access_response(str(data.get("studyInstanceUid", "")))
        if kind == "ephemeral.access_requested":
            retrieval = data.get("retrievalId")
            found = [s for s in self.studies.values() if retrieval and s.retrieval_id == retrieval]
            if not found:
                return 200, {"authorized": False, "error": NOT_FOUND_ERROR}
            urls: list[str] = []
            for s in found:
                urls += self.urls_for(s.study_instance_uid)
            return 200, {
                "authorized": True,
                "urls": urls,
                "manifests": [s.manifest() for s in found if s.with_manifest],
            }
        return 200, {"success": True}


def _make_handler(pacs: FakePacs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real object store would

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log is pacs.requests

        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "*")
            self.send_header("Access-Control-Max-Age", "600")
            self.send_header("Timing-Allow-Origin", "*")

        def _send(self, rec: RecordedRequest, status: int, body: bytes, ctype: str) -> None:
            rec.status = status
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            # Like an object store: successful objects may be cached, errors never.
            self.send_header("Cache-Control", "private, max-age=300" if status == 200 else "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, rec: RecordedRequest, status: int, payload: Any) -> None:
            self._send(rec, status, json.dumps(payload).encode(), "application/json")

        def _start(self, body: bytes = b"") -> RecordedRequest:
            parts = urlsplit(self.path)
            rec = RecordedRequest(
                self.command,
                unquote(parts.path),
                parts.query,
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            pacs._record(rec)
            return rec

        def do_OPTIONS(self) -> None:
            rec = self._start()
            rec.status = 204
            self.send_response(204)
            self._cors()
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            rec = self._start()
            parts = urlsplit(self.path)
            segments = parts.path.split("/")
            if len(segments) != 5 or segments[1] != "dicom" or not segments[4].endswith(".dcm"):
                self._json(rec, 404, {"error": "not found"})
                return
            reason = pacs._check_url(parts.path, parts.query)
            if reason:
                self._send(
                    rec,
                    403,
                    f"<Error><Code>AccessDenied</Code><Message>{reason}</Message></Error>".encode(),
                    "application/xml",
                )
                return
            key = (unquote(segments[2]), unquote(segments[3]), unquote(segments[4][: -len(".dcm")]))
            with pacs._lock:
                data = pacs._files.get(key)
            if data is None:
                self._json(rec, 404, {"error": "no such object"})
                return
            pacs._wait_at_gate()
            pacs._sleep(pacs.file_delay)
            fault = pacs.faults.get(key[2])
            if fault == "hang":
                pacs._sleep(pacs.hang_seconds)
                fault = 504
            if isinstance(fault, int):
                self._send(rec, fault, f"forced HTTP {fault}".encode(), "text/plain")
                return
            if fault == "broken":
                data = b"this is not a DICOM file " * 64
            elif fault == "truncated":
                data = data[: len(data) // 2]
            self._send(rec, 200, data, "application/dicom")

        do_HEAD = do_GET

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rec = self._start(body)
            if not urlsplit(self.path).path.startswith("/webhooks/"):
                self._json(rec, 404, {"error": "not found"})
                return
            status, payload = pacs._webhook(rec.headers, body)
            self._json(rec, status, payload)

    return Handler
