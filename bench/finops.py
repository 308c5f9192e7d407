"""Benchmark: how long cost allocation takes over 10 million intervals in a 30-day month.

Part 1 of the FinOps benchmark (issue 8): aggregation speed on a generated ledger. The
simulated month driven by the shared traces, with its cost report, is still to come.

Prices: on-demand H100 at $2.99/h, spot A100 whose price moves every 6 hours (a random walk
around $1.10/h, so intervals are split at price changes), CPU $0.0316/core-h, memory
$0.0042/GiB-h, an SSD class at $0.10/GB-month. Allocations: `--intervals` intervals (seeded
numpy) starting uniformly over the month, lognormal durations (median 15 min: a pod's holding
between two ledger events; some cross either edge of the month), of GPUs (whole, half, MIG
1/7 and 3/7, up to 8), CPU cores, memory GiB or volume GB, labelled with team (40), project
(400), experiment (5,000, missing on 2 % of rows) and model (300). Assets: one pool per
priced resource for the whole month (GPUs in whole 8-GPU nodes), sized so that on average
70 % of it is held.

Each aggregation (the whole month; by team, experiment, and team+experiment; idle as a line
and shared) is run `--repeat` times and the fastest wall and CPU times are kept; every
report is checked to add up to the bill to the cent. Writes `finops.json` and `finops.md`
to `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai.backends.sim import report as sim_report
from k8s4ai.finops import allocation, ledger, money, pricing

ROOT = Path(__file__).resolve().parents[1]
DAY = 86_400.0
H100 = pricing.RateKey(pricing.ResourceKind.GPU, "h100")
A100_SPOT = pricing.RateKey(pricing.ResourceKind.GPU, "a100", pricing.Market.SPOT)
CPU = pricing.RateKey(pricing.ResourceKind.CPU)
MEMORY = pricing.RateKey(pricing.ResourceKind.MEMORY)
SSD = pricing.RateKey(pricing.ResourceKind.STORAGE, "ssd")
RATES = (H100, A100_SPOT, CPU, MEMORY, SSD)
SHARE = (0.35, 0.15, 0.2, 0.2, 0.1)
GPU_AMOUNTS = (1.0, 2.0, 4.0, 8.0, 0.5, 1 / 7, 3 / 7)
LABELS = {"team": 40, "project": 400, "experiment": 5_000, "model": 300}
AGGREGATIONS = (("team",), ("experiment",), ("team", "experiment"))


def prices(days: int, rng: np.random.Generator) -> pricing.PriceBook:
    book = (
        pricing.PriceBook()
        .with_price(H100, 2.99)
        .with_price(CPU, 0.0316)
        .with_price(MEMORY, 0.0042)
        .with_price(SSD, pricing.storage_hourly(0.10))
    )
    steps = days * 4
    walk = np.clip(1.10 + np.cumsum(rng.normal(0, 0.05, steps)), 0.4, 2.5)
    book = book.with_price(A100_SPOT, float(walk[0]))
    for i in range(1, steps):
        book = book.with_price(A100_SPOT, round(float(walk[i]), 4), since=i * 6 * 3600.0)
    return book


def allocations(n: int, days: int, rng: np.random.Generator) -> ledger.Intervals:
    start = rng.uniform(-DAY / 4, days * DAY, n)
    end = start + rng.lognormal(math.log(900.0), 1.0, n)
    rate = rng.choice(len(RATES), n, p=SHARE).astype(np.int32)
    amount = np.select(
        [rate <= 1, rate == 2, rate == 3],
        [
            rng.choice(GPU_AMOUNTS, n),
            rng.integers(1, 65, n).astype(np.float64),
            rng.integers(4, 513, n).astype(np.float64),
        ],
        rng.integers(10, 2001, n).astype(np.float64),
    )
    codes = {name: rng.integers(0, size, n).astype(np.int32) for name, size in LABELS.items()}
    codes["experiment"][rng.random(n) < 0.02] = -1
    values = {name: tuple(f"{name}-{i}" for i in range(size)) for name, size in LABELS.items()}
    return ledger.Intervals(start, end, rate, amount, RATES, codes, values)


def assets(held: ledger.Intervals, days: int) -> ledger.Intervals:
    """Whole nodes and pools, sized so that 70 % of each resource is held on average."""
    month = days * DAY
    seconds = np.minimum(held.end, month) - np.maximum(held.start, 0.0)
    used = np.bincount(held.rate, np.maximum(seconds, 0.0) * held.amount, len(RATES)) / month
    sizes = [math.ceil(u / 0.7 / 8) * 8 if i <= 1 else math.ceil(u / 0.7)
             for i, u in enumerate(used)]
    return ledger.Intervals(
        start=np.zeros(len(RATES)),
        end=np.full(len(RATES), month),
        rate=np.arange(len(RATES), dtype=np.int32),
        amount=np.array(sizes, dtype=np.float64),
        rates=RATES,
    )


def timed(book: ledger.Ledger, prices_: pricing.PriceBook, window: allocation.Window,
          aggregate: tuple[str, ...], share_idle: bool, repeat: int) -> dict[str, Any]:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = allocation.allocate(book, prices_, window, aggregate, share_idle)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    if sum(line.total for line in result.lines) != result.total:
        raise AssertionError(f"{aggregate}: lines do not add up to the bill")
    idle = result.idle
    return {
        "aggregate": ",".join(aggregate),
        "share_idle": share_idle,
        "lines": len(result.lines),
        "total": money.format_cents(result.total),
        "idle": money.format_cents(idle.total if idle else 0),
        "wall_seconds": min(walls),
        "cpu_seconds": min(cpus),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    held = allocations(args.intervals, args.days, rng)
    book = ledger.Ledger(held, assets(held, args.days))
    prices_ = prices(args.days, rng)
    generated = time.perf_counter() - started
    window = allocation.Window(0.0, args.days * DAY)
    runs = [
        timed(book, prices_, window, aggregate, share, args.repeat)
        for aggregate in AGGREGATIONS
        for share in (False, True)
    ]
    return {
        "machine": {
            **sim_report.machine(),
            "revision": sim_report.revision(ROOT, "src/k8s4ai/finops"),
        },
        "settings": {
            "intervals": args.intervals, "days": args.days, "seed": args.seed,
            "repeat": args.repeat, "labels": LABELS,
            "asset_units": dict(zip(map(str, RATES), book.assets.amount.tolist(), strict=True)),
        },
        "generate_seconds": generated,
        "runs": runs,
    }


def markdown(results: dict[str, Any]) -> str:
    s = results["settings"]
    rows = [
        f"| {r['aggregate']} | {'shared' if r['share_idle'] else 'own line'} | {r['lines']:,} "
        f"| {r['total']} | {r['idle'] if not r['share_idle'] else '—'} "
        f"| {r['wall_seconds']:.2f} | {r['cpu_seconds']:.2f} |"
        for r in results["runs"]
    ]
    return "\n".join([
        "# FinOps allocation speed",
        "",
        f"{s['intervals']:,} allocation intervals over {s['days']} days (seed {s['seed']}), "
        "aggregated over the whole month; fastest of "
        f"{s['repeat']} runs (target: under 5 s). Generating the ledger took "
        f"{results['generate_seconds']:.1f} s (not included).",
        "",
        sim_report.machine_line(results["machine"]),
        "",
        f"Command: `{results['machine']['command']}` at revision "
        f"{results['machine']['revision']}.",
        "",
        "| aggregate | idle | lines | total | idle cost | wall s | CPU s |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intervals", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "finops.json").write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results)
    (args.out / "finops.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
