"""events: every write after `since`, exactly once, oldest first, with filters and paging."""

from __future__ import annotations

from k8s4ai.api import selector
from k8s4ai.store import interface, sqlite

from . import builders


def mixed_writes(store: sqlite.SqliteStore) -> None:
    store.create(builders.queue("team-a", labels={"team": "a"}))
    store.create(builders.gang("job-1", labels={"team": "a"}))
    store.create(builders.gang("job-2", namespace="other", labels={"team": "b"}))
    store.patch("GangSchedulingGroup", "job-1", None, {"spec": {"priority": 3}})
    store.apply(
        [builders.queue("team-b"), builders.gang("job-1", priority=3, labels={"team": "a"})]
    )
    store.patch("GangSchedulingGroup", "job-2", "other", {"status": {"phase": "Running"}}, "status")
    store.delete("GangSchedulingGroup", "job-1")


def summary(events: list[interface.WatchEvent]) -> list[tuple[int, str, str]]:
    return [(e.resource_version, e.type, e.object.metadata.name) for e in events]


def test_events_replay_every_write_in_order(store: sqlite.SqliteStore) -> None:
    mixed_writes(store)

    assert summary(store.events(0)) == [
        (1, "ADDED", "team-a"),
        (2, "ADDED", "job-1"),
        (3, "ADDED", "job-2"),
        (4, "MODIFIED", "job-1"),
        (5, "ADDED", "team-b"),
        (6, "MODIFIED", "job-2"),
        (7, "DELETED", "job-1"),
    ]


def test_event_object_carries_its_resource_version(store: sqlite.SqliteStore) -> None:
    mixed_writes(store)

    assert all(builders.rv(e.object) == e.resource_version for e in store.events(0))


def test_events_since_skip_older_ones(store: sqlite.SqliteStore) -> None:
    mixed_writes(store)

    assert [e.resource_version for e in store.events(5)] == [6, 7]
    assert store.events(7) == []
    assert store.events(100) == []


def test_paging_with_limit_sees_each_event_once(store: sqlite.SqliteStore) -> None:
    mixed_writes(store)
    seen: list[int] = []
    cursor = 0

    while page := store.events(cursor, limit=3):
        seen += [e.resource_version for e in page]
        cursor = page[-1].resource_version

    assert seen == [1, 2, 3, 4, 5, 6, 7]


def test_filters_by_kind_namespace_and_labels(store: sqlite.SqliteStore) -> None:
    mixed_writes(store)

    assert [e.resource_version for e in store.events(0, kind="Queue")] == [1, 5]
    assert [e.resource_version for e in store.events(0, namespace="other")] == [3, 6]
    team_a = selector.parse("team=a")
    assert [e.resource_version for e in store.events(0, label_selector=team_a)] == [1, 2, 4, 7]
    assert [
        e.resource_version
        for e in store.events(0, kind="GangSchedulingGroup", label_selector=team_a, limit=2)
    ] == [2, 4]


def test_selective_filter_still_fills_the_limit(store: sqlite.SqliteStore) -> None:
    store.apply([builders.gang(f"noise-{i}") for i in range(600)])
    store.create(builders.gang("wanted", labels={"pick": "me"}))

    found = store.events(0, label_selector=selector.parse("pick=me"), limit=1)

    assert summary(found) == [(601, "ADDED", "wanted")]
