"""The cluster tree: levels from a TopologyDomain, nodes and NVLink domains as the two
deepest levels, domains per level, and the level a set of GPUs spans."""

from __future__ import annotations

from typing import Any

import pytest

from k8s4ai import testing
from k8s4ai.api import accelerator, node, registry, topology
from k8s4ai.scheduler.topology import tree as topo_tree

from .fabric import fabric


def parse(manifest: dict[str, Any]) -> Any:
    return registry.by_kind(manifest["kind"]).model_validate(manifest)


def cluster(
    domain_size: int = 8, with_topology: bool = True
) -> tuple[topology.TopologyDomain | None, list[node.Node], dict[str, Any]]:
    cls = parse(
        testing.accelerator_class(
            "h100",
            interconnect={"kind": "nvswitch", "bandwidthGbps": 450, "domainSize": domain_size},
        )
    )
    assert isinstance(cls, accelerator.AcceleratorClass)
    nodes = [parse(testing.node(f"n{i}", rack=f"r{i // 2}")) for i in range(4)]
    topo = parse(testing.topology()) if with_topology else None
    return topo, nodes, {"h100": cls}


def test_levels_come_from_the_topology_with_node_and_nvlink_at_the_bottom() -> None:
    topo, nodes, classes = cluster()
    t = topo_tree.build(topo, nodes, classes)
    assert [lv.name for lv in t.levels] == ["cluster", "zone", "rack", "node", "nvlink"]
    assert [lv.bandwidth_gbps for lv in t.levels] == [12.5, 12.5, 25.0, 50.0, 450.0]
    assert (t.node_level, t.leaf_level) == (3, 4)
    assert t.names[2] == ["r0", "r1"] and t.names[3] == ["n0", "n1", "n2", "n3"]
    assert [c.tolist() for c in t.capacity] == [[32], [32], [16, 16], [8] * 4, [8] * 4]


def test_a_spine_bandwidth_replaces_the_broadest_levels_at_the_root() -> None:
    topo, nodes, classes = cluster()
    assert topo_tree.build(topo, nodes, classes, spine_gbps=3.0).levels[0].bandwidth_gbps == 3.0


def test_nvlink_domains_split_a_node_by_the_classs_domain_size() -> None:
    topo, nodes, classes = cluster(domain_size=4)
    t = topo_tree.build(topo, nodes, classes)
    assert t.leaf_size.tolist() == [4] * 8
    assert t.gpu_leaf[1].tolist() == [2, 2, 2, 2, 3, 3, 3, 3]
    assert t.span([(1, 0), (1, 3)]) == t.leaf_level
    assert t.span([(1, 0), (1, 4)]) == t.node_level
    assert t.bandwidth(t.leaf_level, 3) == 450.0


def test_without_a_topology_levels_are_inferred_broadest_first() -> None:
    topo, nodes, classes = cluster(with_topology=False)
    t = topo_tree.build(topo, nodes, classes)
    assert [lv.name for lv in t.levels] == ["cluster", "zone", "rack", "node", "nvlink"]


def test_a_node_without_a_value_for_a_level_is_alone_there() -> None:
    hosts = [
        topo_tree.Host("a", ("r1",), (8,)),
        topo_tree.Host("b", (None,), (8,)),
        topo_tree.Host("c", ("r1",), (8,)),
    ]
    t = topo_tree.Tree([topo_tree.Level("rack", 50.0)], hosts)
    assert t.capacity[1].tolist() == [16, 8]
    assert t.nodes(1, 0).tolist() == [0, 2]


@pytest.mark.parametrize(
    ("gpus", "level"),
    [
        pytest.param([(0, 0), (0, 7)], "nvlink", id="one-node"),
        pytest.param([(0, 0), (1, 0)], "rack", id="two-nodes-one-rack"),
        pytest.param([(0, 0), (2, 0)], "block", id="two-racks"),
        pytest.param([(0, 0), (4, 0)], "cluster", id="two-blocks"),
    ],
)
def test_span_is_the_deepest_level_holding_every_gpu(
    gpus: list[tuple[int, int]], level: str
) -> None:
    t = fabric(2, 2, 2)
    assert t.levels[t.span(gpus)].name == level


def test_bandwidth_per_level() -> None:
    t = fabric(2, 2, 2)
    by_name = {lv.name: t.bandwidth(i) for i, lv in enumerate(t.levels)}
    assert by_name == {"cluster": 6.25, "block": 25.0, "rack": 50.0, "node": 64.0, "nvlink": 450.0}


def test_a_tree_needs_nodes_and_full_paths() -> None:
    with pytest.raises(ValueError, match="at least one node"):
        topo_tree.Tree([], [])
    with pytest.raises(ValueError, match="path of 1"):
        topo_tree.Tree([topo_tree.Level("rack", 1.0)], [topo_tree.Host("a", (), (8,))])
