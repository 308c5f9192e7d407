"""What a sweep leaves behind: the curves as CSV, plots, and markdown tables that put our
numbers next to the paper's, written the same way by the CLI and the benchmarks.

Plots draw on a bare Agg canvas rather than through pyplot, so nothing depends on (or
changes) a global backend, a display, or state shared between runs.
"""

from __future__ import annotations

import csv
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from k8s4ai.backends.sim import sweep

if TYPE_CHECKING:  # matplotlib is imported when a plot is drawn: it slows every command
    from matplotlib import figure

CURVE_COLUMNS = ("policy", "seed", "arrived_percent", "allocation_percent")
TOLERANCE = 0.5
"""Percentage points within which a reimplemented published policy counts as matching."""

Paper = Mapping[tuple[str, str], float]
"""(pod list, policy) → the paper's mean allocation %."""


def write_curves(path: Path, results: Sequence[sweep.Result]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CURVE_COLUMNS)
        for result in results:
            run = result.run
            writer.writerows((run.policy, run.seed, a, v) for a, v in sorted(run.curve.items()))
    return path


def new_figure(width: float, height: float) -> figure.Figure:
    from matplotlib import figure

    return figure.Figure(figsize=(width, height), layout="constrained")


def save(fig: figure.Figure, path: Path, dpi: int = 120) -> Path:
    from matplotlib.backends import backend_agg

    backend_agg.FigureCanvasAgg(fig)
    fig.savefig(path, dpi=dpi)
    return path


def plot_curves(path: Path, summaries: Sequence[sweep.Summary], title: str) -> Path:
    """Allocation % against arrived load, one line per policy (mean over its seeds)."""
    fig = new_figure(8, 5)
    ax = fig.subplots()
    for s in summaries:
        arrived = sorted(s.curve)
        label = f"{s.policy} ({len(s.seeds)} seed{'s' if len(s.seeds) > 1 else ''})"
        ax.plot(arrived, [s.curve[a] for a in arrived], label=label)
    ax.set_xlabel("arrived GPU request, % of cluster GPUs")
    ax.set_ylabel("allocated GPUs, % of cluster GPUs")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save(fig, path)


