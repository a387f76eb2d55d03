"""Files only the platform's own user can read: the data directory (database, secret key, mail
outbox, stored files) holds health records and secrets.

Two layers. Everything the platform creates on purpose is created private whatever the umask
(`private_dir`, `create_private`, `prepare_sqlite_file`): that holds when the app runs under
another ASGI server, in tests, or in a process whose umask someone else chose. On top, the
`autoscribe` command sets the umask to 077 (`restrict_umask`) before any subcommand runs, for
what libraries create on their own (SQLite journals, sockets, temporary files).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def restrict_umask() -> None:
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """`mkdir -p path`: every directory this creates is 0700 (existing ones are left alone)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # another process made it first: its mode is its creator's business
        os.chmod(directory, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def create_private(path: Path) -> int:
    """Create a new file (never an existing one: FileExistsError) readable by this user only,
    and return a descriptor open for writing. The mode is set at creation: never a moment where
    another user could open it."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # os.open's mode is masked by the umask: make it exactly 0600
    except BaseException:
        os.close(fd)
        raise
    return fd


def fsync_dir(directory: Path) -> None:
    """Make a new directory entry durable (best effort: not every platform can)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory and URI-style databases)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(database)


def prepare_sqlite_file(url: str) -> None:
    """Create a SQLite database file 0600 before SQLite does: SQLite gives its WAL and
    shared-memory files the mode of the database file, so they are private too. (The directory
    is the caller's: the data directory is made by `private_dir`.)"""
    path = sqlite_path(url)
    if path is None or path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):  # another process made it first
        os.close(create_private(path))  # an empty file is an empty SQLite database
