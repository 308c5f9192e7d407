"""`k8s4ai up --kubeconfig / --in-cluster` refuses flags it cannot act on with one line,
before connecting anywhere (the run itself is tested in tests/backends/kubernetes)."""

from pathlib import Path

import pytest

from .conftest import Invoke


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
