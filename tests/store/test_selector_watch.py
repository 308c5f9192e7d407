"""A watch with a label selector sees the selected set change as Kubernetes shows it: an
object whose labels start matching is ADDED, one whose labels stop matching is DELETED."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from k8s4ai.api import selector
from k8s4ai.store import schema, sqlite

from . import builders


def seen(store: sqlite.SqliteStore, since: int, text: str) -> list[tuple[str, str]]:
    events = store.events(since, "Queue", label_selector=selector.parse(text))
    return [(e.type, e.object.metadata.name) for e in events]


def test_label_changes_move_objects_in_and_out_of_the_selection(
    store: sqlite.SqliteStore,
) -> None:
    start = store.resource_version()
    store.create(builders.queue("q", labels={"team": "a"}))
    store.patch("Queue", "q", None, {"metadata": {"labels": {"team": "b"}}})
    store.patch("Queue", "q", None, {"spec": {"weight": 3}})
    store.patch("Queue", "q", None, {"metadata": {"labels": {"team": "a"}}})
    store.delete("Queue", "q")
    assert seen(store, start, "team=a") == [
        ("ADDED", "q"), ("DELETED", "q"), ("ADDED", "q"), ("DELETED", "q")
    ]
    assert seen(store, start, "team=b") == [("ADDED", "q"), ("MODIFIED", "q"), ("DELETED", "q")]
    assert [t for t, _ in seen(store, start, "")] == [
        "ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"
    ]


def test_a_version_1_store_is_migrated_and_keeps_its_events(db_path: Path) -> None:
    with sqlite.SqliteStore(db_path) as store:
        store.create(builders.queue("q", labels={"team": "a"}))
        store.patch("Queue", "q", None, {"spec": {"weight": 2}})
    with sqlite3.connect(db_path) as conn:  # what a version 1 file looked like
        conn.execute("ALTER TABLE events DROP COLUMN previous_labels")
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    with sqlite.SqliteStore(db_path) as store:
        assert seen(store, 0, "team=a") == [("ADDED", "q"), ("MODIFIED", "q")]
        store.patch("Queue", "q", None, {"metadata": {"labels": {"team": "b"}}})
        assert seen(store, 0, "team=a") == [("ADDED", "q"), ("MODIFIED", "q"), ("DELETED", "q")]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    conn.close()
