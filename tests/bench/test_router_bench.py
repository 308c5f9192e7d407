"""bench/router.py and bench/router_policies.py run end to end on a small synthetic trace,
never on ../shared (the peers count only when installed; otherwise the table says so)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_router_bench_replays_and_measures_overhead(tmp_path: Path) -> None:
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "router.py"), "--trace",
            "synthetic-conversation", "--requests", "60", "--replicas", "2",
            "--cache-blocks", "64", "--compression", "200", "--rate", "100",
            "--overhead-seconds", "1", "--concurrency", "4",
            "--routers", "prefix-cache-aware,round-robin,sglang", "--peer-bin", str(tmp_path),
            "--out", str(out),
        ],
        check=True, capture_output=True, text=True, timeout=240, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    result = json.loads((out / "router.json").read_text())
    rows = {r["router"]: r for r in result["replay"]}
    ours = rows["k8s4ai prefix-cache-aware"]
    assert ours["status"] == "ok" and ours["requests"] == 60 and ours["errors"] == 0
    assert 0 <= ours["hit_rate"] <= 1 and sum(ours["requests_per_replica"]) == 60
    peer = rows["sglang-router cache_aware"]["status"]
    assert peer == "ok" or peer.startswith("not installed (sglang-router)")
    overhead = {r["router"]: r for r in result["overhead"]}
    assert overhead["k8s4ai prefix-cache-aware"]["peak_rps"] > 0
    assert "## Against the targets" in (out / "router.md").read_text()
    assert (out / "router.png").stat().st_size > 0


def test_router_policies_bench_compares_memories(tmp_path: Path) -> None:
    out = tmp_path / "results"
    subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "router_policies.py"), "--trace",
            "synthetic-conversation", "--requests", "400", "--replicas", "4",
            "--cache-blocks", "100", "--out", str(out),
        ],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    rows = {r["policy"]: r for r in json.loads((out / "router_policies.json").read_text())["rows"]}
    assert set(rows) >= {
        "round-robin",
        "prefix-cache-aware",
        "prefix-cache-aware (forget with cache)",
    }
    assert all(0 <= r["hit_rate"] <= 1 for r in rows.values())
