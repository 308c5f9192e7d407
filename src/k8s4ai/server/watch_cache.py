"""Objects of a kind kept in memory and brought up to date from the store's event log before
each read, as the Kubernetes API server's watch cache serves lists: a dashboard's summaries
and pages read 10,000 jobs from here instead of decoding them all from the store per request.

A read first asks the store for its latest resourceVersion and applies the events newer than
the snapshot's (a handful while a cluster runs), so what it returns is as current as a list
from the store would be. If the store has compacted those events away, the kind is listed
again. A snapshot never changes once handed out: an update builds a new one, so readers keep
no lock while they compute from it.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from k8s4ai.api import resource, selector
from k8s4ai.store import errors, interface

Key = tuple[str, str]
"""(namespace or "" when cluster-scoped, name): the order Kubernetes lists objects in."""
EVENTS_PER_READ = 1000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Snapshot:
    kind: str
    items: Mapping[Key, resource.Resource]
    keys: tuple[Key, ...]
    """`items`' keys in list order."""
    resource_version: int
    """The store's resourceVersion this snapshot is current at."""
    changed: int
    """resourceVersion of the last write to this kind it includes (0 if none since start): two
    snapshots with the same `changed` hold the same objects, so results derived from them can
    be shared."""


def _key(obj: resource.Resource) -> Key:
    return (obj.metadata.namespace or "", obj.metadata.name)


def _json(obj: resource.Resource) -> bytes:
    return json.dumps(obj.wire(), ensure_ascii=False, separators=(",", ":")).encode()


def _snapshot(
    kind: str, items: dict[Key, resource.Resource], rv: int, changed: int
) -> Snapshot:
    return Snapshot(kind, items, tuple(sorted(items)), rv, changed)


class WatchCache:
    """Per kind, the latest snapshot; safe to call from the server's worker threads."""

    def __init__(self, store: interface.Store) -> None:
        self._store = store
        self._snapshots: dict[str, Snapshot] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._derived: dict[str, tuple[tuple[int, ...], Any]] = {}
        self._per_object: dict[str, dict[tuple[str, Key], tuple[Hashable, Any]]] = {}

    def snapshot(self, kind: str) -> Snapshot:
        with self._guard:
            lock = self._locks.setdefault(kind, threading.Lock())
        with lock:
            latest = self._store.resource_version()
            current = self._snapshots.get(kind)
            if current is None:
                current = self._list(kind)
            elif latest > current.resource_version:
                try:
                    current = self._follow(current, latest)
                except errors.Gone:
                    current = self._list(kind)
            self._snapshots[kind] = current
            return current

    def derived(
        self, name: str, kinds: Sequence[str], compute: Callable[[list[Snapshot]], Any]
    ) -> tuple[Any, int]:
        """`compute(snapshots of kinds)`, shared by every caller while none of those kinds
        changed (a summary is computed once per write, however many dashboards ask), and the
        store's resourceVersion it is current at."""
        snapshots = [self.snapshot(kind) for kind in kinds]
        key = tuple(s.changed for s in snapshots)
        rv = max(s.resource_version for s in snapshots)
        with self._guard:
            last = self._derived.get(name)
        if last is not None and last[0] == key:
            return last[1], rv
        value = compute(snapshots)
        with self._guard:
            self._derived[name] = (key, value)
        return value, rv

    def per_object(
        self,
        purpose: str,
        obj: resource.Resource,
        compute: Callable[[resource.Resource], T],
        depends: Hashable = None,
    ) -> T:
        """`compute(obj)`, kept while the object keeps its resourceVersion (and `depends`
        stays equal): after one write, a summary of 10,000 jobs recomputes one job's part."""
        memo = self._per_object.setdefault(purpose, {})
        key = (obj.kind, _key(obj))
        version = (obj.metadata.resource_version, depends)
        found = memo.get(key)
        if found is not None and found[0] == version:
            value: T = found[1]
            return value
        value = compute(obj)
        memo[key] = (version, value)
        return value

    def encoded(self, obj: resource.Resource) -> bytes:
        """The object's JSON, kept per resourceVersion: a page of 500 jobs is then joined
        from bytes instead of dumped anew on every request."""
        return self.per_object("json", obj, _json)

    def _forget(self, kind: str, keys: Iterable[Key]) -> None:
        for memo in list(self._per_object.values()):
            for key in keys:
                memo.pop((kind, key), None)

    def _list(self, kind: str) -> Snapshot:
        listed = self._store.list(kind)
        items = {_key(obj): obj for obj in listed.items}
        old = self._snapshots.get(kind)
        if old is not None:
            self._forget(kind, list(old.items.keys() - items.keys()))
        return _snapshot(kind, items, listed.resource_version, listed.resource_version)

    def _follow(self, current: Snapshot, latest: int) -> Snapshot:
        """`current` with the kind's events up to at least `latest` applied."""
        items: dict[Key, resource.Resource] | None = None
        rv, changed = current.resource_version, current.changed
        while True:
            batch = self._store.events(rv, current.kind, limit=EVENTS_PER_READ)
            for event in batch:
                items = dict(current.items) if items is None else items
                if event.type == "DELETED":
                    items.pop(_key(event.object), None)
                    self._forget(current.kind, [_key(event.object)])
                else:
                    items[_key(event.object)] = event.object
                rv = changed = event.resource_version
            if len(batch) < EVENTS_PER_READ:
                break
        rv = max(rv, latest)
        if items is None:
            return Snapshot(current.kind, current.items, current.keys, rv, changed)
        return _snapshot(current.kind, items, rv, changed)


