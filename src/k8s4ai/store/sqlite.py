"""The embedded store: one SQLite file in WAL mode, shared by a server and CLIs.

Writes go through one connection per store, under a lock and `BEGIN IMMEDIATE`, so each
write transaction holds SQLite's write lock from its first read to its commit: a
read-modify-write (precondition, generation, merge patch) cannot interleave with another
writer, in this process or another. Reads use pooled connections and see a consistent
snapshot (WAL), never blocking or being blocked by the writer.

Watchers learn of local writes at once through a condition variable, and of other
processes' writes by polling the log's head every `poll_interval` seconds.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import sqlite3
import threading
import time
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from k8s4ai.api import resource, selector
from k8s4ai.store import connections, errors, interface, merge_patch, rows, schema, transitions

DEFAULT_EVENT_RETENTION = 100_000
"""Events kept for watches to resume from; a watcher further behind must list again (Gone).
At ~1 KiB per event this bounds the log to ~100 MiB."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _uuid4() -> str:
    return str(uuid.uuid4())


def _as_selected(row: rows.EventRow, sel: selector.Selector) -> interface.EventType | None:
    """How a watcher of the objects `sel` selects sees this event, or None if it doesn't."""
    kind = typing.cast(interface.EventType, row.type)
    if not sel:
        return kind
    now = sel.matches(json.loads(row.labels))
    if kind != "MODIFIED":
        return kind if now else None
    # Events written before previous labels were recorded count as unchanged labels.
    before = now if row.previous_labels is None else sel.matches(json.loads(row.previous_labels))
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


