"""A tiny synthetic openb-format trace per test, so nothing here needs ../shared."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from k8s4ai.cli import main
from k8s4ai.traces import synthetic as traces

Invoke = Callable[..., Result]


@pytest.fixture
def trace_dir(tmp_path: Path) -> Path:
    """20 nodes and 200 pods in openb's file names and columns."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "traces"
    folder.mkdir()
    traces.write_nodes(folder / "openb_node_list_gpu_node.csv", traces.nodes(20, rng))
    traces.write_pods(folder / "openb_pod_list_default.csv", traces.pod_list(200, rng))
    return folder


@pytest.fixture
def k8s4ai(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("K8S4AI_HOME", str(tmp_path / "home"))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main.cli, list(args), catch_exceptions=False)

    return invoke
