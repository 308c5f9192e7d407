"""The status subresource: status writes keep spec and metadata; spec writes keep status."""

from __future__ import annotations

from k8s4ai.api import GangSchedulingGroup
from k8s4ai.store import sqlite

from . import builders


def test_status_write_changes_only_status(store: sqlite.SqliteStore) -> None:
    job = store.create(builders.gang("job-1", labels={"team": "a"}))
    assert isinstance(job, GangSchedulingGroup)
    sent = job.model_copy(deep=True)
    sent.status.phase = "Running"
    sent.spec.priority = 9
    sent.metadata.labels = {"team": "b"}

    written = store.replace(sent, subresource="status")

    assert written.status.phase == "Running"  # type: ignore[attr-defined]
    assert written.spec.priority == 0
    assert written.metadata.labels == {"team": "a"}
    assert written.metadata.generation == 1
    assert builders.rv(written) == builders.rv(job) + 1


def test_spec_write_keeps_stored_status(store: sqlite.SqliteStore) -> None:
    job = store.create(builders.gang("job-1"))
    running = job.model_copy(deep=True)
    running.status.phase = "Running"  # type: ignore[attr-defined]
    store.replace(running, subresource="status")
    sent = job.model_copy(deep=True)  # an old copy: status Pending
    sent.metadata.resource_version = None
    sent.spec.priority = 3

    written = store.replace(sent)

    assert written.status.phase == "Running"  # type: ignore[attr-defined]
    assert (written.spec.priority, written.metadata.generation) == (3, 2)


def test_unchanged_status_write_is_a_no_op(store: sqlite.SqliteStore) -> None:
    job = store.create(builders.gang("job-1"))

    assert store.replace(job, subresource="status") == job
    assert store.resource_version() == builders.rv(job)


def test_status_given_on_create_is_kept(store: sqlite.SqliteStore) -> None:
    created = store.create(builders.queue("team-a", status={"pending": 3}))

    assert created.status.pending == 3  # type: ignore[attr-defined]
