"""Fit the job mix of the public job traces, for `k8s4ai.traces.synthetic_jobs`.

For Philly, each ITP cluster and Crux (loaded with `k8s4ai.traces.jobs.load`) this computes
the number of jobs, the span, the mean arrival rate (jobs/hour = jobs / span), the hourly
arrival profile over a day (24 values, normalised to mean 1; Philly uses its wall-clock
timestamps as written in the trace, the others `submit_seconds mod 86400`), the GPU-size
distribution (sizes under 0.5 % of the jobs merged into the nearest kept size, ties to the
smaller) and duration quantiles per GPU-size class (numpy's default linear quantiles, on the
jobs' own GPU counts, before merging).

Every fitted number is rounded to 4 significant digits, so the literals pasted into
`synthetic_jobs.py` equal `job_mix.json` exactly. `--python` also prints them as the
`PROFILES` literal to paste.

Writes `job_mix.json` and `job_mix.md` to `--out`.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai.backends.sim import report
from k8s4ai.traces import jobs

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
PHILLY = Path("jobs", "philly-2017-sia", "philly.csv")
ITP = Path("jobs", "microsoft-itp-2021")
CRUX = Path("jobs", "alibaba-crux-2023-rfold", "crux.csv")

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90, 0.99)
CLASSES = (("1", 1, 1), ("2-4", 2, 4), ("5-8", 5, 8), (">8", 9, None))
MIN_SHARE = 0.005
DAY = 86400.0


def sig(value: float, digits: int = 4) -> float:
    """`value` rounded to `digits` significant digits."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(round(value, digits - 1 - math.floor(math.log10(abs(value)))))


def size_class(gpus: int) -> str:
    for label, low, high in CLASSES:
        if gpus >= low and (high is None or gpus <= high):
            return label
    raise ValueError(f"no size class for {gpus} GPUs")


def philly_day_offset(path: Path) -> float:
    """Seconds after midnight of Philly's first submission (rebased away by the loader)."""
    with path.open(newline="", encoding="utf-8") as handle:
        stamps = [row["timestamp"] for row in csv.DictReader(handle) if int(row["num_gpus"])]
    first = min(datetime.datetime.strptime(s, jobs.PHILLY_TIMESTAMP) for s in stamps)
    return float(first.hour * 3600 + first.minute * 60 + first.second)


