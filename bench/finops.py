"""Benchmark: cost allocation speed over 10 million intervals, and a simulated month's bill.

Part 1 (`--part 1`) of the FinOps benchmark (issue 8): aggregation speed on a generated
ledger. Part 2 (`--part 2`): a month of a cluster replayed from a shared job trace, costed per
team, experiment and model with its idle cost, and its findings. Both by default; a part run
alone keeps the other's results already in `--out`.

Part 1.

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
report is checked to add up to the bill to the cent.

Part 2. `--trace` (default `philly@30-60`: days 30 to 60 of Philly, whose virtual clusters are
the teams; read through `k8s4ai.traces.catalog` from `--traces`, and `synthetic-philly` when
that folder does not have it) is replayed by the k8s4ai policy on a cluster of 8×H100 nodes
sized for an offered load of 0.8 (`catalog.size`), with the job benchmark's checkpointing.
Each run that held a job's GPUs (`JobOutcome.held`) becomes allocation intervals of H100s
($2.99/h), 16 CPU cores and 128 GiB per GPU; the nodes (128 cores, 1 TiB each) are the assets
for the month. Labels: `team` is the job's queue (a trace with one queue: one of 8 teams,
drawn per job); a team's jobs, in submission order, form experiments of geometric size (mean
20 jobs: a sweep is consecutive submissions), each training one of the team's 5 models, drawn
per experiment. Each experiment writes to a volume of 100 GB per GPU of its largest job,
mounted from its first job's start to its last job's end and then deleted, except for 30 %
(drawn) left behind to the month's end: the orphaned volumes findings should catch. GPU
activity samples (hourly, the last day) give each job a peak activity drawn from a mix: 85 %
busy (60–98 %), 10 % input-bound (15–50 %), 5 % hung (0–3 %); each hourly sample is that
peak times a level drawn in 0.3–1 (1 at noon), and memory used the same share of its GPUs'
80 GB. The trace has no serving, no checkpoint listing and no storage reads, so endpoint,
checkpoint-bloat and cold-storage findings do not arise here (`tests/finops/test_findings.py`
covers them). The cluster starts the month empty (the trace window's first jobs arrive at
day 0). Every random draw is seeded by `--seed`.

Writes `finops.json` and `finops.md` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai import api, testing
from k8s4ai.backends.sim import jobs as replay
from k8s4ai.backends.sim import report as sim_report
from k8s4ai.cli import job_traces
from k8s4ai.finops import allocation, findings, ledger, money, pricing, utilisation
from k8s4ai.scheduler.admission import policies
from k8s4ai.traces import catalog

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
MONTH_TRACE = "philly@30-60"
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


FIXED_PRICES = (
    pricing.PriceBook()
    .with_price(H100, 2.99)
    .with_price(CPU, 0.0316)
    .with_price(MEMORY, 0.0042)
    .with_price(SSD, pricing.storage_hourly(0.10))
)
"""Both parts' prices but for the spot A100's walk (part 1 only)."""


def prices(days: int, rng: np.random.Generator) -> pricing.PriceBook:
    book = FIXED_PRICES
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


def speed_markdown(results: dict[str, Any]) -> str:
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


# Part 2: a simulated month.

MONTH_DAYS = 30
GPUS_PER_NODE = 8
NODE_CPU, NODE_MEMORY = 128, 1024
CPU_PER_GPU, MEMORY_PER_GPU = 16, 128
SINGLE_QUEUE_TEAMS = 8
EXPERIMENT_JOBS = 20
MODELS_PER_TEAM = 5
VOLUME_GB_PER_GPU = 100
LEFT_BEHIND = 0.3
ACTIVITY_MIX = ((0.85, 0.60, 0.98), (0.10, 0.15, 0.50), (0.05, 0.0, 0.03))
"""(share of jobs, lowest, highest peak engine activity)."""
MIG = [
    {"name": "1g.10gb", "computeSlices": 1, "vram": "10Gi", "maxPerGpu": 7},
    {"name": "3g.40gb", "computeSlices": 3, "vram": "40Gi", "maxPerGpu": 2},
    {"name": "7g.80gb", "computeSlices": 7, "vram": "80Gi", "maxPerGpu": 1},
]
TOP = 10


def month_trace(spec: str, root: Path, seed: int, synthetic: int) -> tuple[catalog.Trace, str]:
    """The trace, or `synthetic-philly` when the shared traces are not here (and why)."""
    try:
        return catalog.load(spec, catalog.find_root([root]), seed, synthetic), ""
    except catalog.MissingTraceError as err:
        return catalog.load("synthetic-philly", None, seed, synthetic), str(err)


def job_labels(
    outcomes: tuple[replay.JobOutcome, ...], queues: int, rng: np.random.Generator
) -> dict[str, dict[str, str]]:
    """team, experiment and model of every job (see the module's docstring)."""
    teams = {
        o.name: o.queue if queues > 1 else f"team-{rng.integers(SINGLE_QUEUE_TEAMS)}"
        for o in outcomes
    }
    labels: dict[str, dict[str, str]] = {}
    experiment: dict[str, tuple[str, str]] = {}
    count: dict[str, int] = {}
    for o in sorted(outcomes, key=lambda o: (o.submit, o.name)):
        team = teams[o.name]
        if team not in experiment or rng.random() < 1 / EXPERIMENT_JOBS:
            count[team] = count.get(team, 0) + 1
            model = f"{team}/model-{rng.integers(MODELS_PER_TEAM)}"
            experiment[team] = (f"{team}/exp-{count[team]}", model)
        name, model = experiment[team]
        labels[o.name] = {"team": team, "experiment": name, "model": model, "job": o.name}
    return labels


def month_ledger(
    result: replay.ReplayResult, labels: dict[str, dict[str, str]], rng: np.random.Generator
) -> tuple[ledger.Ledger, utilisation.Samples]:
    month = MONTH_DAYS * DAY
    held = ledger.IntervalsBuilder()
    samples = utilisation.SamplesBuilder()
    last_day = month - DAY
    shares = [m[0] for m in ACTIVITY_MIX]
    spans: dict[str, tuple[float, float, int, dict[str, str]]] = {}
    rows = 0
    for o in result.outcomes:
        tags = labels[o.name]
        mix = ACTIVITY_MIX[rng.choice(len(ACTIVITY_MIX), p=shares)]
        peak = float(rng.uniform(mix[1], mix[2]))
        for start, end in o.held:
            if start <= last_day and end >= month:
                for hour in range(24):
                    level = 1.0 if hour == 12 else float(rng.uniform(0.3, 1.0))
                    samples.add(rows, last_day + hour * 3600.0, peak * level,
                                o.gpus * 80 * peak * level)
            held.add(start, end, H100, o.gpus, tags)
            held.add(start, end, CPU, o.gpus * CPU_PER_GPU, tags)
            held.add(start, end, MEMORY, o.gpus * MEMORY_PER_GPU, tags)
            rows += 3
        first, last, gpus, _ = spans.get(tags["experiment"], (math.inf, -math.inf, 0, tags))
        spans[tags["experiment"]] = (
            min(first, o.held[0][0]), max(last, o.finish), max(gpus, o.gpus), tags
        )
    nodes = result.cluster.nodes
    assets = (
        ledger.IntervalsBuilder()
        .add(0, month, H100, nodes * GPUS_PER_NODE)
        .add(0, month, CPU, nodes * NODE_CPU)
        .add(0, month, MEMORY, nodes * NODE_MEMORY)
    )
    for name, (first, last, gpus, tags) in sorted(spans.items()):
        volume = {k: v for k, v in tags.items() if k != "job"} | {"volume": name}
        size = VOLUME_GB_PER_GPU * gpus
        kept = max(last, month) if rng.random() < LEFT_BEHIND else last
        assets.add(first, kept, SSD, size, volume)
        held.add(first, last, SSD, size, volume)
    return ledger.Ledger(held.build(), assets.build()), samples.build()


def lines(report: allocation.Report, top: int | None = None) -> dict[str, Any]:
    ranked = [line for line in report.lines if line.key[0] != allocation.IDLE]
    shown = ranked if top is None else ranked[:top]
    return {
        "lines": [
            {
                "key": "/".join(line.key),
                "gpu": money.format_cents(line.cost(pricing.ResourceKind.GPU)),
                "total": money.format_cents(line.total),
            }
            for line in shown
        ],
        "count": len(ranked),
        "idle": money.format_cents(report.idle.total if report.idle else 0),
        "total": money.format_cents(report.total),
    }


def run_month(args: argparse.Namespace) -> dict[str, Any]:
    trace, missing = month_trace(args.trace, args.traces, args.seed, args.synthetic_jobs)
    sizing = catalog.size(trace.jobs)
    scenario = job_traces.scenario(trace, sizing)
    started = time.perf_counter()
    result = replay.replay(
        scenario.jobs, scenario.cluster, scenario.queues, policies.get("k8s4ai"), args.seed,
        job_traces.checkpointing(60, 60, 1800),
    )
    replayed = time.perf_counter() - started
    rng = np.random.default_rng(args.seed)
    labels = job_labels(result.outcomes, len(scenario.queues), rng)
    started = time.perf_counter()
    book, samples = month_ledger(result, labels, rng)
    built = time.perf_counter() - started
    month = allocation.Window(0.0, MONTH_DAYS * DAY)
    started = time.perf_counter()
    reports = {
        "team": lines(allocation.allocate(book, FIXED_PRICES, month, ("team",))),
        "team_shared_idle": lines(
            allocation.allocate(book, FIXED_PRICES, month, ("team",), share_idle=True)
        ),
        "experiment": lines(allocation.allocate(book, FIXED_PRICES, month, ("experiment",)), TOP),
        "model": lines(allocation.allocate(book, FIXED_PRICES, month, ("model",)), TOP),
    }
    costed = time.perf_counter() - started
    h100 = api.AcceleratorClass.model_validate(
        testing.accelerator_class("h100", mig=MIG, pricePerHour=2.99)
    )
    started = time.perf_counter()
    found = findings.find(
        findings.Scene(
            book, FIXED_PRICES, allocation.Window(month.end - DAY, month.end), samples,
            {"h100": h100},
        )
    )
    searched = time.perf_counter() - started
    kinds: dict[str, dict[str, Any]] = {}
    for f in found:
        kind = kinds.setdefault(f"{f.kind.value} ({f.action.value})", {"count": 0, "cents": 0})
        kind["count"] += 1
        kind["cents"] += f.monthly_savings
    return {
        "machine": {**sim_report.machine(), "revision": sim_report.revision(ROOT, "src/k8s4ai")},
        "trace": job_traces.describe(trace, sizing, scenario.queues),
        "fell_back": missing,
        "jobs_finished": len(result.outcomes),
        "unfinished": len(result.unfinished),
        "skipped": len(result.skipped),
        "preemptions": sum(o.preemptions for o in result.outcomes),
        "allocation_intervals": len(book.allocations),
        "samples": len(samples),
        "seconds": {"replay": replayed, "ledger": built, "reports": costed, "findings": searched},
        "reports": reports,
        "findings": {
            "kinds": {k: {"count": v["count"], "monthly": money.format_cents(v["cents"])}
                      for k, v in sorted(kinds.items())},
            "monthly": money.format_cents(sum(f.monthly_savings for f in found)),
            "top": [
                {"kind": f.kind.value, "subject": f.subject, "action": f.action.value,
                 "monthly": money.format_cents(f.monthly_savings), "reason": f.reason}
                for f in found[:TOP]
            ],
        },
    }


def month_markdown(m: dict[str, Any]) -> str:
    t = m["trace"]
    r = m["reports"]

    def table(name: str, report: dict[str, Any], what: str) -> list[str]:
        shown = report["lines"]
        title = f"### {what}" + (
            f" (the {len(shown)} costliest of {report['count']:,})"
            if len(shown) < report["count"] else ""
        )
        return [
            title, "",
            f"| {name} | GPU | total |", "|---|---:|---:|",
            *[f"| {line['key']} | {line['gpu']} | {line['total']} |" for line in shown],
            f"| idle (own line) | | {report['idle']} |",
            f"| **bill** | | **{report['total']}** |", "",
        ]

    shared = {line["key"]: line["total"] for line in r["team_shared_idle"]["lines"]}
    teams = [
        f"| {line['key']} | {line['total']} | {shared.get(line['key'], '—')} |"
        for line in r["team"]["lines"]
    ]
    fell = f" The shared traces were not found ({m['fell_back']}): synthetic data." if m[
        "fell_back"] else ""
    s = m["seconds"]
    f = m["findings"]
    return "\n".join([
        "## A simulated month (part 2)", "",
        f"Trace `{t['trace']}` ({t['source']}): {t['jobs']:,} jobs over "
        f"{t['arrival_span_hours']:,} h, {t['gpu_hours_asked']:,} GPU-h asked, on "
        f"{t['nodes']} nodes × {t['gpus_per_node']} H100 (offered load "
        f"{t['offered_load']:.0%}), replayed by the k8s4ai policy: {m['jobs_finished']:,} "
        f"finished, {m['preemptions']:,} preemptions. Costed over days 0–30: "
        f"{m['allocation_intervals']:,} allocation intervals. How labels, volumes and "
        f"activity are assigned: `bench/finops.py`'s docstring.{fell}", "",
        sim_report.machine_line(m["machine"]), "",
        f"Command: `{m['machine']['command']}` at revision {m['machine']['revision']}. "
        f"Replay {s['replay']:.1f} s, ledger {s['ledger']:.1f} s, four reports "
        f"{s['reports']:.2f} s, findings {s['findings']:.2f} s.", "",
        "### Teams", "",
        "| team | total (idle own line) | total (idle shared) |", "|---|---:|---:|",
        *teams,
        f"| idle | {r['team']['idle']} | — |",
        f"| **bill** | **{r['team']['total']}** | **{r['team_shared_idle']['total']}** |", "",
        *table("experiment", r["experiment"], "Experiments"),
        *table("model", r["model"], "Models"),
        "### Findings", "",
        f"Monthly savings if every finding were acted on: {f['monthly']} (window: the last "
        "day; prices at its end).", "",
        "| finding (action) | count | monthly savings |", "|---|---:|---:|",
        *[f"| {k} | {v['count']:,} | {v['monthly']} |" for k, v in f["kinds"].items()], "",
        "| finding | subject | action | monthly | why |", "|---|---|---|---:|---|",
        *[f"| {x['kind']} | {x['subject']} | {x['action']} | {x['monthly']} | {x['reason']} |"
          for x in f["top"]], "",
    ])


def markdown(results: dict[str, Any]) -> str:
    parts = []
    if "runs" in results:
        parts.append(speed_markdown(results))
    if "month" in results:
        parts.append(month_markdown(results["month"]))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("1", "2", "all"), default="all")
    parser.add_argument("--intervals", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trace", default=MONTH_TRACE)
    parser.add_argument("--traces", type=Path, default=TRACES)
    parser.add_argument("--synthetic-jobs", type=int, default=catalog.SYNTHETIC_JOBS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    existing = args.out / "finops.json"
    results: dict[str, Any] = json.loads(existing.read_text()) if existing.is_file() else {}
    if args.part in ("1", "all"):
        results = {**run(args), **({"month": results["month"]} if "month" in results else {})}
    if args.part in ("2", "all"):
        results["month"] = run_month(args)
    args.out.mkdir(parents=True, exist_ok=True)
    existing.write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results)
    (args.out / "finops.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
