"""Several processes on one file: another process's writes reach events() and wait()."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from k8s4ai.store import sqlite

from . import builders, processes

pytestmark = pytest.mark.integration


def test_wait_wakes_on_another_process_write(db_path: Path) -> None:
    with sqlite.SqliteStore(db_path, poll_interval=0.05) as store:
        proc = processes.start_writer(db_path, "remote", 1)
        started = time.monotonic()
        latest = store.wait(0, timeout=30)
        proc.communicate(timeout=30)

        assert proc.returncode == 0
        assert latest >= 1
        assert time.monotonic() - started < 10
        assert store.get("Queue", "remote-0").metadata.name == "remote-0"


def test_events_from_two_writers_arrive_once_and_in_order(db_path: Path) -> None:
    with (
        sqlite.SqliteStore(db_path) as local,
        sqlite.SqliteStore(db_path) as watcher,
    ):
        local.create(builders.queue("before"))
        since = watcher.resource_version()
        proc = processes.start_writer(db_path, "remote", 60, synchronous="NORMAL")
        local_writes = threading.Thread(
            target=lambda: [local.create(builders.gang(f"local-{i}")) for i in range(60)]
        )
        local_writes.start()

        seen = []
        cursor = since
        deadline = time.monotonic() + 60
        while len(seen) < 120 and time.monotonic() < deadline:
            watcher.wait(cursor, timeout=1)
            page = watcher.events(cursor, limit=7)
            seen += page
            if page:
                cursor = page[-1].resource_version
        local_writes.join()
        out, _ = proc.communicate(timeout=30)

    rvs = [e.resource_version for e in seen]
    assert rvs == list(range(since + 1, since + 121))
    expected = [f"remote-{i}" for i in range(60)] + [f"local-{i}" for i in range(60)]
    assert sorted(e.object.metadata.name for e in seen) == sorted(expected)
    seen_rvs = {e.object.metadata.name: e.resource_version for e in seen}
    acked = processes.acknowledged(out.splitlines(keepends=True))
    assert {name: seen_rvs[name] for name in acked} == acked
