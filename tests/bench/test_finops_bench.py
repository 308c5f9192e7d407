"""The FinOps benchmark still runs (small ledger), so its published numbers can be
reproduced."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_finops_benchmark_small_run_writes_results(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "finops.py"), "--part", "1", "--intervals", "20000",
         "--repeat", "1", "--out", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )
    results = json.loads((tmp_path / "finops.json").read_text())
    assert results["settings"]["intervals"] == 20000
    assert {r["aggregate"] for r in results["runs"]} == {"team", "experiment", "team,experiment"}
    assert all(r["wall_seconds"] > 0 and r["lines"] > 0 for r in results["runs"])
    assert (tmp_path / "finops.md").read_text().startswith("# FinOps allocation speed")


def test_a_simulated_month_adds_its_report_and_keeps_part_one(tmp_path: Path) -> None:
    bench = [sys.executable, str(ROOT / "bench" / "finops.py"), "--out", str(tmp_path)]
    subprocess.run([*bench, "--part", "1", "--intervals", "20000", "--repeat", "1"],
                   check=True, capture_output=True, timeout=300)
    subprocess.run(
        [*bench, "--part", "2", "--trace", "synthetic-philly", "--synthetic-jobs", "200",
         "--traces", str(tmp_path / "no-traces")],
        check=True, capture_output=True, timeout=300,
    )
    results = json.loads((tmp_path / "finops.json").read_text())
    assert results["settings"]["intervals"] == 20000
    month = results["month"]
    assert month["trace"]["trace"] == "synthetic-philly" and month["jobs_finished"] > 0
    for aggregate in ("team", "experiment", "model"):
        report = month["reports"][aggregate]
        assert report["lines"] and report["total"].startswith("$")
    assert month["findings"]["kinds"]
    text = (tmp_path / "finops.md").read_text()
    assert text.startswith("# FinOps allocation speed")
    assert "## A simulated month (part 2)" in text and "### Findings" in text