class SqliteStore:
    """`interface.Store` on a SQLite file at `path` (parent directories are created).

    `synchronous="FULL"` makes every acknowledged write survive power loss; "NORMAL" was
    about twice as fast for single-object writes in `bench/store.py` and still survives the
    process being killed, but may lose the last commits if the machine goes down.

    The event log keeps at least the newest `event_retention` events (compaction runs in
    steps of 1/64 of it). `clock`, `new_uid` and `monotonic` are injectable so tests and the
    simulator control time and identity.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: schema.Synchronous = "FULL",
        event_retention: int = DEFAULT_EVENT_RETENTION,
        busy_timeout: float = 30.0,
        poll_interval: float = 0.1,
        clock: Callable[[], datetime] = _utcnow,
        new_uid: Callable[[], str] = _uuid4,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if event_retention < 1:
            raise ValueError("event_retention must be at least 1: the newest event is the head")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._event_retention = event_retention
        self._poll_interval = poll_interval
        self._clock = clock
        self._new_uid = new_uid
        self._monotonic = monotonic

        def connect() -> sqlite3.Connection:
            return schema.connect(self.path, synchronous, busy_timeout)

        self._writer = connect()
        try:
            schema.ensure(self._writer, self.path)
        except BaseException:
            self._writer.close()
            raise
        self._write_lock = threading.Lock()
        self._readers = connections.ReaderPool(connect)
        self._changed = threading.Condition()
        self._closed = False

    # -- reads ---------------------------------------------------------------------------

    def get(self, kind: str, name: str, namespace: str | None = None) -> resource.Resource:
        cls = transitions.model_of(kind)
        key = (kind, transitions.namespace_of(cls, namespace, name, strict=False), name)
        with self._read() as conn:
            row = rows.fetch(conn, key)
        if row is None:
            raise errors.NotFound(f"{transitions.describe(key)} not found")
        return transitions.decode(kind, row.body)

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: selector.Selector = selector.Selector(),
    ) -> interface.ListResult:
        cls = transitions.model_of(kind)
        scope = namespace if cls.namespaced else None
        with self._read() as conn:
            rv = rows.latest_rv(conn)
            bodies = rows.select_objects(conn, kind, scope, label_selector)
        return interface.ListResult(transitions.decode_all((kind, b) for b in bodies), rv)

    def events(
        self,
        since: int,
        kind: str | None = None,
        namespace: str | None = None,
        label_selector: selector.Selector = selector.Selector(),
        limit: int = 1000,
    ) -> builtins.list[interface.WatchEvent]:
        """Events after `since`, oldest first. With a label selector, events are seen as a
        watcher of the selected set sees them in Kubernetes: an object whose labels change so
        that it starts matching is ADDED, one that stops matching is DELETED. Filtering never
        shortens the answer below `limit` while more matching events exist (so an empty list
        means "nothing newer matches")."""
        found: builtins.list[tuple[rows.EventRow, interface.EventType]] = []
        with self._read() as conn:
            oldest = rows.oldest_rv(conn)
            if oldest is not None and since < oldest - 1:
                raise errors.Gone(
                    f"too old resource version: {since} (the oldest event kept is {oldest}); "
                    "list again and watch from the list's resourceVersion"
                )
            cursor, chunk = since, max(limit, 256) if label_selector else limit
            while len(found) < limit:
                batch = rows.select_events(conn, cursor, kind, namespace, chunk)
                for row in batch:
                    cursor = row.rv
                    seen_as = _as_selected(row, label_selector)
                    if seen_as is not None:
                        found.append((row, seen_as))
                        if len(found) == limit:
                            break
                if len(batch) < chunk:
                    break
        objects = transitions.decode_all((row.kind, row.body) for row, _ in found)
        return [
            interface.WatchEvent(seen_as, obj, row.rv)
            for (row, seen_as), obj in zip(found, objects, strict=True)
        ]

    def wait(self, after: int, timeout: float) -> int:
        deadline = self._monotonic() + max(timeout, 0.0)
        with self._changed:
            while True:
                latest = self.resource_version()
                remaining = deadline - self._monotonic()
                if latest > after or remaining <= 0:
                    return latest
                self._changed.wait(min(remaining, self._poll_interval))

    def resource_version(self) -> int:
        with self._read() as conn:
            return rows.latest_rv(conn)

    # -- writes --------------------------------------------------------------------------

    def create(self, obj: resource.Resource) -> resource.Resource:
        cls = transitions.model_of(obj.kind)
        key = self._key_for_write(cls, obj)
        with self._write() as tx:
            return tx.add(cls, key, obj)

    def replace(
        self, obj: resource.Resource, subresource: interface.Subresource = "spec"
    ) -> resource.Resource:
        cls = transitions.model_of(obj.kind)
        key = self._key_for_write(cls, obj)
        with self._write() as tx:
            row = tx.existing(key)
            transitions.check_precondition(key, row.rv, obj.metadata.resource_version)
            return tx.modify(cls, key, row, obj, subresource)

    def patch(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        subresource: interface.Subresource = "spec",
    ) -> resource.Resource:
        cls = transitions.model_of(kind)
        key = (kind, transitions.namespace_of(cls, namespace, name, strict=False), name)
        if not isinstance(patch, Mapping):
            raise errors.Invalid("a merge patch must be a JSON object")
        metadata = patch.get("metadata")
        given = metadata.get("resourceVersion") if isinstance(metadata, Mapping) else None
        with self._write() as tx:
            row = tx.existing(key)
            transitions.check_precondition(key, row.rv, given)
            current = transitions.decode(kind, row.body)
            merged = merge_patch.apply(current.wire(), patch)
            incoming = transitions.validate(cls, merged)
            if incoming.key != current.key:
                raise errors.Invalid(
                    f"{transitions.describe(key)}: a patch cannot change kind, namespace or name"
                )
            return tx.modify(cls, key, row, incoming, subresource)

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> resource.Resource:
        cls = transitions.model_of(kind)
        key = (kind, transitions.namespace_of(cls, namespace, name, strict=False), name)
        with self._write() as tx:
            row = tx.existing(key)
            transitions.check_precondition(key, row.rv, resource_version)
            return tx.remove(cls, key, row)

    def apply(self, objs: Sequence[resource.Resource]) -> builtins.list[interface.ApplyResult]:
        batch: dict[transitions.Key, tuple[type[resource.Resource], resource.Resource]] = {}
        for obj in objs:
            cls = transitions.model_of(obj.kind)
            key = self._key_for_write(cls, obj)
            if key in batch:
                raise errors.Invalid(f"{transitions.describe(key)} appears twice in one apply")
            batch[key] = (cls, obj)
        if not batch:
            return []
        results: builtins.list[interface.ApplyResult] = []
        with self._write() as tx:
            for key, (cls, obj) in batch.items():
                results.append(tx.apply_one(cls, key, obj))
        return results

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
        self._readers.close()
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- plumbing ------------------------------------------------------------------------

    def _key_for_write(
        self, cls: type[resource.Resource], obj: resource.Resource
    ) -> transitions.Key:
        name = obj.metadata.name
        namespace = transitions.namespace_of(cls, obj.metadata.namespace, name, strict=True)
        return (obj.kind, namespace, name)

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so everything read inside it is one snapshot."""
        with _sqlite_errors(), self._readers.connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def _write(self) -> Iterator[_WriteTx]:
        """A write transaction that commits when the block ends without raising. Watchers
        are woken after the commit, never before, so what they read is durable."""
        with _sqlite_errors(), self._write_lock:
            if self._closed:
                raise errors.StoreError("the store is closed")
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                tx = _WriteTx(conn, rows.latest_rv(conn), self._clock, self._new_uid)
                yield tx
                if tx.last_rv != tx.first_rv:
                    rows.compact(conn, tx.last_rv, self._event_retention)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if tx.last_rv != tx.first_rv:
            with self._changed:
                self._changed.notify_all()


