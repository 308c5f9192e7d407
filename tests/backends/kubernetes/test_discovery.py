"""GFD-labelled Kubernetes Nodes become the same inventory the simulator loads from manifests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from k8s4ai.api import accelerator, manifest, references, resource, topology
from k8s4ai.backends.kubernetes import discovery
from k8s4ai.cli import up
from tests.backends.kubernetes.kube import H100, kube_node


def _known_classes() -> list[accelerator.AcceleratorClass]:
    path = up.packaged_examples() / "00-accelerators.yaml"
    loaded = manifest.load([(path.name, path.read_text())])
    return [m.object for m in loaded if isinstance(m.object, accelerator.AcceleratorClass)]


def _passes_apply_checks(inv: discovery.Inventory, extra: Sequence[resource.Resource] = ()) -> None:
    objs: list[resource.Resource] = [*inv.accelerator_classes, *inv.nodes, *extra]
    if inv.topology is not None:
        objs.append(inv.topology)
    assert references.check(objs, lambda *_: None) == []


def test_h100_nodes_map_to_the_class_a_person_wrote() -> None:
    known = _known_classes()
    inv = discovery.discover([kube_node("gpu-1", rack="r1"), kube_node("gpu-2", rack="r2")], known)
    assert inv.problems == ()
    assert inv.accelerator_classes == ()
    assert [n.metadata.name for n in inv.nodes] == ["gpu-1", "gpu-2"]
    first = inv.nodes[0].spec
    assert [(g.accelerator_class, g.count, g.mig_layout) for g in first.gpus] == [
        ("h100-sxm", 8, [])
    ]
    assert (first.cpu.cores, first.memory.gib) == (192.0, 2048.0)
    assert first.topology == {"zone": "z1", "rack": "r1", "node": "gpu-1"}
    assert first.topology_name == "default"
    _passes_apply_checks(inv, known)


def test_an_unknown_product_gets_a_class_sized_from_the_memory_label() -> None:
    inv = discovery.discover(
        [
            kube_node(
                "l40s-1",
                gpus=4,
                product="NVIDIA-L40S",
                memory_mib=46068,
                nvidia_com__gpu_family="ada-lovelace",
            ),
            kube_node("l40s-2", gpus=4, product="NVIDIA-L40S-SHARED", memory_mib=46068),
        ]
    )
    assert inv.problems == ()
    [cls] = inv.accelerator_classes
    assert cls.metadata.name == "nvidia-l40s"
    assert cls.metadata.labels == {"k8s4ai.io/gpu-family": "ada-lovelace"}
    assert (cls.spec.model, cls.spec.vram.gib) == ("NVIDIA-L40S", pytest.approx(44.99, 0.01))
    assert cls.spec.node_labels == {"nvidia.com/gpu.product": "NVIDIA-L40S"}
    assert {n.spec.gpus[0].accelerator_class for n in inv.nodes} == {"nvidia-l40s"}
    _passes_apply_checks(inv)


def test_a_class_discovered_earlier_is_reused_not_recreated() -> None:
    first = discovery.discover([kube_node("a", product="NVIDIA-L4", memory_mib=23034)])
    again = discovery.discover(
        [kube_node("b", product="NVIDIA-L4-SHARED", memory_mib=23034)], first.accelerator_classes
    )
    assert again.accelerator_classes == ()
    assert again.nodes[0].spec.gpus[0].accelerator_class == "nvidia-l4"


@pytest.mark.parametrize(
    ("mig_config", "layouts", "expected"),
    [
        pytest.param("all-1g.10gb", {}, ["1g.10gb"] * 7, id="all-1g"),
        pytest.param("all-3g.40gb", {}, ["3g.40gb"] * 2, id="all-3g"),
        pytest.param(
            "all-balanced",
            {"all-balanced": ("3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb")},
            ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"],
            id="named-from-config",
        ),
    ],
)
def test_mig_configs_become_layouts_counted_on_physical_gpus(
    mig_config: str, layouts: dict[str, tuple[str, ...]], expected: list[str]
) -> None:
    kube = kube_node(
        "a100-1",
        gpus=1,
        product="NVIDIA-A100-SXM4-80GB-MIG-1g.10gb",
        memory_mib=81920,
        nvidia_com__mig_config=mig_config,
    )
    kube["status"]["allocatable"]["nvidia.com/gpu"] = "7"
    inv = discovery.discover([kube], config=discovery.DiscoveryConfig(mig_layouts=layouts))
    assert inv.problems == ()
    [group] = inv.nodes[0].spec.gpus
    assert (group.accelerator_class, group.count, group.mig_layout) == (
        "nvidia-a100-sxm4-80gb",
        1,
        expected,
    )
    _passes_apply_checks(inv)


def test_mig_nodes_map_to_a_known_class_with_its_profiles() -> None:
    known = _known_classes()
    kube = kube_node(
        "a100-1",
        gpus=8,
        product="NVIDIA-A100-SXM4-80GB",
        memory_mib=81920,
        nvidia_com__mig_config="all-3g.40gb",
    )
    inv = discovery.discover([kube], known)
    assert inv.nodes[0].spec.gpus[0].accelerator_class == "a100-80gb"
    _passes_apply_checks(inv, known)


def test_nodes_without_gpus_are_inventoried_without_gpu_groups() -> None:
    inv = discovery.discover([kube_node("cpu-1", gpus=0, product=None, memory_mib=None)])
    assert inv.problems == ()
    assert inv.nodes[0].spec.gpus == []


def test_unschedulable_and_taints_carry_over() -> None:
    kube = kube_node("gpu-1")
    kube["spec"] = {
        "unschedulable": True,
        "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule", "timeAdded": None}],
    }
    spec = discovery.discover([kube], _known_classes()).nodes[0].spec
    assert spec.unschedulable
    assert [(t.key, t.value, t.effect) for t in spec.taints] == [
        ("nvidia.com/gpu", "", "NoSchedule")
    ]


def test_topology_levels_follow_config_and_only_those_in_use() -> None:
    config = discovery.DiscoveryConfig(
        topology_name="fabric",
        levels=(
            topology.TopologyLevel(
                name="zone", node_label="topology.kubernetes.io/zone", bandwidth_gbps=10
            ),
            topology.TopologyLevel(name="block", node_label="example.com/block", bandwidth_gbps=25),
            topology.TopologyLevel(name="rack", node_label="example.com/rack", bandwidth_gbps=50),
        ),
    )
    nodes = [
        kube_node("n1", rack=None, example_com__block="b1", example_com__rack="r7"),
        kube_node("n2", rack=None, zone="z2"),
    ]
    inv = discovery.discover(nodes, _known_classes(), config)
    assert inv.topology is not None
    assert inv.topology.metadata.name == "fabric"
    assert inv.topology.spec.level_names() == ["zone", "block", "rack"]
    assert [n.spec.topology for n in inv.nodes] == [
        {"zone": "z1", "block": "b1", "rack": "r7"},
        {"zone": "z2"},
    ]


def test_a_level_without_a_node_label_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="level 'rack' needs a nodeLabel"):
        discovery.DiscoveryConfig(levels=(topology.TopologyLevel(name="rack", bandwidth_gbps=1),))


def _with(kube: dict[str, Any], **changes: Any) -> dict[str, Any]:
    labels = kube["metadata"]["labels"]
    for key, value in changes.items():
        label = key.replace("__", "/").replace("_", ".")
        if value is None:
            labels.pop(label, None)
        else:
            labels[label] = value
    return kube


def _no_allocatable_cpu() -> dict[str, Any]:
    kube = kube_node("bad")
    del kube["status"]["allocatable"]["cpu"]
    return kube


def _bad_allocatable_gpus() -> dict[str, Any]:
    kube = kube_node("bad")
    kube["status"]["allocatable"]["nvidia.com/gpu"] = "eight"
    return kube


@pytest.mark.parametrize(
    ("kube", "expected"),
    [
        pytest.param(
            _with(kube_node("bad", product="NVIDIA-B200"), nvidia_com__gpu_memory="lots"),
            "node bad: nvidia.com/gpu.memory: 'lots' is not a whole number",
            id="memory-not-a-number",
        ),
        pytest.param(
            kube_node("bad", product="NVIDIA-B200", memory_mib=None),
            "node bad: nvidia.com/gpu.memory: missing; no AcceleratorClass matches product "
            "'NVIDIA-B200', and a new one needs the GPU memory",
            id="memory-missing-for-new-class",
        ),
        pytest.param(
            _with(kube_node("bad"), nvidia_com__gpu_product=None),
            "node bad: nvidia.com/gpu.product: missing, but the node offers 8 nvidia.com/gpu; "
            "label it with the GPU product (GPU Feature Discovery does) so it maps to an "
            "AcceleratorClass",
            id="product-missing",
        ),
        pytest.param(
            _with(kube_node("bad"), nvidia_com__mig_config="custom-mix"),
            "node bad: nvidia.com/mig.config: unknown MIG config 'custom-mix': expected "
            "all-disabled, all-<profile> (e.g. all-1g.10gb) or a name listed in the discovery "
            "config's migLayouts",
            id="mig-config-unknown",
        ),
        pytest.param(
            _with(
                kube_node("bad"), nvidia_com__mig_config="all-1g.10gb", nvidia_com__gpu_count="8x"
            ),
            "node bad: nvidia.com/gpu.count: '8x' is not a whole number",
            id="count-not-a-number",
        ),
        pytest.param(
            _with(
                kube_node("bad"), nvidia_com__mig_config="all-1g.10gb", nvidia_com__gpu_count=None
            ),
            "node bad: nvidia.com/gpu.count: missing; needed to count MIG-partitioned GPUs",
            id="count-missing-with-mig",
        ),
        pytest.param(
            _with(kube_node("bad"), k8s4ai_io__rack=""),
            "node bad: k8s4ai.io/rack: empty value for topology level 'rack'",
            id="rack-empty",
        ),
        pytest.param(
            _bad_allocatable_gpus(),
            "node bad: status.allocatable.nvidia.com/gpu: 'eight' is not a whole number",
            id="allocatable-gpus-not-a-number",
        ),
        pytest.param(
            _no_allocatable_cpu(), "node bad: status.allocatable.cpu: missing", id="no-cpu"
        ),
    ],
)
def test_a_malformed_node_is_reported_and_left_out(kube: dict[str, Any], expected: str) -> None:
    inv = discovery.discover([kube, kube_node("good")], _known_classes())
    assert [str(p) for p in inv.problems] == [expected]
    assert [n.metadata.name for n in inv.nodes] == ["good"]


def test_the_same_product_with_different_memory_is_reported() -> None:
    inv = discovery.discover(
        [
            kube_node("a", product="NVIDIA-X", memory_mib=1024),
            kube_node("b", product="NVIDIA-X", memory_mib=2048),
        ]
    )
    assert [str(p) for p in inv.problems] == [
        "node b: nvidia.com/gpu.memory: 2048 MiB, but other NVIDIA-X nodes report 1024Mi"
    ]


def test_class_names_are_valid_object_names() -> None:
    assert discovery.class_name(H100) == "nvidia-h100-80gb-hbm3"
    assert discovery.class_name("Tesla V100 (SXM2)_32GB") == "tesla-v100-sxm2-32gb"
