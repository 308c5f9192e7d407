"""The event log keeps the newest `event_retention` events; older resumes are Gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s4ai.store import errors, sqlite

from . import builders


def test_resuming_before_the_retained_log_is_gone(db_path: Path) -> None:
    with sqlite.SqliteStore(db_path, event_retention=10) as store:
        store.apply([builders.queue(f"q-{i}") for i in range(25)])

        with pytest.raises(errors.Gone, match="too old resource version: 14"):
            store.events(14)
        assert [e.resource_version for e in store.events(15)] == list(range(16, 26))


def test_compaction_keeps_latest_rv_and_objects(db_path: Path) -> None:
    with sqlite.SqliteStore(db_path, event_retention=1) as store:
        for i in range(5):
            store.create(builders.queue(f"q-{i}"))
        store.delete("Queue", "q-0")

        assert store.resource_version() == 6
        assert len(store.list("Queue").items) == 4
        assert [e.type for e in store.events(5)] == ["DELETED"]
        assert builders.rv(store.create(builders.queue("next"))) == 7


def test_uncompacted_store_replays_from_zero(store: sqlite.SqliteStore) -> None:
    store.apply([builders.queue(f"q-{i}") for i in range(5)])

    assert len(store.events(0)) == 5


def test_retention_must_be_positive(db_path: Path) -> None:
    with pytest.raises(ValueError, match="event_retention"):
        sqlite.SqliteStore(db_path, event_retention=0)
