"""A closed store refuses work instead of touching closed connections."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from k8s4ai.store import errors, open_store, schema, sqlite

from . import builders


def test_closed_store_refuses_reads_and_writes(db_path: Path) -> None:
    store = open_store(db_path)
    store.create(builders.queue("team-a"))
    store.close()
    store.close()  # idempotent

    with pytest.raises(errors.StoreError, match="closed"):
        store.get("Queue", "team-a")
    with pytest.raises(errors.StoreError, match="closed"):
        store.create(builders.queue("team-b"))


def test_open_store_returns_a_sqlite_store(db_path: Path) -> None:
    with open_store(db_path) as store:
        assert isinstance(store, sqlite.SqliteStore)
        assert store.path == db_path


def test_close_closes_every_connection(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[sqlite3.Connection] = []
    real_connect = schema.connect

    def tracking_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(real_connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(schema, "connect", tracking_connect)
    store = sqlite.SqliteStore(db_path)
    store.create(builders.queue("team-a"))
    readers = [threading.Thread(target=store.list, args=("Queue",)) for _ in range(4)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join()
    store.close()

    assert len(opened) >= 2
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")
