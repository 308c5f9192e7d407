"""The objects-per-kind gauge follows the event log between scrapes and recounts only when
the log was compacted past its cursor."""

from __future__ import annotations

from pathlib import Path

from k8s4ai.api import Queue
from k8s4ai.server import metrics
from k8s4ai.store import sqlite

from . import manifests


def queue(name: str) -> Queue:
    return Queue.model_validate(manifests.queue(name))


def test_counts_follow_creates_and_deletes(store: sqlite.SqliteStore) -> None:
    counts = metrics.ObjectCounts()
    store.create(queue("a"))
    assert counts.refresh(store)["Queue"] == 1
    store.create(queue("b"))
    store.create(queue("c"))
    store.delete("Queue", "a")
    store.patch("Queue", "b", None, {"spec": {"weight": 2}})
    assert counts.refresh(store)["Queue"] == 2
    assert counts.cursor == store.resource_version()


def test_counts_recover_after_compaction(tmp_path: Path) -> None:
    with sqlite.SqliteStore(tmp_path / "small.db", event_retention=2) as small:
        counts = metrics.ObjectCounts()
        assert counts.refresh(small)["Queue"] == 0
        for name in "abcdef":
            small.create(queue(name))
        small.delete("Queue", "a")
        assert counts.refresh(small)["Queue"] == 5
