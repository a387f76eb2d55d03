"""Test-only page that mounts the shipped viewer bundle, and stands in for the workspace endpoint.

The product will serve the viewer from the workspace page, whose `GET /workspace/<study>/images`
calls the integrator's `study.access_requested` webhook. Until that page exists, this small
server plays both parts for tests and `bench/viewer.py`:

- `GET /?study=<StudyInstanceUID>[&concurrency=N&timeoutMs=MS&sourceTimeoutMs=MS]` — a page that
  mounts `AutoScribeViewer` on `/images/<study>`; without `study` it only loads the bundle and
  exposes `window.harnessMount(options)` for tests that pass URLs or JSON directly;
- `GET /images/<study>` — signs a `study.access_requested` webhook like AutoScribe does
  (X-Avara-Timestamp/X-Avara-Signature), posts it to the fake PACS and relays its JSON;
- `GET /static/viewer/*` — the committed bundle, straight from the package directory.

It lives under tests/ so that no test route ships in the product.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import httpx

import autoscribe
from tests.fakepacs import FakePacs, QuietServer, avara_headers

STATIC_DIR = Path(autoscribe.__file__).parent / "web" / "static"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Viewer harness</title>
<link rel="stylesheet" href="/static/viewer/viewer.css">
<style>html, body { margin: 0; height: 100%; background: #000; } #viewer { height: 100vh; }</style>
</head>
<body>
<main id="viewer" aria-label="Study images"></main>
<script src="/static/viewer/viewer.js"></script>
<script>
  window.harnessEvents = [];
  window.harnessMount = (options) => AutoScribeViewer.mount(document.getElementById("viewer"), {
    ...options,
    onError: (e) => window.harnessEvents.push(["error", e]),
    onFirstImage: (e) => window.harnessEvents.push(["first-image", e]),
    onLoaded: (e) => window.harnessEvents.push(["loaded", e]),
  });
  const q = new URLSearchParams(location.search);
  if (q.get("study")) {
    const opts = { source: "/images/" + encodeURIComponent(q.get("study")) };
    for (const k of ["concurrency", "timeoutMs", "sourceTimeoutMs"]) if (q.get(k)) opts[k] = Number(q.get(k));
    window.viewer = window.harnessMount(opts);
  }
</script>
</body>
</html>
"""


class Harness:
    """A threaded loopback server; `Harness(pacs).start()`, then `page.goto(h.url(study_uid))`."""

    def __init__(self, pacs: FakePacs, *, host: str = "127.0.0.1", webhook_timeout: float = 10.0) -> None:
        self.pacs = pacs
        self.host = host
        self.webhook_timeout = webhook_timeout
        # One pooled client: a new httpx client per call costs tens of ms (TLS context setup).
        self._client = httpx.Client(timeout=webhook_timeout)
        self._server: QuietServer | None = None

    def start(self) -> Harness:
        self._server = QuietServer((self.host, 0), _make_handler(self))
        threading.Thread(target=self._server.serve_forever, name="viewer-harness", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._client.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    def url(self, study_uid: str | None = None, **params: Any) -> str:
        query = {"study": study_uid} if study_uid else {}
        query.update({k: str(v) for k, v in params.items()})
        return f"{self.base_url}/?{urlencode(query)}" if query else f"{self.base_url}/"

    def images_url(self, study_uid: str) -> str:
        return f"{self.base_url}/images/{quote(study_uid)}"

    def access_request(self, study_uid: str) -> tuple[int, dict[str, Any]]:
        """What the workspace endpoint will do: a signed study.access_requested call."""
        event = {
            "id": "whe_" + uuid.uuid4().hex,
            "type": "study.access_requested",
            "data": {"studyId": "stu_" + uuid.uuid4().hex, "studyInstanceUid": study_uid},
        }
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            resp = self._client.post(
                self.pacs.webhook_url, content=body, headers=avara_headers(self.pacs.secret, body)
            )
        except httpx.TimeoutException:
            return 504, {
                "error": {"type": "webhook_timeout", "message": "The image archive did not answer in time."}
            }
        except httpx.HTTPError:
            return 502, {"error": {"type": "webhook_failed", "message": "Could not reach the image archive."}}
        if resp.status_code != 200:
            return 502, {
                "error": {
                    "type": "webhook_failed",
                    "message": f"The image archive answered HTTP {resp.status_code}.",
                }
            }
        try:
            answer = resp.json()
        except ValueError:
            return 502, {
                "error": {"type": "webhook_failed", "message": "The image archive sent invalid JSON."}
            }
        out = {k: answer[k] for k in ("authorized", "urls", "manifest", "mediaUrls", "error") if k in answer}
        return 200, out


def _make_handler(harness: Harness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/":
                self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            elif path.startswith("/images/"):
                status, payload = harness.access_request(unquote(path[len("/images/") :]))
                self._send(status, json.dumps(payload).encode(), "application/json")
            elif path.startswith("/static/"):
                target = (STATIC_DIR / path[len("/static/") :]).resolve()
                if STATIC_DIR.resolve() not in target.parents or not target.is_file():
                    self._send(404, b"not found", "text/plain")
                    return
                ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                self._send(200, target.read_bytes(), ctype)
            else:
                self._send(404, b"not found", "text/plain")

    return Handler
