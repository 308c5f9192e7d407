"""A cluster's Nodes, pods and volumes as cost-ledger segments, costed by hand: whole GPUs and
MIG slices priced by the AcceleratorClass discovery maps a node to, a finished pod counted to
its last container's end, a pending pod not at all, a volume charged to the pods mounting it
and one nobody mounts left as `__unmounted__`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from k8s4ai import api, testing
from k8s4ai.backends.kubernetes import cost_records, costs
from k8s4ai.controllers import cost_journal, cost_tracker
from k8s4ai.finops import allocation, pricing, view
from k8s4ai.testing import builders
from tests.backends.kubernetes.kube import H100, kube_node, kube_pod

HOUR = 3600.0
T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC).timestamp()
PRICE = 3.0


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def h100_class() -> api.AcceleratorClass:
    manifest = testing.accelerator_class(
        "h100", pricePerHour=PRICE, mig=builders.H100_MIG,
        nodeLabels={"nvidia.com/gpu.product": H100},
    )
    return api.AcceleratorClass.model_validate(manifest)


def dated_node(name: str, gpus: int = 8, **labels: str) -> dict[str, Any]:
    found = kube_node(name, gpus=gpus, **labels)
    found["metadata"]["creationTimestamp"] = iso(T0)
    return found


def bound(name: str, node: str, scheduled: float, finished: float | None = None,
          mig: dict[str, int] | None = None, claims: tuple[str, ...] = (),
          **kw: Any) -> dict[str, Any]:
    pod = kube_pod(name, node=node, scheduler="default-scheduler", **kw)
    pod["status"] = {
        "phase": "Running",
        "conditions": [{"type": "PodScheduled", "status": "True",
                        "lastTransitionTime": iso(scheduled)}],
    }
    if mig:
        limits = pod["spec"]["containers"][0]["resources"].setdefault("limits", {})
        limits.update({f"nvidia.com/mig-{p}": str(n) for p, n in mig.items()})
    if finished is not None:
        pod["status"]["phase"] = "Succeeded"
        pod["status"]["containerStatuses"] = [
            {"name": "main", "state": {"terminated": {"finishedAt": iso(finished)}}}
        ]
    pod["spec"]["volumes"] = [
        {"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims
    ]
    return pod


def volume(name: str, size: str, claim: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"capacity": {"storage": size}, "storageClassName": "fast"}
    if claim:
        spec["claimRef"] = {"namespace": "team-a", "name": claim}
    return {"metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": iso(T0)},
            "spec": spec}


def claim(name: str, pv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "team-a"}, "spec": {"volumeName": pv}}


def cost_view(held: cost_records.Holdings, now: float, tmp_path: Path,
              imported: pricing.PriceBook | None = None) -> view.CostView:
    tracker = cost_tracker.Tracker(cost_journal.Journal(tmp_path, "t"))
    tracker.advance(held.records, now)
    return tracker.view(now, held.classes, imported, sampler=costs.no_samples)


def cents(rep: allocation.Report, kind: pricing.ResourceKind, *key: str) -> int:
    line = rep.line(*key)
    assert line is not None, [ln.key for ln in rep.lines]
    return line.cost(kind)


NOW = T0 + 2 * HOUR
GPU = pricing.ResourceKind.GPU


def test_whole_gpus_mig_slices_a_finished_pod_and_idle(tmp_path: Path) -> None:
    nodes = [
        dated_node("n1"),
        dated_node("n2", gpus=0, nvidia_com__mig_config="all-1g.10gb",
                   nvidia_com__gpu_count="1"),
    ]
    pods = [
        bound("a", "n1", T0, gpus=4, labels={"team": "a", "k8s4ai.io/queue": "team-a"}),
        bound("b", "n2", T0 + HOUR, gpus=0, mig={"1g.10gb": 2}),
        bound("c", "n1", T0, finished=T0 + HOUR / 2, gpus=1),
        kube_pod("pending", gpus=8),
    ]
    held = cost_records.holdings(nodes, pods, written=[h100_class()])
    assert held.problems == ()
    costs_now = cost_view(held, NOW, tmp_path)
    rep = allocation.allocate(costs_now.ledger, costs_now.prices,
                              allocation.Window(T0, NOW), ["pod"])
    assert cents(rep, GPU, "a") == 4 * PRICE * 2 * 100
    assert cents(rep, GPU, "b") == pytest.approx(2 / 7 * PRICE * 100, abs=1)
    assert cents(rep, GPU, "c") == PRICE * 0.5 * 100
    assert rep.line("pending") is None
    # The bill: 9 H100s (8 + the MIG-partitioned one) for 2 h; idle is what nobody held.
    assert rep.bill[allocation.KINDS.index(GPU)] == 9 * PRICE * 2 * 100
    idle = rep.idle
    assert idle is not None
    assert idle.cost(GPU) == pytest.approx((9 * 2 - 4 * 2 - 2 / 7 - 0.5) * PRICE * 100, abs=1)
    labels = {r.key: r.labels for r in held.records if r.key.startswith("pod/uid-a/gpu")}
    [a] = labels.values()
    assert {k: a[k] for k in ("team", "queue", "namespace", "pod", "node", "job")} == {
        "team": "a", "queue": "team-a", "namespace": "team-a", "pod": "a", "node": "n1",
        "job": "a",
    }


def test_cores_and_memory_come_from_capacity_and_requests(tmp_path: Path) -> None:
    node = dated_node("n1", gpus=0)
    node["status"]["allocatable"]["cpu"] = "180"  # system reserved: the bill is the machine
    held = cost_records.holdings([node], [bound("a", "n1", T0, gpus=0, cpu="16",
                                                memory="64Gi")])
    assets = {str(r.rate): r.amount for r in held.records if r.record == "asset"}
    allocations = {str(r.rate): r.amount for r in held.records if r.record == "allocation"}
    assert assets == {"cpu/on-demand": 192, "memory/on-demand": 2048}
    assert allocations == {"cpu/on-demand": 16, "memory/on-demand": 64}


def test_volumes_are_charged_to_the_pods_mounting_them(tmp_path: Path) -> None:
    prices = pricing.PriceBook().with_price(
        pricing.RateKey(pricing.ResourceKind.STORAGE, "fast"), pricing.storage_hourly(7.30)
    )
    held = cost_records.holdings(
        [dated_node("n1", gpus=0)],
        [bound("a", "n1", T0, gpus=0, claims=("data",)),
         bound("e", "n1", T0, gpus=0, claims=("data",)),
         bound("done", "n1", T0, finished=T0 + 60, gpus=0, claims=("data",))],
        [volume("vol-1", "100Gi", "data"), volume("vol-2", "50Gi")],
        [claim("data", "vol-1")],
    )
    costs_now = cost_view(held, NOW, tmp_path, prices)
    rep = allocation.allocate(costs_now.ledger, costs_now.prices,
                              allocation.Window(T0, NOW), ["pod"])
    storage = pricing.ResourceKind.STORAGE
    # $7.30/GB-month is $0.01/GB-hour: vol-1 (100 GiB) split between the two running pods,
    # vol-2 (50 GiB) mounted by nobody.
    assert (cents(rep, storage, "a"), cents(rep, storage, "e")) == (100, 100)
    assert cents(rep, storage, *[allocation.UNMOUNTED]) == 100
    assert rep.bill[allocation.KINDS.index(storage)] == 300


def test_a_storage_class_without_a_price_costs_opencosts_default(tmp_path: Path) -> None:
    held = cost_records.holdings([], [], [volume("vol-2", "730Gi")])
    costs_now = cost_view(held, T0 + HOUR, tmp_path)
    rep = allocation.allocate(costs_now.ledger, costs_now.prices,
                              allocation.Window(T0, T0 + HOUR), ["pod"])
    assert rep.bill[allocation.KINDS.index(pricing.ResourceKind.STORAGE)] == 4  # 730 × 0.04/730


def test_a_gpu_pod_on_a_node_discovery_left_out_is_reported(tmp_path: Path) -> None:
    unlabelled = dated_node("n1", product=None)
    held = cost_records.holdings([unlabelled], [bound("a", "n1", T0, gpus=2)])
    assert any("pod team-a/a" in p for p in held.problems)
    assert any("node n1" in p for p in held.problems)
    assert {(r.record, str(r.rate)) for r in held.records} == {
        ("allocation", "cpu/on-demand"), ("allocation", "memory/on-demand")
    }, "its cores and memory still count; its GPUs cannot be priced"
