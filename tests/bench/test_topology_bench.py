"""bench/topology.py runs end to end on a toy traces folder made here (never ../shared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s4ai.traces import catalog

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration

SIZES = (1, 8, 16, 32, 4, 64, 8, 24)
FILES = {
    "crux": "#job id,arrival time (sec),topology,shape,size,duration (sec)\n"
    + "".join(
        f"{i},{300 * i},CLOS,{SIZES[i % 8]},{SIZES[i % 8]},{1800 + 120 * (i % 5)}\n"
        for i in range(40)
    ),
    "itp-01": "job_id,submission_time,duration,num_gpu\n"
    + "".join(f"j{i},{600 * i},{2400 + 60 * i},{(1, 8, 16)[i % 3]}\n" for i in range(24)),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "traces"
    for name, text in FILES.items():
        path = folder / catalog.SHARED[name].path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "topology.py"), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_quick_run_on_two_traces_and_the_synthetic_one(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = run(
        "--traces", str(root), "--out", str(out), "--quick", "--workers", "1",
        "--only", "crux,itp-01,synthetic-crux",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "9 replays: 3 traces" in done.stderr and "[9/9]" in done.stderr
    document = json.loads((out / "topology.json").read_text())
    assert [t["trace"] for t in document["traces"]] == ["crux", "itp-01", "synthetic-crux"]
    assert document["fabric"]["rack_gbps"] == 50.0
    rows = document["summary"]
    assert {(r["trace"], r["placer"]) for r in rows} == {
        (t, p)
        for t in ("crux", "itp-01", "synthetic-crux")
        for p in ("required", "preferred", "blind")
    }
    for r in rows:
        assert r["load"] == 0.8 and r["unfinished"] == [0]
        if r["placer"] == "required":
            assert r["smallest_multi_node"] == [1.0]
        if r["placer"] != "blind":
            assert len(r["jct_lower_than_blind"]) == 1
    crux = next(t for t in document["traces"] if t["trace"] == "crux")
    assert crux["multi_node_jobs"] == 20 and crux["reference_gpus"] == 24
    assert crux["blocks"] == 2 and crux["gpus"] == 512
    text = (out / "topology.md").read_text()
    assert text.startswith("# Topology-aware vs topology-blind gang placement")
    assert "| crux | required | 0 | 100.0% ✓ |" in text
    assert "## Every load" in text
    assert (out / "topology.png").stat().st_size > 0


def test_a_missing_trace_is_an_error(root: Path, tmp_path: Path) -> None:
    bad = run("--traces", str(root), "--out", str(tmp_path), "--quick", "--only", "philly")
    assert bad.returncode != 0 and "trace 'philly' is not here" in bad.stderr
