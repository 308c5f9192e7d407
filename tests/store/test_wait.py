"""wait: returns as soon as a newer write exists, from this thread, another, or on timeout."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from k8s4ai.store import sqlite

from . import builders


def test_returns_at_once_when_already_newer(store: sqlite.SqliteStore) -> None:
    store.create(builders.queue("team-a"))

    assert store.wait(0, timeout=5) == 1


def test_times_out_with_the_current_version(store: sqlite.SqliteStore) -> None:
    store.create(builders.queue("team-a"))
    started = time.monotonic()

    assert store.wait(1, timeout=0.2) == 1
    assert 0.15 <= time.monotonic() - started < 2


def test_wakes_on_a_write_from_another_thread(db_path: Path) -> None:
    # Polling is slowed to a minute, so only the in-process notification can wake it in time.
    with sqlite.SqliteStore(db_path, poll_interval=60) as store:
        writer = threading.Timer(0.2, lambda: store.create(builders.queue("team-a")))
        started = time.monotonic()
        writer.start()
        try:
            latest = store.wait(0, timeout=30)
        finally:
            writer.join()

        assert latest == 1
        assert time.monotonic() - started < 5
        assert [e.object.metadata.name for e in store.events(0)] == ["team-a"]
