"""Files only the platform's user can read (issue 12, item 6): the data directory 0700; the
database, its WAL, the outbox and stored files 0600; the secret key private from its first moment
and the same for processes that start at once.

Each test runs with the umask of a typical shell (022), under which the old code made all of
these readable by every local user.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_server, stop_server

AUTOSCRIBE = str(Path(sys.executable).parent / "autoscribe")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose(root: Path) -> list[str]:
    """Everything under root (root included) that another user could read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        if path.is_socket():
            continue  # wake-up sockets: inside a 0700 directory, checked itself
        if mode(path) & 0o077:
            found.append(f"{path.relative_to(root.parent)} {oct(mode(path))}")
    return found


@pytest.fixture
def shell_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_secret_key_is_private_and_complete_from_its_first_moment(
    tmp_path: Path, shell_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoscribe.config import _secret_key_file

    data_dir = tmp_path / "data"
    seen: list[str] = []
    real = secrets.token_urlsafe

    def spying_token(n: int | None = None) -> str:
        # Called while the key is being written: what could another user or process see now?
        if data_dir.exists():
            seen.extend(loose(data_dir))
            key_file = data_dir / "secret.key"
            if key_file.exists():
                size = key_file.stat().st_size
                seen.append(f"secret.key visible before its key was written ({size} bytes)")
        return real(n)

    monkeypatch.setattr(secrets, "token_urlsafe", spying_token)
    key = _secret_key_file(data_dir)
    assert seen == []
    assert len(key) >= 60
    assert mode(data_dir) == 0o700 and mode(data_dir / "secret.key") == 0o600
    assert sorted(p.name for p in data_dir.iterdir()) == ["secret.key"]  # no candidate left over
    assert _secret_key_file(data_dir) == key


def test_two_threads_starting_at_once_agree_on_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first writer is held while it writes; the second must not read a half-made key."""
    from autoscribe.config import _secret_key_file

    data_dir = tmp_path / "data"
    real = secrets.token_urlsafe
    first_writing = threading.Event()
    second_done = threading.Event()
    calls = 0
    lock = threading.Lock()

    def slow_first(n: int | None = None) -> str:
        nonlocal calls
        with lock:
            calls += 1
            first = calls == 1
        if first:
            first_writing.set()
            second_done.wait(3)
        return real(n)

    monkeypatch.setattr(secrets, "token_urlsafe", slow_first)
    keys: dict[str, str] = {}

    def first() -> None:
        keys["first"] = _secret_key_file(data_dir)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_writing.wait(5)
    try:
        keys["second"] = _secret_key_file(data_dir)
    finally:
        second_done.set()
        thread.join(10)
    assert keys["first"] and keys["first"] == keys["second"]
    assert (data_dir / "secret.key").read_text().strip() == keys["first"]


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path, shell_umask: None) -> None:
    data_dir = tmp_path / "data"
    go = tmp_path / "go"
    script = (
        "import sys, time, pathlib\n"
        "from autoscribe.config import _secret_key_file\n"
        f"go = pathlib.Path({str(go)!r})\n"
        "while not go.exists(): time.sleep(0.001)\n"
        f"print(_secret_key_file(pathlib.Path({str(data_dir)!r})))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    time.sleep(1.0)  # every interpreter started and waiting
    go.touch()
    keys = set()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        keys.add(out.strip())
    assert len(keys) == 1 and "" not in keys
    assert (data_dir / "secret.key").read_text().strip() in keys
    assert mode(data_dir / "secret.key") == 0o600 and mode(data_dir) == 0o700
    assert sorted(p.name for p in data_dir.iterdir()) == ["secret.key"]


def test_sqlite_database_and_wal_are_private_whatever_the_umask(tmp_path: Path, shell_umask: None) -> None:
    from sqlalchemy import text

    from autoscribe.db import make_engine

    path = tmp_path / "private.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('patient data')"))
        with engine.connect() as conn:  # keep the WAL open while checking
            assert conn.execute(text("SELECT x FROM t")).scalar() == "patient data"
            files = {p.name: mode(p) for p in tmp_path.iterdir()}
    finally:
        engine.dispose()
    assert files == {"private.db": 0o600, "private.db-wal": 0o600, "private.db-shm": 0o600}


def test_local_storage_files_are_private_whatever_the_umask(tmp_path: Path, shell_umask: None) -> None:
    from autoscribe.storage.local import LocalStorage

    storage = LocalStorage(tmp_path / "files", "http://127.0.0.1:1")
    storage.put("reports/clinic/study/rep_1.pdf", b"%PDF-1.7 report", content_type="application/pdf")
    storage.put("reports/clinic/study/rep_1.pdf", b"%PDF-1.7 again", content_type="application/pdf")
    assert loose(tmp_path / "files") == []
    assert mode(tmp_path / "files" / "reports" / "clinic" / "study" / "rep_1.pdf") == 0o600


def test_a_fresh_install_is_private(tmp_path: Path, shell_umask: None) -> None:
    """`autoscribe migrate` then `autoscribe serve` on a new data directory, from a 022 shell."""
    data_dir = tmp_path / "install" / "var"
    env = {
        "AUTOSCRIBE_DATA_DIR": str(data_dir),
        "AUTOSCRIBE_DATABASE_URL": "",  # SQLite in the data directory, whatever the suite runs on
        "AUTOSCRIBE_SECRET_KEY": "",  # generated in the data directory
    }
    done = subprocess.run(
        [AUTOSCRIBE, "migrate"], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert mode(data_dir) == 0o700 and mode(data_dir / "autoscribe.db") == 0o600

    server = start_server(env, name="fresh-install")
    try:
        client = httpx.Client(base_url=server.url)
        assert client.get("/login").status_code == 200  # signs a CSRF token: makes the secret key
        form = {"email": "nobody@example.test", "csrf_token": "x"}
        assert client.post("/forgot-password", data=form).status_code < 500
        assert (data_dir / "secret.key").exists()
        names = {p.name for p in data_dir.iterdir()}
        assert {"autoscribe.db", "autoscribe.db-wal", "autoscribe.db-shm", "secret.key"} <= names, names
        assert loose(data_dir) == []
    finally:
        stop_server(server)
    assert loose(data_dir) == []
