"""FastAPI application factory: routers, the one error shape, body limits, request logging."""

from __future__ import annotations

import gc
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autoscribe import worker
from autoscribe.config import get_settings
from autoscribe.errors import APIError, PayloadTooLarge
from autoscribe.logs import configure_logging, escape_controls
from autoscribe.mail import check_configuration
from autoscribe.observability import http as observability
from autoscribe.routing import include_routers
from autoscribe.web import errors as web_errors

log = logging.getLogger("autoscribe")

# What runs beside the API for the process's life, in order: each returns its stop function (or
# None when configured off). Listed here, not registered by the packages that provide them.
LIFESPAN: tuple[Callable[[FastAPI], Callable[[], None] | None], ...] = (
    observability.lifespan_hook,
    worker.lifespan_hook,
)


def _error_response(error: APIError) -> JSONResponse:
    headers = dict(error.headers)
    if error.retryable is not None:
        headers["x-should-retry"] = "true" if error.retryable else "false"
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers or None)


API_DESCRIPTION = """Avara-compatible AutoScribe and Express API: the official `avara` SDK works unchanged
when `AVARA_BASE_URL` points here.

Authenticate every request with `Authorization: Bearer <API key>`. Errors share one shape,
`{"error": {"type", "message", "param"}}`: 400 invalid input, 401 missing/invalid/revoked key,
403 the key lacks an access level, 404 unknown (or not visible to this key), 409 conflicts with
the current state, 413 body too large, 422 a domain rule refuses the input. Lists are newest
first with an opaque `cursor` and `hasMore`; `limit` 1-100, default 20; nullable filters take the
literal `null` (`assignedTo=null`)."""


def _operation_id(route: APIRoute) -> str:
    """camelCase of the endpoint function's name: createStudy, listExpressCustomers, ..."""
    head, *rest = route.name.split("_")
    return head + "".join(part.title() for part in rest)


def _allowed_methods(request: Request) -> list[str]:
    """Methods the documented routes accept at this path (Starlette names only the first match)."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = [
            (re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path)), {method.upper() for method in operations})
            for path, operations in request.app.openapi()["paths"].items()
        ]
        request.app.state.allow_table = table
    allowed: set[str] = set()
    for pattern, methods in table:
        if pattern.fullmatch(request.url.path):
            allowed |= methods
    return sorted(allowed)


def _describe_validation_error(err: dict[str, Any]) -> tuple[str, str | None]:
    """Turn pydantic's first error into a sentence that names the field, e.g. reportMetadata.sex."""
    loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path", "header")]
    param = ".".join(loc) or None
    kind = err.get("type", "")
    msg = str(err.get("msg", "is invalid"))
    if kind == "json_invalid":
        return "Request body is not valid JSON", None
    if kind == "missing" and param is None:
        return "A JSON request body is required", None
    if kind == "missing":
        return f"{param} is required", param
    if kind == "extra_forbidden":
        return f"{param} is not a field this endpoint accepts", param
    if kind in ("model_attributes_type", "dict_type", "model_type") and param is None:
        return "Request body must be a JSON object sent with Content-Type: application/json", None
    msg = msg.removeprefix("Value error, ")
    return (f"{param}: {msg}" if param else msg), param


class BodySizeLimit:
    """Refuse request bodies above the configured size (413) before the application reads them.

    A declared Content-Length is checked up front. A chunked body has no declared length, so it
    is read here, at most max_bytes of it, and replayed to the application.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                length = value
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            # The server enforces Content-Length framing: the body cannot exceed what was declared.
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"Request body is larger than {self.max_bytes} bytes")
        await _error_response(error)(scope, receive, send)


class AccessLog:
    """One line per request with the path only: query strings may carry patient data or tokens."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                escape_controls(scope["path"]),  # decoded: %0a would be a new line
                status,
                (time.perf_counter() - started) * 1000,
            )


def create_app() -> FastAPI:
    settings = get_settings()

    # A malformed AUTOSCRIBE_SMTP_URL stops the server at start, not at the first invitation.
    check_configuration()
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stops = []
        for hook in LIFESPAN:
            stop = hook(app)
            if stop is not None:
                stops.append(stop)
        # Everything loaded so far lives as long as the process: keep it out of the garbage
        # collector's full passes, which otherwise walk it all and stall a request now and then.
        gc.collect()
        gc.freeze()
        yield
        for stop in reversed(stops):
            stop()

    app = FastAPI(
        title="AutoScribe API",
        version="1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # /docs is ours (web.api_docs): Swagger UI from the package, nothing from a CDN.
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(APIError)
    async def api_error(_request: Request, exc: APIError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        message, param = _describe_validation_error(dict(errors[0])) if errors else ("Invalid request", None)
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        body: dict[str, Any] = {"error": {"type": "invalid_request", "message": message}}
        if param:
            body["error"]["param"] = param
        return JSONResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and web_errors.wants_html(request):
            return web_errors.not_found_page(request)
        kind = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        message = "No such endpoint" if exc.status_code == 404 else str(exc.detail)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; list them all.
            headers = {"Allow": ", ".join(_allowed_methods(request))}
        return JSONResponse(
            {"error": {"type": kind, "message": message}}, status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if web_errors.wants_html(request):
            return web_errors.server_error_page(request)
        return JSONResponse(
            {"error": {"type": "api_error", "message": "Internal server error"}}, status_code=500
        )

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    app.add_middleware(observability.RequestObservability)  # outermost: the request id for every line

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(observability.router)  # /readyz, /metrics
    include_routers(app)
    return app
