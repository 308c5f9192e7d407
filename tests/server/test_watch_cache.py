"""The watch cache follows the store: creates, updates and deletes since the last read show in
the next snapshot; events compacted away make it list again; a snapshot already handed out
never changes; a derived answer is reused exactly while the kinds it reads are unchanged."""

from __future__ import annotations

from pathlib import Path

from k8s4ai import testing
from k8s4ai.api import gang, selector
from k8s4ai.server import watch_cache
from k8s4ai.store import sqlite


def names(snapshot: watch_cache.Snapshot) -> list[str]:
    return [name for _, name in snapshot.keys]


def test_it_follows_creates_updates_and_deletes(store: sqlite.SqliteStore) -> None:
    cache = watch_cache.WatchCache(store)
    for name in ("b", "a"):
        store.create(testing.typed(testing.gang(name).build()))
    first = cache.snapshot("GangSchedulingGroup")
    assert names(first) == ["a", "b"]
    store.create(testing.typed(testing.gang("c").build()))
    current = store.get("GangSchedulingGroup", "a", "default")
    assert isinstance(current, gang.GangSchedulingGroup)
    status = current.status.model_copy(update={"phase": "Admitted"})
    store.replace(current.model_copy(update={"status": status}), subresource="status")
    store.delete("GangSchedulingGroup", "b", "default")
    second = cache.snapshot("GangSchedulingGroup")
    assert names(second) == ["a", "c"]
    a = second.items[("default", "a")]
    assert isinstance(a, gang.GangSchedulingGroup) and a.status.phase == "Admitted"
    assert second.resource_version == store.resource_version()
    assert names(first) == ["a", "b"]  # what was handed out before stays as it was


def test_writes_to_other_kinds_leave_a_kind_unchanged(store: sqlite.SqliteStore) -> None:
    cache = watch_cache.WatchCache(store)
    store.create(testing.typed(testing.gang("a").build()))
    first = cache.snapshot("GangSchedulingGroup")
    store.create(testing.typed(testing.queue("q")))
    second = cache.snapshot("GangSchedulingGroup")
    assert second.changed == first.changed
    assert second.resource_version > first.resource_version


def test_compacted_events_make_it_list_again(tmp_path: Path) -> None:
    with sqlite.SqliteStore(tmp_path / "small.db", event_retention=2) as store:
        cache = watch_cache.WatchCache(store)
        store.create(testing.typed(testing.gang("a").build()))
        assert names(cache.snapshot("GangSchedulingGroup")) == ["a"]
        for name in ("b", "c", "d", "e"):
            store.create(testing.typed(testing.gang(name).build()))
        store.delete("GangSchedulingGroup", "a", "default")
        for i in range(5):
            store.create(testing.typed(testing.queue(f"q{i}")))
        assert names(cache.snapshot("GangSchedulingGroup")) == ["b", "c", "d", "e"]


def test_derived_answers_are_shared_while_their_kinds_are_unchanged(
    store: sqlite.SqliteStore,
) -> None:
    cache = watch_cache.WatchCache(store)
    computed: list[int] = []

    def count(snapshots: list[watch_cache.Snapshot]) -> int:
        computed.append(len(snapshots[0].items))
        return len(snapshots[0].items)

    store.create(testing.typed(testing.gang("a").build()))
    assert cache.derived("n", ["GangSchedulingGroup"], count)[0] == 1
    store.create(testing.typed(testing.queue("q")))
    assert cache.derived("n", ["GangSchedulingGroup"], count)[0] == 1
    store.create(testing.typed(testing.gang("b").build()))
    value, rv = cache.derived("n", ["GangSchedulingGroup"], count)
    assert (value, rv) == (2, store.resource_version())
    assert computed == [1, 2]


def test_encoded_objects_follow_their_version(store: sqlite.SqliteStore) -> None:
    cache = watch_cache.WatchCache(store)
    created = store.create(testing.typed(testing.gang("a").build()))
    before = cache.encoded(created)
    assert cache.encoded(created) is before
    changed = store.patch("GangSchedulingGroup", "a", "default", {"spec": {"priority": 7}})
    assert b'"priority":7' in cache.encoded(changed)


def test_cached_lists_list_what_the_store_lists(store: sqlite.SqliteStore) -> None:
    lists = watch_cache.CachedLists(store, watch_cache.WatchCache(store))
    for i, namespace in enumerate(["b", "a", "b", "c"]):
        team = "red" if i % 2 else "blue"
        store.create(testing.typed(testing.gang(f"g{i}", namespace).labels(team=team).build()))
    red = selector.parse("team=red")
    for namespace, chosen in [(None, selector.Selector()), ("b", selector.Selector()),
                              (None, red), ("a", red), ("nope", selector.Selector())]:  # fmt: skip
        mine = lists.list("GangSchedulingGroup", namespace, chosen)
        theirs = store.list("GangSchedulingGroup", namespace, chosen)
        assert [o.key for o in mine.items] == [o.key for o in theirs.items]
        assert mine.resource_version == theirs.resource_version
    store.delete("GangSchedulingGroup", "g0", "b")
    assert [o.metadata.name for o in lists.list("GangSchedulingGroup", "b").items] == ["g2"]
    assert lists.resource_version() == store.resource_version()
