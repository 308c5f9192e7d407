"""Writes from many threads: each gets its own resourceVersion, in commit order."""

from __future__ import annotations

import threading

from k8s4ai.store import sqlite

from . import builders

THREADS, WRITES = 8, 25


def test_concurrent_writes_get_unique_increasing_versions(store: sqlite.SqliteStore) -> None:
    per_thread: dict[int, list[int]] = {}
    start = threading.Barrier(THREADS)

    def writer(t: int) -> None:
        start.wait()
        rvs = per_thread.setdefault(t, [])
        for i in range(WRITES):
            if i % 2 == 0:
                created = store.create(builders.gang(f"t{t}-{i}", namespace=f"ns-{t}"))
            else:
                created = store.patch(
                    "GangSchedulingGroup", f"t{t}-{i - 1}", f"ns-{t}", {"spec": {"priority": i}}
                )
            rvs.append(builders.rv(created))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = sorted(rv for rvs in per_thread.values() for rv in rvs)
    assert everything == list(range(1, THREADS * WRITES + 1))
    assert all(rvs == sorted(rvs) for rvs in per_thread.values())
    assert [e.resource_version for e in store.events(0)] == everything


def test_readers_run_alongside_writers(store: sqlite.SqliteStore) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                listed = store.list("Queue")
                assert len(listed.items) <= listed.resource_version
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    for i in range(50):
        store.create(builders.queue(f"q-{i}"))
    stop.set()
    for thread in readers:
        thread.join()

    assert errors == []
