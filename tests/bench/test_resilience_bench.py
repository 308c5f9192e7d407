"""bench/resilience.py runs end to end on a toy Crux file made here, and on the built-in
generator when there are no traces (never ../shared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from k8s4ai.traces import catalog

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration

CRUX = "#job id,arrival time (sec),topology,shape,size,duration (sec)\n" + "".join(
    f"{i},{3600 * i},CLOS,{g},{g},{d}\n"
    for i, (g, d) in enumerate([(64, 36_000), (8, 600), (128, 90_000), (32, 50_000)] * 3)
)


def bench(traces: Path, out: Path) -> tuple[dict[str, object], str, str]:
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "resilience.py"), "--quick",
            "--traces", str(traces), "--out", str(out), "--workers", "1",
        ],
        check=True, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    document = json.loads((out / "resilience.json").read_text())
    return document, (out / "resilience.md").read_text(), done.stderr


def test_on_a_toy_trace(tmp_path: Path) -> None:
    path = tmp_path / "traces" / catalog.SHARED["crux"].path
    path.parent.mkdir(parents=True)
    path.write_text(CRUX, encoding="utf-8")
    document, text, stderr = bench(tmp_path / "traces", tmp_path / "out")
    settings = document["settings"]
    assert isinstance(settings, dict)
    assert settings["jobs"] == 8 and str(settings["source"]).startswith("crux: ")
    rows = document["rows"]
    assert isinstance(rows, list) and rows
    for row in rows:
        assert set(row["lost_gpu_hours"]) == {"none", "10m", "1h", "auto", "told"}
        assert row["best_fixed"] in ("10m", "1h")
        assert row["met"] == (row["auto_over_best_fixed"] <= 1.10)
        assert row["lost_gpu_hours"]["10m"]["mean"] > 0
    sizes = next(r for r in rows if r["scenario"] == "trace sizes, Meta rate")
    assert sizes["gpus_median"] == 64
    assert text.startswith("# GPU-hours lost to failures")
    assert "## A lone job" in text and "## Where `auto` falls short" in text
    assert "arXiv:2407.21783" in text
    assert (tmp_path / "out" / "resilience.png").stat().st_size > 0
    assert "auto / best fixed" in stderr


def test_without_traces_uses_the_generator(tmp_path: Path) -> None:
    document, text, _ = bench(tmp_path / "nothing", tmp_path / "out")
    settings = document["settings"]
    assert isinstance(settings, dict)
    assert str(settings["source"]).startswith("synthetic-crux: built-in generator")
    assert "synthetic-crux" in text
