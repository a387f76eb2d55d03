"""One error hierarchy, rendered as one JSON shape:

    {"error": {"type": "invalid_request", "message": "...", "param": "studyInstanceUid"}}

Services raise these; app.py turns them (and framework errors) into responses.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    status_code = 500
    error_type = "api_error"
    # The official SDKs retry 409 and 5xx unless told otherwise (header x-should-retry).
    retryable: bool | None = None

    def __init__(self, message: str, *, param: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


class InvalidRequest(APIError):
    status_code = 400
    error_type = "invalid_request"


class AuthenticationFailed(APIError):
    status_code = 401
    error_type = "authentication_error"


class PermissionDenied(APIError):
    status_code = 403
    error_type = "permission_denied"


class NotFound(APIError):
    status_code = 404
    error_type = "not_found"


class Conflict(APIError):
    """The request contradicts the current state; sending it again cannot succeed."""

    status_code = 409
    error_type = "conflict"
    retryable = False


class PayloadTooLarge(APIError):
    status_code = 413
    error_type = "payload_too_large"


class Unprocessable(APIError):
    """Well-formed input that breaks a rule of the domain (e.g. a deactivated customer, a
    reportFileUrl that cannot be fetched); the same request will fail the same way."""

    status_code = 422
    error_type = "unprocessable"
    retryable = False


class UpstreamFailed(APIError):
    """An integrator endpoint we had to call failed (timeout, bad answer)."""

    status_code = 502
    error_type = "upstream_error"


class UpstreamTimeout(UpstreamFailed):
    """An integrator endpoint we had to call did not answer in time."""

    status_code = 504
    error_type = "upstream_timeout"


class WebhookNotConfigured(Unprocessable):
    """The API key has no webhook endpoint for the event the platform needs to send."""

    error_type = "webhook_not_configured"
