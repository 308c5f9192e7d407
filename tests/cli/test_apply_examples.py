import json

import pytest

from k8s4ai.api import registry

from .conftest import EXAMPLES, Invoke

USER_KINDS = [k for k in registry.KINDS if k.kind_name != "Event"]


def test_examples_apply_and_every_kind_lists_them(k8s4ai: Invoke) -> None:
    applied = k8s4ai("apply", "-f", str(EXAMPLES))
    assert applied.exit_code == 0, applied.output
    created = {line.split("/")[0] for line in applied.stdout.splitlines()}
    assert created == {k.singular() for k in USER_KINDS}
    for kind in USER_KINDS:
        listed = k8s4ai("get", kind.plural, "-A", "-o", "name")
        assert listed.exit_code == 0
        assert listed.stdout.strip(), f"no {kind.plural} listed"


def test_applying_the_same_files_again_changes_nothing(k8s4ai: Invoke) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    again = k8s4ai("apply", "-f", str(EXAMPLES))
    assert again.exit_code == 0
    assert all(line.endswith(" unchanged") for line in again.stdout.splitlines())


@pytest.mark.parametrize("kind", [k.plural for k in USER_KINDS])
@pytest.mark.parametrize("output", ["yaml", "json"])
def test_get_output_applied_again_keeps_resource_versions(
    k8s4ai: Invoke, kind: str, output: str
) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    before = k8s4ai("get", kind, "-A", "-o", output).stdout
    reapplied = k8s4ai("apply", "-f", "-", input=before)
    assert reapplied.exit_code == 0, reapplied.output
    assert all(line.endswith(" unchanged") for line in reapplied.stdout.splitlines())
    after = k8s4ai("get", kind, "-A", "-o", output).stdout
    assert after == before


def test_a_changed_spec_is_configured_and_bumps_generation(k8s4ai: Invoke) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    queue = json.loads(k8s4ai("get", "queue", "team-a", "-o", "json").stdout)
    queue["spec"]["weight"] = 3
    result = k8s4ai("apply", "-f", "-", input=json.dumps(queue))
    assert result.stdout.strip() == "queue/team-a configured"
    updated = json.loads(k8s4ai("get", "queue", "team-a", "-o", "json").stdout)
    assert updated["metadata"]["generation"] == 2
    assert int(updated["metadata"]["resourceVersion"]) > int(queue["metadata"]["resourceVersion"])


def test_a_stale_manifest_conflicts(k8s4ai: Invoke) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    stale = json.loads(k8s4ai("get", "queue", "team-a", "-o", "json").stdout)
    newer = {**stale, "spec": {**stale["spec"], "weight": 5}}
    assert k8s4ai("apply", "-f", "-", input=json.dumps(newer)).exit_code == 0
    stale["spec"]["weight"] = 7
    result = k8s4ai("apply", "-f", "-", input=json.dumps(stale))
    assert result.exit_code == 1
    assert "error:" in result.stderr and "resourceVersion" in result.stderr
