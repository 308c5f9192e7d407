"""apply: create, configure or leave alone, all in one transaction."""

from __future__ import annotations

import pytest

from k8s4ai.store import errors, sqlite

from . import builders


def outcomes(results: list[object]) -> list[tuple[str, str, int]]:
    return [
        (r.outcome, r.object.metadata.name, builders.rv(r.object))  # type: ignore[attr-defined]
        for r in results
    ]


def test_apply_creates_missing_objects(store: sqlite.SqliteStore) -> None:
    results = store.apply([builders.queue("team-a"), builders.gang("job-1")])

    assert outcomes(results) == [("created", "team-a", 1), ("created", "job-1", 2)]
    assert store.get("GangSchedulingGroup", "job-1") == results[1].object


def test_reapplying_the_same_manifests_changes_nothing(store: sqlite.SqliteStore) -> None:
    manifests = [builders.queue("team-a"), builders.gang("job-1")]
    store.apply(manifests)

    results = store.apply(manifests)

    assert outcomes(results) == [("unchanged", "team-a", 1), ("unchanged", "job-1", 2)]
    assert store.resource_version() == 2


def test_changed_objects_are_configured(store: sqlite.SqliteStore) -> None:
    store.apply([builders.queue("team-a"), builders.gang("job-1"), builders.gang("job-2")])
    running = store.get("GangSchedulingGroup", "job-1").model_copy(deep=True)
    running.status.phase = "Running"  # type: ignore[attr-defined]
    store.replace(running, subresource="status")

    results = store.apply(
        [
            builders.queue("team-a"),
            builders.gang("job-1", gpus=4),
            builders.gang("job-2", labels={"x": "y"}),
        ]
    )

    assert outcomes(results) == [
        ("unchanged", "team-a", 1),
        ("configured", "job-1", 5),
        ("configured", "job-2", 6),
    ]
    job1, job2 = results[1].object, results[2].object
    assert (job1.metadata.generation, job1.status.phase) == (2, "Running")  # type: ignore[attr-defined]
    assert job2.metadata.generation == 1


def test_conflict_in_batch_leaves_store_unchanged(store: sqlite.SqliteStore) -> None:
    store.apply([builders.queue("team-a"), builders.gang("job-1")])
    store.patch("GangSchedulingGroup", "job-1", None, {"spec": {"priority": 1}})
    before = store.list("GangSchedulingGroup").items + store.list("Queue").items
    rv_before = store.resource_version()

    with pytest.raises(errors.Conflict):
        store.apply(
            [
                builders.queue("team-a", weight=2),
                builders.gang("job-2"),
                builders.gang("job-1", priority=7, resource_version="2"),
            ]
        )

    assert store.resource_version() == rv_before
    assert store.list("GangSchedulingGroup").items + store.list("Queue").items == before
    assert len(store.events(0)) == rv_before


def test_stale_resource_version_without_changes_is_unchanged(store: sqlite.SqliteStore) -> None:
    store.apply([builders.gang("job-1")])
    store.patch("GangSchedulingGroup", "job-1", None, {"metadata": {"labels": {"a": "b"}}})

    (result,) = store.apply([builders.gang("job-1", labels={"a": "b"}, resource_version="1")])

    assert (result.outcome, builders.rv(result.object)) == ("unchanged", 2)


def test_current_resource_version_allows_the_update(store: sqlite.SqliteStore) -> None:
    store.apply([builders.gang("job-1")])

    (result,) = store.apply([builders.gang("job-1", gpus=2, resource_version="1")])

    assert result.outcome == "configured"


def test_duplicate_keys_are_invalid(store: sqlite.SqliteStore) -> None:
    with pytest.raises(errors.Invalid, match="twice"):
        store.apply([builders.gang("job-1"), builders.gang("job-1", namespace="default", gpus=1)])
    assert store.resource_version() == 0


def test_invalid_object_fails_the_whole_batch(store: sqlite.SqliteStore) -> None:
    with pytest.raises(errors.Invalid):
        store.apply([builders.queue("team-a"), builders.queue("team-b", namespace="x")])
    assert store.resource_version() == 0


def test_empty_apply_is_a_no_op(store: sqlite.SqliteStore) -> None:
    assert store.apply([]) == []
    assert store.resource_version() == 0
