"""A small HTTP/1.1 client with keep-alive for calls to integrator URLs.

Why not httpx here: it cost a third of a worker's CPU per webhook delivery, and its timeouts
apply to each socket operation, so a server that drips one byte at a time could hold a request
far past its deadline. In this client every socket operation (connect, TLS handshake, each send
and each receive) gets only what is left of the request's single deadline. h11 does the protocol
(framing, chunked bodies, when a connection may be kept); this module does the I/O.

Connections are kept per (scheme, host, address, port) and checked before reuse. A kept
connection that the server closed while idle is the one failure retried, on a new connection,
and only when the caller says the request may be sent twice (webhooks are at-least-once and
carry a `webhook-id` for receivers to drop duplicates; GET and HEAD always may).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import certifi
import h11

_RECV_SIZE = 64 * 1024
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


class FetchFailed(Exception):
    """The request could not be completed (connection refused, reset, TLS error, ...)."""


class FetchTimeout(FetchFailed):
    """No complete answer within the deadline."""


class _NoAnswer(Exception):
    """The server closed or reset the connection before sending a single byte of its answer."""


@dataclass
class Response:
    status_code: int
    headers: list[tuple[bytes, bytes]]  # names in lower case, values as sent
    body: bytes
    truncated: bool  # the body was longer than max_bytes; `body` holds the first max_bytes


@dataclass(frozen=True)
class Destination:
    """Where to connect, and the name TLS must verify (None for plain http)."""

    scheme: str
    host: str
    address: str
    port: int
    tls_name: str | None


@dataclass(frozen=True)
class _Call:
    """One request as h11 holds it, with its body and limits."""

    request: h11.Request
    content: bytes | None
    deadline: float
    max_bytes: int


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.protocol = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def close(self) -> None:
        with contextlib.suppress(OSError):  # closing a dead socket
            self.sock.close()

    def is_alive(self) -> bool:
        """An idle connection is usable when reading would block: no EOF, no stray bytes."""
        try:
            self.sock.settimeout(0)
            if isinstance(self.sock, ssl.SSLSocket):
                # Reading consumes TLS-level records (session tickets); any data would be stray.
                self.sock.recv(1)
            else:
                self.sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, ssl.SSLWantReadError):
            return True
        except OSError:
            return False
        return False  # b"" is EOF; bytes before a request are a protocol error either way


def _remaining(deadline: float, doing: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchTimeout(f"timed out while {doing}")
    return left


class Pool:
    """Keeps idle connections for reuse; safe to share between threads."""

    def __init__(
        self,
        *,
        max_idle_per_destination: int = 16,
        max_idle_total: int = 256,
        idle_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_idle_per_destination = max_idle_per_destination
        self.max_idle_total = max_idle_total
        self.idle_timeout = idle_timeout  # idle connections older than this are closed
        self._ssl_context = ssl_context
        self._idle: dict[Destination, list[_Connection]] = {}  # roughly oldest first
        self._idle_count = 0
        self._swept_at = 0.0
        self._lock = threading.Lock()
        self._closed = False

    def idle_connections(self) -> int:
        with self._lock:
            return self._idle_count

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context(cafile=certifi.where())
        return self._ssl_context

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
            self._idle_count = 0
        for connections in idle.values():
            for conn in connections:
                conn.close()

    def request(
        self,
        destination: Destination,
        method: str,
        target: bytes,
        headers: list[tuple[str, str]],
        content: bytes | None,
        *,
        deadline: float,
        max_bytes: int,
        replayable: bool = False,
    ) -> Response:
        """Send one request and read its answer, all before `deadline` (time.monotonic()).

        Raises FetchTimeout when the deadline passes and FetchFailed for any other failure.
        """
        try:
            h11_request = h11.Request(method=method, target=target, headers=headers)
        except (h11.LocalProtocolError, ValueError) as exc:
            raise FetchFailed(f"invalid request: {exc}") from None
        call = _Call(h11_request, content, deadline, max_bytes)
        conn = self._checkout(destination)
        if conn is not None:
            try:
                return self._exchange(destination, conn, call)
            except _NoAnswer as exc:
                if not (replayable or method in _IDEMPOTENT):
                    raise FetchFailed(str(exc)) from None
        conn = self._connect(destination, deadline)
        try:
            return self._exchange(destination, conn, call)
        except _NoAnswer as exc:
            raise FetchFailed(str(exc)) from None

    def _checkout(self, destination: Destination) -> _Connection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(destination)
                if not idle:
                    return None
                conn = idle.pop()  # the most recently used is the likeliest to be alive
                self._idle_count -= 1
                if not idle:
                    del self._idle[destination]
            if now - conn.idle_since < self.idle_timeout and conn.is_alive():
                return conn
            conn.close()

    def _checkin(self, destination: Destination, conn: _Connection) -> None:
        protocol = conn.protocol
        # Bytes after the answer (a 204 or HEAD answer sent with a body) would be read as the
        # next request's answer: such a connection is never kept.
        reusable = (
            protocol.our_state is h11.DONE
            and protocol.their_state is h11.DONE
            and protocol.trailing_data == (b"", False)
        )
        now = time.monotonic()
        if reusable:
            protocol.start_next_cycle()
            conn.idle_since = now
        with self._lock:
            stale = self._sweep(now)
            room = self.max_idle_total > 0 and (
                len(self._idle.get(destination, ())) < self.max_idle_per_destination
            )
            if reusable and room and not self._closed:
                if self._idle_count >= self.max_idle_total:
                    stale.append(self._pop_oldest())
                self._idle.setdefault(destination, []).append(conn)
                self._idle_count += 1
            else:
                stale.append(conn)
        for old in stale:
            old.close()

    def _sweep(self, now: float) -> list[_Connection]:
        """Take out connections idle too long, at most once a second (called under the lock)."""
        if now - self._swept_at < 1.0:
            return []
        self._swept_at = now
        expired: list[_Connection] = []
        for destination, idle in list(self._idle.items()):
            kept: list[_Connection] = []
            for conn in idle:
                (kept if now - conn.idle_since < self.idle_timeout else expired).append(conn)
            if kept:
                self._idle[destination] = kept
            else:
                del self._idle[destination]
        self._idle_count -= len(expired)
        return expired

    def _pop_oldest(self) -> _Connection:
        """The longest idle connection of all (called under the lock, with at least one idle)."""
        destination = min(self._idle, key=lambda d: self._idle[d][0].idle_since)
        idle = self._idle[destination]
        oldest = idle.pop(0)
        if not idle:
            del self._idle[destination]
        self._idle_count -= 1
        return oldest

    def _connect(self, destination: Destination, deadline: float) -> _Connection:
        where = f"{destination.host}:{destination.port}"
        try:
            sock = socket.create_connection(
                (destination.address, destination.port), timeout=_remaining(deadline, "connecting")
            )
        except TimeoutError:
            raise FetchTimeout(f"timed out while connecting to {where}") from None
        except OSError as exc:
            raise FetchFailed(f"could not connect to {where}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if destination.tls_name is None:
            return _Connection(sock)
        try:
            tls = self.ssl_context.wrap_socket(
                sock, server_hostname=destination.tls_name, do_handshake_on_connect=False
            )
            # One do_handshake call keeps to one timeout for all its reads and writes.
            tls.settimeout(_remaining(deadline, "negotiating TLS"))
            tls.do_handshake()
        except TimeoutError:
            sock.close()
            raise FetchTimeout(f"timed out while negotiating TLS with {where}") from None
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise FetchFailed(f"TLS certificate of {where} rejected: {exc.verify_message}") from None
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise FetchFailed(f"TLS handshake with {where} failed: {exc}") from None
        except BaseException:
            sock.close()
            raise
        return _Connection(tls)

    def _exchange(self, destination: Destination, conn: _Connection, call: _Call) -> Response:
        try:
            response = self._send_and_read(conn, call)
        except BaseException:
            conn.close()
            raise
        if response.truncated:
            conn.close()  # the rest of the body is still on the wire
        else:
            self._checkin(destination, conn)
        return response

    def _send_and_read(self, conn: _Connection, call: _Call) -> Response:
        protocol, deadline, max_bytes = conn.protocol, call.deadline, call.max_bytes
        try:
            data = protocol.send(call.request) or b""
            if call.content:
                data += protocol.send(h11.Data(data=call.content)) or b""
            data += protocol.send(h11.EndOfMessage()) or b""
        except (h11.LocalProtocolError, ValueError) as exc:
            raise FetchFailed(f"invalid request: {exc}") from None
        self._send_all(conn.sock, data, deadline)

        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        size = 0
        answered = False  # any byte of the answer received
        try:
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    doing = "reading the answer" if answered else "waiting for the answer"
                    conn.sock.settimeout(_remaining(deadline, doing))
                    try:
                        received = conn.sock.recv(_RECV_SIZE)
                    except TimeoutError:
                        raise FetchTimeout(f"timed out while {doing}") from None
                    except OSError as exc:
                        if not answered:
                            raise _NoAnswer(f"the connection was lost before an answer: {exc}") from None
                        raise FetchFailed(f"the connection was lost while reading: {exc}") from None
                    if not received and not answered:
                        raise _NoAnswer("the server closed the connection without answering")
                    answered = True
                    protocol.receive_data(received)  # b"" tells h11 the server closed
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    headers = list(event.headers)
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                    size += len(event.data)
                    if size > max_bytes:
                        return Response(status, headers, b"".join(chunks)[:max_bytes], True)
                elif isinstance(event, h11.EndOfMessage):
                    return Response(status, headers, b"".join(chunks), False)
                elif not isinstance(event, h11.InformationalResponse):  # 1xx: the answer follows
                    # PAUSED: a protocol switch (101), which no call to an integrator asks for.
                    raise FetchFailed(f"unexpected answer from the server ({event!r})")
        except h11.RemoteProtocolError as exc:
            raise FetchFailed(f"the answer is not valid HTTP/1.1: {exc}") from None

    @staticmethod
    def _send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            sock.settimeout(_remaining(deadline, "sending the request"))
            try:
                sent = sock.send(view)
            except TimeoutError:
                raise FetchTimeout("timed out while sending the request") from None
            except OSError as exc:
                raise _NoAnswer(f"the connection was lost while sending: {exc}") from None
            view = view[sent:]
