"""Benchmark: every shared job trace under every admission policy (issue 4, "Done when").

Each trace of the catalog whose file is in the traces folder (`k8s4ai.traces.catalog`:
Philly, ITP 01–05, Crux, Pollux 1–8 and realistic 1–8) is replayed by
`k8s4ai.backends.sim.jobs` under every policy of `policies.POLICIES`, on a cluster sized
for an offered load of `--load`, runs spread over `--workers` processes. Metrics
(`job_metrics`): average and p99 JCT and queueing delay, GPU utilisation, GPU-hours held idle
by partly started jobs, preemptions and lost work, fairness (per-queue received / entitled,
Jain's index), and the ratios the issue's targets are stated in.

Writes `jobs.json` (settings, every metric, timings), `jobs.md` (tables), `jobs_jct_cdf.png`
and `jobs_vs_srpt.png` to `--out`. Nothing here is tuned: it reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from k8s4ai.backends.sim import job_metrics, job_report, job_sweep, report
from k8s4ai.backends.sim import jobs as replay
from k8s4ai.cli import job_traces
from k8s4ai.scheduler.admission import policies
from k8s4ai.traces import catalog, csvrows

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"


def show(progress: job_sweep.Progress) -> None:
    done = progress.done
    if done is None:
        return
    print(
        f"[{progress.finished}/{progress.total}] {done.run.scenario} {done.run.policy}: "
        f"{done.state} in {done.wall_seconds:,.1f}s ({done.cpu_seconds:,.1f}s CPU)",
        file=sys.stderr,
        flush=True,
    )


def markdown(
    table: job_report.Table,
    settings: dict[str, dict[str, Any]],
    done: list[job_sweep.Done],
    args: argparse.Namespace,
    m: dict[str, Any],
) -> str:
    abandoned = [d for d in done if d.result is None]
    lines = [
        "# Job admission on the shared traces",
        "",
        report.machine_line(m),
        "",
        f"Command: `{m['command']}` at revision {m['revision']}.",
        "",
        f"Every trace × every policy; clusters of 8-GPU nodes sized for an offered load of "
        f"{args.load:g} (never smaller than the largest job); seed {args.seed}; checkpointing: "
        f"write {args.checkpoint_write:g} s, restore {args.checkpoint_restore:g} s, periodic "
        f"every {args.checkpoint_interval:g} s, a victim saves on notice. "
        f"{args.workers} worker processes"
        + (
            f"; replays abandoned after {args.time_limit:g} CPU seconds."
            if args.time_limit
            else "."
        )
        + " How traces become jobs, queues and clusters: `docs/jobs.md`.",
        "",
        "## Traces",
        "",
        "| trace | jobs | arrival span h | GPU-h asked | largest job | nodes × 8 | offered load "
        "| real size | queues | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in settings.items():
        lines.append(
            f"| {name} | {s['jobs']:,} | {s['arrival_span_hours']:,.1f} | "
            f"{s['gpu_hours_asked']:,.0f} | {s['largest_job_gpus']} | {s['nodes']} | "
            f"{100 * s['offered_load']:.1f}% | {s['real_size']} | {len(s['queues'])} | "
            f"{'; '.join(s['notes']) or '–'} |"
        )
    lines += [
        "",
        "## Against the issue's targets",
        "",
        "Per trace: ratios of average JCT (and of p99 queueing delay) between policies, "
        "✓ where the issue's target holds. The k8s4ai policy does not know durations; "
        "`sjf` and `srpt` are oracles that do.",
        "",
        *job_report.ratios_table(table),
        "",
        "## Every run",
        "",
        "Times in hours. *util %*: GPU-time held / (cluster GPUs × first submission to last "
        "completion); *(arrivals)*: over first to last submission. *idle GPU-h*: held by "
        "partly started jobs (pod-by-pod). *Jain*: over the queues' received / entitled "
        "GPU-time (multi-queue traces only). *replay s*: wall time of the replay alone.",
        "",
        *job_report.metrics_table(table),
        "",
    ]
    fairness = job_report.shares_table(table)
    if fairness:
        lines += [
            "## Fairness per queue",
            "",
            "Each queue's GPU-hours received against its entitlement (weighted max-min fair "
            "share of the cluster by quota weight, capped by its demand at each instant).",
            "",
            *fairness,
            "",
        ]
    if abandoned:
        lines += ["## Replays without results", ""]
        lines += [
            f"- {d.run.scenario} {d.run.policy}: {d.state}, after {d.cpu_seconds:,.0f} CPU s; "
            "no metrics."
            for d in abandoned
        ]
        lines.append("")
    lines += [
        "## Time per replay",
        "",
        "Seconds of CPU (wall in brackets) per replay, including the admission cycles and the "
        "event kernel; the two differ when other work shares the machine.",
        "",
        "| trace | " + " | ".join(args.policy_names) + " |",
        "|---|" + "---|" * len(args.policy_names),
    ]
    seconds = {(d.run.scenario, d.run.policy): d for d in done}
    for name in settings:
        cells = []
        for p in args.policy_names:
            d = seconds.get((name, p))
            cells.append(
                "–"
                if d is None
                else f"{d.cpu_seconds:,.1f} ({d.wall_seconds:,.1f})"
                + ("" if d.result is not None else " failed" if d.error else " stopped")
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=Path, default=TRACES, help="shared traces folder")
    parser.add_argument(
        "--only", default=None, help="comma-separated trace names (windows allowed) [all]"
    )
    parser.add_argument("--policies", default=None, help="comma-separated [default: all]")
    parser.add_argument(
        "--philly",
        default=job_traces.BENCH_PHILLY,
        help="what the name `philly` replays, e.g. `philly` for the whole trace "
        f"[default: {job_traces.BENCH_PHILLY}]",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--load", type=float, default=catalog.DEFAULT_LOAD)
    parser.add_argument("--checkpoint-write", type=float, default=60.0)
    parser.add_argument("--checkpoint-restore", type=float, default=60.0)
    parser.add_argument("--checkpoint-interval", type=float, default=1800.0)
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="abandon a replay after this many CPU seconds",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)

    try:
        args.policy_names = list(
            policies.POLICIES
            if args.policies in (None, "all")
            else [policies.get(p.strip()).name for p in args.policies.split(",") if p.strip()]
        )
    except policies.UnknownPolicyError as err:
        sys.exit(f"error: {err}")
    names = job_traces.bench_traces(args.traces, args.only, args.philly)
    if not names:
        sys.exit(
            f"error: no shared job traces in {args.traces} (known: {', '.join(catalog.SHARED)})"
        )

    scenarios: list[job_sweep.Scenario] = []
    settings: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            trace = catalog.load(name, args.traces, args.seed)
            sizing = catalog.size(trace.jobs, args.load)
        except (catalog.UnknownTraceError, catalog.MissingTraceError) as err:
            sys.exit(f"error: {err.args[0]}")
        except (csvrows.TraceError, ValueError) as err:
            sys.exit(f"error: {err}")
        scenario = job_traces.scenario(trace, sizing)
        scenarios.append(scenario)
        settings[trace.name] = job_traces.describe(trace, sizing, scenario.queues)

    ckpt = job_traces.checkpointing(
        args.checkpoint_write, args.checkpoint_restore, args.checkpoint_interval
    )
    # Largest traces first, so the long runs do not end up alone at the end.
    order = sorted(scenarios, key=lambda s: -len(s.jobs))
    runs = [
        job_sweep.Run(s.name, p, args.seed, ckpt, args.time_limit)
        for s in order
        for p in args.policy_names
    ]
    print(
        f"{len(runs)} replays: {len(scenarios)} traces × {len(args.policy_names)} policies on "
        f"{args.workers} workers",
        file=sys.stderr,
        flush=True,
    )
    done = job_sweep.run_many(scenarios, runs, args.workers, show)
    by_run = {(d.run.scenario, d.run.policy): d for d in done}
    done = [by_run[(s.name, p)] for s in scenarios for p in args.policy_names]

    weights = {s.name: {q.name: q.weight for q in s.queues} for s in scenarios}
    table = {
        (d.run.scenario, d.run.policy): job_metrics.summarise(d.result, weights[d.run.scenario])
        for d in done
        if d.result is not None
    }
    m = {**report.machine(), "revision": report.revision(ROOT)}
    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": m,
        "settings": {
            "traces_root": str(args.traces),
            "load": args.load,
            "seed": args.seed,
            "policies": args.policy_names,
            "workers": args.workers,
            "time_limit": args.time_limit,
            "checkpointing": {
                "write": ckpt.write,
                "restore": ckpt.restore,
                "interval": ckpt.interval,
                "before_preemption": ckpt.before_preemption,
                "grace": ckpt.grace,
            },
            "traces": settings,
        },
        "results": [job_report.record(t, metrics) for (t, _), metrics in table.items()],
        "ratios": {name: job_report.ratios_record(table, name) for name in settings},
        "runs": [
            {
                "trace": d.run.scenario,
                "policy": d.run.policy,
                "wall_seconds": round(d.wall_seconds, 3),
                "cpu_seconds": round(d.cpu_seconds, 3),
                "completed": d.completed,
                "jobs": d.total,
                "abandoned": d.result is None and d.error is None,
                "error": d.error,
            }
            for d in done
        ],
    }
    (args.out / "jobs.json").write_text(json.dumps(document, indent=1) + "\n")
    text = markdown(table, settings, done, args, m)
    (args.out / "jobs.md").write_text(text)
    results: dict[str, list[replay.ReplayResult]] = {}
    for d in done:
        if d.result is not None:
            results.setdefault(d.run.scenario, []).append(d.result)
    job_report.plot_jct_cdf(args.out / "jobs_jct_cdf.png", results, "Job completion time CDF")
    job_report.plot_vs_srpt(
        args.out / "jobs_vs_srpt.png", table, "Average JCT over SRPT's (oracle), per trace"
    )
    print(text)
    missing = [d for d in done if d.result is None]
    if missing:
        print(f"{len(missing)} replays without results (see jobs.md)", file=sys.stderr)


if __name__ == "__main__":
    main()
