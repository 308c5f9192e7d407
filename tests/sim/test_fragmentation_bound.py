"""bench/fragmentation_bound.py runs on a trace folder made here, and its true upper bound is
never below what a policy actually reaches on the same arrivals."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s4ai.backends.sim import fragmentation
from k8s4ai.traces import openb

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_bound_is_above_what_policies_reach(trace_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fragmentation_bound.py"), str(trace_dir),
         "--seeds", "42,43", "--out", str(out)],
        check=True, capture_output=True, text=True, timeout=240,
    )
    rows = json.loads((out / "fragmentation_bound.json").read_text())["lists"][
        "openb_pod_list_default"
    ]
    assert [r["seed"] for r in rows] == [42, 43]
    assert "True upper bound" in (out / "fragmentation_bound.md").read_text()
    nodes = openb.load_nodes(trace_dir / "openb_node_list_gpu_node.csv")
    pods = openb.load_pods(trace_dir / "openb_pod_list_default.csv")
    for row in rows:
        assert row["true_upper_bound"] <= 100.0
        for policy in ("fgd", "bestfit", "random"):
            run = fragmentation.run(nodes, pods, policy, row["seed"])
            assert max(run.curve.values()) <= row["true_upper_bound"] + 1e-9
