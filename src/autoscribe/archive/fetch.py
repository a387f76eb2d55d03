"""Downloading an archive report file from an integrator's reportFileUrl, safely.

The address rules are the outbound guard's (`autoscribe.outbound.guard`: the host is resolved once,
every address must be public unless AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1, and the connection goes
to the vetted address, so DNS rebinding cannot redirect it; no proxies, no redirects, a total
deadline, a size cap). On top of them, for files:
- https only (plain http only together with AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1, for tests and
  local setups), and no credentials in the URL;
- the file must be a PDF, PNG, JPEG, GIF or WEBP: by its name's extension, by the declared
  content type when there is a specific one, and by its first bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from autoscribe.config import get_settings
from autoscribe.errors import InvalidRequest, Unprocessable
from autoscribe.outbound import guard

PARAM = "reportFileUrl"

# extension → canonical content type
FILE_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}
# content types hosts commonly send that we accept as "see the bytes"
_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", "application/binary", ""}


@dataclass(frozen=True)
class FetchedFile:
    data: bytes
    content_type: str


def file_type_for_name(name: str, param: str = "reportFileName") -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in FILE_TYPES:
        raise InvalidRequest(
            f"{param} must end in .pdf, .png, .jpg, .jpeg, .gif or .webp (got {name!r})", param=param
        )
    return FILE_TYPES[ext]


def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_url(url: str, *, allow_private: bool, param: str = PARAM) -> None:
    """The URL rules for files (scheme, credentials); 400 naming `param` when refused."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise InvalidRequest(f"{param} is not a valid URL", param=param) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidRequest(f"{param} must be an absolute https:// URL", param=param)
    if parts.scheme == "http" and not allow_private:
        raise InvalidRequest(f"{param} must use https://", param=param)
    if parts.username or parts.password:
        raise InvalidRequest(f"{param} must not carry credentials", param=param)


def check_target(url: str, *, allow_private: bool, param: str = PARAM) -> guard.Target:
    """check_url, then the shared address rules (resolves the host)."""
    check_url(url, allow_private=allow_private, param=param)
    try:
        return guard.check_target(url, allow_private=allow_private)
    except guard.TargetRefused as exc:
        raise InvalidRequest(f"{param}: {exc}", param=param) from None


def fetch_file(url: str, file_name: str) -> FetchedFile:
    settings = get_settings()
    expected = file_type_for_name(file_name)
    # fetch_checked applies the address rules itself, on the address it then connects to.
    check_url(url, allow_private=settings.webhook_allow_private)
    cap = settings.external_file_max_bytes
    try:
        result = guard.fetch_checked(
            url,
            headers={"Accept": ", ".join(sorted(set(FILE_TYPES.values())))},
            timeout=settings.external_file_timeout_seconds,
            max_bytes=cap,
            max_redirects=0,
            allow_private=settings.webhook_allow_private,
        )
    except guard.TargetRefused as exc:
        raise InvalidRequest(f"{PARAM}: {exc}", param=PARAM) from None
    # The URL is the client's input: a host that cannot be reached or does not answer in time is
    # the client's to fix (422, x-should-retry: false), not our failure to retry (502).
    except guard.FetchTimeout:
        raise Unprocessable(
            f"{PARAM} could not be fetched: its host did not answer within "
            f"{settings.external_file_timeout_seconds:g} s",
            param=PARAM,
        ) from None
    except guard.FetchFailed as exc:
        raise Unprocessable(f"{PARAM} could not be fetched ({exc})", param=PARAM) from None
    if 300 <= result.status_code < 400:
        raise Unprocessable(f"{PARAM} answered with a redirect; give the file's final URL", param=PARAM)
    if result.status_code != 200:
        raise Unprocessable(f"{PARAM} answered HTTP {result.status_code}", param=PARAM)
    if result.truncated:
        raise Unprocessable(f"{PARAM}: the file is larger than {cap} bytes", param=PARAM)
    declared = result.headers.get("content-type", "").split(";")[0].strip().lower()
    data = result.body
    actual = sniff(data)
    if actual is None:
        raise Unprocessable(f"{PARAM} did not return a PDF or an image", param=PARAM)
    if (
        declared not in _GENERIC_TYPES
        and declared != actual
        and not (declared == "image/jpg" and actual == "image/jpeg")
    ):
        raise Unprocessable(f"{PARAM} returned {declared}, but the file is {actual}", param=PARAM)
    if actual != expected:
        raise Unprocessable(
            f"reportFileName says {expected}, but the downloaded file is {actual}", param="reportFileName"
        )
    return FetchedFile(data, actual)
