"""bench/vram.py runs end to end on a tiny DLRM trace written here (never ../shared), and on
the synthetic LLM mix alone when there is no trace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s4ai.traces import dlrm

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration

HEADER = (
    "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,"
    "rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,"
    "creation_time,scheduled_time,deletion_time\n"
)


def dlrm_trace(folder: Path) -> None:
    rows = []
    for i in range(60):
        memory = (16.0, 40.0, 40.0, 120.0)[i % 4]
        created = "" if i < 20 else str(600.0 * i)
        deleted = "" if i % 3 == 0 else str(600.0 * i + 5000)
        requests = f"8,8,1,1,25,25,{memory},{memory},100,100,2"
        rows.append(f"instance_{i},HN,app_{i % 5},{requests},{created},{created},{deleted}\n")
    rows.append("instance_cpu,CN,app_9,64,64,0,0,1,1,320,320,255,300,-1,10,10,20\n")
    path = folder / dlrm.FILE
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "".join(rows), encoding="utf-8")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "vram.py"), "--days", "0.5",
         "--llm-concurrency", "12", "--workers", "1", "--capacities", "1.0,0.5",
         "--dlrm-share", "1", *args],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_whole_mig_and_vram_on_a_tiny_trace(tmp_path: Path) -> None:
    traces, out = tmp_path / "traces", tmp_path / "results"
    dlrm_trace(traces)
    done = run("--traces", str(traces), "--out", str(out))
    assert "[8/8] vram-warm at 50%" in done.stderr
    doc = json.loads((out / "vram.json").read_text())
    runs = {(r["mode"], r["capacity"]): r for r in doc["runs"]}
    assert set(runs) == {(m, c) for m in ("whole-gpu", "mig", "vram-blind", "vram-warm")
                         for c in (1.0, 0.5)}  # fmt: skip
    offered = runs[("whole-gpu", 1.0)]["offered"]
    assert offered["dlrm"] == 60 and offered["llm"] > 0
    for r in doc["runs"]:
        assert r["offered"] == offered
        assert 0 < r["gpus_used_avg"] <= r["gpus_used_peak"] <= r["gpus"]
        assert r["starts"] + sum(r["refused"].values()) == sum(offered.values())
    assert sum(runs[("whole-gpu", 1.0)]["refused"].values()) == 0
    assert runs[("whole-gpu", 1.0)]["gpus_used_peak"] == doc["settings"]["whole_gpu_peak"]
    assert runs[("vram-warm", 1.0)]["gpus_used_peak"] < runs[("whole-gpu", 1.0)]["gpus_used_peak"]
    assert runs[("whole-gpu", 1.0)]["warm_starts"] == 0
    text = (out / "vram.md").read_text()
    assert text.startswith("# GPU memory as a resource")
    assert "60 DLRM instances" in text and "| 50% |" in text
    assert "## Cold starts avoided by warm-aware VRAM placement" in text
    assert (out / "vram.png").stat().st_size > 0


def test_without_the_trace_the_mix_is_llm_replicas_only(tmp_path: Path) -> None:
    out = tmp_path / "results"
    run("--traces", str(tmp_path / "none"), "--out", str(out), "--quick")
    doc = json.loads((out / "vram.json").read_text())
    assert doc["settings"]["days"] == 1.0 and doc["settings"]["llm_concurrency"] == 60.0
    assert all(r["offered"]["dlrm"] == 0 for r in doc["runs"])
    assert "the DLRM trace was not found" in (out / "vram.md").read_text()
