"""The on-disk layout of the embedded store, and how every connection to it is opened.

Three tables: `objects` holds the current state, `events` the write log that watches replay
(its `rv` is the global resourceVersion), and `labels` one row per object label so a label
selector reads an index instead of decoding every object of a kind. The layout is versioned
with `PRAGMA user_version` so a later release can migrate a file it finds older, and refuses
one written by a newer release instead of corrupting it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from k8s4ai.store import errors

SCHEMA_VERSION = 2

Synchronous = Literal["FULL", "NORMAL", "EXTRA"]
"""FULL (the default) fsyncs the WAL on every commit, so an acknowledged write survives a
power loss. NORMAL fsyncs only at checkpoints: much faster, still survives the process being
killed (the WAL is in the OS page cache), but the last commits may be lost on power loss."""

_DDL = """
CREATE TABLE objects (
    id        INTEGER PRIMARY KEY,
    kind      TEXT    NOT NULL,
    namespace TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    rv        INTEGER NOT NULL,
    labels    TEXT    NOT NULL,
    body      TEXT    NOT NULL
);
CREATE UNIQUE INDEX objects_by_key ON objects (kind, namespace, name);

CREATE TABLE labels (
    object_id INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    namespace TEXT    NOT NULL,
    PRIMARY KEY (object_id, key)
) WITHOUT ROWID;
CREATE INDEX labels_by_value ON labels (kind, key, value, namespace);

CREATE TABLE events (
    rv        INTEGER PRIMARY KEY,
    type      TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    namespace TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    labels    TEXT    NOT NULL,
    body      TEXT    NOT NULL,
    previous_labels TEXT
);
"""
"""`objects` keeps a rowid (rather than WITHOUT ROWID on the key) because bodies are large
rows; `labels` points at that rowid, which an UPDATE keeps stable. `labels` and `events`
carry labels as JSON too, so selectors filter without decoding bodies."""


def connect(path: Path, synchronous: Synchronous, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode: the store issues BEGIN/COMMIT itself, so it decides
    which transactions take the write lock up front (BEGIN IMMEDIATE) and which only read.
    `check_same_thread` is off because pooled connections move between threads (never two
    at once) and `close()` closes them from whichever thread calls it."""
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise errors.StoreError(f"{path}: cannot switch to WAL mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


def ensure(conn: sqlite3.Connection, path: Path) -> None:
    """Create the tables on first open. Two processes may open a new file at once, so the
    check and the creation happen under the write lock."""
    if _version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)
        if version == 0:
            # Statement by statement: executescript() would commit the open transaction first.
            for statement in _DDL.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version == 1:
            # Version 2 records each event's previous labels; older events have none.
            conn.execute("ALTER TABLE events ADD COLUMN previous_labels TEXT")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise errors.StoreError(
                f"{path}: store schema version {version} is not supported by this release "
                f"(expects {SCHEMA_VERSION}); use a matching k8s4ai version"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
