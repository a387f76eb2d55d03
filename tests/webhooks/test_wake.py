"""A separate `autoscribe worker` hears of a committed event at once, on SQLite as on PostgreSQL."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.webhooks.conftest import (
    IsoDB,
    Receiver,
    WorkerProcess,
    enqueue,
    make_tenant,
    sample_report,
    wait_status,
)


def test_a_separate_worker_delivers_on_commit_without_waiting_for_its_poll(
    iso: IsoDB, worker_processes: Callable[..., WorkerProcess], receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    tenant = make_tenant(iso, report_url=receiver.url)
    # It would look at the outbox on its own only once a minute: only a wake-up delivers in time.
    worker = worker_processes(concurrency=2, AUTOSCRIBE_WEBHOOK_POLL_SECONDS="60")
    for n in range(3):
        event_id = enqueue(iso, tenant, sample_report(n=n))
        wait_status(iso, event_id, "succeeded", timeout=20)
        assert receiver.ids()[-1] == event_id, worker.log()


def test_a_dead_workers_socket_is_removed_and_live_ones_are_woken(tmp_path: Path) -> None:
    from autoscribe.webhooks import wake

    database = str(tmp_path / "autoscribe.db")
    woken: list[int] = []
    listener = wake.WakeListener(database, lambda: woken.append(1))
    assert listener.start()
    directory = wake.wake_dir(database)
    assert directory is not None and listener.path is not None
    # A worker killed without cleaning up leaves its socket file, with nobody reading it.
    stale = directory / f"999999-dead{wake.SUFFIX}"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:  # tmp_path can be longer than a socket address allows: bind as the product does
        dead.bind(wake._address(directory, stale.name, dir_fd))
    finally:
        os.close(dir_fd)
    dead.close()
    try:
        wake._own_sockets.discard(listener.path)  # as if the commit came from another process
        wake.notify_peers(database)
        _wait(lambda: woken)
        assert not stale.exists()
        assert os.path.exists(listener.path)
    finally:
        listener.stop()
    assert not os.path.exists(listener.path)


def test_an_in_memory_database_has_no_wake_directory() -> None:
    from autoscribe.webhooks import wake

    assert wake.wake_dir(":memory:") is None and wake.wake_dir(None) is None
    wake.notify_peers(":memory:")  # nothing to wake, and no error


def _wait(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not woken"
        time.sleep(0.01)
