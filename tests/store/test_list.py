"""list: sorted by (namespace, name), scoped by namespace, with the rv it was read at."""

from __future__ import annotations

from k8s4ai.store import sqlite

from . import builders


def names(store: sqlite.SqliteStore, kind: str, namespace: str | None = None) -> list[str]:
    return [
        f"{o.metadata.namespace or ''}/{o.metadata.name}"
        for o in store.list(kind, namespace).items
    ]


def test_empty_store_lists_nothing_at_rv_zero(store: sqlite.SqliteStore) -> None:
    result = store.list("Queue")
    assert (result.items, result.resource_version) == ([], 0)


def test_items_are_sorted_by_namespace_then_name(store: sqlite.SqliteStore) -> None:
    for namespace, name in [("b", "x"), ("a", "z"), ("b", "a"), ("a", "b")]:
        store.create(builders.gang(name, namespace=namespace))

    assert names(store, "GangSchedulingGroup") == ["a/b", "a/z", "b/a", "b/x"]


def test_namespace_narrows_the_list(store: sqlite.SqliteStore) -> None:
    for namespace, name in [("a", "one"), ("b", "two"), ("a", "three")]:
        store.create(builders.gang(name, namespace=namespace))

    assert names(store, "GangSchedulingGroup", "a") == ["a/one", "a/three"]


def test_namespace_is_ignored_for_cluster_scoped_kinds(store: sqlite.SqliteStore) -> None:
    store.create(builders.queue("team-a"))

    assert names(store, "Queue", "whatever") == ["/team-a"]


def test_kinds_are_listed_separately(store: sqlite.SqliteStore) -> None:
    store.create(builders.queue("team-a"))
    store.create(builders.gang("job-1"))

    assert names(store, "Queue") == ["/team-a"]
    assert names(store, "GangSchedulingGroup") == ["default/job-1"]


def test_list_carries_the_latest_resource_version(store: sqlite.SqliteStore) -> None:
    store.create(builders.queue("team-a"))
    store.create(builders.gang("job-1"))

    assert store.list("Queue").resource_version == 2
    assert store.list("Queue").resource_version == store.resource_version()