def hourly_profile(submits: np.ndarray, offset: float) -> list[float]:
    hours = (((submits + offset) % DAY) // 3600).astype(int)
    counts = np.bincount(hours, minlength=24).astype(float)
    return [sig(c) for c in counts / counts.mean()]


def size_distribution(gpus: np.ndarray) -> list[tuple[int, float]]:
    sizes, counts = np.unique(gpus, return_counts=True)
    shares = counts / counts.sum()
    kept = [int(s) for s, p in zip(sizes, shares, strict=True) if p >= MIN_SHARE]
    if not kept:
        kept = [int(sizes[np.argmax(counts)])]
    merged = dict.fromkeys(kept, 0)
    for size, count in zip(sizes, counts, strict=True):
        nearest = min(kept, key=lambda k: (abs(k - int(size)), k))
        merged[nearest] += int(count)
    total = sum(merged.values())
    return [(size, sig(count / total)) for size, count in sorted(merged.items())]


def duration_quantiles(records: list[jobs.JobRecord]) -> dict[str, list[float]]:
    by_class: dict[str, list[float]] = {}
    for r in records:
        if r.duration_seconds is not None:
            by_class.setdefault(size_class(r.gpus), []).append(r.duration_seconds)
    return {
        label: [sig(float(q)) for q in np.quantile(by_class[label], QUANTILES)]
        for label, _, _ in CLASSES
        if label in by_class
    }


def fit(name: str, path: Path, offset: float | None, traces: Path) -> dict[str, Any]:
    records = jobs.load(path)
    submits = np.array([r.submit_seconds for r in records])
    span = float(submits.max() - submits.min())
    durations = duration_quantiles(records)
    return {
        "name": name,
        "source": str(path.relative_to(traces)) if path.is_relative_to(traces) else str(path),
        "jobs": len(records),
        "span_seconds": span,
        "span_days": sig(span / DAY),
        "rate_per_hour": sig(len(records) / (span / 3600)) if span else None,
        "clock": "submit_seconds mod 86400" if offset is None else "wall-clock (trace timestamps)",
        "hourly_profile": hourly_profile(submits, offset or 0.0),
        "sizes": size_distribution(np.array([r.gpus for r in records])),
        "duration_quantiles": durations,
        "class_jobs": {
            label: sum(1 for r in records if size_class(r.gpus) == label) for label in durations
        },
    }


def sources(traces: Path) -> list[tuple[str, Path, float | None]]:
    """(profile name, file, seconds after midnight of its first job if it has a wall clock)."""
    found: list[tuple[str, Path, float | None]] = []
    if (traces / PHILLY).is_file():
        found.append(("philly", traces / PHILLY, philly_day_offset(traces / PHILLY)))
    found += [(f"itp-{p.stem}", p, None) for p in sorted((traces / ITP).glob("cluster*.csv"))]
    if (traces / CRUX).is_file():
        found.append(("crux", traces / CRUX, None))
    return found


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    quantile_names = ", ".join(f"p{round(q * 100)}" for q in QUANTILES)
    lines = [
        "# Job mix of the public job traces",
        "",
        report.machine_line(m),
        "",
        f"Command: `{m['command']}`",
        "",
        "Fitted numbers for `k8s4ai.traces.synthetic_jobs.PROFILES` (4 significant digits). "
        "Rate = jobs / span; the hourly profile is normalised to mean 1; GPU sizes under 0.5 % "
        f"are merged into the nearest kept size; durations are {quantile_names} in seconds.",
        "",
        "| trace | source | jobs | span (days) | jobs/hour | clock |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {t['name']} | `{t['source']}` | {t['jobs']:,} | {t['span_days']} | "
        f"{t['rate_per_hour']} | {t['clock']} |"
        for t in document["traces"]
    ]
    for t in document["traces"]:
        lines += [
            "",
            f"## {t['name']}",
            "",
            "Hourly profile (hour 0..23): " + ", ".join(str(v) for v in t["hourly_profile"]),
            "",
            "GPU sizes: " + ", ".join(f"{g}: {p}" for g, p in t["sizes"]),
            "",
            f"| GPUs | jobs | {' | '.join(quantile_names.split(', '))} |",
            "|---|---|" + "---|" * len(QUANTILES),
        ]
        lines += [
            f"| {label} | {t['class_jobs'][label]:,} | " + " | ".join(str(v) for v in qs) + " |"
            for label, qs in t["duration_quantiles"].items()
        ]
    return "\n".join(lines) + "\n"


def _tuple(field: str, values: list[str]) -> str:
    """`field=(a, b, ...),` wrapped at 100 columns, 8 spaces in (a `PROFILES` entry's field)."""
    text = textwrap.fill(
        ", ".join(v.replace(" ", "\0") for v in values),  # no line break inside a value
        width=98,
        initial_indent=f"        {field}=(",
        subsequent_indent=" " * 12,
        break_on_hyphens=False,
    )
    return text.replace("\0", " ") + "),\n"


def python_literal(document: dict[str, Any]) -> str:
    """The `PROFILES` entries, ready to paste into `synthetic_jobs.py`."""
    out = []
    for t in document["traces"]:
        durations = "".join(
            f'            ("{label}", ({", ".join(repr(v) for v in qs)})),\n'
            for label, qs in t["duration_quantiles"].items()
        )
        out.append(
            f"    # {t['source']}: {t['jobs']} jobs over {t['span_days']} days; fitted by\n"
            f"    # `bench/fit_job_mix.py` (bench/results/job_mix.json).\n"
            f'    "{t["name"]}": Profile(\n'
            f"        rate_per_hour={t['rate_per_hour']!r},\n"
            + _tuple("hourly", [repr(v) for v in t["hourly_profile"]])
            + _tuple("sizes", [f"({g}, {p!r})" for g, p in t["sizes"]])
            + f"        durations=(\n{durations}        ),\n"
            "    ),\n"
        )
    return "".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=Path, default=TRACES, help="the shared traces folder")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--python", action="store_true", help="print the PROFILES literal")
    args = parser.parse_args(argv)
    found = sources(args.traces)
    if not found:
        sys.exit(f"error: no Philly, ITP or Crux trace under {args.traces}")
    document = {
        "machine": report.machine(),
        "settings": {"quantiles": QUANTILES, "min_share": MIN_SHARE, "digits": 4},
        "traces": [fit(name, path, offset, args.traces) for name, path, offset in found],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "job_mix.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "job_mix.md").write_text(markdown(document))
    for t in document["traces"]:
        print(f"{t['name']}: {t['jobs']} jobs, {t['rate_per_hour']} jobs/hour", file=sys.stderr)
    if args.python:
        print(python_literal(document), end="")


if __name__ == "__main__":
    main()
