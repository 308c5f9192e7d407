"""`k8s4ai sim fragmentation` end to end on a tiny trace: table, means, CSV and PNG."""

import csv
from pathlib import Path

import numpy as np

from k8s4ai.scheduler import registry
from k8s4ai.traces import synthetic as traces
from tests.sim.conftest import Invoke


def test_all_policies_two_seeds(k8s4ai: Invoke, trace_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = k8s4ai(
        "sim", "fragmentation",
        "--nodes", str(trace_dir / "openb_node_list_gpu_node.csv"),
        "--pods", str(trace_dir / "openb_pod_list_default.csv"),
        "--policy", "all", "--seeds", "1-2", "--workers", "1", "--out", str(out),
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "POLICY", "SEED", "ALLOC%", "@130", "PLACED", "FAILED", "SECONDS", "PLACEMENTS/S"
    ]
    runs = [line.split()[:2] for line in lines[1 : 1 + 2 * len(registry.POLICIES)]]
    assert runs == [[p, s] for p in registry.POLICIES for s in ("1", "2")]
    assert "Mean over 2 seeds:" in result.stdout
    means = result.stdout.split("Mean over 2 seeds:")[1].splitlines()
    assert {line.split()[0] for line in means[2 : 2 + len(registry.POLICIES)]} == set(
        registry.POLICIES
    )
    assert f"{2 * len(registry.POLICIES)}/{2 * len(registry.POLICIES)} runs" in result.stderr

    table = out / "fragmentation-openb_pod_list_default.csv"
    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["policy", "seed", "arrived_percent", "allocation_percent"]
    assert {(r["policy"], r["seed"]) for r in rows} == {
        (p, s) for p in registry.POLICIES for s in ("1", "2")
    }
    assert max(int(r["arrived_percent"]) for r in rows) == 130
    assert all(0 <= float(r["allocation_percent"]) <= 100 for r in rows)
    plot = out / "fragmentation-openb_pod_list_default.png"
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert f"wrote {table}" in result.stdout


def test_one_seed_has_no_means_and_a_lower_tune_stops_earlier(
    k8s4ai: Invoke, trace_dir: Path, tmp_path: Path
) -> None:
    # A cluster big enough that the pod list alone asks for less than all its GPUs.
    big = traces.write_nodes(tmp_path / "big.csv", traces.nodes(80, np.random.default_rng(1)))
    result = k8s4ai(
        "sim", "fragmentation",
        "--nodes", str(big),
        "--pods", str(trace_dir / "openb_pod_list_default.csv"),
        "--policy", "fgd", "--seed", "3", "--tune", "1.0", "--out", str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.output
    # The last pod may overshoot the target a little; the column is where the curve ends.
    arrived = int(result.stdout.split("ALLOC% @")[1].split()[0])
    assert 100 <= arrived <= 102
    assert "Mean over" not in result.stdout
    assert result.stdout.splitlines()[1].split()[:2] == ["fgd", "3"]
