"""The live admission controller against a real store: what it admits and where, the status
and events it writes, and that a restart or a lost node never puts two jobs on one GPU."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s4ai import api, testing
from k8s4ai.api import event
from k8s4ai.controllers import admission, inventory
from k8s4ai.scheduler.admission import policies
from k8s4ai.store import sqlite

from .cluster import Clock, apply, budget, controller, nodes, open_store, queue, settle


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[sqlite.SqliteStore]:
    with open_store(tmp_path / "k8s4ai.db", clock) as opened:
        yield opened


def job(
    store: sqlite.SqliteStore, name: str, namespace: str = "default"
) -> api.GangSchedulingGroup:
    found = store.get("GangSchedulingGroup", name, namespace)
    assert isinstance(found, api.GangSchedulingGroup)
    return found


def waiting(store: sqlite.SqliteStore, name: str) -> tuple[str, str, str]:
    """(phase, reason, message) of a job's Admitted condition."""
    g = job(store, name)
    cond = g.status.condition("Admitted")
    assert cond is not None, g.status
    return g.status.phase, cond.reason, cond.message


def events_of(store: sqlite.SqliteStore, name: str) -> dict[str, str]:
    found = store.list("Event", "default").items
    return {
        e.spec.reason: e.spec.message
        for e in found
        if isinstance(e, event.Event) and e.spec.involved_object.name == name
    }


def nodes_of(store: sqlite.SqliteStore, name: str) -> list[str]:
    return [n for a in job(store, name).status.assignments for n in a.nodes]


