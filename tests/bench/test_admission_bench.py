"""The admission-throughput benchmark still runs (toy size), so its numbers can be
reproduced."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_admission_benchmark_quick_run_writes_results(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "admission_scale.py"),
            "--quick",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((tmp_path / "admission_scale.json").read_text())
    first, steady = results["phases"]
    assert first["decisions"] == results["settings"]["jobs"]
    assert first["admitted"] > 0 and steady["cycles"] == results["settings"]["rounds"]
    assert all(p["decisions_per_second"] > 0 for p in results["phases"])
    assert (tmp_path / "admission_scale.md").read_text().startswith("# Admission throughput")
