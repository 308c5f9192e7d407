"""Label selectors on list: every operator, alone and combined, agrees with
`Selector.matches` (the reference semantics), whether answered from the index or not."""

from __future__ import annotations

import pytest

from k8s4ai.api import selector
from k8s4ai.store import sqlite

from . import builders

LABELS = {
    "a1": {"team": "a", "tier": "batch", "gpu": "h100"},
    "a2": {"team": "a", "tier": "serve"},
    "b1": {"team": "b", "tier": "batch", "spot": "true"},
    "b2": {"team": "b"},
    "c1": {"team": "c", "gpu": "a100", "spot": "false"},
    "none": {},
}

CASES = {
    "team=a": ["a1", "a2"],
    "team==b": ["b1", "b2"],
    "team!=a": ["b1", "b2", "c1", "none"],
    "team in (a,c)": ["a1", "a2", "c1"],
    "team notin (a,c)": ["b1", "b2", "none"],
    "gpu": ["a1", "c1"],
    "!gpu": ["a2", "b1", "b2", "none"],
    "team=a,tier=batch": ["a1"],
    "team in (a,b),!spot": ["a1", "a2", "b2"],
    "gpu,spot=false": ["c1"],
    "tier in ()": [],
    "tier notin (batch),team": ["a2", "b2", "c1"],
    "team=zzz": [],
    "": ["a1", "a2", "b1", "b2", "c1", "none"],
}


@pytest.fixture
def labelled(store: sqlite.SqliteStore) -> sqlite.SqliteStore:
    for name, labels in LABELS.items():
        store.create(builders.gang(name, labels=labels))
    store.create(builders.gang("elsewhere", namespace="other", labels={"team": "a"}))
    store.create(builders.queue("team-a", labels={"team": "a"}))
    return store


@pytest.mark.parametrize(("text", "expected"), CASES.items(), ids=list(CASES))
def test_selector_picks_matching_objects(
    labelled: sqlite.SqliteStore, text: str, expected: list[str]
) -> None:
    sel = selector.parse(text)

    found = labelled.list("GangSchedulingGroup", "default", sel).items

    assert [o.metadata.name for o in found] == expected
    assert expected == [n for n, labels in LABELS.items() if sel.matches(labels)]


def test_selector_over_all_namespaces_keeps_order(labelled: sqlite.SqliteStore) -> None:
    found = labelled.list("GangSchedulingGroup", None, selector.parse("team=a")).items

    assert [(o.metadata.namespace, o.metadata.name) for o in found] == [
        ("default", "a1"),
        ("default", "a2"),
        ("other", "elsewhere"),
    ]


def test_selector_follows_label_changes(labelled: sqlite.SqliteStore) -> None:
    moved = labelled.get("GangSchedulingGroup", "a1").model_copy(deep=True)
    moved.metadata.labels = {"team": "b"}
    labelled.replace(moved)
    labelled.delete("GangSchedulingGroup", "b2")

    found = labelled.list("GangSchedulingGroup", "default", selector.parse("team=b")).items

    assert [o.metadata.name for o in found] == ["a1", "b1"]
