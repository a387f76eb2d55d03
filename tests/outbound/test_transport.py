"""The keep-alive HTTP client behind every call to an integrator: deadlines, reuse, resends.

Each test runs a raw socket server whose behaviour per connection the test scripts, so the
misbehaviours a real endpoint shows (dripping bytes, closing idle connections, dropping a
request) are reproduced exactly.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from autoscribe.outbound import guard, transport
from autoscribe.webhooks import delivery
from tests.webhooks.conftest import tls_contexts, wait_until

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
OK_EMPTY = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class RawServer:
    """Accepts connections on loopback and hands each to `serve(conn, number)` in a thread."""

    def __init__(
        self, serve: Callable[[socket.socket, int], None] | None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.serve = serve or (lambda conn, number: self.keep_answering(conn))
        self.tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.closed = 0  # connections the server has closed
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._run, args=(conn, number), daemon=True).start()

    def _run(self, conn: socket.socket, number: int) -> None:
        with contextlib.suppress(OSError):
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            try:
                with conn:
                    self.serve(conn, number)
            finally:
                with self._lock:
                    self.closed += 1

    def read_request(self, conn: socket.socket) -> bytes | None:
        """One request (head and Content-Length body), or None when the client closed."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        with self._lock:
            self.requests.append(head)
        return head

    def keep_answering(self, conn: socket.socket, answer: bytes = OK) -> None:
        """Answer every request on the connection with `answer`, until the client closes it."""
        while self.read_request(conn) is not None:
            conn.sendall(answer)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def make_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], RawServer]]:
    servers: list[RawServer] = []

    def make(
        serve: Callable[[socket.socket, int], None] | None = None, tls: ssl.SSLContext | None = None
    ) -> RawServer:
        """A server running `serve` per connection; by default one that answers OK to everything."""
        servers.append(RawServer(serve, tls))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def pool() -> Iterator[transport.Pool]:
    pool = guard.make_client()
    yield pool
    pool.close()


def fetch(pool: transport.Pool, url: str, **kwargs: object) -> guard.FetchResult:
    return guard.fetch_checked(url, client=pool, allow_private=True, **kwargs)  # type: ignore[arg-type]


def test_kept_connections_are_reused(make_server: Callable[..., RawServer], pool: transport.Pool) -> None:
    server = make_server()
    for _ in range(5):
        result = fetch(pool, server.url(), method="POST", content=b"{}")
        assert (result.status_code, result.body) == (200, b"ok")
    assert server.connections == 1 and len(server.requests) == 5


