"""Nodes served by a mock API server over HTTP are discovered into classes and topology."""

from __future__ import annotations

from typing import Any

import kmock
import pytest

from k8s4ai.backends.kubernetes import cluster
from tests.backends.kubernetes.kube import kube_node

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

NODES = kmock.resource("", "v1", "nodes")


async def test_gfd_labelled_nodes_are_discovered_over_http(
    kmock: kmock.KubernetesEmulator, api: Any
) -> None:
    for node in (
        kube_node("h100-a", rack="r1"),
        kube_node("h100-b", rack="r2"),
        kube_node("l4-a", gpus=2, product="NVIDIA-L4", memory_mib=23034, rack=None),
        kube_node("cpu-a", gpus=0, product=None, memory_mib=None, rack=None),
    ):
        kmock.objects[NODES, None, node["metadata"]["name"]] = node
    inv = await cluster.read_inventory(api)
    assert inv.problems == ()
    assert sorted(c.metadata.name for c in inv.accelerator_classes) == [
        "nvidia-h100-80gb-hbm3",
        "nvidia-l4",
    ]
    gpus = {
        n.metadata.name: [(g.accelerator_class, g.count) for g in n.spec.gpus] for n in inv.nodes
    }
    assert gpus == {
        "h100-a": [("nvidia-h100-80gb-hbm3", 8)],
        "h100-b": [("nvidia-h100-80gb-hbm3", 8)],
        "l4-a": [("nvidia-l4", 2)],
        "cpu-a": [],
    }
    assert inv.topology is not None
    assert inv.topology.spec.level_names() == ["zone", "rack", "node"]
    racks = {n.metadata.name: n.spec.topology.get("rack") for n in inv.nodes}
    assert racks == {"h100-a": "r1", "h100-b": "r2", "l4-a": None, "cpu-a": None}
