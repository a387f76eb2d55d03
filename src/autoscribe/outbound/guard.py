"""Outbound requests to integrator URLs, safe against SSRF.

`check_target(url)` allows only http(s), resolves the host once and refuses it when any address
is private, loopback, link-local, multicast, reserved or unspecified (unless
AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1). `fetch_checked(...)` then connects to the very address that
was checked (the Host header and TLS SNI/certificate check still use the name), so a DNS answer
that changes between check and connect (DNS rebinding) cannot redirect us. Bodies are read up to
a cap, one deadline covers the whole request (`transport`), redirects are not followed unless asked
(and each hop is checked again), and proxies from the environment are never used (they would
bypass the check).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from autoscribe.config import get_settings
from autoscribe.outbound import transport
from autoscribe.outbound.transport import FetchFailed, FetchTimeout

__all__ = ["FetchFailed", "FetchTimeout", "TargetRefused", "check_target", "fetch_checked"]


class TargetRefused(Exception):
    """The URL may not be called: wrong scheme, unresolvable, or a forbidden address."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_forbidden_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None and is_forbidden_address(mapped):
            return True
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def redact(url: str) -> str:
    """The URL without user info, query or fragment: safe to log and to show in the dashboard."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address we will connect to."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    address: str
    raw_path: bytes = b"/"  # the request target: path and query, percent-encoded

    def destination(self) -> transport.Destination:
        # TLS sends and verifies the name, while the connection goes to the checked address.
        tls_name = self.host if self.scheme == "https" else None
        return transport.Destination(self.scheme, self.host, self.address, self.port, tls_name)

    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _resolve(host: str, port: int, deadline: float | None) -> list[Any]:
    """getaddrinfo, within the request's deadline when there is one.

    The lookup runs in a thread of its own, because a resolver cannot be interrupted: a slow DNS
    server named by an integrator must not hold a delivery past its timeout. A lookup abandoned
    that way still runs until the system resolver gives up (its own timeout, seconds).
    """
    if deadline is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if deadline <= time.monotonic():
        raise FetchTimeout(f"timed out before resolving {host}")
    outcome: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller
            outcome.append(exc)
        finally:
            done.set()

    try:
        threading.Thread(target=lookup, name="dns", daemon=True).start()
    except RuntimeError as exc:  # no thread left to start
        raise FetchFailed(f"could not resolve {host}: {exc}") from None
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise FetchTimeout(f"timed out while resolving {host}")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result: list[Any] = outcome[0]
    return result


def check_target(url: str, *, allow_private: bool | None = None, deadline: float | None = None) -> Target:
    """Validate and resolve `url`; raise TargetRefused with a message fit for the integrator.

    With a `deadline` (time.monotonic()), a lookup still running then raises FetchTimeout.
    """
    if allow_private is None:
        allow_private = get_settings().webhook_allow_private
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise TargetRefused(f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise TargetRefused("only http:// and https:// URLs are allowed")
    host = parsed.raw_host.decode("ascii").strip("[]")
    if not host:
        raise TargetRefused("the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = _resolve(host, port, deadline)
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"host {host} does not resolve ({exc})") from None
        addresses = []
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if addr not in addresses:
                addresses.append(addr)
        if not addresses:
            raise TargetRefused(f"host {host} does not resolve")
    if not allow_private:
        # All of them, not just the first: the connection must not land on a forbidden one.
        for addr in addresses:
            if is_forbidden_address(addr):
                raise TargetRefused(
                    f"host {host} resolves to {addr}, a private, loopback, link-local or reserved "
                    "address (set AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1 to allow it)"
                )
    return Target(
        url=url,
        scheme=parsed.scheme,
        host=host,
        port=port,
        address=str(addresses[0]),
        raw_path=parsed.raw_path,
    )


@dataclass
class FetchResult:
    status_code: int
    headers: httpx.Headers
    body: bytes
    truncated: bool  # the body was longer than max_bytes; `body` holds the first max_bytes
    duration_ms: int
    url: str  # the URL that answered (after redirects, when they were allowed)

    @property
    def is_redirect(self) -> bool:
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers


def make_client(
    max_idle_per_destination: int = 100, ssl_context: ssl.SSLContext | None = None
) -> transport.Pool:
    """A connection pool for fetch_checked."""
    return transport.Pool(max_idle_per_destination=max_idle_per_destination, ssl_context=ssl_context)


_shared_client: transport.Pool | None = None


def shared_client() -> transport.Pool:
    global _shared_client
    if _shared_client is None:
        _shared_client = make_client()
    return _shared_client


def fetch_checked(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: float = 15.0,
    max_bytes: int = 64 * 1024,
    max_redirects: int = 0,
    client: transport.Pool | None = None,
    allow_private: bool | None = None,
    replayable: bool = False,
) -> FetchResult:
    """Make one HTTP request to an integrator-supplied URL, safely.

    Raises TargetRefused (bad or forbidden URL), FetchTimeout (no complete answer within
    `timeout` seconds, all phases together) or FetchFailed (connection errors). Any HTTP status is
    a result, including 3xx when `max_redirects` is 0 (the default: webhooks never follow them).
    `replayable` lets a request that met a kept connection closed by the server be sent again on
    a new one (GET and HEAD always may be).
    """
    client = client or shared_client()
    started = time.monotonic()
    deadline = started + timeout
    current_url, current_method, current_content = url, method.upper(), content
    for hop in range(max_redirects + 1):
        target = check_target(current_url, allow_private=allow_private, deadline=deadline)
        all_headers = [("Host", target.host_header()), *(headers or {}).items()]
        if current_content is not None or current_method in ("POST", "PUT", "PATCH"):
            all_headers.append(("Content-Length", str(len(current_content or b""))))
        response = client.request(
            target.destination(),
            current_method,
            target.raw_path,
            all_headers,
            current_content,
            deadline=deadline,
            max_bytes=max_bytes,
            replayable=replayable,
        )
        result = FetchResult(
            status_code=response.status_code,
            headers=httpx.Headers(response.headers),
            body=response.body,
            truncated=response.truncated,
            duration_ms=int((time.monotonic() - started) * 1000),
            url=current_url,
        )
        location = result.headers.get("location")
        if result.is_redirect and location and hop < max_redirects:
            try:
                current_url = str(httpx.URL(current_url).join(location))
            except (httpx.InvalidURL, ValueError):
                raise FetchFailed(f"the redirect's Location is not a valid URL: {location!r}") from None
            if result.status_code == 303 or (
                result.status_code in (301, 302) and current_method not in ("GET", "HEAD")
            ):
                current_method, current_content = "GET", None
            continue
        return result
    raise FetchFailed(f"more than {max_redirects} redirects")  # pragma: no cover - loop returns
