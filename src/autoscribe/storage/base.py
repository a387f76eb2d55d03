"""The storage interface: opaque keys to bytes, with expiring download links.

Report PDFs and external report files live here today; dictation audio will too. Keys are
relative paths made of safe characters (`reports/<clinic>/<report>.pdf`); callers never build
file-system paths or bucket URLs themselves.
"""

from __future__ import annotations

import re
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")


class StorageError(RuntimeError):
    """The backend failed (disk, network, credentials); callers turn this into a 5xx or a retry."""


class ObjectNotFound(StorageError):
    pass


def check_key(key: str) -> str:
    """Refuse keys that could escape the storage root or confuse a bucket (.., //, leading /)."""
    if len(key) > 512 or not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store (or overwrite) an object; once put returns, get and presign see it."""

    def get(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound when there is none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove an object; deleting a missing key is not an error."""

    def list_keys(self, prefix: str) -> list[str]:
        """The keys that start with `prefix` (a folder such as "outbox/"), sorted."""

    def presign(
        self,
        key: str,
        *,
        expires_in: int | None = None,
        download_name: str | None = None,
        content_type: str | None = None,
        issued_for: str | None = None,
    ) -> str:
        """A URL anyone holding it can GET the object with until it expires (default one hour).
        `issued_for` ("api_key:<uuid>", "webhook:report.delivered") names whom the link was
        handed to: the local backend signs it into the link and audits each download under
        that name; a bucket serves downloads itself (its own access logs record them)."""
