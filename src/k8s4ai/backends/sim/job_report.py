"""What job replays leave behind, written the same way by `k8s4ai sim jobs` and
`bench/jobs.py`: per-job CSV, JSON records, Markdown tables (trace × policy, and the ratios
the admission issue's targets are stated in) and plots.

Plots draw on a bare Agg canvas, never through pyplot's global state.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai.backends.sim import job_metrics, jobs, report

FIFO, DEFAULT, SRPT, LAS = "besteffort-fifo", "k8s4ai", "srpt", "las2d"
OUTCOME_COLUMNS = (
    "policy",
    "name",
    "queue",
    "gpus",
    "submit",
    "duration",
    "first_start",
    "finish",
    "jct",
    "queueing",
    "preemptions",
    "lost",
    "idle_held",
)

Table = Mapping[tuple[str, str], job_metrics.Metrics]
"""(trace, policy) → its metrics."""


def write_outcomes(path: Path, results: Sequence[jobs.ReplayResult]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTCOME_COLUMNS)
        for result in results:
            for o in result.outcomes:
                writer.writerow(
                    (
                        result.policy,
                        o.name,
                        o.queue,
                        o.gpus,
                        _num(o.submit),
                        _num(o.duration),
                        _num(o.first_start),
                        _num(o.finish),
                        _num(o.jct),
                        _num(o.queueing),
                        o.preemptions,
                        _num(o.lost),
                        _num(o.idle_held),
                    )
                )
    return path


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def record(trace: str, m: job_metrics.Metrics) -> dict[str, Any]:
    """One (trace, policy) as JSON-ready data: every metric, NaN as null."""
    data = asdict(m)
    data["shares"] = [{**asdict(s), "ratio": _finite(s.ratio)} for s in m.shares]
    return {
        "trace": trace,
        **{k: _finite(v) if isinstance(v, float) else v for k, v in data.items()},
    }


def _finite(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def ratios_record(table: Table, trace: str) -> dict[str, float | None]:
    """`ratios` as JSON-ready data: a ratio that is not finite becomes null."""
    return {k: None if v is None else _finite(v) for k, v in ratios(table, trace).items()}


def _hours(seconds: float) -> str:
    return "–" if math.isnan(seconds) else f"{seconds / 3600:,.2f}"


def _pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"


def _order(names: Sequence[str], first: Sequence[str]) -> list[str]:
    return [n for n in first if n in names] + [n for n in names if n not in first]


def traces_and_policies(table: Table) -> tuple[list[str], list[str]]:
    traces = list(dict.fromkeys(t for t, _ in table))
    policies = _order(list(dict.fromkeys(p for _, p in table)), (DEFAULT, SRPT, LAS, FIFO))
    return traces, policies


def metrics_table(table: Table) -> list[str]:
    """Markdown: one row per (trace, policy); times in hours."""
    lines = [
        "| trace | policy | jobs | avg JCT h | p99 JCT h | avg queue h | p99 queue h | util % "
        "| util % (arrivals) | idle GPU-h (partial starts) | Jain | preemptions | lost GPU-h "
        "| replay s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    traces, policies = traces_and_policies(table)
    for t in traces:
        for p in policies:
            m = table.get((t, p))
            if m is None:
                continue
            jain = f"{m.jain:.3f}" if len(m.shares) > 1 and not math.isnan(m.jain) else "–"
            lines.append(
                f"| {t} | {p} | {m.jobs:,} | {_hours(m.avg_jct)} | {_hours(m.p99_jct)} | "
                f"{_hours(m.avg_queueing)} | {_hours(m.p99_queueing)} | {_pct(m.utilisation)} | "
                f"{_pct(m.utilisation_arrivals)} | {m.idle_gpu_hours:,.1f} | {jain} | "
                f"{m.preemptions:,} | {m.lost_gpu_hours:,.1f} | {m.wall_seconds:,.1f} |"
            )
    return lines


def _avg(table: Table, trace: str, policy: str, field: str = "avg_jct") -> float | None:
    m = table.get((trace, policy))
    return None if m is None else float(getattr(m, field))


def _div(a: float | None, b: float | None) -> float | None:
    """a / b; equal zeros are a ratio of 1, anything over zero infinite."""
    if a is None or b is None:
        return None
    if b == 0:
        return 1.0 if a == 0 else math.inf
    return a / b


def ratios(table: Table, trace: str) -> dict[str, float | None]:
    """The issue's targets as numbers for one trace (None where a policy was not run):
    FIFO/k8s4ai avg JCT (target ≥ 1.6), k8s4ai/SRPT (≤ 1.15), k8s4ai/las2d avg JCT (≤ 1),
    k8s4ai/las2d p99 queueing (≤ 1), k8s4ai's idle GPU-hours (0)."""
    idle = table.get((trace, DEFAULT))
    return {
        "fifo_over_k8s4ai": _div(_avg(table, trace, FIFO), _avg(table, trace, DEFAULT)),
        "k8s4ai_over_srpt": _div(_avg(table, trace, DEFAULT), _avg(table, trace, SRPT)),
        "k8s4ai_over_las2d": _div(_avg(table, trace, DEFAULT), _avg(table, trace, LAS)),
        "k8s4ai_over_las2d_p99_queueing": _div(
            _avg(table, trace, DEFAULT, "p99_queueing"), _avg(table, trace, LAS, "p99_queueing")
        ),
        "k8s4ai_idle_gpu_hours": None if idle is None else idle.idle_gpu_hours,
    }


