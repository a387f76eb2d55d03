"""Waking dispatchers of other processes on SQLite, where there is no LISTEN/NOTIFY.

Every process that shares a SQLite database runs on the machine that holds the file, so a
dispatcher binds a Unix datagram socket in a directory beside it (`<database>.wake/`), and a
process that commits an event sends one byte to every socket there. Without this, a separate
`autoscribe worker` would only see new events at its next poll. A socket whose process died
refuses the byte and is removed by the sender. Wake-ups carry no data: a dispatcher that gets one
just looks at the outbox, so a stray or lost datagram costs at most a query or a poll interval.
A socket address holds about 100 bytes; deeper directories are reached through a descriptor of
the directory (/proc/self/fd/N/name, Linux), and without that the dispatcher only polls.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("autoscribe.webhooks")

# sockaddr_un holds 108 bytes on Linux (104 on macOS) including the final NUL.
MAX_SOCKET_PATH = 100
_PROC_FD = Path("/proc/self/fd")
SUFFIX = ".sock"

_own_sockets: set[str] = set()  # this process's listeners: its own commits wake them directly


def wake_dir(database: str | None) -> Path | None:
    """The wake directory of a SQLite database file, or None for an in-memory database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(os.path.abspath(database))
    return path.with_name(path.name + ".wake")


def notify_peers(database: str | None) -> None:
    """Wake every other dispatcher of this database (never raises: polling is the fallback)."""
    directory = wake_dir(database)
    if directory is None:
        return
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # no dispatcher has listened here yet
    try:
        names = [e.name for e in os.scandir(dir_fd) if e.name.endswith(SUFFIX)]
        peers = [name for name in names if str(directory / name) not in _own_sockets]
        if not peers:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            for name in peers:
                try:
                    sock.sendto(b"!", _address(directory, name, dir_fd))
                except (ConnectionRefusedError, FileNotFoundError):
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=dir_fd)  # its process is gone
                except OSError:
                    pass  # its queue is full (a wake-up is already waiting there), or too long a path
    except OSError:
        return
    finally:
        os.close(dir_fd)


def _address(directory: Path, name: str, dir_fd: int) -> str:
    """A socket address short enough for sockaddr_un that names directory/name."""
    full = str(directory / name)
    if len(full.encode()) <= MAX_SOCKET_PATH or not _PROC_FD.is_dir():
        return full
    return f"{_PROC_FD}/{dir_fd}/{name}"


class WakeListener:
    """A dispatcher's socket in the wake directory; calls `on_wake` for every datagram."""

    def __init__(self, database: str | None, on_wake: Callable[[], None]) -> None:
        self.directory = wake_dir(database)
        self.on_wake = on_wake
        self.path: str | None = None
        self._sock: socket.socket | None = None
        self._dir_fd: int | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> bool:
        """Listen; False when this database cannot have one (then the dispatcher only polls)."""
        if self.directory is None:
            return False
        name = f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        path = str(self.directory / name)
        try:
            self.directory.mkdir(mode=0o700, exist_ok=True)
            self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(_address(self.directory, name, self._dir_fd))
            except OSError:
                sock.close()
                raise
        except OSError as exc:
            log.info("no webhook wake-up socket in %s (%s); polling only", self.directory, exc)
            self._close_dir()
            return False
        sock.settimeout(0.5)  # to notice stop()
        self._sock, self.path = sock, path
        _own_sockets.add(path)
        self._thread = threading.Thread(target=self._run, name="webhook-wake", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                self._sock.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            self.on_wake()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self._sock is not None:
            self._sock.close()
        if self.path is not None:
            _own_sockets.discard(self.path)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        self._close_dir()

    def _close_dir(self) -> None:
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None
