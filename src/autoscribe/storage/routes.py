"""GET /files/<key>: downloads for the local storage backend, authorized by the signed link alone.

Presigned links are bearer credentials (integrators fetch them from webhooks without an API
key), so the signature and expiry are the whole check. Errors say what is wrong with the link
without echoing it: the query string is the secret.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, Query
from fastapi.responses import Response

from autoscribe.errors import NotFound, PermissionDenied
from autoscribe.storage import ObjectNotFound, get_storage
from autoscribe.storage.base import check_key
from autoscribe.storage.local import DOWNLOAD_PATH, LocalStorage, guess_type, verify

router = APIRouter(tags=["files"], include_in_schema=False)


@router.get(DOWNLOAD_PATH + "{key:path}")
def download(
    key: str,
    expires: str | None = Query(None),
    sig: str | None = Query(None),
    name: str = Query(""),
    type: str = Query(""),
) -> Response:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound("Files are served by the configured bucket, not by this server")
    try:
        check_key(key)
    except ValueError:
        raise NotFound("No such file") from None
    if not expires or not sig or not expires.isdigit():
        raise PermissionDenied("This download link is incomplete: it must carry expires and sig")
    if not verify(key, int(expires), name, type, sig):
        raise PermissionDenied("This download link is not valid: its signature does not match")
    if int(expires) < time.time():
        when = datetime.fromtimestamp(int(expires), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise PermissionDenied(f"This download link expired at {when}; request a new one")
    try:
        data = storage.get(key)
    except ObjectNotFound:
        raise NotFound("No such file") from None
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if name:
        headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(data, media_type=type or guess_type(key), headers=headers)
