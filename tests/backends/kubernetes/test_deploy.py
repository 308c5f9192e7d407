"""deploy/ parses, installs the CRDs `k8s4ai crds` prints, and grants exactly what the code
calls: a call added without a grant, or a grant nobody calls, fails here, not on a cluster."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from k8s4ai.api import crd, meta
from k8s4ai.backends.kubernetes import calls
from k8s4ai.cli import main

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _documents() -> dict[tuple[str, str], dict[str, Any]]:
    docs: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in docs, f"{path.name}: {key} is defined twice"
            docs[key] = doc
    return docs


def _expand(rules: list[dict[str, Any]]) -> set[calls.ApiCall]:
    return {
        calls.ApiCall(group, res, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for res in rule["resources"]
        for verb in rule["verbs"]
    }


def test_every_manifest_parses_and_kustomize_lists_them_all() -> None:
    docs = _documents()
    assert all(doc.get("apiVersion") for doc in docs.values())
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_deploy_crds_are_what_k8s4ai_crds_prints() -> None:
    result = CliRunner().invoke(main.cli, ["crds"])
    assert result.exit_code == 0, result.output
    assert (DEPLOY / "crds.yaml").read_text() == result.output, (
        "deploy/crds.yaml is stale: regenerate it with `k8s4ai crds > deploy/crds.yaml`"
    )


def test_the_cluster_role_grants_exactly_the_declared_calls() -> None:
    role = _documents()[("ClusterRole", "k8s4ai-controller")]
    granted = _expand(role["rules"])
    missing = sorted(map(str, calls.CLUSTER_CALLS - granted))
    unused = sorted(map(str, granted - calls.CLUSTER_CALLS))
    assert (missing, unused) == ([], [])


def test_the_lease_role_grants_exactly_the_leader_election_calls() -> None:
    role = _documents()[("Role", "k8s4ai-leader-election")]
    assert _expand(role["rules"]) == calls.NAMESPACE_CALLS


def test_rbac_names_only_kinds_that_have_a_crd() -> None:
    plurals = {c["spec"]["names"]["plural"] for c in crd.all_crds()}
    own = {c.resource.split("/")[0] for c in calls.CLUSTER_CALLS if c.group == meta.API_GROUP}
    assert own <= plurals


def _passed_calls(source: str) -> set[str]:
    """Names `X` of every `calls.X` given as an argument to a call in `source`."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for arg in (*node.args, *(kw.value for kw in node.keywords)):
            if (
                isinstance(arg, ast.Attribute)
                and isinstance(arg.value, ast.Name)
                and arg.value.id == "calls"
            ):
                out.add(arg.attr)
    return out


def test_every_declared_call_is_made_by_the_package() -> None:
    """Every declared call (and so every grant in deploy/rbac.yaml) is passed to a request by
    some module of the backend, so a grant nobody needs fails here.

    The check is static: the package's source is parsed and every `calls.NAME` given as an
    argument to a call (`transport.request(api, calls.LIST_PODS, ...)`, or
    `Reflector(api, calls.LIST_PODS, ...)` which hands it to the transport) counts as made.
    Recording what the transport sends during the integration tests was the alternative; it
    was not chosen because it would depend on which tests ran (a `-k` selection would report
    calls as unused) and on every path, failures and rollbacks included, being exercised.
    Declarations are matched by value, so an entry of `CLUSTER_CALLS` written inline
    (without a name the code can pass) is unused too.
    """
    package = Path(calls.__file__).parent
    passed: set[str] = set()
    for path in package.glob("*.py"):
        if path.name != "calls.py":
            passed |= _passed_calls(path.read_text())
    made = {getattr(calls, name) for name in passed if hasattr(calls, name)}
    declared = calls.CLUSTER_CALLS | calls.NAMESPACE_CALLS
    assert sorted(map(str, declared - made)) == []
    assert not {name for name in passed if not hasattr(calls, name)}, "a call that is not declared"


def test_the_source_check_sees_a_call_passed_as_an_argument() -> None:
    source = "transport.request(api, calls.LIST_PODS, 'GET', 'pods')\nx = calls.WATCH_PODS\n"
    assert _passed_calls(source) == {"LIST_PODS"}


@pytest.mark.parametrize("binding", ["ClusterRoleBinding", "RoleBinding"])
def test_bindings_give_the_roles_to_the_controller_service_account(binding: str) -> None:
    docs = _documents()
    sa = docs[("ServiceAccount", "k8s4ai-controller")]
    [bound] = [doc for (kind, _), doc in docs.items() if kind == binding]
    assert (bound["roleRef"]["kind"], bound["roleRef"]["name"]) in docs
    assert bound["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": sa["metadata"]["name"],
            "namespace": sa["metadata"]["namespace"],
        }
    ]


def test_the_deployment_runs_as_the_service_account_with_a_lease_and_a_pdb() -> None:
    docs = _documents()
    deployment = docs[("Deployment", "k8s4ai-controller")]
    pod = deployment["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] == "k8s4ai-controller"
    assert deployment["spec"]["replicas"] >= 2
    args = pod["spec"]["containers"][0]["args"]
    lease_ns = docs[("Role", "k8s4ai-leader-election")]["metadata"]["namespace"]
    assert f"--leader-elect-lease={lease_ns}/k8s4ai-controller" in args
    pdb = docs[("PodDisruptionBudget", "k8s4ai-controller")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]
