"""The bytes we send and the two signatures on them, from one `whsec_...` secret.

- The integration guide's headers: `X-Avara-Timestamp` (Unix ms) and `X-Avara-Signature` =
  hex(HMAC-SHA256(key = the whole secret string "whsec_..." as UTF-8, msg = timestamp + body)),
  exactly what the guide's Flask (`secret.encode('utf-8')`), Node (`createHmac('sha256', secret)`)
  and Java (`secret.getBytes(UTF_8)`) receivers compute.
- Standard Webhooks (`webhook-id`, `webhook-timestamp` in seconds, `webhook-signature` = `v1,` +
  base64(HMAC-SHA256(key = base64-decoded part after "whsec_", msg = "id.timestamp.body"))), which
  the official SDK's `client.webhooks.unwrap` and the `standardwebhooks` library verify.

The body is compact JSON with non-ASCII kept and integral floats written as integers: the guide's
Node and Java receivers verify `JSON.stringify(parsed body)` / Jackson's re-serialization, which
produce exactly these bytes for the payloads we send.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
USER_AGENT = "AutoScribe-Webhooks/1.0"


def _normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("webhook payloads cannot carry NaN or infinite numbers")
        # JSON.stringify(1.0) is "1": write integral floats as integers so re-serialization agrees.
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    raise TypeError(f"webhook payloads hold JSON values only, not {type(value).__name__}")


def normalize_data(data: dict[str, Any]) -> dict[str, Any]:
    """Check that `data` is plain JSON and put it in the form we store and send."""
    if not isinstance(data, dict):
        raise TypeError("webhook event data must be a dict")
    result: dict[str, Any] = _normalize(data)
    return result


def envelope_bytes(event_id: str, event_type: str, data: dict[str, Any]) -> bytes:
    """`{"id":...,"type":...,"data":{...}}` in that order, as UTF-8."""
    envelope = {"id": event_id, "type": event_type, "data": _normalize(data)}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _standard_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw + "==")
    except binascii.Error as exc:
        raise ValueError("webhook secret is not whsec_ + base64") from exc


def avara_signature(secret: str, timestamp_ms: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp_ms.encode("ascii") + body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, event_id: str, timestamp_s: str, body: bytes) -> str:
    message = f"{event_id}.{timestamp_s}.".encode() + body
    digest = hmac.new(_standard_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, event_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Every header of a webhook request. Both timestamps are the same instant."""
    ms = int((time.time() if now is None else now) * 1000)
    ts_ms, ts_s = str(ms), str(ms // 1000)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Avara-Timestamp": ts_ms,
        "X-Avara-Signature": avara_signature(secret, ts_ms, body),
        "webhook-id": event_id,
        "webhook-timestamp": ts_s,
        "webhook-signature": standard_signature(secret, event_id, ts_s, body),
    }
