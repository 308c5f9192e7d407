"""Preferred vs required topology in the live controller's placer, on the objects a user
applies: while the level has room both keep a gang in one domain of it; when none has room,
`required` waits with a reason naming the level and `preferred` spans the next level up."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from k8s4ai import testing
from k8s4ai.api import accelerator, gang, node, registry, topology
from k8s4ai.controllers import admission_convert, admission_topology
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import gang as core_gang
from k8s4ai.scheduler.admission import reasons, workload

from .cluster import nodes as node_manifests


def parse(manifest: dict[str, Any]) -> Any:
    return registry.by_kind(manifest["kind"]).model_validate(manifest)


def placer(
    *racks: int,
    required: dict[str, str] | None = None,
    preferred: dict[str, str] | None = None,
    busy: tuple[str, ...] = (),
    domain_size: int | None = None,
) -> admission_topology.Placer:
    """Racks of 8-GPU H100 nodes (n1, n2... across racks) with the `busy` nodes full."""
    objs = [parse(m) for m in node_manifests(*racks)]
    if domain_size is not None:
        objs[0] = parse(
            testing.accelerator_class(
                "h100", interconnect={"kind": "nvswitch", "domainSize": domain_size}
            )
        )
    found = [o for o in objs if isinstance(o, node.Node)]
    classes = {o.metadata.name: o for o in objs if isinstance(o, accelerator.AcceleratorClass)}
    topos = [o for o in objs if isinstance(o, topology.TopologyDomain)]
    snap = snapshot.ClusterSnapshot([admission_convert.node_spec(n) for n in found])
    p = admission_topology.Placer(
        snap, np.random.default_rng(0), found, (), required or {}, preferred, topos, classes
    )
    for row, n in enumerate(found):
        if n.metadata.name in busy:
            snap.assign(row, pods.PodRequest("busy", 0, 0, 8, pods.MILLI), tuple(range(8)))
    return p


def train(name: str, count: int, gpus: int) -> workload.Workload:
    made = tuple(pods.PodRequest(f"{name}-{i}", 1000, 1024, gpus, pods.MILLI) for i in range(count))
    return workload.Workload(name, "team-a", made)


def where(p: admission_topology.Placer, placed: object) -> list[str]:
    assert isinstance(placed, list), placed
    return sorted(p.nodes[x.node].metadata.name for x in placed)


@pytest.mark.parametrize("field", ["required", "preferred"])
def test_both_keep_a_gang_in_the_rack_with_least_room_that_holds_it(field: str) -> None:
    p = placer(3, 2, **{field: {"job": "rack"}})
    # r1 = n1 n2 n3 (24 free), r2 = n4 n5 (16 free): r2 is left with none, r1 stays whole.
    assert where(p, p.place(train("job", 2, 8))) == ["n4", "n5"]
    assert p.last is not None and not p.last.degraded


def test_when_no_rack_has_room_required_waits_and_preferred_spans_racks() -> None:
    busy = ("n2", "n3")
    required = placer(2, 2, required={"job": "rack"}, busy=busy)
    refused = required.place(train("job", 2, 8))
    assert isinstance(refused, core_gang.Refused)
    assert refused.reason.kind is reasons.Kind.FRAGMENTATION
    assert refused.reason.message == (
        "needs 16 GPUs in one rack; 16 are free, at most 8 in one rack (r1 8, r2 8)"
    )
    assert refused.reason.details["level"] == "rack"

    preferred = placer(2, 2, preferred={"job": "rack"}, busy=busy)
    assert where(preferred, preferred.place(train("job", 2, 8))) == ["n1", "n4"]
    assert preferred.last is not None and preferred.last.degraded
    assert preferred.tree.levels[preferred.last.level].name == "zone"


def test_required_wins_over_preferred_for_the_same_gang() -> None:
    p = placer(1, 1, required={"job": "rack"}, preferred={"job": "zone"})
    refused = p.place(train("job", 2, 8))
    assert isinstance(refused, core_gang.Refused)
    assert (
        refused.reason.message
        == "needs 16 GPUs in one rack; the largest rack has 8 GPUs it may use"
    )


def test_a_gang_without_either_keeps_the_core_placer() -> None:
    p = placer(2, 2)
    assert len(where(p, p.place(train("job", 2, 8)))) == 2
    assert p.last is None


def test_a_small_gang_stays_inside_one_nvlink_domain_of_its_class() -> None:
    p = placer(1, preferred={"job": "rack"}, domain_size=4)
    p.snap.assign(0, pods.PodRequest("busy", 0, 0, 1, pods.MILLI), (0,))
    placed = p.place(train("job", 1, 3))
    assert isinstance(placed, list) and placed[0].gpus == (1, 2, 3)


def test_the_manifest_fields_are_the_ones_the_placer_reads() -> None:
    """`spec.topology.preferred` parses into the constraint the placer is given."""
    g = parse(testing.gang("job").gpus(8).count(2).topology(preferred="rack").build())
    assert isinstance(g, gang.GangSchedulingGroup) and g.spec.topology is not None
    p = placer(2, preferred={admission_convert.job_key(g): g.spec.topology.preferred or ""})
    constraint = p.constraint(train(admission_convert.job_key(g), 2, 8))
    assert constraint is not None and (constraint.level, constraint.required) == ("rack", False)
