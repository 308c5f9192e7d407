"""The FinOps benchmark still runs (small ledger), so its published numbers can be
reproduced."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_finops_benchmark_small_run_writes_results(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "finops.py"), "--intervals", "20000",
         "--repeat", "1", "--out", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )
    results = json.loads((tmp_path / "finops.json").read_text())
    assert results["settings"]["intervals"] == 20000
    assert {r["aggregate"] for r in results["runs"]} == {"team", "experiment", "team,experiment"}
    assert all(r["wall_seconds"] > 0 and r["lines"] > 0 for r in results["runs"])
    assert (tmp_path / "finops.md").read_text().startswith("# FinOps allocation speed")
