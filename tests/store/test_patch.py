"""patch: a JSON merge patch on the stored object, validated, then written like replace."""

from __future__ import annotations

import pytest

from k8s4ai.store import errors, sqlite

from . import builders


@pytest.fixture
def stored(store: sqlite.SqliteStore) -> sqlite.SqliteStore:
    store.create(builders.queue("team-a", cohort="org", labels={"team": "a", "tier": "gold"}))
    return store


def test_merge_patch_changes_named_fields_only(stored: sqlite.SqliteStore) -> None:
    patched = stored.patch("Queue", "team-a", None, {"spec": {"weight": 3}})

    assert (patched.spec.weight, patched.spec.cohort) == (3.0, "org")
    assert (patched.metadata.generation, builders.rv(patched)) == (2, 2)


def test_null_deletes_a_key(stored: sqlite.SqliteStore) -> None:
    patched = stored.patch(
        "Queue", "team-a", None, {"metadata": {"labels": {"tier": None}}, "spec": {"cohort": None}}
    )

    assert patched.metadata.labels == {"team": "a"}
    assert patched.spec.cohort is None


def test_patch_that_changes_nothing_keeps_rv(stored: sqlite.SqliteStore) -> None:
    patched = stored.patch("Queue", "team-a", None, {"spec": {"weight": 1.0}})

    assert builders.rv(patched) == 1
    assert stored.resource_version() == 1


def test_invalid_result_names_the_fields(stored: sqlite.SqliteStore) -> None:
    with pytest.raises(errors.Invalid) as caught:
        stored.patch("Queue", "team-a", None, {"spec": {"weight": -1, "bogus": 1}})

    assert sorted(c.path for c in caught.value.causes) == ["spec.bogus", "spec.weight"]
    assert stored.get("Queue", "team-a").spec.weight == 1.0


def test_resource_version_in_patch_is_a_precondition(stored: sqlite.SqliteStore) -> None:
    stored.patch("Queue", "team-a", None, {"spec": {"weight": 2}})

    with pytest.raises(errors.Conflict):
        stored.patch("Queue", "team-a", None, {"metadata": {"resourceVersion": "1"}, "spec": {}})
    current = {"metadata": {"resourceVersion": "2"}, "spec": {"weight": 5}}
    assert stored.patch("Queue", "team-a", None, current).spec.weight == 5


def test_status_patch_leaves_spec(stored: sqlite.SqliteStore) -> None:
    patched = stored.patch(
        "Queue", "team-a", None, {"spec": {"weight": 9}, "status": {"pending": 4}}, "status"
    )

    assert (patched.spec.weight, patched.status.pending) == (1.0, 4)  # type: ignore[attr-defined]
    assert patched.metadata.generation == 1


def test_spec_patch_ignores_status(stored: sqlite.SqliteStore) -> None:
    patched = stored.patch("Queue", "team-a", None, {"status": {"pending": 4}})

    assert patched.status.pending == 0  # type: ignore[attr-defined]
    assert builders.rv(patched) == 1


@pytest.mark.parametrize(
    "patch",
    [{"metadata": {"name": "team-b"}}, {"kind": "Node"}],
    ids=["rename", "change-kind"],
)
def test_identity_cannot_change(stored: sqlite.SqliteStore, patch: dict[str, object]) -> None:
    with pytest.raises(errors.Invalid):
        stored.patch("Queue", "team-a", None, patch)


def test_patch_missing_is_not_found(stored: sqlite.SqliteStore) -> None:
    with pytest.raises(errors.NotFound):
        stored.patch("Queue", "ghost", None, {"spec": {"weight": 2}})
