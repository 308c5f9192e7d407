from typing import Any

import pytest
from pydantic import ValidationError

from k8s4ai import api, testing
from k8s4ai.api import errors, registry


def problems(kind: type[api.Resource], manifest: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        kind.model_validate(manifest)
    return [str(e) for e in errors.from_validation_error(info.value)]


def test_gang_defaults_and_whole_gpus_round_trip() -> None:
    obj = api.GangSchedulingGroup.model_validate(testing.gang("t").gpus(8).count(2).build())
    assert obj.spec.priority == 0
    assert obj.spec.total_gpus() == 16
    assert obj.status.phase == "Pending"
    wire = obj.wire()
    assert wire["spec"]["podSets"][0]["resources"]["gpus"] == 8
    assert api.GangSchedulingGroup.model_validate(wire) == obj


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            testing.gang("t").gpus(1.5).build(),
            "spec.podSets[0].resources.gpus: 1.5 is neither a whole number nor a fraction",
        ),
        (
            testing.gang("t").gpus(2).vram("10Gi").build() | {"x": 1},
            "x: unknown field",
        ),
        (
            {**testing.gang("t").build(), "spec": {"podSets": []}},
            "spec.queue: required field is missing",
        ),
        (
            testing.gang("t").mig("1g.10gb").build()
            | {"spec": {"queue": "q", "podSets": [{"name": "w", "resources": {
                "migProfile": "1g.10gb"}}]}},
            "spec.podSets[0].resources.acceleratorClass: required with migProfile",
        ),
    ],
    ids=["fractional-above-one", "unknown-top-level", "missing-queue", "mig-without-class"],
)
def test_gang_problems_name_the_field(manifest: dict[str, Any], expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(api.GangSchedulingGroup, manifest)), (
        problems(api.GangSchedulingGroup, manifest)
    )


def test_borrowing_needs_a_cohort() -> None:
    manifest = testing.queue("team-a")
    manifest["spec"]["quotas"][0]["borrowingLimit"] = 8
    assert problems(api.Queue, manifest) == [
        "spec.quotas: borrowingLimit needs a cohort to borrow from"
    ]


def test_a_quota_listed_twice_is_rejected() -> None:
    manifest = testing.queue("team-a", cohort="c")
    manifest["spec"]["quotas"] *= 2
    assert problems(api.Queue, manifest) == ["spec.quotas: gpu (h100) is listed twice"]


def test_mig_profile_cannot_exceed_the_gpu() -> None:
    manifest = testing.accelerator_class(
        "l4", vram="24Gi", mig=[{"name": "7g.80gb", "computeSlices": 7, "vram": "80Gi",
                                 "maxPerGpu": 1}]
    )
    assert problems(api.AcceleratorClass, manifest) == [
        "spec.migProfiles: 7g.80gb has more VRAM (80Gi) than the GPU (24Gi)"
    ]


def test_names_must_be_dns_subdomains() -> None:
    manifest = testing.queue("Team_A")
    assert problems(api.Queue, manifest)[0].startswith("metadata.name: 'Team_A' is not a valid")


def test_checkpoint_interval_is_a_duration_or_auto() -> None:
    manifest = testing.checkpoint_policy()
    assert api.CheckpointPolicy.model_validate(manifest).spec.interval == api.Duration("1h")
    manifest["spec"]["interval"] = "auto"
    assert api.CheckpointPolicy.model_validate(manifest).spec.interval == "auto"
    manifest["spec"]["interval"] = "hourly"
    assert problems(api.CheckpointPolicy, manifest) == [
        "spec.interval: 'hourly' is not a duration: use e.g. '90s', '30m' or '1h30m'"
    ]


@pytest.mark.parametrize("name", ["gangs", "gang", "GangSchedulingGroup", "gsg", "JOBS"])
def test_kinds_are_found_by_every_name(name: str) -> None:
    assert registry.lookup(name) is api.GangSchedulingGroup


def test_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(registry.UnknownKindError, match="known kinds: acceleratorclasses"):
        registry.lookup("pods")


def test_every_kind_is_exported_from_the_public_api() -> None:
    exported = {getattr(api, name) for name in api.__all__}
    assert set(registry.KINDS) <= exported
    assert all(hasattr(api, name) for name in api.__all__)
