"""bench/jobs.py runs end to end on a toy traces folder made here (never ../shared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s4ai.traces import catalog

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration

FILES = {
    "philly": "timestamp,duration,num_gpus,gpu_time,cluster\n"
    + "".join(
        f"2017-10-0{1 + i // 8} {i % 8:02d}:00:00,{1200 + 600 * (i % 3)},{(1, 2, 8)[i % 3]},0,"
        f"{('vc1', 'vc2', 'lost')[i % 3]}\n"
        for i in range(16)
    ),
    "itp-01": "job_id,submission_time,duration,num_gpu\n"
    + "".join(f"j{i},{900 * i},{1800 + 60 * i},{(1, 4, 16)[i % 3]}\n" for i in range(12)),
    "pollux-2": "name,time,application,num_replicas,batch_size\n"
    + "".join(
        f"{app}-{i},{120 * i},{app},{n},64\n"
        for i, (app, n) in enumerate([("cifar10", 2), ("ncf", 1), ("bert", 4), ("yolov3", 8)] * 2)
    ),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "traces"
    for name, text in FILES.items():
        path = folder / catalog.SHARED[name].path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    vc = folder / catalog.PHILLY_VC
    vc.parent.mkdir(parents=True)
    vc.write_text("vc,node num\nvc1,2\nvc2,1\n", encoding="utf-8")
    return folder


def test_every_trace_present_under_the_policies_asked(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "jobs.py"), "--traces", str(root),
            "--out", str(out), "--philly", "philly@0-1",
            "--policies", "k8s4ai,besteffort-fifo,srpt,las2d",
        ],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "12 replays: 3 traces × 4 policies" in done.stderr
    assert "[12/12]" in done.stderr
    document = json.loads((out / "jobs.json").read_text())
    assert list(document["settings"]["traces"]) == ["philly@0-1", "itp-01", "pollux-2"]
    assert len(document["results"]) == 12 and len(document["runs"]) == 12
    philly = document["settings"]["traces"]["philly@0-1"]
    assert [q["name"] for q in philly["queues"]] == ["vc1", "vc2", "other"]
    assert philly["jobs"] == 8 and philly["real_nodes"] == 3
    assert document["ratios"]["itp-01"]["k8s4ai_over_srpt"] > 0
    text = (out / "jobs.md").read_text()
    assert text.startswith("# Job admission on the shared traces")
    assert "window: jobs submitted in days [0, 1)" in text
    assert "| itp-01 | k8s4ai |" in text and "## Fairness per queue" in text
    assert "## Time per replay" in text
    assert (out / "jobs_jct_cdf.png").stat().st_size > 0
    assert (out / "jobs_vs_srpt.png").stat().st_size > 0


def test_only_and_errors(root: Path, tmp_path: Path) -> None:
    bad = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "jobs.py"), "--traces", str(root), "--only", "crux"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "trace 'crux' is not here" in bad.stderr


def test_room_per_trace(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "room"
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "jobs_room.py"), "--traces", str(root),
            "--out", str(out), "--philly", "philly@0-1", "--workers", "1",
        ],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "[3/3] pollux-2" in done.stderr
    document = json.loads((out / "jobs_room.json").read_text())
    assert [t["trace"] for t in document["traces"]] == ["philly@0-1", "itp-01", "pollux-2"]
    for t in document["traces"]:
        assert set(t["avg_jct_hours"]) == {"fifo", "srpt", "las", "gittins"}
        assert t["fifo_over_srpt"] >= 1.0 - 1e-9
    text = (out / "jobs_room.md").read_text()
    assert text.startswith("# How much room issue 4's JCT targets have")
    assert "| itp-01 |" in text
