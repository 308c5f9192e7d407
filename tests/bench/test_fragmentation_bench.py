"""bench/fragmentation.py runs k8s4ai's own policies end to end on a toy openb folder made
here (never ../shared): the online `deadgap` and `deadgap-fgd` beside the paper's FGD."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from k8s4ai.traces import synthetic as traces

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.fixture
def trace_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    folder = tmp_path / "traces"
    folder.mkdir()
    traces.write_nodes(folder / "openb_node_list_gpu_node.csv", traces.nodes(20, rng))
    traces.write_pods(folder / "openb_pod_list_default.csv", traces.pod_list(200, rng))
    return folder


def test_the_dead_gap_policies_run_and_are_compared_with_the_papers_fgd(
    trace_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "fragmentation.py"), "--quick",
            "--traces", str(trace_dir), "--out", str(out), "--seeds", "42-43",
            "--policies", "fgd,deadgap,deadgap-fgd", "--workers", "1",
        ],
        check=True, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert "[6/6]" in done.stderr
    runs = json.loads((out / "fragmentation.json").read_text())["runs"]
    assert sorted((r["policy"], r["seed"]) for r in runs) == [
        (p, s) for p in ("deadgap", "deadgap-fgd", "fgd") for s in (42, 43)
    ]
    for run in runs:
        assert 0 < run["final_allocation"] <= 100
        assert run["placed"] + run["failed"] == run["pods"]
    text = (out / "fragmentation.md").read_text()
    assert "| pod list | fgd | deadgap | deadgap-fgd |" in text
    assert "Target (issue 3): our best new policy at least 96.0 %" in text
    again = tmp_path / "again"
    subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "fragmentation.py"), "--traces", str(trace_dir),
            "--render", str(out / "fragmentation.json"), "--out", str(again),
        ],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    rendered = (again / "fragmentation.md").read_text()
    # The same report; only the speed table moves, as the json keeps seconds to 1 ms.
    assert rendered.split("## Speed")[0] == text.split("## Speed")[0]