def plot_comparison(path: Path, summaries: Sequence[sweep.Summary], paper: Paper) -> Path:
    """Grouped bars: mean final allocation per pod list and policy, with the paper's number
    as a black tick on the bar where it has one."""
    lists = list(dict.fromkeys(s.workload for s in summaries))
    policies = list(dict.fromkeys(s.policy for s in summaries))
    by_key = {(s.workload, s.policy): s for s in summaries}
    width = 0.8 / len(policies)
    fig = new_figure(max(8.0, 2.0 + 1.1 * len(lists)), 5.5)
    ax = fig.subplots()
    x = np.arange(len(lists))
    lowest = 100.0
    for j, policy in enumerate(policies):
        offsets = x - 0.4 + width * (j + 0.5)
        values = [
            by_key[(w, policy)].allocation if (w, policy) in by_key else np.nan for w in lists
        ]
        ax.bar(offsets, values, width, label=policy)
        marks = [paper.get((w, policy), np.nan) for w in lists]
        ax.hlines(
            marks,
            offsets - width / 2,
            offsets + width / 2,
            colors="black",
            linewidth=2,
            label="paper" if j == 0 else "_nolegend_",
        )
        lowest = min([lowest, *(v for v in [*values, *marks] if not np.isnan(v))])
    ax.set_xticks(x, [_short(w) for w in lists], rotation=30, ha="right")
    ax.set_ylim(max(0.0, lowest - 5), 100)
    ax.set_ylabel("allocated GPUs at the end, % of cluster GPUs")
    ax.set_title("GPU allocation at 130% arrived load: ours (bars) vs the FGD paper (ticks)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncols=min(4, len(policies) + 1), fontsize="small")
    return save(fig, path)


def _short(workload: str) -> str:
    return workload.removeprefix("openb_pod_list_")


def _cell(ours: float | None, theirs: float | None) -> str:
    left = f"{ours:.2f}" if ours is not None else "–"
    right = f"{theirs:.2f}" if theirs is not None else "n/a"
    flag = ""
    if ours is not None and theirs is not None and abs(ours - theirs) > TOLERANCE:
        flag = " ✗"
    return f"{left} / {right}{flag}"


def comparison_table(
    summaries: Sequence[sweep.Summary], paper: Paper, published: Sequence[str]
) -> list[str]:
    """One row per pod list: "ours / paper" per policy; whether every published policy is
    within `TOLERANCE` of the paper; whether our best policy outside the paper beats the
    paper's FGD."""
    lists = list(dict.fromkeys(s.workload for s in summaries))
    policies = list(dict.fromkeys(s.policy for s in summaries))
    by_key = {(s.workload, s.policy): s.allocation for s in summaries}
    lines = [
        "| pod list | "
        + " | ".join(policies)
        + f" | published within {TOLERANCE} pt | best new policy vs paper FGD |",
        "|---|" + "---|" * (len(policies) + 2),
    ]
    for w in lists:
        cells = [_cell(by_key.get((w, p)), paper.get((w, p))) for p in policies]
        lines.append(
            f"| {_short(w)} | "
            + " | ".join(cells)
            + f" | {_within(w, by_key, paper, published)} | {_beats(w, by_key, paper, published)} |"
        )
    return lines


def _within(
    w: str, ours: Mapping[tuple[str, str], float], paper: Paper, published: Sequence[str]
) -> str:
    pairs = [
        (p, ours[(w, p)] - paper[(w, p)]) for p in published if (w, p) in ours and (w, p) in paper
    ]
    if not pairs:
        return "n/a"
    off = [f"{p} {d:+.2f}" for p, d in pairs if abs(d) > TOLERANCE]
    mark = "✗" if off else "✓"
    return f"{mark} {len(pairs) - len(off)}/{len(pairs)}" + (f" ({', '.join(off)})" if off else "")


def _beats(
    w: str, ours: Mapping[tuple[str, str], float], paper: Paper, published: Sequence[str]
) -> str:
    new = {p: v for (lw, p), v in ours.items() if lw == w and p not in published}
    if not new:
        return "n/a (no new policy run)"
    best = max(new, key=lambda p: new[p])
    fgd = paper.get((w, "fgd"))
    if fgd is None:
        return f"n/a ({best} {new[best]:.2f}, no paper FGD)"
    mark = "✓" if new[best] > fgd else "✗"
    return f"{mark} {best} {new[best]:.2f} vs {fgd:.2f}"


def speed_table(summaries: Sequence[sweep.Summary]) -> list[str]:
    """Per policy over every pod list: mean seconds per run and attempts per second."""
    policies = list(dict.fromkeys(s.policy for s in summaries))
    lines = ["| policy | runs | mean s / run | placements/s |", "|---|---|---|---|"]
    for policy in policies:
        mine = [s for s in summaries if s.policy == policy]
        runs = sum(len(s.seeds) for s in mine)
        seconds = sum(s.seconds * len(s.seeds) for s in mine)
        attempts = sum(s.attempts for s in mine)
        rate = f"{attempts / seconds:,.0f}" if seconds else "n/a"
        lines.append(f"| {policy} | {runs} | {seconds / runs:.2f} | {rate} |")
    return lines


def machine() -> dict[str, Any]:
    """Where a benchmark ran, so its numbers can be read against the hardware."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(sys.orig_argv),
    }


def revision(checkout: Path, sources: str = "src/k8s4ai") -> str:
    """The commit a benchmark's code came from, marked when `sources` differ from it."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=checkout,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", sources],
            cwd=checkout,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev} ({sources} modified)" if dirty else rev


def machine_line(m: Mapping[str, Any]) -> str:
    return (
        f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu_model']}; Python {m['python']}, "
        f"numpy {m['numpy']}; {m['date']}."
    )
