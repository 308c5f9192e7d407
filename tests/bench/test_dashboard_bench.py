"""bench/dashboard.py runs end to end (`--quick`: 100 nodes, 1,000 jobs) with a real server and
headless Chromium, and reports every view against the issue's targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ["overview", "cluster", "queues", "queue", "jobs", "job", "inference", "storage", "cost"]

pytestmark = pytest.mark.integration


def test_quick_run_measures_every_view(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dashboard.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads((tmp_path / "dashboard.json").read_text())
    store = document["store"]
    assert (store["nodes"], store["gpus"]) == (100, 800)
    assert store["jobs"] > 900 and 0 < store["jobs_admitted"] < store["jobs"]
    assert [v["view"] for v in document["views"]] == VIEWS
    for view in document["views"]:
        assert view["render_median_ms"] is not None and view["render_median_ms"] > 0, view
        assert view["api"], f"{view['view']} made no API call before it was ready"
        assert all(document["calls"][a]["status"] == 200 for a in view["api"]), view["api"]
        assert all(document["calls"][a]["after_write_samples"] == 3 for a in view["api"])
    assert document["machine"]["revision"]
    text = (tmp_path / "dashboard.md").read_text()
    assert text.startswith("# Dashboard: first render and API latency per view")
    assert "| overview |" in text and "| job |" in text and "| storage |" in text
    assert "after a write" in text
