"""The outbound guard: scheme and address checks, connecting to the checked address, size caps."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from autoscribe.outbound import guard
from tests.webhooks.conftest import Receiver, tls_contexts


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.1.2.3/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/x",
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[fe80::1]/x",
        "http://[fc00::1]/x",
        "http://224.0.0.1/x",
        "http://240.0.0.1/x",
    ],
)
def test_private_and_special_addresses_are_refused(url: str) -> None:
    with pytest.raises(guard.TargetRefused) as err:
        guard.check_target(url, allow_private=False)
    assert "AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE" in str(err.value)


@pytest.mark.parametrize(
    "url", ["ftp://example.test/x", "file:///etc/passwd", "gopher://x/", "http:///nohost", "nonsense"]
)
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(guard.TargetRefused):
        guard.check_target(url, allow_private=True)


def test_public_addresses_pass_and_loopback_passes_when_allowed() -> None:
    target = guard.check_target("https://93.184.216.34:8443/hook?x=1", allow_private=False)
    assert (target.address, target.port, target.host_header()) == (
        "93.184.216.34",
        8443,
        "93.184.216.34:8443",
    )
    assert guard.check_target("http://127.0.0.1:9/x", allow_private=True).address == "127.0.0.1"


def test_a_name_resolving_to_public_and_private_addresses_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(host: str, port: Any, *args: Any, **kw: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(guard.TargetRefused) as err:
        guard.check_target("https://mixed.example.test/hook", allow_private=False)
    assert "10.0.0.5" in str(err.value)


def test_fetch_connects_to_the_checked_address_and_keeps_the_host_name(
    receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name resolves once (to our local receiver); the request goes to that address with the
    # original Host header, so a second, different DNS answer could not redirect it.
    receiver = receivers(lambda _r: (200, {}, b"x" * 100_000))
    answers = iter([("127.0.0.1", receiver.port)])
    real = socket.getaddrinfo

    def resolve_once(host: str, port: Any, *args: Any, **kw: Any) -> list[Any]:
        if host == "hooks.rebind.test":
            address = next(answers)  # a second lookup would raise StopIteration
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", address)]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve_once)
    result = guard.fetch_checked(
        f"http://hooks.rebind.test:{receiver.port}/path?q=1", max_bytes=1000, allow_private=True
    )
    assert result.status_code == 200 and result.truncated and len(result.body) == 1000
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.rebind.test:{receiver.port}" and request.path == "/path?q=1"


def test_fetch_follows_redirects_only_when_asked_and_checks_each_hop(
    receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    final = receivers(lambda _r: (200, {}, b"pdf"))
    hop = receivers(lambda _r: (302, {"Location": final.url}, b""))
    assert guard.fetch_checked(hop.url, allow_private=True).status_code == 302
    assert guard.fetch_checked(hop.url, allow_private=True, max_redirects=2).body == b"pdf"

    # A redirect towards the cloud metadata address is refused at that hop. (Our receivers are on
    # loopback, so for this test loopback counts as public; the checks above are the real ones.)
    real = guard.is_forbidden_address
    monkeypatch.setattr(guard, "is_forbidden_address", lambda a: str(a) != "127.0.0.1" and real(a))
    to_metadata = receivers(lambda _r: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""))
    with pytest.raises(guard.TargetRefused) as err:
        guard.fetch_checked(to_metadata.url, allow_private=False, max_redirects=1)
    assert "169.254.169.254" in str(err.value) and len(to_metadata.requests) == 1


def _tls_server(tmp_path: Any, name: str) -> tuple[int, Any, Any]:
    """An HTTPS server on loopback whose certificate (from a test CA) names `name`."""
    import http.server
    import threading

    server_ctx, client_ctx = tls_contexts(tmp_path, name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = f"host={self.headers['Host']}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return int(server.server_address[1]), server, client_ctx


def test_https_connects_to_the_checked_address_and_verifies_the_name(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, server, client_ctx = _tls_server(tmp_path, "hooks.tls.test")
    real = socket.getaddrinfo

    def resolve(host: str, p: Any, *args: Any, **kw: Any) -> list[Any]:
        if host.endswith(".tls.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))]
        return real(host, p, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    client = guard.make_client(ssl_context=client_ctx)
    try:
        # The connection goes to 127.0.0.1, yet TLS sends and verifies the name (SNI + certificate).
        result = guard.fetch_checked(f"https://hooks.tls.test:{port}/x", client=client, allow_private=True)
        assert result.status_code == 200 and result.body == f"host=hooks.tls.test:{port}".encode()
        # A name the certificate does not carry fails verification, even though the address is the same.
        with pytest.raises(guard.FetchFailed):
            guard.fetch_checked(f"https://other.tls.test:{port}/x", client=client, allow_private=True)
    finally:
        client.close()
        server.shutdown()