TARGETS: tuple[tuple[str, str, str, Callable[[float], bool]], ...] = (
    ("fifo_over_k8s4ai", "FIFO / k8s4ai avg JCT", "≥ 1.6", lambda v: v >= 1.6),
    ("k8s4ai_over_srpt", "k8s4ai / SRPT avg JCT", "≤ 1.15", lambda v: v <= 1.15),
    ("k8s4ai_over_las2d", "k8s4ai / las2d avg JCT", "≤ 1", lambda v: v <= 1.0),
    (
        "k8s4ai_over_las2d_p99_queueing",
        "k8s4ai / las2d p99 queueing",
        "≤ 1",
        lambda v: v <= 1.0,
    ),
    ("k8s4ai_idle_gpu_hours", "k8s4ai idle GPU-h", "0", lambda v: v == 0),
)


def ratios_table(table: Table) -> list[str]:
    """Markdown: one row per trace, one column per target, ✓/✗ against it."""
    lines = [
        "| trace | " + " | ".join(f"{label} ({goal})" for _, label, goal, _ in TARGETS) + " |",
        "|---|" + "---|" * len(TARGETS),
    ]
    traces, _ = traces_and_policies(table)
    for t in traces:
        values = ratios(table, t)
        cells = []
        for key, _, _, ok in TARGETS:
            v = values[key]
            cells.append(
                "–" if v is None or math.isnan(v) else f"{_ratio(v)} {'✓' if ok(v) else '✗'}"
            )
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines


def shares_table(table: Table) -> list[str]:
    """Markdown: per multi-queue trace and policy, each queue's received / entitled."""
    lines: list[str] = []
    traces, policies = traces_and_policies(table)
    for t in traces:
        for p in policies:
            m = table.get((t, p))
            if m is None or len(m.shares) < 2:
                continue
            if not lines:
                lines += [
                    "| trace | policy | Jain | queue: received / entitled GPU-h (ratio) |",
                    "|---|---|---|---|",
                ]
            cells = ", ".join(
                f"{s.queue}: {s.received:,.0f} / {s.entitled:,.0f} ({_ratio(s.ratio)})"
                for s in m.shares
            )
            lines.append(f"| {t} | {p} | {m.jain:.3f} | {cells} |")
    return lines


def plot_jct_cdf(
    path: Path, results: Mapping[str, Sequence[jobs.ReplayResult]], title: str
) -> Path:
    """One panel per trace: the JCT CDF of each policy, log-scaled hours."""
    names = list(results)
    cols = min(3, len(names)) or 1
    rows = math.ceil(len(names) / cols) or 1
    fig = report.new_figure(5.0 * cols, 3.6 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        for result in sorted(results[name], key=lambda r: _rank(r.policy)):
            hours = np.sort([o.jct / 3600 for o in result.outcomes])
            if not len(hours):
                continue
            ax.plot(
                np.maximum(hours, 1e-3),
                np.arange(1, len(hours) + 1) / len(hours),
                label=result.policy,
                linewidth=2.0 if result.policy == DEFAULT else 1.0,
            )
        ax.set_xscale("log")
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("job completion time, hours")
        ax.set_ylabel("fraction of jobs")
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if names and axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize="small")
    fig.suptitle(title)
    return report.save(fig, path, dpi=110)


def _rank(policy: str) -> int:
    order = (DEFAULT, SRPT, LAS, FIFO)
    return order.index(policy) if policy in order else len(order)


def plot_vs_srpt(path: Path, table: Table, title: str) -> Path:
    """Grouped bars: each policy's average JCT over SRPT's, per trace (the best policy's
    where SRPT was not run)."""
    traces, policies = traces_and_policies(table)
    fig = report.new_figure(max(8.0, 1.0 + 0.9 * len(traces)), 5.0)
    ax = fig.subplots()
    x = np.arange(len(traces))
    width = 0.8 / max(1, len(policies))
    base = {t: _baseline(table, t) for t in traces}
    for j, p in enumerate(policies):
        values = [
            m.avg_jct / base[t] if (m := table.get((t, p))) is not None and base[t] else np.nan
            for t in traces
        ]
        ax.bar(x - 0.4 + width * (j + 0.5), values, width, label=p)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(x, traces, rotation=30, ha="right")
    ax.set_ylabel("average JCT / SRPT's (best policy's without SRPT)")
    ax.set_yscale("log")
    from matplotlib import ticker

    plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if policies:
        ax.legend(ncols=min(4, len(policies)), fontsize="small")
    return report.save(fig, path, dpi=110)


def _baseline(table: Table, trace: str) -> float:
    srpt = table.get((trace, SRPT))
    if srpt is not None:
        return srpt.avg_jct
    values = [m.avg_jct for (t, _), m in table.items() if t == trace and not math.isnan(m.avg_jct)]
    return min(values, default=math.nan)
