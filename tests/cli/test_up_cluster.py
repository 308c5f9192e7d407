"""`k8s4ai up --kubeconfig / --in-cluster` refuses flags it cannot act on with one line,
before connecting anywhere (the run itself is tested in tests/backends/kubernetes)."""

import socket
import types
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from k8s4ai.cli import errors, up_cluster

from .conftest import ROOT, Invoke


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--in-cluster", "--kubeconfig", "{kc}"], "give --kubeconfig or --in-cluster, not both"),
        (["--in-cluster", "--leader-elect-lease", "lease"], "'lease' is not NAMESPACE/NAME"),
        (
            ["--in-cluster", "--lease-duration", "soon"],
            "--lease-duration: 'soon' is not a duration",
        ),
        (
            ["--in-cluster", "--renew-deadline", "20s"],
            "leader election needs retry < renew deadline < lease duration",
        ),
    ],
    ids=["both", "lease-name", "duration", "deadline-after-lease"],
)
def test_bad_cluster_flags_are_refused(
    k8s4ai: Invoke, tmp_path: Path, flags: list[str], message: str
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    result = k8s4ai("up", *(f.format(kc=kubeconfig) for f in flags))
    assert result.exit_code == 1
    assert message in result.output


def _args(**kw: Any) -> up_cluster.ClusterArgs:
    return up_cluster.ClusterArgs(
        None, True, "k8s4ai-system/k8s4ai-controller", "15s", "10s", "2s", "me", **kw
    )


def test_the_cost_http_takes_up_s_host_port_and_token_flags(
    k8s4ai: Invoke, tmp_path: Path
) -> None:
    """Refused before connecting: a token file that cannot be read, and a warning for an
    address other machines reach (the run itself: tests/backends/kubernetes/test_cost_http)."""
    missing = tmp_path / "missing.csv"
    result = k8s4ai("up", "--in-cluster", "--host", "0.0.0.0", "--token-file", str(missing))
    assert result.exit_code == 1
    assert "warning: binding 0.0.0.0" in result.output
    assert f"--token-file: [Errno 2] No such file or directory: '{missing}'" in result.output


def test_without_a_token_file_the_tokens_are_generated_in_k8s4ai_home(home: Path) -> None:
    up_cluster.serving(_args())
    assert [line.split(",")[1] for line in (home / "tokens.csv").read_text().splitlines()[1:]
            ] == ["read", "write"]


def test_a_port_in_use_is_one_line(home: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        serve = up_cluster.serving(_args(port=port, no_auth=True))
        with pytest.raises(errors.CommandError, match=f"cannot listen on 127.0.0.1:{port}: "):
            serve(cast(Any, types.SimpleNamespace(view=None, last_view=None)))


def test_the_deployment_s_flags_reach_the_cost_http(k8s4ai: Invoke) -> None:
    """deploy/deployment.yaml's args parse, and get as far as reading its token file (not
    mounted here)."""
    deployment = yaml.safe_load((ROOT / "deploy" / "deployment.yaml").read_text())
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    result = k8s4ai(*args)
    assert result.exit_code == 1
    assert "--token-file: [Errno 2] No such file or directory: '/etc/k8s4ai/api/tokens.csv'" in (
        result.output
    )
