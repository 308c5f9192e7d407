"""replace (spec): optimistic concurrency, generation and no-op writes."""

from __future__ import annotations

import pytest

from k8s4ai.api import GangSchedulingGroup
from k8s4ai.store import errors, sqlite

from . import builders


def edited(obj: GangSchedulingGroup, **changes: object) -> GangSchedulingGroup:
    copy = obj.model_copy(deep=True)
    for field, value in changes.items():
        if field in ("labels", "annotations"):
            setattr(copy.metadata, field, value)
        else:
            setattr(copy.spec, field, value)
    return copy


@pytest.fixture
def job(store: sqlite.SqliteStore) -> GangSchedulingGroup:
    created = store.create(builders.gang("job-1"))
    assert isinstance(created, GangSchedulingGroup)
    return created


def test_spec_change_bumps_generation_and_rv(
    store: sqlite.SqliteStore, job: GangSchedulingGroup
) -> None:
    updated = store.replace(edited(job, priority=5))

    assert updated.metadata.generation == 2
    assert builders.rv(updated) == builders.rv(job) + 1
    assert (updated.metadata.uid, updated.metadata.creation_timestamp) == (
        job.metadata.uid,
        job.metadata.creation_timestamp,
    )
    assert store.get("GangSchedulingGroup", "job-1") == updated


@pytest.mark.parametrize(
    "change", [{"labels": {"team": "a"}}, {"annotations": {"note": "x"}}], ids=["labels", "notes"]
)
def test_metadata_change_bumps_rv_but_not_generation(
    store: sqlite.SqliteStore, job: GangSchedulingGroup, change: dict[str, object]
) -> None:
    updated = store.replace(edited(job, **change))

    assert updated.metadata.generation == 1
    assert builders.rv(updated) == builders.rv(job) + 1


def test_unchanged_replace_keeps_rv_and_logs_nothing(
    store: sqlite.SqliteStore, job: GangSchedulingGroup
) -> None:
    again = store.replace(edited(job))

    assert again == job
    assert store.resource_version() == builders.rv(job)
    assert len(store.events(0)) == 1


def test_stale_resource_version_is_a_conflict(
    store: sqlite.SqliteStore, job: GangSchedulingGroup
) -> None:
    store.replace(edited(job, priority=1))

    with pytest.raises(errors.Conflict, match=r"current resourceVersion 2, the write named 1"):
        store.replace(edited(job, priority=2))
    assert store.get("GangSchedulingGroup", "job-1").spec.priority == 1


def test_without_resource_version_the_write_is_unconditional(
    store: sqlite.SqliteStore, job: GangSchedulingGroup
) -> None:
    store.replace(edited(job, priority=1))
    blind = edited(job, priority=2)
    blind.metadata.resource_version = None

    assert store.replace(blind).spec.priority == 2


def test_replace_missing_is_not_found(store: sqlite.SqliteStore) -> None:
    with pytest.raises(errors.NotFound):
        store.replace(builders.gang("ghost"))


def test_invalid_object_is_refused(store: sqlite.SqliteStore, job: GangSchedulingGroup) -> None:
    broken = edited(job, min_member=99)  # assignment skips validation; the store does not

    with pytest.raises(errors.Invalid) as caught:
        store.replace(broken)
    assert [c.path for c in caught.value.causes] == ["spec.minMember"]
    assert store.resource_version() == builders.rv(job)