class _WriteTx:
    """The writes of one transaction; each takes the next resourceVersion and logs an event."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        head: int,
        clock: Callable[[], datetime],
        new_uid: Callable[[], str],
    ) -> None:
        self.conn = conn
        self.first_rv = self.last_rv = head
        self._clock = clock
        self._new_uid = new_uid

    def existing(self, key: transitions.Key) -> rows.ObjectRow:
        row = rows.fetch(self.conn, key)
        if row is None:
            raise errors.NotFound(f"{transitions.describe(key)} not found")
        return row

    def add(
        self, cls: type[resource.Resource], key: transitions.Key, obj: resource.Resource
    ) -> resource.Resource:
        if rows.fetch(self.conn, key) is not None:
            raise errors.AlreadyExists(f"{transitions.describe(key)} already exists")
        return self._insert(cls, key, obj)

    def _insert(
        self, cls: type[resource.Resource], key: transitions.Key, obj: resource.Resource
    ) -> resource.Resource:
        rv = self.last_rv + 1
        wire = transitions.created(obj, key[1], uid=self._new_uid(), rv=rv, now=self._clock())
        stored = transitions.validate(cls, wire)
        labels, body = transitions.encode_labels(stored.metadata.labels), transitions.encode(stored)
        rows.insert(self.conn, key, rv, labels, body)
        self._log(rv, "ADDED", key, labels, body, None)
        return stored

    def modify(
        self,
        cls: type[resource.Resource],
        key: transitions.Key,
        row: rows.ObjectRow,
        incoming: resource.Resource,
        subresource: interface.Subresource,
    ) -> resource.Resource:
        current = transitions.decode(key[0], row.body)
        if subresource == "status":
            wire = transitions.status_written(current, incoming)
        else:
            wire = transitions.spec_written(current, incoming)
        if wire is None:
            return current
        return self._store(cls, key, row, wire)

    def remove(
        self, cls: type[resource.Resource], key: transitions.Key, row: rows.ObjectRow
    ) -> resource.Resource:
        rv = self.last_rv + 1
        last = transitions.stamped(cls, json.loads(row.body), rv)
        rows.remove(self.conn, row)
        self._log(rv, "DELETED", key, row.labels, transitions.encode(last), row.labels)
        return last

    def apply_one(
        self, cls: type[resource.Resource], key: transitions.Key, obj: resource.Resource
    ) -> interface.ApplyResult:
        row = rows.fetch(self.conn, key)
        if row is None:
            return interface.ApplyResult("created", self._insert(cls, key, obj))
        current = transitions.decode(key[0], row.body)
        wire = transitions.spec_written(current, obj)
        if wire is None:
            return interface.ApplyResult("unchanged", current)
        transitions.check_precondition(key, row.rv, obj.metadata.resource_version)
        return interface.ApplyResult("configured", self._store(cls, key, row, wire))

    def _store(
        self,
        cls: type[resource.Resource],
        key: transitions.Key,
        row: rows.ObjectRow,
        wire: dict[str, Any],
    ) -> resource.Resource:
        rv = self.last_rv + 1
        stored = transitions.stamped(cls, wire, rv)
        labels, body = transitions.encode_labels(stored.metadata.labels), transitions.encode(stored)
        rows.update(self.conn, key, row, rv, labels, body)
        self._log(rv, "MODIFIED", key, labels, body, row.labels)
        return stored

    def _log(
        self,
        rv: int,
        type_: interface.EventType,
        key: transitions.Key,
        labels: str,
        body: str,
        previous_labels: str | None,
    ) -> None:
        rows.append_event(self.conn, rv, type_, key, labels, body, previous_labels)
        self.last_rv = rv


@contextlib.contextmanager
def _sqlite_errors() -> Iterator[None]:
    """SQLite's own failures (a lock held past the busy timeout, a full disk) as StoreError,
    so callers handle one family of exceptions."""
    try:
        yield
    except sqlite3.OperationalError as err:
        raise errors.StoreError(f"store unavailable: {err}") from err


if typing.TYPE_CHECKING:

    def _implements_store(store: SqliteStore) -> interface.Store:
        """Never called: mypy proves here that SqliteStore keeps the Store contract."""
        return store
