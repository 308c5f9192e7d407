"""bench/remediation.py runs end to end with --quick on the built-in generator and on a toy
ITP file made here (never ../shared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s4ai.traces import catalog

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration

ITP = "job_id,submission_time,duration,num_gpu\n" + "".join(
    f"j{i},{900 * i},{1800 + 600 * (i % 5)},{(1, 2, 8, 16)[i % 4]}\n" for i in range(200)
)


def bench(*args: str, out: Path) -> dict[str, object]:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "remediation.py"), "--quick", "--out", str(out),
         *args],
        check=True, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    document = json.loads((out / "remediation.json").read_text())
    assert isinstance(document, dict)
    return document


def test_on_a_toy_trace(tmp_path: Path) -> None:
    path = tmp_path / "traces" / catalog.SHARED["itp-01"].path
    path.parent.mkdir(parents=True)
    path.write_text(ITP, encoding="utf-8")
    out = tmp_path / "out"
    doc = bench("--traces", str(tmp_path / "traces"), "--trace", "itp-01", out=out)
    settings = doc["settings"]
    assert isinstance(settings, dict) and settings["days"] == 3.0
    assert str(settings["source"]).startswith("itp-01: ") and settings["jobs"] == 200
    runs = doc["runs"]
    assert isinstance(runs, dict) and set(runs) == {"auto", "human"}
    for run in runs.values():
        esc = run["escalated"]
        assert run["actions"]["applied"] + esc["applied_by_human"] == sum(
            run["actions"]["by_actor"].values()
        )
        assert esc["applied_by_human"] == esc["actions"]["applied"] <= esc["proposals"]
        for acts in (run["actions"], esc["actions"]):
            _consistent(acts)
        assert set(run["gpu_hours"]) == {
            "lost_work",
            "idle_notebooks",
            "surplus_replicas",
            "wasted",
        }
    assert runs["human"]["actions"]["by_actor"].keys() <= {"human:on-call"}
    assert runs["human"]["escalated"]["proposals"] == 0
    assert runs["auto"]["actions"]["by_actor"].keys() <= {"policy:auto", "human:on-call"}
    assert doc["saved_gpu_hours"] == pytest.approx(
        runs["human"]["gpu_hours"]["wasted"] - runs["auto"]["gpu_hours"]["wasted"], abs=0.2
    )
    text = (out / "remediation.md").read_text()
    assert text.startswith("# Remediation: a month of injected faults")
    assert "| **total** |" in text and "Wrong actions taken by remediation itself:" in text
    assert "| insufficient step: right kind of fix, verification failed |" in text
    assert "| with: escalated and applied by a human |" in text
    assert (out / "remediation.png").stat().st_size > 0


def _consistent(acts: dict[str, int]) -> None:
    assert acts["wrong"] == acts["wrong_kind_of_fix"] + acts["wrong_healthy_subject"]
    assert acts["insufficient_fixed_later"] <= acts["insufficient"] <= acts["verify_failed"]
    assert acts["wrong"] + acts["insufficient"] <= acts["applied"]
    assert acts["verify_failed"] <= acts["wrong"] + acts["insufficient"]


def test_without_traces_uses_the_generator(tmp_path: Path) -> None:
    doc = bench("--traces", str(tmp_path / "none"), "--days", "1", out=tmp_path / "out")
    settings = doc["settings"]
    assert isinstance(settings, dict)
    assert "built-in generator" in str(settings["source"])
