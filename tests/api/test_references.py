from typing import Any

import pytest

from k8s4ai import api, testing
from k8s4ai.api import references, registry


def objects(*manifests: dict[str, Any]) -> list[api.Resource]:
    return [registry.by_kind(m["kind"]).model_validate(m) for m in manifests]


def cluster(*extra: dict[str, Any]) -> list[api.Resource]:
    return objects(
        testing.accelerator_class("h100", mig=testing.builders.H100_MIG),
        testing.accelerator_class("l4", vram="24Gi", allowFractional=False),
        testing.topology(),
        testing.queue("team-a"),
        testing.checkpoint_policy("hourly"),
        *extra,
    )


def check(objs: list[api.Resource]) -> list[str]:
    return [f"{objs[i].metadata.name}: {e}" for i, e in references.check(objs, lambda *_: None)]


def test_a_consistent_cluster_has_no_problems() -> None:
    job = testing.gang("train").gpus(8).count(2).topology(required="rack").checkpoint("hourly")
    objs = cluster(testing.node("n1"), job.build(), testing.gang("mig").mig("3g.40gb").build())
    assert check(objs) == []


def test_references_resolve_within_a_batch_in_any_order() -> None:
    assert check(list(reversed(cluster(testing.node("n1"))))) == []


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            testing.gang("j").mig("2g.20gb").build(),
            "j: spec.podSets[0].resources.migProfile: AcceleratorClass 'h100' has no MIG profile "
            "'2g.20gb' (it offers: 1g.10gb, 3g.40gb, 7g.80gb)",
        ),
        (
            testing.gang("j").queue("team-z").build(),
            "j: spec.queue: Queue 'team-z' not found",
        ),
        (
            testing.gang("j").gpus(1, "a100").build(),
            "j: spec.podSets[0].resources.acceleratorClass: AcceleratorClass 'a100' not found",
        ),
        (
            testing.gang("j").gpus(0.5, "l4").build(),
            "j: spec.podSets[0].resources.gpus: AcceleratorClass 'l4' does not allow fractional "
            "GPUs",
        ),
        (
            testing.gang("j").gpus(0.5).vram("96Gi").build(),
            "j: spec.podSets[0].resources.vram: 96Gi per GPU is more than 'h100' has (80Gi)",
        ),
        (
            testing.gang("j").topology(required="block").build(),
            "j: spec.topology.required: TopologyDomain 'default' has no level 'block' "
            "(levels: zone, rack, node)",
        ),
        (
            testing.gang("j", namespace="team-b").checkpoint("hourly").build(),
            "j: spec.checkpointPolicy: CheckpointPolicy 'hourly' not found in namespace team-b",
        ),
        (
            testing.node("n1", mig_layout=["3g.40gb", "3g.40gb", "1g.10gb", "1g.10gb"]),
            "n1: spec.gpus[0].migLayout: layout uses 8 compute slices; a GPU has 7",
        ),
        (
            testing.node("n1", mig_layout=["3g.40gb", "3g.40gb", "1g.10gb"]),
            "n1: spec.gpus[0].migLayout: layout uses 9 memory slices; a GPU has 8 (3g.40gb "
            "takes 4, 1g.10gb takes 1)",
        ),
        (
            testing.node("n1", mig_layout=["7g.80gb", "7g.80gb"]),
            "n1: spec.gpus[0].migLayout: at most 1 x 7g.80gb fit on one GPU",
        ),
        (
            testing.node("n1", mig_layout=["2g.20gb"]),
            "n1: spec.gpus[0].migLayout[0]: AcceleratorClass 'h100' has no MIG profile "
            "'2g.20gb' (it offers: 1g.10gb, 3g.40gb, 7g.80gb)",
        ),
    ],
    ids=[
        "mig-profile-missing-from-class",
        "unknown-queue",
        "unknown-accelerator-class",
        "fraction-on-unshareable-gpu",
        "vram-above-gpu",
        "unknown-topology-level",
        "checkpoint-policy-in-other-namespace",
        "mig-layout-too-many-slices",
        "mig-layout-too-much-memory",
        "mig-layout-too-many-of-one-profile",
        "mig-layout-unknown-profile",
    ],
)
def test_broken_references_are_reported_with_field_and_reason(
    manifest: dict[str, Any], expected: str
) -> None:
    assert check(cluster(manifest)) == [expected]


@pytest.mark.parametrize(
    "layout",
    [
        ["7g.80gb"],
        ["3g.40gb", "3g.40gb"],
        ["1g.10gb", "3g.40gb", "1g.10gb", "1g.10gb", "1g.10gb"],
        ["1g.10gb"] * 7,
    ],
    ids=["7g", "3g+3g", "3g+4x1g", "7x1g"],
)
def test_full_mig_layouts_are_accepted(layout: list[str]) -> None:
    assert check(cluster(testing.node("n1", mig_layout=layout))) == []


def test_stored_objects_satisfy_references() -> None:
    stored = {o.key: o for o in cluster()}
    job = objects(testing.gang("j").gpus(8).build())

    def lookup(kind: str, namespace: str | None, name: str) -> api.Resource | None:
        return stored.get((kind, namespace or "", name))

    assert references.check(job, lookup) == []
