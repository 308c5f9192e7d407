"""The paper comparison table: ours / paper per cell, the 0.5 pt check for the paper's own
policies, and a new policy measured against the paper's FGD."""

from pathlib import Path

import pytest

from k8s4ai.backends.sim import report, sweep


def summary(workload: str, policy: str, allocation: float) -> sweep.Summary:
    return sweep.Summary(
        workload=workload, policy=policy, seeds=(42, 43), allocation=allocation,
        allocation_std=0.1, placed=100, failed=5, seconds=2.0, attempts=420,
        curve={0: 0.0, 130: allocation},
    )


SUMMARIES = [
    summary("openb_pod_list_default", "bestfit", 93.0),
    summary("openb_pod_list_default", "fgd", 95.5),
    summary("openb_pod_list_default", "tetris", 96.0),
    summary("openb_pod_list_cpu050", "bestfit", 92.0),
    summary("openb_pod_list_cpu050", "fgd", 95.0),
    summary("openb_pod_list_cpu050", "tetris", 95.1),
]
PAPER = {
    ("openb_pod_list_default", "bestfit"): 93.08,
    ("openb_pod_list_default", "fgd"): 95.39,
    ("openb_pod_list_cpu050", "bestfit"): 93.79,
    ("openb_pod_list_cpu050", "fgd"): 95.21,
}


def test_comparison_rows() -> None:
    lines = report.comparison_table(SUMMARIES, PAPER, published=["bestfit", "fgd"])
    assert lines[0] == (
        "| pod list | bestfit | fgd | tetris | published within 0.5 pt | "
        "best new policy vs paper FGD |"
    )
    assert lines[2:] == [
        "| default | 93.00 / 93.08 | 95.50 / 95.39 | 96.00 / n/a | ✓ 2/2 | "
        "✓ tetris 96.00 vs 95.39 |",
        "| cpu050 | 92.00 / 93.79 ✗ | 95.00 / 95.21 | 95.10 / n/a | ✗ 1/2 (bestfit -1.79) | "
        "✗ tetris 95.10 vs 95.21 |",
    ]


def test_without_paper_numbers_everything_is_na() -> None:
    lines = report.comparison_table(SUMMARIES[:3], {}, published=["bestfit", "fgd"])
    assert lines[2] == (
        "| default | 93.00 / n/a | 95.50 / n/a | 96.00 / n/a | n/a | "
        "n/a (tetris 96.00, no paper FGD) |"
    )


def test_speed_rows_pool_every_list() -> None:
    assert report.speed_table(SUMMARIES)[2] == "| bestfit | 4 | 2.00 | 105 |"


@pytest.mark.parametrize("paper", [PAPER, {}], ids=["with-paper", "without"])
def test_plots_are_pngs(tmp_path: Path, paper: report.Paper) -> None:
    bars = report.plot_comparison(tmp_path / "bars.png", SUMMARIES, paper)
    lines = report.plot_curves(tmp_path / "lines.png", SUMMARIES[:3], "default")
    assert bars.read_bytes().startswith(b"\x89PNG") and lines.read_bytes().startswith(b"\x89PNG")