def test_a_server_dripping_its_answer_cannot_hold_a_request_past_the_deadline(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    # A complete, valid answer, one byte every 0.1 s: about 5 s in all, each byte well within
    # any per-read timeout. The request's one-second deadline must still end it.
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"

    def serve(conn: socket.socket, number: int) -> None:
        server.read_request(conn)
        for byte in answer:
            conn.sendall(bytes([byte]))
            time.sleep(0.1)

    server = make_server(serve)
    with pytest.raises(guard.FetchTimeout, match="reading the answer"):
        fetch(pool, server.url(), timeout=1.0)


def test_a_silent_server_times_out_waiting_for_the_answer(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    def serve(conn: socket.socket, number: int) -> None:
        server.read_request(conn)
        time.sleep(5)

    server = make_server(serve)
    with pytest.raises(guard.FetchTimeout, match="waiting for the answer"):
        fetch(pool, server.url(), timeout=0.5)


def test_a_silent_tls_server_times_out_in_the_handshake(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    server = make_server(lambda conn, number: time.sleep(5))
    with pytest.raises(guard.FetchTimeout, match="negotiating TLS"):
        fetch(pool, f"https://127.0.0.1:{server.port}/hook", timeout=0.5)


def test_a_connection_the_server_closed_while_idle_is_not_used(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    def serve(conn: socket.socket, number: int) -> None:
        server.read_request(conn)
        conn.sendall(OK)  # keep-alive by HTTP/1.1 rules, then closed at once (an idle timeout)

    server = make_server(serve)
    assert fetch(pool, server.url(), method="POST", content=b"1").status_code == 200
    wait_until(lambda: server.closed == 1, 10, "the server to close")
    time.sleep(0.05)  # and the FIN to reach the client's socket
    # Not replayable, so only a liveness check before reuse lets this succeed.
    assert fetch(pool, server.url(), method="POST", content=b"2").status_code == 200
    assert server.connections == 2 and len(server.requests) == 2


def _drops_second_request(server_box: list[RawServer]) -> Callable[[socket.socket, int], None]:
    """First connection: answers one request, then reads the next and closes without a word."""

    def serve(conn: socket.socket, number: int) -> None:
        server = server_box[0]
        if number == 1:
            server.read_request(conn)
            conn.sendall(OK)
            server.read_request(conn)
            return
        server.keep_answering(conn)

    return serve


def test_a_post_dropped_on_a_kept_connection_is_not_sent_twice_unless_replayable(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    box: list[RawServer] = []
    box.append(make_server(_drops_second_request(box)))
    server = box[0]
    assert fetch(pool, server.url(), method="POST", content=b"1").status_code == 200
    with pytest.raises(guard.FetchFailed, match="without answering"):
        fetch(pool, server.url(), method="POST", content=b"2")
    assert len(server.requests) == 2  # the dropped POST reached the server once, and only once


def test_a_replayable_request_dropped_on_a_kept_connection_is_sent_again_on_a_new_one(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    box: list[RawServer] = []
    box.append(make_server(_drops_second_request(box)))
    server = box[0]
    assert fetch(pool, server.url(), method="POST", content=b"1").status_code == 200
    result = fetch(pool, server.url(), method="POST", content=b"2", replayable=True)
    assert result.status_code == 200
    assert server.connections == 2 and len(server.requests) == 3


def test_a_new_connection_closed_without_an_answer_is_a_failure_not_a_resend(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    def serve(conn: socket.socket, number: int) -> None:
        server.read_request(conn)

    server = make_server(serve)
    with pytest.raises(guard.FetchFailed, match="without answering"):
        fetch(pool, server.url(), method="POST", content=b"1", replayable=True)
    assert len(server.requests) == 1


def test_non_ascii_paths_and_queries_are_sent_percent_encoded(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    server = make_server()
    assert fetch(pool, server.url("/hooks/ärzte?klinik=münchen")).status_code == 200
    assert server.requests[0].split(b"\r\n")[0] == (b"GET /hooks/%C3%A4rzte?klinik=m%C3%BCnchen HTTP/1.1")


def test_a_header_that_would_split_the_request_is_refused(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    server = make_server()
    with pytest.raises(guard.FetchFailed, match="invalid request"):
        fetch(pool, server.url(), headers={"X-Note": "a\r\nX-Injected: 1"})
    with pytest.raises(guard.FetchFailed, match="invalid request"):
        fetch(pool, server.url(), headers={"X-Note": "Grüße"})
    assert fetch(pool, server.url(), headers={"X-Note": "fine"}).status_code == 200
    assert len(server.requests) == 1 and b"X-Injected" not in server.requests[0]  # nothing else was sent


def test_chunked_bodies_interim_answers_and_the_size_cap(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    def serve(conn: socket.socket, number: int) -> None:
        while (head := server.read_request(conn)) is not None:
            if b"/big" in head:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000)
            else:
                conn.sendall(
                    b"HTTP/1.1 100 Continue\r\n\r\n"
                    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
                    b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
                )

    server = make_server(serve)
    result = fetch(pool, server.url())
    assert (result.status_code, result.body, result.headers["retry-after"]) == (201, b"abcdefg", "7")
    big = fetch(pool, server.url("/big"), max_bytes=1000)
    assert big.truncated and big.body == b"x" * 1000
    # The rest of the big body was still on the wire: that connection was closed, not kept.
    assert fetch(pool, server.url()).body == b"abcdefg"
    assert server.connections == 2


def test_an_answer_that_is_not_http_is_a_clear_failure(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    def serve(conn: socket.socket, number: int) -> None:
        server.read_request(conn)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    server = make_server(serve)
    with pytest.raises(guard.FetchFailed, match="not valid HTTP"):
        fetch(pool, server.url())


def test_a_refused_connection_names_the_destination(pool: transport.Pool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(guard.FetchFailed, match=f"could not connect to 127.0.0.1:{port}"):
        fetch(pool, f"http://127.0.0.1:{port}/hook")


def test_bytes_after_a_bodiless_answer_never_pass_for_the_next_answer(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    # A 204 sent with a body (a common framework bug): those bytes look like an answer.
    def serve(conn: socket.socket, number: int) -> None:
        server.read_request(conn)
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 38\r\n\r\n" + OK_EMPTY)
        server.keep_answering(conn, b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")

    server = make_server(serve)
    assert fetch(pool, server.url(), method="POST", content=b"1").status_code == 204
    assert fetch(pool, server.url(), method="POST", content=b"2").status_code == 204  # a new connection
    assert server.connections == 2


def test_answer_headers_with_bytes_beyond_ascii_are_kept_not_fatal(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    server = make_server(
        lambda conn, number: server.keep_answering(
            conn, b"HTTP/1.1 200 OK\r\nServer: Caf\xc3\xa9\r\nContent-Length: 2\r\n\r\nok"
        )
    )
    result = fetch(pool, server.url())
    assert result.status_code == 200 and result.headers["server"] == "Café"
    outcome = delivery.post_event(
        server.url(),
        secret="whsec_" + "A" * 32,
        event_id="whe_1",
        event_type="report.delivered",
        data={},
        timeout=5,
        max_bytes=1000,
        client=pool,
        allow_private=True,
    )
    assert outcome.succeeded and outcome.status_code == 200


def test_idle_connections_are_closed_after_the_idle_timeout_and_capped_in_number(
    make_server: Callable[..., RawServer],
) -> None:
    server = make_server()
    others = [make_server() for _ in range(4)]
    pool = transport.Pool(idle_timeout=0.5, max_idle_total=3)
    try:
        for other in others:
            assert fetch(pool, other.url()).status_code == 200
        # The cap closed the oldest kept connection; the servers see which.
        wait_until(lambda: others[0].closed == 1, 10, "the oldest connection to be closed")
        assert pool.idle_connections() == 3 and [o.closed for o in others[1:]] == [0, 0, 0]
        time.sleep(1.2)
        assert fetch(pool, server.url()).status_code == 200
        # The other destinations' connections expired and were closed; only this one is kept.
        wait_until(lambda: all(o.closed == 1 for o in others), 10, "the expired connections to be closed")
        assert pool.idle_connections() == 1 and server.closed == 0
    finally:
        pool.close()
    assert pool.idle_connections() == 0
    keep_none = transport.Pool(max_idle_total=0)  # keep-alive off: every answer still arrives
    assert fetch(keep_none, server.url()).status_code == 200 and keep_none.idle_connections() == 0


def test_a_protocol_switch_is_refused_not_waited_on(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    def serve(conn: socket.socket, number: int) -> None:
        server.read_request(conn)
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        time.sleep(3)

    server = make_server(serve)
    with pytest.raises(guard.FetchFailed, match="unexpected answer"):
        fetch(pool, server.url(), headers={"Upgrade": "websocket", "Connection": "Upgrade"}, timeout=10)


def test_tls_connections_are_kept_and_one_closed_while_idle_is_replaced(
    make_server: Callable[..., RawServer], tmp_path: Any
) -> None:
    server_ctx, client_ctx = tls_contexts(tmp_path, "localhost")
    closing = {"after": 3}

    def serve(conn: socket.socket, number: int) -> None:
        for _ in range(closing["after"]):
            if server.read_request(conn) is None:
                return
            conn.sendall(OK)
        if number % 2:  # a clean TLS close (close_notify, without waiting for the reply)...
            conn.setblocking(False)
            with contextlib.suppress(ssl.SSLWantReadError, OSError):
                conn.unwrap()  # type: ignore[attr-defined]
        # ...or (even numbers) a plain TCP close

    server = make_server(serve, server_ctx)
    pool = guard.make_client(ssl_context=client_ctx)
    url = f"https://localhost:{server.port}/hook"
    try:
        for _ in range(3):
            assert fetch(pool, url, method="POST", content=b"x").body == b"ok"
        assert server.connections == 1
        for n in range(4):
            if n in (0, 3):  # the server has closed the kept connection after its third answer
                wait_until(lambda: server.closed == server.connections, 10, "the server to close")
                time.sleep(0.05)  # and the close to reach the client's socket
            assert fetch(pool, url, method="POST", content=b"x").body == b"ok"
        assert server.connections == 3 and len(server.requests) == 7
    finally:
        pool.close()


def test_a_get_is_sent_again_when_a_kept_connection_drops_it(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    box: list[RawServer] = []
    box.append(make_server(_drops_second_request(box)))
    server = box[0]
    assert fetch(pool, server.url()).status_code == 200
    assert fetch(pool, server.url()).status_code == 200  # GET is idempotent: no flag needed
    assert server.connections == 2 and len(server.requests) == 3


def test_one_pool_shared_by_many_threads_never_mixes_up_answers(
    make_server: Callable[..., RawServer], pool: transport.Pool
) -> None:
    def serve(conn: socket.socket, number: int) -> None:
        for _ in range(5):  # closes every fifth request's connection, as idle timeouts would
            head = server.read_request(conn)
            if head is None:
                return
            echo = head.split(b" ")[1]
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(echo), echo))

    server = make_server(serve)
    mixed: list[tuple[str, bytes]] = []

    def worker(n: int) -> None:
        for i in range(25):
            path = f"/t{n}/{i}"
            body = fetch(pool, server.url(path), method="POST", content=b"x", replayable=True).body
            if body != path.encode():
                mixed.append((path, body))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mixed == [] and len(server.requests) >= 200


def test_a_slow_name_lookup_counts_against_the_deadline(
    make_server: Callable[..., RawServer], pool: transport.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server()
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host: str, port: Any, *args: Any, **kw: Any) -> Any:
        lookups.append(host)
        if host == "slow.dns.test":
            time.sleep(3)  # an integrator's DNS server that takes its time
            return real("127.0.0.1", port, *args, **kw)
        if host == "fast.dns.test":
            return real("127.0.0.1", port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(guard.FetchTimeout, match=r"resolving slow\.dns\.test"):
        fetch(pool, f"http://slow.dns.test:{server.port}/hook", timeout=0.5)
    result = fetch(pool, f"http://fast.dns.test:{server.port}/hook", timeout=5)
    assert result.status_code == 200 and server.requests[0].split(b"\r\n")[0] == b"GET /hook HTTP/1.1"
    assert b"Host: fast.dns.test:%d" % server.port in server.requests[0]
    assert [h for h in lookups if h.endswith(".test")] == ["slow.dns.test", "fast.dns.test"]