class CachedLists:
    """A store whose lists come from a watch cache (everything else goes to the store), for a
    reader in the same process that lists whole kinds often: the cost controller builds each
    cost view from every job, node and service, which decoding from SQLite made slow."""

    def __init__(self, store: interface.Store, cache: WatchCache) -> None:
        self._store = store
        self._cache = cache

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: selector.Selector = selector.Selector(),
    ) -> interface.ListResult:
        snapshot = self._cache.snapshot(kind)
        items = [
            snapshot.items[key] for key in snapshot.keys
            if (namespace is None or key[0] == namespace)
            and (not label_selector or label_selector.matches(snapshot.items[key].metadata.labels))
        ]  # fmt: skip
        return interface.ListResult(items, snapshot.resource_version)

    def create(self, obj: resource.Resource) -> resource.Resource:
        return self._store.create(obj)

    def get(self, kind: str, name: str, namespace: str | None = None) -> resource.Resource:
        return self._store.get(kind, name, namespace)

    def replace(
        self, obj: resource.Resource, subresource: interface.Subresource = "spec"
    ) -> resource.Resource:
        return self._store.replace(obj, subresource)

    def patch(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        subresource: interface.Subresource = "spec",
    ) -> resource.Resource:
        return self._store.patch(kind, name, namespace, patch, subresource)

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> resource.Resource:
        return self._store.delete(kind, name, namespace, resource_version)

    def apply(self, objs: Sequence[resource.Resource]) -> builtins.list[interface.ApplyResult]:
        return self._store.apply(objs)

    def events(
        self,
        since: int,
        kind: str | None = None,
        namespace: str | None = None,
        label_selector: selector.Selector = selector.Selector(),
        limit: int = 1000,
    ) -> builtins.list[interface.WatchEvent]:
        return self._store.events(since, kind, namespace, label_selector, limit)

    def wait(self, after: int, timeout: float) -> int:
        return self._store.wait(after, timeout)

    def resource_version(self) -> int:
        return self._store.resource_version()

    def close(self) -> None:
        """The store belongs to whoever opened it."""


def _implements_store(lists: CachedLists) -> interface.Store:
    return lists  # mypy checks that CachedLists keeps the Store protocol
