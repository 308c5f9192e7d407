"""create sets server-owned metadata; get finds by (kind, namespace, name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s4ai.store import errors, sqlite

from . import builders
from .conftest import NOW


def test_create_sets_server_metadata(store: sqlite.SqliteStore) -> None:
    created = store.create(builders.queue("team-a"))

    assert created.metadata.uid
    assert created.metadata.resource_version == "1"
    assert created.metadata.generation == 1
    assert created.metadata.creation_timestamp == NOW.replace(microsecond=0)
    assert store.get("Queue", "team-a") == created


def test_client_supplied_server_fields_are_ignored(store: sqlite.SqliteStore) -> None:
    sent = builders.queue("team-a").model_copy(deep=True)
    sent.metadata.uid = "mine"
    sent.metadata.resource_version = "42"
    sent.metadata.generation = 7
    sent.metadata.creation_timestamp = NOW.replace(year=2000)

    created = store.create(sent)

    assert created.metadata.uid != "mine"
    assert (created.metadata.resource_version, created.metadata.generation) == ("1", 1)
    assert created.metadata.creation_timestamp == NOW.replace(microsecond=0)


def test_uids_come_from_the_injected_source(db_path: Path) -> None:
    uids = iter(["uid-1", "uid-2"])
    with sqlite.SqliteStore(db_path, new_uid=lambda: next(uids)) as store:
        assert store.create(builders.queue("a")).metadata.uid == "uid-1"
        assert store.create(builders.queue("b")).metadata.uid == "uid-2"


def test_namespaced_kinds_default_to_the_default_namespace(store: sqlite.SqliteStore) -> None:
    created = store.create(builders.gang("job-1"))

    assert created.metadata.namespace == "default"
    assert store.get("GangSchedulingGroup", "job-1") == created
    assert store.get("GangSchedulingGroup", "job-1", "default") == created


def test_same_name_in_two_namespaces_are_two_objects(store: sqlite.SqliteStore) -> None:
    a = store.create(builders.gang("job-1", namespace="a"))
    b = store.create(builders.gang("job-1", namespace="b", gpus=2))

    assert store.get("GangSchedulingGroup", "job-1", "a") == a
    assert store.get("GangSchedulingGroup", "job-1", "b") == b


def test_cluster_scoped_kind_with_namespace_is_invalid(store: sqlite.SqliteStore) -> None:
    with pytest.raises(errors.Invalid) as caught:
        store.create(builders.queue("team-a", namespace="x"))

    assert [c.path for c in caught.value.causes] == ["metadata.namespace"]
    assert store.resource_version() == 0


def test_create_existing_is_already_exists(store: sqlite.SqliteStore) -> None:
    store.create(builders.queue("team-a"))

    with pytest.raises(errors.AlreadyExists, match="team-a"):
        store.create(builders.queue("team-a", weight=2))
    assert store.resource_version() == 1


@pytest.mark.parametrize(
    ("kind", "name", "namespace"),
    [("Queue", "nope", None), ("GangSchedulingGroup", "job-1", "other"), ("Nope", "x", None)],
    ids=["missing-name", "other-namespace", "unknown-kind"],
)
def test_get_missing_is_not_found(
    store: sqlite.SqliteStore, kind: str, name: str, namespace: str | None
) -> None:
    store.create(builders.gang("job-1"))

    with pytest.raises(errors.NotFound):
        store.get(kind, name, namespace)


def test_created_object_survives_reopen(db_path: Path) -> None:
    with sqlite.SqliteStore(db_path) as store:
        created = store.create(builders.gang("job-1", labels={"team": "a"}))
    with sqlite.SqliteStore(db_path) as store:
        assert store.get("GangSchedulingGroup", "job-1") == created
        assert store.resource_version() == 1
