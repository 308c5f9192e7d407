"""The live ledger from store objects: what nodes offer and jobs and services hold, priced by
their AcceleratorClass, merged with closed segments without counting any twice, and sampled
reproducibly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from k8s4ai import testing
from k8s4ai.api import registry, resource
from k8s4ai.controllers import cost_ledger
from k8s4ai.finops import allocation, pricing, records, tco
from k8s4ai.testing import builders

HOUR = 3600.0
T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC).timestamp()
H100 = pricing.RateKey(pricing.ResourceKind.GPU, "h100")
CPU = pricing.RateKey(pricing.ResourceKind.CPU)


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def obj(manifest: dict[str, Any], uid: str, created: float = T0, **status: Any
        ) -> resource.Resource:
    manifest["metadata"].update(uid=uid, creationTimestamp=iso(created))
    if status:
        manifest["status"] = status
    return registry.by_kind(manifest["kind"]).model_validate(manifest)


def h100(price: float = 2.5) -> resource.Resource:
    return obj(testing.accelerator_class("h100", pricePerHour=price, mig=builders.H100_MIG), "c1")


def node(name: str = "n1", labels: dict[str, str] | None = None) -> resource.Resource:
    manifest = testing.node(name)
    manifest["metadata"]["labels"] = labels or {}
    return obj(manifest, f"uid-{name}")


def running(manifest: dict[str, Any], start: float, nodes: list[str], uid: str = "g1",
            **status: Any) -> resource.Resource:
    status = {
        "phase": "Running",
        "queue": "team-a",
        "startTime": iso(start),
        "assignments": [{"name": "worker", "nodes": nodes, "acceleratorClass": "h100"}],
        **status,
    }
    return obj(manifest, uid, start, **status)


def report(objs: list[resource.Resource], now: float, by: tuple[str, ...] = ("job",),
           closed: tuple[cost_ledger.Record, ...] = ()) -> allocation.Report:
    view = cost_ledger.cost_view(objs, now, closed)
    return allocation.allocate(view.ledger, view.prices, allocation.Window(T0, now), by)


def gpu_cents(rep: allocation.Report, *key: str) -> int:
    line = rep.line(*key)
    assert line is not None, [ln.key for ln in rep.lines]
    return line.cost(pricing.ResourceKind.GPU)


def test_a_gang_of_two_pods_of_four_h100_for_three_hours() -> None:
    train = testing.gang("train").count(2).gpus(4).labels(team="nlp", experiment="e7").build()
    objs = [h100(2.5), node(), running(train, T0, ["n1", "n1"])]
    rep = report(objs, T0 + 3 * HOUR, by=("team", "experiment", "queue", "job", "namespace"))
    line = rep.line("nlp", "e7", "team-a", "train", "default")
    assert line is not None
    # 2 pods x 4 GPUs x $2.50 x 3 h; 2 pods x 1 core x 3 h x $0.031611; 2 x 4 GiB x 3 h x $0.004237
    assert line.cost(pricing.ResourceKind.GPU) == 6000
    assert line.cost(pricing.ResourceKind.CPU) == round(2 * 3 * 0.031611 * 100)
    assert line.cost(pricing.ResourceKind.MEMORY) == round(8 * 3 * 0.004237 * 100)


@pytest.mark.parametrize(
    ("shape", "share"),
    [
        pytest.param({"gpus": 1, "migProfile": "1g.10gb"}, 1 / 7, id="mig-1g"),
        pytest.param({"gpus": 1, "migProfile": "3g.40gb"}, 3 / 7, id="mig-3g"),
        pytest.param({"gpus": 0.25}, 0.25, id="fraction"),
        pytest.param({"gpus": 0.25, "vram": "40Gi"}, 0.5, id="vram-over-fraction"),
        pytest.param({"gpus": 2, "vram": "40Gi"}, 2, id="whole-gpus"),
    ],
)
def test_a_gpu_share_costs_what_admission_reserves(shape: dict[str, Any], share: float) -> None:
    job = testing.gang("infer").build()
    job["spec"]["podSets"][0]["resources"] = {"acceleratorClass": "h100", **shape}
    objs = [h100(3.5), node(), running(job, T0, ["n1"])]
    assert gpu_cents(report(objs, T0 + 2 * HOUR), "infer") == round(share * 3.5 * 2 * 100)


def test_idle_is_what_the_nodes_offer_minus_what_jobs_hold() -> None:
    objs = [h100(2.0), node(), running(testing.gang("a").gpus(4).build(), T0 + HOUR, ["n1"])]
    rep = report(objs, T0 + 3 * HOUR)
    # 8 GPUs for 3 h are billed; `a` holds 4 for the last 2 h
    assert rep.bill[allocation.KINDS.index(pricing.ResourceKind.GPU)] == 8 * 3 * 200
    assert gpu_cents(rep, "a") == 4 * 2 * 200
    assert gpu_cents(rep, allocation.IDLE) == (8 * 3 - 4 * 2) * 200


def test_a_spot_node_and_what_runs_on_it_are_priced_as_spot() -> None:
    objs = [h100(2.0), node("n1", {"karpenter.sh/capacity-type": "spot"}),
            running(testing.gang("a").gpus(8).build(), T0, ["n1"])]
    spot = pricing.RateKey(pricing.ResourceKind.GPU, "h100", pricing.Market.SPOT)
    imported = pricing.PriceBook().with_price(spot, 0.8)
    view = cost_ledger.cost_view(objs, T0 + HOUR, imported=imported)
    assert set(view.ledger.assets.rates) >= {spot}
    assert set(view.ledger.allocations.rates) >= {spot}
    rep = allocation.allocate(view.ledger, view.prices, allocation.Window(T0, T0 + HOUR), ["job"])
    assert gpu_cents(rep, "a") == 8 * 80
    unpriced = cost_ledger.cost_view(objs, T0 + HOUR)
    assert unpriced.prices.schedule(spot).at(T0) == 2.0  # no spot price: on-demand, an upper bound


def test_a_finished_job_counts_until_it_completed_and_a_pending_one_not_at_all() -> None:
    done = running(testing.gang("done").gpus(8).build(), T0, ["n1"], uid="g1",
                   phase="Succeeded", completionTime=iso(T0 + HOUR / 2))
    waiting = obj(testing.gang("waiting").gpus(8).build(), "g2", phase="Pending")
    rep = report([h100(2.0), node(), done, waiting], T0 + 3 * HOUR)
    assert gpu_cents(rep, "done") == 8 * 100
    assert rep.line("waiting") is None


def test_ready_service_replicas_hold_their_gpus_since_first_seen() -> None:
    manifest: dict[str, Any] = {
        "apiVersion": "k8s4ai.io/v1alpha1", "kind": "InferenceService",
        "metadata": {"name": "chat", "namespace": "serving"},
        "spec": {"model": "llama-8b", "replicas": 2,
                 "resources": {"gpus": 1, "acceleratorClass": "h100"}},
    }
    svc = obj(manifest, "s1", readyReplicas=2)
    first, second = f"service/s1/0/{H100}", f"service/s1/1/{H100}"
    held = cost_ledger.holdings([h100(), svc], T0 + HOUR, {first: T0})
    gpus = sorted((r for r in held if r.rate == H100), key=lambda r: r.key)
    assert [(r.key, r.amount, r.start) for r in gpus] == [
        (first, 1.0, T0), (second, 1.0, T0 + HOUR)
    ], "one series per replica, each from when it was first seen"
    assert {r.labels["model"] for r in gpus} == {"llama-8b"}
    assert {r.labels[tco.SERVICE] for r in gpus} == {"chat"}
    manifest["metadata"]["labels"] = {"model": "llama-3.1-8b"}
    labelled = cost_ledger.holdings([h100(), obj(manifest, "s1", readyReplicas=1)], T0)
    assert {r.labels["model"] for r in labelled} == {"llama-3.1-8b"}, "the service's own label"


def test_a_closed_run_and_the_open_one_after_it_both_count_once() -> None:
    """A job preempted after 1 h (its run kept as closed) and restarted an hour later; a status
    that still shows the closed run does not count it again."""
    job = testing.gang("train").gpus(8).build()
    first = cost_ledger.holdings([h100(2.0), node(), running(job, T0, ["n1"])], T0 + HOUR)
    closed = tuple(replace_end(r, T0 + HOUR) for r in first if r.record == "allocation")
    again = running(testing.gang("train").gpus(8).build(), T0 + 2 * HOUR, ["n1"])
    rep = report([h100(2.0), node(), again], T0 + 4 * HOUR, closed=closed)
    assert gpu_cents(rep, "train") == 8 * 3 * 200
    stale = running(testing.gang("train").gpus(8).build(), T0, ["n1"])
    rep = report([h100(2.0), node(), stale], T0 + 4 * HOUR, closed=closed)
    assert gpu_cents(rep, "train") == 8 * 4 * 200  # [T0, +1h) closed, then open from +1h


def replace_end(r: cost_ledger.Record, end: float) -> cost_ledger.Record:
    return cost_ledger.Record(r.key, r.record, r.rate, r.amount, r.start, end, r.labels, r.owner)


def test_closed_segments_are_records_finops_reads(tmp_path: Path) -> None:
    job = testing.gang("train").gpus(8).labels(team="nlp").build()
    held = cost_ledger.merge(
        [], cost_ledger.holdings([h100(), node(), running(job, T0, ["n1"])], T0 + HOUR), T0 + HOUR
    )
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps([r.to_json() for r in held]))
    loaded = records.load(path)
    assert [cost_ledger.Record.from_json(r.to_json()) for r in held] == held
    built = cost_ledger.build(held, T0 + HOUR, pricing.PriceBook(), {}).ledger
    for table in ("allocations", "assets"):
        ours, theirs = getattr(built, table), getattr(loaded, table)
        assert sorted(zip(map(str, np.array(ours.rates)[ours.rate]), ours.amount, strict=True)) \
            == sorted(zip(map(str, np.array(theirs.rates)[theirs.rate]), theirs.amount,
                          strict=True))
    assert loaded.allocations.labels_of(0)["team"] == "nlp"


def test_samples_are_reproducible_and_extend_as_time_passes() -> None:
    objs = [h100(), node(), *(running(testing.gang(f"j{i}").gpus(1).build(), T0, ["n1"],
                                      uid=f"g{i}") for i in range(8))]
    early = cost_ledger.cost_view(objs, T0 + HOUR, seed=3).samples
    again = cost_ledger.cost_view(objs, T0 + HOUR, seed=3).samples
    later = cost_ledger.cost_view(objs, T0 + 2 * HOUR, seed=3).samples
    other = cost_ledger.cost_view(objs, T0 + HOUR, seed=4).samples
    assert len(early) == 8 * 12  # one sample per 5 minutes per GPU allocation
    for column in ("row", "time", "engine_active", "memory_used"):
        assert np.array_equal(getattr(early, column), getattr(again, column))
    keep = later.time < T0 + HOUR
    for column in ("row", "time", "engine_active", "memory_used"):
        assert np.array_equal(getattr(later, column)[keep], getattr(early, column))
    assert not np.array_equal(early.engine_active, other.engine_active)
    assert early.memory_used.max() <= 80.0


def test_samples_give_idle_findings_something_to_find() -> None:
    objs = [h100(), node(), *(running(testing.gang(f"j{i}").gpus(1).build(), T0, ["n1"],
                                      uid=f"g{i}") for i in range(60))]
    view = cost_ledger.cost_view(objs, T0 + HOUR)
    peaks = view.samples.peaks(len(view.ledger.allocations), allocation.Window(T0, T0 + HOUR))
    gpu_rows = np.array([view.ledger.allocations.rates[c].kind is pricing.ResourceKind.GPU
                         for c in view.ledger.allocations.rate])
    idle = int((peaks.engine_active[gpu_rows] < 0.05).sum())
    assert 0 < idle < 30  # about one in six of 60


def test_a_gang_without_a_class_for_its_gpus_is_left_out_not_fatal() -> None:
    ghost = running(testing.gang("ghost").gpus(8, accelerator="b200").build(), T0, ["n1"],
                    assignments=[{"name": "worker", "nodes": ["n1"]}])
    held = cost_ledger.holdings([h100(), node(), ghost], T0 + HOUR)
    assert held and all(r.record == "asset" for r in held)
