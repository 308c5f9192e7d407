"""Both simulator benchmarks still run (`--quick`) on a trace folder made here, so their
published numbers can be reproduced without ../shared."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from k8s4ai.traces import synthetic as traces

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick", *args],
        check=True, capture_output=True, text=True, timeout=240,
    )


def test_fragmentation_quick(trace_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    traces.write_pods(trace_dir / "openb_pod_list_gpushare40.csv", traces.pod_list(150, rng))
    out = tmp_path / "results"
    done = bench("fragmentation.py", "--traces", str(trace_dir), "--out", str(out))
    assert "[2/2]" in done.stderr
    document = json.loads((out / "fragmentation.json").read_text())
    runs = document["runs"]
    assert [(r["list"], r["seed"]) for r in runs] == [("openb_pod_list_default", 42)] * 2
    assert {"final_allocation", "curve", "seconds", "placements_per_second", "failed"} <= set(
        runs[0]
    )
    text = (out / "fragmentation.md").read_text()
    assert text.startswith("# Fragmentation benchmark")
    assert "| default | " in text and "/ n/a" in text and "gpushare40" not in text
    assert (out / "fragmentation.png").read_bytes().startswith(b"\x89PNG")


def test_fragmentation_compares_with_the_papers_file(trace_dir: Path, tmp_path: Path) -> None:
    (trace_dir / "fgd-expected").mkdir()
    (trace_dir / "fgd-expected" / "analysis_allo_discrete.csv").write_text(
        "workload,sc_policy,tune,seed,130\n"
        "openb_pod_list_default,06-FGD,1.3,42,11.0\n"
        "openb_pod_list_default,06-FGD,1.3,43,12.0\n"
        "openb_pod_list_default,01-Random,1.3,42,12.5\n"
    )
    out = tmp_path / "results"
    bench(
        "fragmentation.py", "--traces", str(trace_dir), "--out", str(out),
        "--policies", "random,bestfit",
    )
    text = (out / "fragmentation.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| default |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].endswith("/ 12.50 ✗")  # random, far from the made-up paper number
    assert cells[2].endswith("/ n/a")  # bestfit: no paper number in this file
    assert cells[3] == "✗ 0/1 (random " + cells[3].split("(random ")[1]
    assert cells[4] == "n/a (no new policy run)"  # both are the paper's own policies


def test_placement_scale_quick(trace_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    bench("placement_scale.py", "--traces", str(trace_dir), "--out", str(out))
    document = json.loads((out / "placement_scale.json").read_text())
    assert document["settings"]["nodes"] == 300
    assert all(r["attempts"] >= 150 and r["placements_per_second"] > 0
               for r in document["results"])
    assert (out / "placement_scale.md").read_text().startswith("# Placement throughput")


def test_placement_scale_without_a_trace(tmp_path: Path) -> None:
    out = tmp_path / "results"
    bench("placement_scale.py", "--traces", str(tmp_path / "none"), "--out", str(out))
    assert "built-in openb-like mix" in (out / "placement_scale.md").read_text()
