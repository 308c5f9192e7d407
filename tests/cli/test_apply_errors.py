"""Bad manifests: a non-zero exit, one line per problem naming file, document and field, and
a store left exactly as it was."""

from pathlib import Path

import pytest

from .conftest import EXAMPLES, Invoke

GOOD_GANG = """\
apiVersion: k8s4ai.io/v1alpha1
kind: GangSchedulingGroup
metadata: {name: extra-job, namespace: team-a}
spec:
  queue: team-a
  podSets:
    - name: worker
      count: 2
      resources: {gpus: 8, acceleratorClass: h100-sxm}
"""

CASES = {
    "invalid-yaml": (
        "apiVersion: k8s4ai.io/v1alpha1\nkind: Queue\nmetadata: {name: [broken\n",
        ["bad.yaml: document 2 (line 14, column 1): invalid YAML: expected ',' or ']', "
         "but got '<stream end>'"],
    ),
    "wrong-type": (
        GOOD_GANG.replace("count: 2", "count: two"),
        ["bad.yaml: document 2 (line 11): spec.podSets[0].count: Input should be a valid "
         "integer, unable to parse string as an integer"],
    ),
    "missing-required-field": (
        GOOD_GANG.replace("  queue: team-a\n", ""),
        ["bad.yaml: document 2 (line 11): spec.queue: required field is missing"],
    ),
    "unknown-field": (
        GOOD_GANG.replace("count: 2", "count: 2\n      replicas: 2"),
        ["bad.yaml: document 2 (line 11): spec.podSets[0].replicas: unknown field"],
    ),
    "bad-cross-object-reference": (
        GOOD_GANG.replace("{gpus: 8, acceleratorClass: h100-sxm}",
                          "{gpus: 1, migProfile: 5g.60gb, acceleratorClass: l4}"),
        ["bad.yaml: document 2 (line 11): spec.podSets[0].resources.migProfile: "
         "AcceleratorClass 'l4' has no MIG profile '5g.60gb' (it offers: none)"],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_document_fails_whole_batch_and_leaves_store_unchanged(
    k8s4ai: Invoke, tmp_path: Path, case: str
) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    before = k8s4ai("get", "all", "-A", "-o", "yaml").stdout
    bad_doc, expected = CASES[case]
    good_first = GOOD_GANG.replace("extra-job", "would-be-created")
    path = tmp_path / "bad.yaml"
    path.write_text(good_first + "---\n" + bad_doc)
    result = k8s4ai("apply", "-f", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = [line.removeprefix("error: ").replace(str(tmp_path) + "/", "")
             for line in result.stderr.splitlines()]
    assert lines == expected
    assert k8s4ai("get", "all", "-A", "-o", "yaml").stdout == before


def test_every_problem_in_a_batch_is_listed(k8s4ai: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("---\n".join(doc for doc, _ in list(CASES.values())[1:4]))
    result = k8s4ai("apply", "-f", str(path))
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 3


def test_missing_path_is_a_clear_error(k8s4ai: Invoke) -> None:
    result = k8s4ai("apply", "-f", "nope.yaml")
    assert (result.exit_code, result.stderr.strip()) == (
        1, "error: nope.yaml: no such file or directory")
