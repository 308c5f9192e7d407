"""The store benchmark still runs (tiny sizes), so its published numbers can be reproduced."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_store_benchmark_quick_run_writes_results(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "store.py"), "--quick", "--out", str(tmp_path),
         "--workdir", str(tmp_path / "work")],
        check=True, capture_output=True, timeout=300,
    )
    results = json.loads((tmp_path / "store.json").read_text())
    assert results
    assert (tmp_path / "store.md").read_text().startswith("# Embedded store benchmark")
