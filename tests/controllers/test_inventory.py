from datetime import UTC, datetime
from typing import Any

from k8s4ai import api, testing
from k8s4ai.api import registry
from k8s4ai.controllers import inventory

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def objects(*manifests: dict[str, Any]) -> list[api.Resource]:
    return [registry.by_kind(m["kind"]).model_validate(m) for m in manifests]


def cluster() -> list[api.Resource]:
    return objects(
        testing.accelerator_class("h100", mig=testing.builders.H100_MIG),
        testing.accelerator_class("l4", vram="24Gi"),
        testing.topology(),
        testing.queue("team-a"),
        testing.node("n1", rack="r1"),
        testing.node("n2", rack="r2", gpus=4),
        testing.node("n3", rack="r2", mig_layout=["3g.40gb", "3g.40gb"], gpus=2),
        testing.gang("train").gpus(8).build(),
    )


def by_name(changes: list[inventory.Change]) -> dict[str, api.Resource]:
    return {c.object.metadata.name: c.object for c in changes}


def test_inventory_counts_gpus_nodes_and_domains() -> None:
    changed = by_name(inventory.reconcile(cluster(), NOW))
    h100, l4 = changed["h100"], changed["l4"]
    assert isinstance(h100, api.AcceleratorClass) and isinstance(l4, api.AcceleratorClass)
    assert (h100.status.gpus, h100.status.nodes) == (14, 3)
    available = l4.status.condition("Available")
    assert l4.status.gpus == 0 and available is not None and available.status == "False"
    topo = changed["default"]
    assert isinstance(topo, api.TopologyDomain)
    assert topo.status.domains == {"zone": 1, "rack": 2, "node": 3}


def test_jobs_say_why_they_wait_and_queues_count_them() -> None:
    changed = by_name(inventory.reconcile(cluster(), NOW))
    job, team = changed["train"], changed["team-a"]
    assert isinstance(job, api.GangSchedulingGroup) and isinstance(team, api.Queue)
    cond = job.status.condition("Admitted")
    assert cond is not None and (cond.status, cond.reason) == ("False", "SchedulerNotRunning")
    assert team.status.pending == 1


def test_with_admission_services_say_admission_does_not_place_them() -> None:
    service = api.InferenceService.model_validate(
        {
            "metadata": {"name": "chat", "namespace": "serving"},
            "spec": {"model": "m", "replicas": 1, "resources": {"gpus": 1}},
        }
    )
    without = by_name(inventory.reconcile([service], NOW))["chat"]
    cond = without.status.condition("Admitted")
    assert cond is not None and cond.reason == "SchedulerNotRunning"
    with_admission = by_name(inventory.reconcile([without], NOW, admission=True))["chat"]
    cond = with_admission.status.condition("Admitted")
    assert cond is not None and (cond.status, cond.reason) == ("False", "ServedOutsideAdmission")


def test_a_reconciled_cluster_is_quiet() -> None:
    objs = cluster()
    first = {c.object.key: c.object for c in inventory.reconcile(objs, NOW)}
    settled = [first.get(o.key, o) for o in objs]
    later = datetime(2026, 1, 2, tzinfo=UTC)
    assert inventory.reconcile(settled, later) == []


def test_transition_time_moves_only_when_status_flips() -> None:
    objs = cluster()
    settled = {c.object.key: c.object for c in inventory.reconcile(objs, NOW)}
    later = datetime(2026, 1, 2, tzinfo=UTC)
    more = [*(settled.get(o.key, o) for o in objs), *objects(testing.node("n4", "l4", 4))]
    l4 = by_name(inventory.reconcile(more, later))["l4"]
    cond = l4.status.condition("Available")
    assert cond is not None and (cond.status, cond.last_transition_time) == ("True", later)
    h100 = by_name(inventory.reconcile(more, later)).get("h100")
    assert h100 is None
