"""Lists in pages (`limit`, `continue`) and by field (`fieldSelector`), as the Kubernetes list
API has them: a walk page by page returns every object once, in list order; a field selector
returns exactly the objects whose field matches; unknown fields and foreign tokens are 400."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from k8s4ai import testing
from k8s4ai.store import sqlite

from . import manifests

pytestmark = pytest.mark.integration

GANGS = manifests.path("gangschedulinggroups")


@pytest.fixture
def jobs(store: sqlite.SqliteStore) -> list[tuple[str, str, str]]:
    """23 gangs over three namespaces and two queues; (namespace, name, queue) in list order."""
    made = []
    store.apply([testing.typed(testing.queue(q)) for q in ("qa", "qb")])
    for i in range(23):
        namespace, queue = f"ns-{i % 3}", ("qa", "qb")[i % 2]
        store.create(testing.typed(testing.gang(f"job-{i:02d}", namespace).queue(queue).build()))
        made.append((namespace, f"job-{i:02d}", queue))
    return sorted(made)


def walk(api: httpx.Client, url: str, **params: Any) -> tuple[list[tuple[str, str]], int]:
    """Every page's items as (namespace, name), and how many pages it took."""
    seen: list[tuple[str, str]] = []
    pages, token = 0, None
    while True:
        answer = api.get(url, params={**params, **({"continue": token} if token else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages += 1
        seen += [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]]
        token = body["metadata"].get("continue")
        if not token:
            return seen, pages


def test_pages_return_every_object_once_in_list_order(
    api: httpx.Client, jobs: list[tuple[str, str, str]]
) -> None:
    seen, pages = walk(api, GANGS, limit=5)
    assert seen == [(ns, name) for ns, name, _ in jobs]
    assert pages == 5
    first = api.get(GANGS, params={"limit": 5}).json()
    assert first["metadata"]["remainingItemCount"] == 18
    assert first["kind"] == "GangSchedulingGroupList"


def test_a_field_selector_picks_exactly_the_matching_objects(
    api: httpx.Client, jobs: list[tuple[str, str, str]]
) -> None:
    seen, _ = walk(api, GANGS, fieldSelector="spec.queue=qb", limit=4)
    assert seen == [(ns, name) for ns, name, q in jobs if q == "qb"]
    scoped, _ = walk(api, manifests.path("gangschedulinggroups", namespace="ns-1"),
                     fieldSelector="spec.queue!=qb")  # fmt: skip
    assert scoped == [(ns, name) for ns, name, q in jobs if q != "qb" and ns == "ns-1"]
    both, _ = walk(api, GANGS, fieldSelector="status.phase in (Pending,Preempted),"
                   "metadata.name!=job-00")  # fmt: skip
    assert both == [(ns, name) for ns, name, _ in jobs if name != "job-00"]
    assert walk(api, GANGS, fieldSelector="status.phase=Running")[0] == []


def test_a_continued_page_sees_objects_created_after_the_first(
    api: httpx.Client, jobs: list[tuple[str, str, str]], store: sqlite.SqliteStore
) -> None:
    first = api.get(GANGS, params={"limit": 20}).json()
    store.create(testing.typed(testing.gang("zz-late", "ns-2").queue("qa").build()))
    rest = api.get(GANGS, params={"limit": 20, "continue": first["metadata"]["continue"]})
    names = [i["metadata"]["name"] for i in rest.json()["items"]]
    assert names == [name for _, name, _ in jobs[20:]] + ["zz-late"]


def test_labels_and_limit_combine(api: httpx.Client, store: sqlite.SqliteStore) -> None:
    for i in range(6):
        team = "red" if i % 2 else "blue"
        store.create(testing.typed(testing.gang(f"l-{i}").labels(team=team).build()))
    seen, pages = walk(api, GANGS, labelSelector="team=red", limit=2)
    assert seen == [("default", "l-1"), ("default", "l-3"), ("default", "l-5")]
    assert pages == 2


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"fieldSelector": "spec.priority=3"}, "not a supported field selector"),
        ({"fieldSelector": "status.phase"}, "not a supported field selector"),
        ({"limit": "many"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "2", "continue": "not-a-token"}, "continue"),
    ],
    ids=["unknown-field", "exists", "limit-text", "limit-negative", "foreign-token"],
)
def test_bad_requests_say_what_is_wrong(
    api: httpx.Client, jobs: list[tuple[str, str, str]], params: dict[str, str], says: str
) -> None:
    answer = api.get(GANGS, params=params)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["message"]


def test_events_by_involved_object(api: httpx.Client, store: sqlite.SqliteStore) -> None:
    for i, name in enumerate(["a", "b", "a"]):
        store.create(testing.typed({
            "apiVersion": "k8s4ai.io/v1alpha1", "kind": "Event",
            "metadata": {"name": f"e{i}", "namespace": "default"},
            "spec": {"involvedObject": {"kind": "GangSchedulingGroup", "name": name},
                     "reason": "Admitted"},
        }))  # fmt: skip
    url = manifests.path("events", namespace="default")
    answer = api.get(url, params={"fieldSelector": "spec.involvedObject.name=a"})
    assert [i["metadata"]["name"] for i in answer.json()["items"]] == ["e0", "e2"]


def test_without_paging_parameters_the_list_is_unchanged(
    api: httpx.Client, jobs: list[tuple[str, str, str]]
) -> None:
    body = api.get(GANGS).json()
    assert len(body["items"]) == len(jobs) and "continue" not in body["metadata"]
