"""The SQL of the embedded store: reading and writing rows of `objects`, `labels` and
`events` (see `schema`). Callers hold the transaction; nothing here commits.

resourceVersions come from the event log itself: the next one is `max(events.rv) + 1`, taken
under the database write lock, so version order is commit order across every process that
shares the file, and no separate counter can drift from the log. Compaction always keeps the
newest event, so the maximum never goes backwards.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from k8s4ai.api import selector
from k8s4ai.store import transitions


@dataclass(frozen=True, slots=True)
class ObjectRow:
    id: int
    rv: int
    labels: str
    body: str


@dataclass(frozen=True, slots=True)
class EventRow:
    rv: int
    type: str
    kind: str
    labels: str
    body: str
    previous_labels: str | None
    """The object's labels before this write (None for ADDED), so a selector watch can tell
    an object that started or stopped matching."""


def latest_rv(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(rv), 0) FROM events").fetchone()[0])


def oldest_rv(conn: sqlite3.Connection) -> int | None:
    value = conn.execute("SELECT min(rv) FROM events").fetchone()[0]
    return None if value is None else int(value)


def fetch(conn: sqlite3.Connection, key: transitions.Key) -> ObjectRow | None:
    row = conn.execute(
        "SELECT id, rv, labels, body FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
        key,
    ).fetchone()
    return None if row is None else ObjectRow(*row)


def insert(conn: sqlite3.Connection, key: transitions.Key, rv: int, labels: str, body: str) -> None:
    cursor = conn.execute(
        "INSERT INTO objects (kind, namespace, name, rv, labels, body) VALUES (?, ?, ?, ?, ?, ?)",
        (*key, rv, labels, body),
    )
    assert cursor.lastrowid is not None
    _insert_labels(conn, cursor.lastrowid, key, labels)


def update(
    conn: sqlite3.Connection, key: transitions.Key, row: ObjectRow, rv: int, labels: str, body: str
) -> None:
    conn.execute(
        "UPDATE objects SET rv = ?, labels = ?, body = ? WHERE id = ?", (rv, labels, body, row.id)
    )
    if labels != row.labels:
        conn.execute("DELETE FROM labels WHERE object_id = ?", (row.id,))
        _insert_labels(conn, row.id, key, labels)


def remove(conn: sqlite3.Connection, row: ObjectRow) -> None:
    conn.execute("DELETE FROM objects WHERE id = ?", (row.id,))
    conn.execute("DELETE FROM labels WHERE object_id = ?", (row.id,))


def append_event(
    conn: sqlite3.Connection,
    rv: int,
    type_: str,
    key: transitions.Key,
    labels: str,
    body: str,
    previous_labels: str | None,
) -> None:
    conn.execute(
        "INSERT INTO events (rv, type, kind, namespace, name, labels, body, previous_labels) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (rv, type_, *key, labels, body, previous_labels),
    )


def compact(conn: sqlite3.Connection, latest: int, retention: int) -> None:
    """Drop events beyond the newest `retention`. Deleting one row per write would touch the
    log's first page on every commit, so it runs once the surplus reaches 1/64 of the
    retention (immediately for small retentions)."""
    floor = latest - retention
    if floor <= 0:
        return
    oldest = oldest_rv(conn)
    if oldest is not None and oldest <= floor - retention // 64:
        conn.execute("DELETE FROM events WHERE rv <= ?", (floor,))


def select_objects(
    conn: sqlite3.Connection, kind: str, namespace: str | None, sel: selector.Selector
) -> list[str]:
    """Bodies of the matching objects, by (namespace, name).

    A requirement that names values or existence (`=`, `in`, `exists`) can be read from the
    `labels` index. The most selective such requirement picks the candidates, so a query
    reads about as many rows as its narrowest part matches (intersecting in SQL instead
    would walk every broad requirement's index entries). `!=`, `notin` and `!exists` cannot
    narrow an index scan. Candidates are then checked in Python against the labels column,
    without decoding bodies; `Selector.matches` has the final word on every operator."""
    indexed = [r for r in sel.requirements if r.operator in ("=", "in", "exists")]
    if indexed:
        narrowest = min(indexed, key=lambda r: _capped_count(conn, kind, namespace, r))
        where, args = _label_condition(kind, namespace, narrowest)
        query = (
            f"SELECT labels, body FROM objects WHERE id IN (SELECT object_id FROM labels {where})"
            " ORDER BY namespace, name"
        )
    else:
        query, args = "SELECT labels, body FROM objects WHERE kind = ?", [kind]
        if namespace is not None:
            query, args = query + " AND namespace = ?", [kind, namespace]
        query += " ORDER BY namespace, name"
    rows = conn.execute(query, args).fetchall()
    if not sel:
        return [body for _, body in rows]
    return [body for labels, body in rows if sel.matches(json.loads(labels))]


_COUNT_CAP = 2000
"""Counting index entries up to this many tells a narrow requirement from a broad one at a
bounded cost (well under a millisecond) however many objects a broad one matches."""


def _capped_count(
    conn: sqlite3.Connection, kind: str, namespace: str | None, requirement: selector.Requirement
) -> int:
    where, args = _label_condition(kind, namespace, requirement)
    sql = f"SELECT count(*) FROM (SELECT 1 FROM labels {where} LIMIT {_COUNT_CAP})"
    return int(conn.execute(sql, args).fetchone()[0])


def _label_condition(
    kind: str, namespace: str | None, requirement: selector.Requirement
) -> tuple[str, list[str]]:
    """The WHERE clause on `labels` for one `=`/`in`/`exists` requirement."""
    where, args = "WHERE kind = ? AND key = ?", [kind, requirement.key]
    if requirement.operator != "exists":
        values = sorted(requirement.values)
        where += f" AND value IN ({','.join('?' * len(values))})"
        args += values
    if namespace is not None:
        where += " AND namespace = ?"
        args.append(namespace)
    return where, args


def select_events(
    conn: sqlite3.Connection, since: int, kind: str | None, namespace: str | None, limit: int
) -> list[EventRow]:
    query = "SELECT rv, type, kind, labels, body, previous_labels FROM events WHERE rv > ?"
    params: list[object] = [since]
    if kind is not None:
        query += " AND kind = ?"
        params.append(kind)
    if namespace is not None:
        query += " AND namespace = ?"
        params.append(namespace)
    query += " ORDER BY rv LIMIT ?"
    params.append(limit)
    return [EventRow(*row) for row in conn.execute(query, params)]


def _insert_labels(
    conn: sqlite3.Connection, object_id: int, key: transitions.Key, labels: str
) -> None:
    kind, namespace, _ = key
    conn.executemany(
        "INSERT INTO labels (object_id, key, value, kind, namespace) VALUES (?, ?, ?, ?, ?)",
        [(object_id, k, v, kind, namespace) for k, v in json.loads(labels).items()],
    )
