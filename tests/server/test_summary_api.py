"""`/api/v1/summary` and `/api/v1/occupancy` on a real server: their figures are the ones the
raw object lists give (counted here independently, from `GET` lists), they follow writes made
after they were first computed, and they need a read token like any list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from k8s4ai import testing
from k8s4ai.controllers import admission
from k8s4ai.server import app, run
from k8s4ai.store import sqlite

from . import manifests
from .conftest import READ_TOKEN, TOKENS

pytestmark = pytest.mark.integration

MIG = [
    {"name": "1g.10gb", "computeSlices": 1, "vram": "10Gi", "maxPerGpu": 7},
    {"name": "3g.40gb", "computeSlices": 3, "vram": "40Gi", "maxPerGpu": 2},
]
WAITING = ("Pending", "Preempted")
HOLDING = ("Admitted", "Running")


def cluster() -> list[dict[str, Any]]:
    """Two classes (one with MIG nodes), three queues; whole, fractional and MIG jobs, some
    too big to be admitted."""
    objs = [
        testing.accelerator_class("h100"),
        testing.accelerator_class("a100", mig=MIG),
        testing.topology(),
        *(testing.node(f"h-{i}", "h100", 8, f"r{i // 2}") for i in range(4)),
        testing.node("m-0", "a100", 2, "r9", mig_layout=["3g.40gb", "1g.10gb"]),
        testing.queue("team-a", 16, "h100", "all"),
        testing.queue("team-b", 16, "h100", "all"),
        testing.queue("team-m", 2, "a100"),
    ]
    jobs = [
        testing.gang("big", "ns-a").queue("team-a").count(2).gpus(8),
        testing.gang("small", "ns-a").queue("team-a").gpus(1),
        testing.gang("half", "ns-b").queue("team-b").gpus(0.5),
        testing.gang("huge", "ns-b").queue("team-b").count(8).gpus(8),
        testing.gang("huger", "ns-b").queue("team-b").count(9).gpus(8),
        testing.gang("slice", "ns-m").queue("team-m").count(2).mig("1g.10gb", "a100"),
        testing.gang("third", "ns-m").queue("team-m").mig("3g.40gb", "a100"),
    ]
    return objs + [j.build() for j in jobs]


@pytest.fixture
def filled(store: sqlite.SqliteStore) -> sqlite.SqliteStore:
    store.apply([testing.typed(m) for m in cluster()])
    admission.AdmissionController(store).run_once()
    return store


@pytest.fixture
def api(
    filled: sqlite.SqliteStore,
    serve: Callable[..., run.RunningServer],
    client: Callable[..., httpx.Client],
) -> Iterator[httpx.Client]:
    yield client(serve(tokens=TOKENS), READ_TOKEN)


def items(api: httpx.Client, plural: str) -> list[dict[str, Any]]:
    answer = api.get(manifests.path(plural))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


def held(job: dict[str, Any], classes: dict[str, dict[str, Any]]) -> float:
    """GPUs a holding gang's assignments hold, from the raw objects: a MIG pod as its
    compute slices out of 7."""
    sets = {s["name"]: s.get("resources", {}) for s in job["spec"]["podSets"]}
    total = 0.0
    for assignment in job["status"].get("assignments", []):
        res = sets[assignment["name"]]
        share = float(res.get("gpus", 0))
        if "migProfile" in res:
            profiles = classes[res["acceleratorClass"]]["spec"]["migProfiles"]
            share = next(p["computeSlices"] for p in profiles if p["name"] == res["migProfile"])
            share /= 7
        total += len(assignment["nodes"]) * share
    return total


def test_the_summary_is_what_the_raw_lists_say(api: httpx.Client) -> None:
    nodes, gangs = items(api, "nodes"), items(api, "gangschedulinggroups")
    queues = items(api, "queues")
    classes = {c["metadata"]["name"]: c for c in items(api, "acceleratorclasses")}
    answer = api.get("/api/v1/summary")
    assert answer.status_code == 200, answer.text
    got = answer.json()

    capacity: Counter[str] = Counter()
    for n in nodes:
        for group in n["spec"]["gpus"]:
            capacity[group["acceleratorClass"]] += group["count"]
    holding = [g for g in gangs if g["status"]["phase"] in HOLDING]
    allocated: Counter[str] = Counter()
    for g in holding:
        cls = g["spec"]["podSets"][0]["resources"]["acceleratorClass"]
        allocated[cls] += held(g, classes)
    phases = Counter(g["status"]["phase"] for g in gangs)

    assert got["gpus"]["total"] == sum(capacity.values()) == 34
    assert got["gpus"]["allocated"] == pytest.approx(sum(allocated.values()))
    assert {c["name"]: (c["total"], pytest.approx(c["allocated"]))
            for c in got["gpus"]["byClass"]} == {
        name: (capacity[name], allocated[name]) for name in capacity
    }  # fmt: skip
    assert got["jobs"]["total"] == len(gangs) == 7
    assert got["jobs"]["waiting"] == sum(phases[p] for p in WAITING)
    assert got["jobs"]["holding"] == sum(phases[p] for p in HOLDING)
    assert 0 < got["jobs"]["waiting"] < len(gangs)  # the test says something about both
    assert {p: n for p, n in got["jobs"]["phases"].items() if n} == dict(phases)
    assert got["queues"]["total"] == len(queues)
    backlog = {q["name"]: q for q in got["queues"]["backlog"]}
    for q in queues:
        name = q["metadata"]["name"]
        mine = [g for g in gangs if g["spec"]["queue"] == name]
        assert backlog[name]["jobs"] == len(mine)
        assert backlog[name]["waiting"] == sum(g["status"]["phase"] in WAITING for g in mine)
    answered = datetime.fromisoformat(got["time"])
    assert abs((answered - datetime.now(UTC)).total_seconds()) < 60
    assert int(got["metadata"]["resourceVersion"]) >= max(
        int(g["metadata"]["resourceVersion"]) for g in gangs
    )


def test_the_longest_wait_is_the_oldest_waiting_job(api: httpx.Client) -> None:
    gangs = items(api, "gangschedulinggroups")

    def since(g: dict[str, Any]) -> str:
        admitted = next((c for c in g["status"].get("conditions", [])
                         if c["type"] == "Admitted"), None)  # fmt: skip
        if admitted and admitted["status"] == "False":
            return str(admitted["lastTransitionTime"])
        return str(g["metadata"]["creationTimestamp"])

    waiting = [g for g in gangs if g["status"]["phase"] in WAITING]
    oldest = min(waiting, key=lambda g: datetime.fromisoformat(since(g)))
    got = api.get("/api/v1/summary").json()["oldestWaiting"]
    assert got["job"] == f"{oldest['metadata']['namespace']}/{oldest['metadata']['name']}"
    assert datetime.fromisoformat(got["since"]) == datetime.fromisoformat(since(oldest))


def test_occupancy_puts_each_jobs_pods_on_its_assigned_nodes(api: httpx.Client) -> None:
    gangs = items(api, "gangschedulinggroups")
    classes = {c["metadata"]["name"]: c for c in items(api, "acceleratorclasses")}
    expected: Counter[tuple[str, str]] = Counter()
    for g in gangs:
        if g["status"]["phase"] in HOLDING:
            for assignment in g["status"]["assignments"]:
                for node in assignment["nodes"]:
                    expected[(node, f"{g['metadata']['namespace']}/{g['metadata']['name']}")] += 1
    nodes = api.get("/api/v1/occupancy").json()["nodes"]
    assert [n["name"] for n in nodes] == sorted(n["metadata"]["name"] for n in items(api, "nodes"))
    got = Counter({(n["name"], h["job"]): h["pods"] for n in nodes for h in n["holders"]})
    assert got == expected and expected
    total = sum(h["gpus"] for n in nodes for h in n["holders"])
    assert total == pytest.approx(sum(held(g, classes) for g in gangs
                                      if g["status"]["phase"] in HOLDING))  # fmt: skip
    place = {n["name"]: n["place"] for n in nodes}
    assert place["h-3"] == [["zone", "z1"], ["rack", "r1"]]


def test_occupancy_of_named_nodes_only(api: httpx.Client) -> None:
    answer = api.get("/api/v1/occupancy", params=[("node", "m-0"), ("node", "nope"),
                                                  ("node", "h-0")])  # fmt: skip
    assert [n["name"] for n in answer.json()["nodes"]] == ["m-0", "h-0"]


def test_the_summary_follows_writes(api: httpx.Client, filled: sqlite.SqliteStore) -> None:
    before = api.get("/api/v1/summary").json()
    filled.create(testing.typed(testing.gang("late", "ns-b").queue("team-b").count(9)
                                .gpus(8).build()))  # fmt: skip
    after = api.get("/api/v1/summary").json()
    assert after["jobs"]["total"] == before["jobs"]["total"] + 1
    assert after["jobs"]["phases"]["Pending"] == before["jobs"]["phases"]["Pending"] + 1
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    filled.delete("GangSchedulingGroup", "late", "ns-b")
    filled.delete("Node", "h-3")
    gone = api.get("/api/v1/summary").json()
    assert gone["jobs"]["total"] == before["jobs"]["total"]
    assert gone["gpus"]["total"] == before["gpus"]["total"] - 8
    assert "h-3" not in {n["name"] for n in api.get("/api/v1/occupancy").json()["nodes"]}


@pytest.mark.parametrize("path", ["/api/v1/summary", "/api/v1/occupancy"])
def test_views_need_a_token(
    api: httpx.Client, client: Callable[..., httpx.Client], path: str
) -> None:
    anonymous = httpx.Client(base_url=str(api.base_url), timeout=10)
    with anonymous:
        assert anonymous.get(path).status_code == 401
    assert api.get(path).status_code == 200


@pytest.mark.asyncio
async def test_answers_are_dated_by_the_injected_clock(filled: sqlite.SqliteStore) -> None:
    moment = datetime(2026, 1, 5, 12, tzinfo=UTC)
    served = app.create_app(filled, tokens=None, clock=lambda: moment)
    served.warm()
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://local") as local:
        for path in ("/api/v1/summary", "/api/v1/occupancy", "/api/v1/storage"):
            answer = await local.get(path)
            assert answer.json()["time"] == "2026-01-05T12:00:00Z", path
