"""What the observability package adds to the application: the request-id and metrics middleware,
/readyz and /metrics, and the start-up hook (multiprocess metrics, pool gauges)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autoscribe.config import get_settings
from autoscribe.db import get_engine
from autoscribe.errors import AuthenticationFailed, PermissionDenied
from autoscribe.observability import health, metrics, requestid
from autoscribe.observability.queues import QueueCollector

router = APIRouter(include_in_schema=False)

_HEADER = requestid.HEADER.lower().encode("latin-1")
# Any other method a client makes up is counted as "other": labels must stay a bounded set.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope, status: int) -> str:
    """The matched route's template (`/v1/autoscribe/studies/{study_id}`), never the raw path:
    ids in labels would make a series per study."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    root = scope.get("app_root_path") or ""
    mounted = str(scope.get("root_path", ""))[len(str(root)) :]
    if mounted and scope.get("endpoint") is not None:
        return mounted + "/{path}"  # a mounted app (static files)
    return "unmatched" if status in (404, 405) else "other"


class RequestObservability:
    """Outermost middleware: gives the request its id (the caller's valid `X-Request-Id`, else a
    new one) for every log line written while it runs, returns it in `X-Request-Id`, and counts
    the request by route template and status with its duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == _HEADER:
                incoming = value.decode("latin-1")
                break
        rid = requestid.accept(incoming) or requestid.new()
        # Each request runs in a task of its own, so the value never leaks into another request;
        # it stays set after an unhandled error, for the error's log line.
        requestid.set_current(rid)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[requestid.HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            metrics.http_request(method, route_template(scope, status), status, time.perf_counter() - started)


@router.get("/readyz")
def readyz() -> JSONResponse:
    result = health.readiness()
    return JSONResponse(
        result.body(), status_code=200 if result.ready else 503, headers={"Cache-Control": "no-store"}
    )


def _check_token(request: Request) -> None:
    token = get_settings().metrics_token
    if not token:
        raise PermissionDenied(
            "/metrics is off: set AUTOSCRIBE_METRICS_TOKEN and scrape with Authorization: Bearer <token>"
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise AuthenticationFailed(
            "A valid metrics token is required: Authorization: Bearer <AUTOSCRIBE_METRICS_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


def exposition() -> tuple[bytes, str]:
    """The text format of every process's metrics plus the queue collector's."""
    path = metrics.enable()
    metrics.forget_dead_processes(path)
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, str(path))  # type: ignore[no-untyped-call]
    registry.register(QueueCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


@router.get("/metrics")
def metrics_endpoint(request: Request) -> Response:
    _check_token(request)
    body, content_type = exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def lifespan_hook(_app: Any) -> Callable[[], None] | None:
    """At start-up (autoscribe.app.LIFESPAN): multiprocess metrics on, pool gauges watched."""
    start()
    return None


def start() -> None:
    """For `autoscribe serve` and `autoscribe worker` processes."""
    metrics.enable()
    metrics.watch_pool(get_engine())
