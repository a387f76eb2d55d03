"""Ids: UUIDv7 that one process makes in strictly increasing order, also within a millisecond."""

from __future__ import annotations

import itertools
import threading
import uuid

from autoscribe import ids


def test_ids_made_in_the_same_millisecond_keep_their_order() -> None:
    made = [ids.new_id() for _ in range(20_000)]  # many per millisecond
    assert all(a < b for a, b in itertools.pairwise(made))
    assert {u.version for u in made} == {7} and {u.variant for u in made} == {uuid.RFC_4122}
    # The timestamp is the creation time (to the millisecond; an overflowing counter borrows one).
    first_ms, last_ms = made[0].int >> 80, made[-1].int >> 80
    assert 0 <= last_ms - first_ms < 60_000


def test_counter_overflow_borrows_the_next_millisecond(monkeypatch: object) -> None:
    import time

    frozen = time.time_ns()
    monkeypatch.setattr(ids.time, "time_ns", lambda: frozen)  # type: ignore[attr-defined]
    made = [ids.new_id() for _ in range(5000)]  # more than the 12-bit counter holds
    assert all(a < b for a, b in itertools.pairwise(made))
    assert (made[-1].int >> 80) - (made[0].int >> 80) in (1, 2)


def test_threads_get_distinct_increasing_ids() -> None:
    results: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def work(out: list[uuid.UUID]) -> None:
        out.extend(ids.new_id() for _ in range(2000))

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [u for r in results for u in r]
    assert len(set(everything)) == len(everything)
    for r in results:
        assert all(a < b for a, b in itertools.pairwise(r))
