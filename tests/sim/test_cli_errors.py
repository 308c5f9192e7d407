"""Wrong input to `k8s4ai sim fragmentation` fails with one clear line and exit 1 (2 for
misused flags, as click does), never a traceback."""

from pathlib import Path

import pytest

from k8s4ai.cli import sim
from k8s4ai.scheduler import registry
from tests.sim.conftest import Invoke

GOOD_NODES = "sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\n"
GOOD_PODS = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1024,1,500\n"


def run(k8s4ai: Invoke, tmp_path: Path, nodes: str, pods: str, *extra: str) -> tuple[int, str]:
    (tmp_path / "nodes.csv").write_text(nodes)
    (tmp_path / "pods.csv").write_text(pods)
    result = k8s4ai(
        "sim", "fragmentation",
        "--nodes", str(tmp_path / "nodes.csv"), "--pods", str(tmp_path / "pods.csv"),
        "--out", str(tmp_path / "out"), *extra,
    )
    return result.exit_code, result.stderr


def test_unknown_policy_lists_the_valid_ones(k8s4ai: Invoke, tmp_path: Path) -> None:
    code, err = run(k8s4ai, tmp_path, GOOD_NODES, GOOD_PODS, "--policy", "tetris")
    assert code == 1
    assert err.startswith("error: unknown policy 'tetris'; known: ")
    assert all(name in err for name in registry.POLICIES)
    assert "(or all)" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("nodes", "pods", "expected"),
    [
        (
            GOOD_NODES + "n1,lots,262144,2,P100\n",
            GOOD_PODS,
            "nodes.csv: line 3: column cpu_milli: 'lots'",
        ),
        (
            GOOD_NODES,
            "name,cpu_milli,memory_mib,gpu_milli\np0,1000,1024,500\n",
            "pods.csv: line 1: missing column(s) num_gpu",
        ),
        (
            GOOD_NODES,
            GOOD_PODS + "p1,1000,1024,-1,500\n",
            "pods.csv: line 3: column num_gpu: '-1': cannot be negative",
        ),
        (
            GOOD_NODES,
            GOOD_PODS + "p1,1000,1024,2,500\n",
            "pods.csv: line 3: column gpu_milli: a pod with 2 GPUs takes whole GPUs",
        ),
    ],
    ids=["bad-number", "missing-column", "negative", "impossible-pod"],
)
def test_malformed_trace_names_file_and_line(
    k8s4ai: Invoke, tmp_path: Path, nodes: str, pods: str, expected: str
) -> None:
    code, err = run(k8s4ai, tmp_path, nodes, pods, "--policy", "bestfit")
    assert code == 1
    assert err.startswith("error: ") and expected in err
    assert "Traceback" not in err


def test_seed_and_seeds_together_are_refused(k8s4ai: Invoke, tmp_path: Path) -> None:
    code, err = run(k8s4ai, tmp_path, GOOD_NODES, GOOD_PODS, "--policy", "fgd",
                    "--seed", "1", "--seeds", "2-3")
    assert code == 2
    assert "give --seed or --seeds, not both" in err


def test_bad_seed_range_is_a_usage_error(k8s4ai: Invoke, tmp_path: Path) -> None:
    code, err = run(k8s4ai, tmp_path, GOOD_NODES, GOOD_PODS, "--policy", "fgd", "--seeds", "9-1")
    assert code == 2
    assert "'9-1': a range goes from low to high" in err


def test_without_files_or_default_trace_the_built_in_generator_runs(
    k8s4ai: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim, "trace_dirs", lambda: [tmp_path / "nowhere"])
    out = tmp_path / "out"
    result = k8s4ai(
        "sim", "fragmentation", "--policy", "bestfit", "--tune", "0.3", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "no openb trace found" in result.stderr
    assert "built-in openb-like generator" in result.stderr
    assert (out / "fragmentation-synthetic-openb.csv").is_file()
    assert (out / "fragmentation-synthetic-openb.png").is_file()


def test_default_trace_is_found_beside_the_current_directory(
    k8s4ai: Invoke, trace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = trace_dir.parent / "work"
    (trace_dir.parent / "shared" / "traces").mkdir(parents=True)
    trace_dir.rename(trace_dir.parent / "shared" / "traces" / "alibaba-gpu-v2023")
    work.mkdir()
    monkeypatch.chdir(work)
    result = k8s4ai("sim", "fragmentation", "--policy", "random")
    assert result.exit_code == 0, result.output
    assert (work / "k8s4ai-sim-out" / "fragmentation-openb_pod_list_default.csv").is_file()
