"""`k8s4ai sim jobs` on tiny traces written per test: it runs, prints the table, writes
its files, and fails with one clear line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s4ai.scheduler.admission import policies
from k8s4ai.traces import catalog
from tests.sim.conftest import Invoke

ITP = "job_id,submission_time,duration,num_gpu\n" + "".join(
    f"j{i},{i * 600},{600 + 300 * (i % 5)},{(1, 2, 8, 16)[i % 4]}\n" for i in range(24)
)


@pytest.fixture
def trace_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(ITP, encoding="utf-8")
    return path


def test_replays_a_file_under_several_policies(
    k8s4ai: Invoke, tmp_path: Path, trace_file: Path
) -> None:
    out = tmp_path / "out"
    result = k8s4ai(
        "sim", "jobs", "--trace", str(trace_file), "--policy", "k8s4ai,besteffort-fifo,srpt",
        "--traces", str(tmp_path), "--out", str(out), "--workers", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "trace tiny: 24 jobs" in text
    assert "offered load" in text and "sized by load" in text
    header = next(line for line in text.splitlines() if line.startswith("POLICY"))
    assert "AVG JCT h" in header and "P99 QUEUE h" in header and "IDLE GPU-h" in header
    for name in ("k8s4ai", "besteffort-fifo", "srpt"):
        assert any(line.startswith(name + " ") for line in text.splitlines())
    assert "FIFO / k8s4ai avg JCT:" in text and "k8s4ai / SRPT avg JCT:" in text
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "jobs-tiny-jct-cdf.png",
        "jobs-tiny-outcomes.csv",
        "jobs-tiny-vs-srpt.png",
        "jobs-tiny.json",
    ]
    document = json.loads((out / "jobs-tiny.json").read_text())
    assert [r["policy"] for r in document["results"]] == ["k8s4ai", "besteffort-fifo", "srpt"]
    assert all(r["jobs"] == 24 for r in document["results"])
    assert document["settings"]["gpus"] % 8 == 0 and document["settings"]["largest_job_gpus"] == 16
    rows = (out / "jobs-tiny-outcomes.csv").read_text().splitlines()
    assert rows[0].startswith("policy,name,queue,gpus,submit") and len(rows) == 1 + 3 * 24


def test_every_policy_in_parallel_on_a_synthetic_trace(k8s4ai: Invoke, tmp_path: Path) -> None:
    result = k8s4ai(
        "sim", "jobs", "--trace", "synthetic-itp-cluster02", "--synthetic-jobs", "30",
        "--policy", "all", "--traces", str(tmp_path), "--out", str(tmp_path / "out"),
        "--nodes", "6", "--seed", "5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "6 nodes × 8 GPUs = 48 GPUs" in result.stdout
    assert "sized by given" in result.stdout
    for name in policies.POLICIES:
        assert any(line.startswith(name + " ") for line in result.stdout.splitlines()), name


def test_the_philly_vcs_show_as_queues(k8s4ai: Invoke, tmp_path: Path) -> None:
    root = tmp_path / "traces"
    philly = root / catalog.SHARED["philly"].path
    philly.parent.mkdir(parents=True)
    philly.write_text(
        "timestamp,duration,num_gpus,gpu_time,cluster\n"
        + "".join(
            f"2017-10-01 0{i // 6}:{(i % 6) * 10:02d}:00,{900 + 60 * i},{1 + i % 2},0,"
            f"{'ab' if i % 3 else 'cd'}\n"
            for i in range(18)
        ),
        encoding="utf-8",
    )
    (root / catalog.PHILLY_VC).parent.mkdir(parents=True)
    (root / catalog.PHILLY_VC).write_text("vc,node num\nab,3\ncd,1\n", encoding="utf-8")
    result = k8s4ai(
        "sim", "jobs", "--trace", "philly", "--policy", "k8s4ai", "--traces", str(root),
        "--out", str(tmp_path / "out"), "--nodes", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "queues: 2 in cohort philly: ab 6, cd 2" in result.stdout
    assert "real size: 4 nodes" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("k8s4ai "))
    assert row.split()[8] != "-"  # Jain's index over the two queues


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--trace", "nope", "--policy", "k8s4ai"), "error: unknown trace 'nope'"),
        (("--trace", "crux", "--policy", "k8s4ai"), "error: trace 'crux' is not here"),
        (("--trace", "synthetic-crux", "--policy", "tetris"), "error: unknown admission policy"),
        (
            ("--trace", "synthetic-crux@3-1", "--policy", "k8s4ai"),
            "error: 'synthetic-crux@3-1': a window goes",
        ),
    ],
    ids=["unknown-trace", "missing-shared-trace", "unknown-policy", "bad-window"],
)
def test_bad_input_fails_with_one_line(
    k8s4ai: Invoke, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = k8s4ai("sim", "jobs", *args, "--traces", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_errors_list_what_is_known(k8s4ai: Invoke, tmp_path: Path) -> None:
    unknown_trace = k8s4ai("sim", "jobs", "--trace", "nope", "--policy", "k8s4ai")
    assert all(name in unknown_trace.stderr for name in catalog.names())
    unknown_policy = k8s4ai("sim", "jobs", "--trace", "synthetic-crux", "--policy", "tetris")
    assert all(name in unknown_policy.stderr for name in policies.POLICIES)
    assert "(or all)" in unknown_policy.stderr


def test_a_malformed_file_names_its_line(k8s4ai: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("job_id,submission_time,duration,num_gpu\na,0,-5,1\n", encoding="utf-8")
    result = k8s4ai("sim", "jobs", "--trace", str(path), "--policy", "k8s4ai")
    assert result.exit_code == 1
    assert "line 2: column duration" in result.stderr


def test_help_teaches(k8s4ai: Invoke) -> None:
    result = k8s4ai("sim", "jobs", "--help")
    assert result.exit_code == 0
    for text in ("--trace NAME|FILE", "--policy NAME|all", "--load", "--nodes", "--traces",
                 "--checkpoint-restore", "Examples:", "pollux-realistic"):  # fmt: skip
        assert text in result.output