def test_admits_a_gang_and_writes_its_status_queue_and_event(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    apply(store, *nodes(2), queue("team-a", 16), testing.gang("train").gpus(8).count(2).build())
    settle(store, clock)
    g = job(store, "train")
    assert g.status.phase == "Admitted" and g.status.queue == "team-a"
    assert [(a.name, sorted(a.nodes)) for a in g.status.assignments] == [("worker", ["n1", "n2"])]
    assert g.status.start_time == clock.now
    cond = g.status.condition("Admitted")
    assert cond is not None and (cond.status, cond.reason) == ("True", "Admitted")
    q = store.get("Queue", "team-a")
    assert isinstance(q, api.Queue)
    assert (q.status.pending, q.status.admitted) == (0, 1)
    gpu = q.status.usage[0]
    assert (gpu.resource, gpu.accelerator_class, str(gpu.used), gpu.borrowed) == (
        "gpu",
        "h100",
        "16",
        None,
    )
    assert "admitted to queue team-a: worker on n" in events_of(store, "train")["Admitted"]


@pytest.mark.parametrize(
    ("extra", "gang", "reason", "says"),
    [
        pytest.param(
            [],
            testing.gang("big").gpus(8).count(3),
            "QuotaExceeded",
            "queue team-a uses 0 of its 16 gpu (h100); the job needs 24 more",
            id="quota",
        ),
        pytest.param(
            [],
            testing.gang("wide").gpus(16),
            "Unschedulable",
            "needs 16 GPUs on one node; the largest node it may use has 8",
            id="unschedulable",
        ),
        pytest.param(
            [],
            testing.gang("far").gpus(8).count(2).topology(required="rack"),
            "Unschedulable",
            "needs 16 GPUs in one rack; the largest rack has 8",
            id="topology-unschedulable",
        ),
        pytest.param(
            [budget("cap", ["team-a"])],
            testing.gang("spend").gpus(1),
            "BudgetExhausted",
            "budget cap has spent 150.00 of 100.00 USD",
            id="budget",
        ),
    ],
)
def test_a_job_left_waiting_says_why(
    store: sqlite.SqliteStore,
    clock: Clock,
    extra: list[dict[str, object]],
    gang: testing.Gang,
    reason: str,
    says: str,
) -> None:
    apply(store, *nodes(1, 1), queue("team-a", 16), *extra)
    if extra:
        store.patch("Budget", "cap", None, {"status": {"spent": 150}}, subresource="status")
    apply(store, gang.build())
    settle(store, clock)
    name = gang.build()["metadata"]["name"]
    phase, got, message = waiting(store, name)
    assert (phase, got) == ("Pending", reason)
    assert says in message
    assert nodes_of(store, name) == []


def test_held_and_missing_queues(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(1), queue("held", 16, stopPolicy="Hold"), queue("gone", 16))
    apply(
        store,
        testing.gang("a").queue("held").gpus(1).build(),
        testing.gang("b").queue("gone").gpus(1).build(),
    )
    store.delete("Queue", "gone")
    settle(store, clock)
    assert waiting(store, "a")[:2] == ("Pending", "QueueHeld")
    assert waiting(store, "b")[:2] == ("Pending", "QueueNotFound")
    held = store.get("Queue", "held")
    assert isinstance(held, api.Queue) and held.status.pending == 1
    cond = held.status.condition("Active")
    assert cond is not None and (cond.status, cond.reason) == ("False", "Held")


def test_a_quiet_cluster_stays_quiet(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(
        store,
        *nodes(1),
        queue("team-a", 8),
        testing.gang("a").gpus(8).build(),
        testing.gang("b").gpus(8).build(),
    )
    settle(store, clock)
    before = store.resource_version()
    clock.tick(3600)
    assert controller(store, clock).run_once() == 0
    assert store.resource_version() == before


def test_a_restarted_controller_charges_what_runs_and_admits_nothing_twice(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "k8s4ai.db"
    with open_store(path, clock) as first:
        apply(first, *nodes(2), queue("team-a", 32), testing.gang("first").gpus(8).count(2).build())
        settle(first, clock)
        placed = nodes_of(first, "first")
    clock.tick(60)
    with open_store(path, clock) as again:
        apply(again, testing.gang("second").gpus(8).count(2).build())
        assert controller(again, clock).run_once() == 2  # `second` and the queue's counts
        assert nodes_of(again, "first") == placed
        phase, reason, message = waiting(again, "second")
        assert (phase, reason) == ("Pending", "GangCannotFit")
        assert "needs 16 GPUs for 2 pods at once; 0 are free" in message


def test_a_higher_priority_job_preempts_and_both_get_events(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    apply(
        store,
        *nodes(2),
        queue("team-a", 32),
        testing.checkpoint_policy("hourly"),
        testing.gang("low").gpus(8).count(2).checkpoint("hourly").build(),
    )
    settle(store, clock)
    clock.tick(600)
    apply(store, testing.gang("high").gpus(8).count(2).priority(10).build())
    preempted_at = clock.now
    settle(store, clock)
    low, high = job(store, "low"), job(store, "high")
    assert (low.status.phase, low.status.assignments, low.status.restarts) == ("Preempted", [], 1)
    cond = low.status.condition("Preempted")
    assert cond is not None and (cond.status, cond.reason) == ("True", "HigherPriority")
    assert "preempted by default/high" in events_of(store, "low")["Preempted"]
    assert high.status.phase == "Admitted" and sorted(nodes_of(store, "high")) == ["n1", "n2"]
    admitted = events_of(store, "high")["Admitted"]
    assert "preempted default/low" in admitted and "once they have saved" in admitted
    # low saves a checkpoint (2 minutes by default) before its GPUs are high's
    assert high.status.start_time is not None
    assert (high.status.start_time - preempted_at).total_seconds() == 120
    assert waiting(store, "low")[1] == "Checkpointing"
    clock.tick(180)
    settle(store, clock)
    phase, reason, _ = waiting(store, "low")
    assert (phase, reason) == ("Preempted", "GangCannotFit")


def test_a_job_whose_node_is_gone_is_requeued_and_placed_again(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    apply(store, *nodes(3), queue("team-a", 32), testing.gang("train").gpus(8).build())
    settle(store, clock)
    [lost] = nodes_of(store, "train")
    store.delete("Node", lost)
    clock.tick(60)
    settle(store, clock)
    assert job(store, "train").status.phase == "Admitted"
    [now_on] = nodes_of(store, "train")
    assert now_on != lost
    assert f"node {lost} is gone" in events_of(store, "train")["Requeued"]


def test_required_topology_keeps_a_gang_in_one_rack(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    apply(
        store,
        *nodes(1, 1, 2, 1, 1),
        queue("team-a", 64),
        testing.gang("rack").gpus(8).count(2).topology(required="rack").build(),
    )
    settle(store, clock)
    assert sorted(nodes_of(store, "rack")) == ["n3", "n4"]


def test_a_gang_that_only_fits_across_racks_waits(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(
        store,
        *nodes(1, 1),
        queue("team-a", 64),
        testing.gang("a").gpus(5).build(),
        testing.gang("b").gpus(5).build(),
    )
    settle(store, clock)
    apply(store, testing.gang("rack").gpus(3).count(2).topology(required="rack").build())
    settle(store, clock)
    phase, reason, message = waiting(store, "rack")
    assert (phase, reason) == ("Pending", "Fragmentation")
    assert "needs 6 GPUs in one rack; 6 are free, at most 3 in one rack" in message


def test_a_refusal_for_topology_is_not_reused_for_a_job_without_it(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    """Same pods, one required in a rack: the cycle caches refusals by what placement
    depends on, and topology is part of it."""
    apply(store, *nodes(1, 1), queue("team-a", 64))
    apply(store, testing.gang("rack").gpus(8).count(2).topology(required="rack").build())
    clock.tick(1)
    apply(store, testing.gang("spread").gpus(8).count(2).build())
    settle(store, clock)
    assert sorted(nodes_of(store, "spread")) == ["n1", "n2"]
    assert nodes_of(store, "rack") == []


def test_a_cordoned_node_takes_no_new_pods(store: sqlite.SqliteStore, clock: Clock) -> None:
    cordoned = testing.node("n2", rack="r1")
    cordoned["spec"]["unschedulable"] = True
    apply(
        store,
        *nodes(1),
        cordoned,
        queue("team-a", 64),
        testing.gang("a").gpus(8).build(),
        testing.gang("b").gpus(8).build(),
    )
    settle(store, clock)
    assert nodes_of(store, "a") + nodes_of(store, "b") == ["n1"]


def test_inventory_leaves_jobs_and_queues_to_admission(clock: Clock) -> None:
    objs = [
        api.registry.by_kind(m["kind"]).model_validate(m)
        for m in (*nodes(1), queue("team-a"), testing.gang("a").gpus(1).build())
    ]
    changed = {c.object.kind for c in inventory.reconcile(objs, clock.now, admission=True)}
    assert changed == {"AcceleratorClass", "TopologyDomain"}


def test_the_controller_refuses_an_unknown_policy(store: sqlite.SqliteStore) -> None:
    with pytest.raises(policies.UnknownPolicyError, match="known: k8s4ai"):
        admission.AdmissionController(store, policy="nope")


def test_a_queue_back_within_its_quota_reclaims_what_its_cohort_lent(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    apply(
        store,
        *nodes(4),
        queue("team-a", 16, cohort="research"),
        queue("team-b", 16, cohort="research"),
        testing.gang("borrower").queue("team-b").gpus(8).count(4).build(),
    )
    settle(store, clock)
    team_b = store.get("Queue", "team-b")
    assert isinstance(team_b, api.Queue)
    assert [(str(u.used), str(u.borrowed)) for u in team_b.status.usage] == [("32", "16")]
    clock.tick(600)
    apply(store, testing.gang("owner").gpus(8).count(2).build())
    settle(store, clock)
    borrower = job(store, "borrower")
    cond = borrower.status.condition("Preempted")
    assert borrower.status.phase == "Preempted"
    assert cond is not None and cond.reason == "Reclaim"
    assert (
        "its cohort reclaiming the quota it borrowed" in events_of(store, "borrower")["Preempted"]
    )
    assert job(store, "owner").status.phase == "Admitted"
