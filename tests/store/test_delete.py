"""delete: removes the object, logs it as DELETED with the delete's rv, honours preconditions."""

from __future__ import annotations

import pytest

from k8s4ai.store import errors, sqlite

from . import builders


def test_delete_removes_and_returns_last_state(store: sqlite.SqliteStore) -> None:
    created = store.create(builders.gang("job-1", labels={"team": "a"}))

    deleted = store.delete("GangSchedulingGroup", "job-1")

    assert builders.rv(deleted) == 2
    assert deleted.spec == created.spec
    assert deleted.metadata.uid == created.metadata.uid
    with pytest.raises(errors.NotFound):
        store.get("GangSchedulingGroup", "job-1")
    assert store.list("GangSchedulingGroup").items == []


def test_delete_is_logged_with_the_last_state(store: sqlite.SqliteStore) -> None:
    store.create(builders.gang("job-1"))
    deleted = store.delete("GangSchedulingGroup", "job-1", "default")

    event = store.events(1)[0]

    assert (event.type, event.resource_version, event.object) == ("DELETED", 2, deleted)


def test_stale_precondition_is_a_conflict(store: sqlite.SqliteStore) -> None:
    store.create(builders.gang("job-1"))
    store.patch("GangSchedulingGroup", "job-1", None, {"spec": {"priority": 1}})

    with pytest.raises(errors.Conflict):
        store.delete("GangSchedulingGroup", "job-1", resource_version="1")
    assert builders.rv(store.delete("GangSchedulingGroup", "job-1", resource_version="2")) == 3


def test_delete_missing_is_not_found(store: sqlite.SqliteStore) -> None:
    with pytest.raises(errors.NotFound):
        store.delete("Queue", "ghost")


def test_name_can_be_reused_after_delete(store: sqlite.SqliteStore) -> None:
    first = store.create(builders.queue("team-a"))
    store.delete("Queue", "team-a")

    second = store.create(builders.queue("team-a"))

    assert second.metadata.uid != first.metadata.uid
    assert second.metadata.generation == 1
