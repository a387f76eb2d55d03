"""Local-directory backend: files under the data directory, served by our own app through
HMAC-signed, expiring links (`/files/<key>?expires=...&sig=...`)."""

from __future__ import annotations

import hmac
import mimetypes
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from autoscribe.auth.crypto import sign
from autoscribe.private_files import private_dir
from autoscribe.storage.base import ObjectNotFound, StorageError, check_key

PURPOSE = "file-download"
DOWNLOAD_PATH = "/files/"


def _message(key: str, expires: int, download_name: str, content_type: str, issued_for: str) -> bytes:
    # Every parameter the link carries is signed: changing any of them invalidates it. Links
    # issued for nobody in particular sign exactly what they signed before `issued_for` existed.
    parts = (key, str(expires), download_name, content_type) + ((issued_for,) if issued_for else ())
    return "\n".join(parts).encode("utf-8")


def signature(
    key: str, expires: int, download_name: str = "", content_type: str = "", issued_for: str = ""
) -> str:
    return sign(_message(key, expires, download_name, content_type, issued_for), PURPOSE)


def verify(
    key: str, expires: int, download_name: str, content_type: str, sig: str, issued_for: str = ""
) -> bool:
    expected = signature(key, expires, download_name, content_type, issued_for)
    return hmac.compare_digest(expected.encode("ascii"), sig.encode("ascii", "replace"))


class LocalStorage:
    name = "local"

    def __init__(self, root: Path, public_url: str, default_ttl: int = 3600) -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")
        self.default_ttl = default_ttl

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        target = self.path(key)
        try:
            private_dir(target.parent)  # 0700, and the file 0600 (mkstemp): whatever the umask
            # Write then rename: a reader never sees a half-written file, even across processes.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc.strerror}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageError(f"could not read {key}: {exc.strerror}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> list[str]:
        folder = self.root / check_key(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not folder.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())
        # Not the temporary files of writes in progress (put writes .tmp-*, then renames).
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith(".tmp-"))

    def presign(
        self,
        key: str,
        *,
        expires_in: int | None = None,
        download_name: str | None = None,
        content_type: str | None = None,
        issued_for: str | None = None,
    ) -> str:
        check_key(key)
        expires = int(time.time()) + (self.default_ttl if expires_in is None else expires_in)
        name = download_name or ""
        ctype = content_type or ""
        holder = issued_for or ""
        query: dict[str, str | int] = {"expires": expires}
        if name:
            query["name"] = name
        if ctype:
            query["type"] = ctype
        if holder:
            query["for"] = holder
        query["sig"] = signature(key, expires, name, ctype, holder)
        return f"{self.public_url}{DOWNLOAD_PATH}{quote(key)}?{urlencode(query)}"


def guess_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"
