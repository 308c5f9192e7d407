"""A month of a simulated GPU cluster with injected faults, run twice on the same seed: once
with remediation in auto mode, once with a human on call who applies the same fixes after a
delay and never notices silent waste. Reports GPU-hours wasted and saved, time to recovery
per kind of incident, and wrong actions (issue 10).

The fault rates and where they come from: `k8s4ai.backends.sim.incident_faults`; the human
baseline and the exact definition of a wrong action: `k8s4ai.backends.sim.incidents`. The
training jobs come from a job trace: the shared Philly trace (a 30-day window) when the
traces folder has it, else the built-in Philly-shaped generator; `--trace` picks another
(any name `k8s4ai sim jobs` accepts). The cluster is sized for `--load` of the jobs'
GPU demand (8-GPU nodes, two zones); notebooks, retraining and the faults come on top.

Writes `remediation.json`, `remediation.md` and `remediation.png` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from k8s4ai.backends.sim import incident_faults, incidents, report
from k8s4ai.traces import catalog, csvrows, synthetic_jobs

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
PHILLY_START_DAY = 35
KINDS = {
    "oom": "OOM-killed job",
    "crash": "job crashed (transient)",
    "crash-permanent": "job crashed (bug; no fix expected)",
    "hardware": "job lost to a GPU/node failure",
    "hardware-signal": "job killed by a signal on bad hardware",
    "flaky-node": "flaky node",
    "claim": "claim that cannot bind",
    "stuck-volume": "volume stuck on a dead node",
    "idle-notebook": "idle notebook",
    "drift": "model drift",
}


def workload(spec: str | None, root: Path, days: float, seed: int) -> tuple[str, list[Any]]:
    if spec is None:
        spec = (
            f"philly@{PHILLY_START_DAY}-{PHILLY_START_DAY + days:g}"
            if "philly" in catalog.available(root)
            else "synthetic-philly"
        )
    base, _ = catalog.split_window(spec)
    count = catalog.SYNTHETIC_JOBS
    if base in catalog.SYNTHETIC:
        rate = synthetic_jobs.PROFILES[base.removeprefix("synthetic-")].rate_per_hour
        count = int(rate * 24 * days * 1.2) + 1
    trace = catalog.load(spec, root if root.is_dir() else None, seed, count)
    records = [r for r in trace.jobs if r.submit_seconds < days * catalog.DAY]
    return f"{trace.name}: {trace.source}", records


def markdown(doc: dict[str, Any], m: dict[str, Any]) -> str:
    auto, human = doc["runs"]["auto"], doc["runs"]["human"]
    s = doc["settings"]
    lines = [
        "# Remediation: a month of injected faults, with and without",
        "",
        report.machine_line(m),
        "",
        f"Command: `{doc['command']}` at revision {m['revision']}.",
        "",
        f"Workload: {s['source']}; {s['jobs']:,} training jobs over {s['days']:g} days on "
        f"{s['nodes']} nodes × 8 GPUs (sized for {s['load']:.0%} of their GPU demand), plus "
        "notebooks, two inference services and their retraining jobs; faults at the rates "
        "in `k8s4ai.backends.sim.incident_faults`, seed "
        f"{s['seed']}. *With*: every rule in auto mode, default guardrails; plans with a "
        "suspected diagnosis go to the human below, with the same delay. *Without*: a "
        "human applies the same fixes 4 h after they are proposed (24 h for drift) and "
        "never acts on idle notebooks or replicas (users close notebooks when they come "
        "back).",
        "",
        "## GPU-hours wasted",
        "",
        "| waste | without | with | saved |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("lost_work", "work lost since the last checkpoint"),
        ("idle_notebooks", "idle notebooks holding GPUs"),
        ("surplus_replicas", "replicas beyond what the load needs"),
        ("wasted", "**total**"),
    ):
        a, h = auto["gpu_hours"][key], human["gpu_hours"][key]
        lines.append(f"| {label} | {h:,.1f} | {a:,.1f} | {h - a:,.1f} |")
    lines += [
        "",
        "Work lost to failures is about the same either way: both restart jobs from their "
        "last checkpoint, and a failed job holds no GPUs while it waits. What remediation "
        "changes for failed jobs is how long they wait (below); the GPU-hours it saves are "
        "silent waste nobody is paged for. One seed; rerun with `--seed` to see the spread.",
    ]
    lines += [
        "",
        "## Time to recovery (hours from the fault to the fix in effect)",
        "",
        "| incident | count with / without | recovered with / without | mean h with | "
        "mean h without | median h with | median h without |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, label in KINDS.items():
        a = auto["incidents"].get(kind)
        h = human["incidents"].get(kind)
        if a is None and h is None:
            continue
        a = a or {"count": 0, "recovered": 0, "mean_hours": None, "median_hours": None}
        h = h or {"count": 0, "recovered": 0, "mean_hours": None, "median_hours": None}
        lines.append(
            f"| {label} | {a['count']} / {h['count']} | {a['recovered']} / {h['recovered']} "
            f"| {_h(a['mean_hours'])} | {_h(h['mean_hours'])} | {_h(a['median_hours'])} "
            f"| {_h(h['median_hours'])} |"
        )
    acts, hacts = auto["actions"], human["actions"]
    esc = auto["escalated"]
    eacts = esc["actions"]
    target = "met" if acts["wrong"] == 0 else "**not met**"

    def row(label: str, key: str) -> str:
        return f"| {label} | {acts[key]} | {eacts[key]} | {hacts[key]} |"

    def per_rule(judged: dict[str, Any]) -> str:
        return (
            ", ".join(
                f"{rule} {v.get('applied', 0)} / {v.get('wrong', 0)} / {v.get('insufficient', 0)}"
                for rule, v in judged["by_rule"].items()
            )
            or "none"
        )

    lines += [
        "",
        "## Actions",
        "",
        "| | with: taken by remediation | with: escalated and applied by a human "
        "| without (human) |",
        "|---|---|---|---|",
        row("applied", "applied"),
        row("wrong: object had no fault", "wrong_healthy_subject"),
        row("wrong: the kind of fix cannot help the true cause", "wrong_kind_of_fix"),
        row("**wrong actions** (target: zero for remediation's own)", "wrong"),
        row("insufficient step: right kind of fix, verification failed", "insufficient"),
        row("… of which a later action on the same object worked", "insufficient_fixed_later"),
        row("verification failed (wrong or insufficient)", "verify_failed"),
        f"| healthy jobs moved off a cordoned node | {acts['collateral_jobs_moved']} (both "
        f"columns) | | {hacts['collateral_jobs_moved']} |",
        f"| proposals still waiting at the end | {auto['pending_proposals']} (both columns) "
        f"| | {human['pending_proposals']} |",
        "",
        f"Wrong actions taken by remediation itself: {acts['wrong']} (target: zero — "
        f"{target}). Insufficient steps: {acts['insufficient']}. Per rule (applied / wrong / "
        f"insufficient): {per_rule(acts)}.",
        "",
        f"Auto mode acts only on a certain diagnosis. {esc['proposals']} plans had a "
        "suspected one (a job dead of a self-raised signal with trouble on its node but no "
        "hardware event at the failure itself; a node condemned only by counting such "
        "crashes) and were "
        "escalated: the same on-call human as in the run without approves them after the "
        "same delay, having only the finding the rule had "
        f"({esc['applied_by_human']} applied; {esc['not_applied']} not: still waiting at the "
        "end, withdrawn when the fault or the state moved on, or held back by a guardrail). "
        "Their outcome is the human's, judged by "
        f"the same rules: {eacts['wrong']} wrong, {eacts['insufficient']} insufficient; per "
        f"rule {per_rule(eacts)}.",
        "",
        "Each action is judged against the simulator's ground truth when it is applied "
        "(`k8s4ai.backends.sim.incidents`). **Wrong**: it should not have been taken — the "
        "object had no fault, or its kind of fix cannot help with the true cause (a restart "
        "of a job that died of a deterministic bug; a memory raise for a failure that was "
        "not memory). **Insufficient step**: the right kind of fix for a real fault whose "
        "verification failed (an OOM bump below the true need, which the next, larger bump "
        "may fix; a restart that landed on the same bad node); it is not counted as wrong, "
        "and not hidden either. A self-raised signal (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, "
        "SIGILL) is restarted only with hardware evidence on its node "
        "(`k8s4ai.remediation.rules.signals`), and by remediation itself only when a hardware "
        "event on its node coincides with the failure.",
        "",
        "Latency target breaches (share of 5-minute samples): "
        + ", ".join(
            f"{name} {v['breach_share']:.2%} with, "
            f"{human['services'][name]['breach_share']:.2%} without"
            for name, v in auto["services"].items()
        )
        + f". Jobs completed: {auto['jobs_completed']:,} with, {human['jobs_completed']:,} "
        "without.",
        "",
    ]
    return "\n".join(lines)


def _h(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def plot(path: Path, doc: dict[str, Any]) -> None:
    fig = report.new_figure(7, 3.2)
    ax = fig.add_subplot()
    keys = ("lost_work", "idle_notebooks", "surplus_replicas")
    labels = ("lost work", "idle notebooks", "surplus replicas")
    width = 0.38
    for i, (mode, label) in enumerate((("human", "without (human)"), ("auto", "with"))):
        values = [doc["runs"][mode]["gpu_hours"][k] for k in keys]
        ax.bar([x + (i - 0.5) * width for x in range(len(keys))], values, width, label=label)
    ax.set_xticks(range(len(keys)), labels)
    ax.set_ylabel("GPU-hours wasted")
    ax.set_title(f"{doc['settings']['days']:g} simulated days, same faults")
    ax.legend()
    report.save(fig, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=Path, default=TRACES, help="shared traces folder")
    parser.add_argument("--trace", default=None, help="job trace [philly window or synthetic]")
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--load", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 days instead of --days")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    days = 3.0 if args.quick else args.days
    try:
        source, records = workload(args.trace, args.traces, days, args.seed)
    except (catalog.UnknownTraceError, catalog.MissingTraceError) as err:
        sys.exit(f"error: {err.args[0]}")
    except (csvrows.TraceError, ValueError) as err:
        sys.exit(f"error: {err}")
    if not records:
        sys.exit("error: the trace has no job in the window")
    sizing = catalog.size(records, args.load)
    jobs = [
        incident_faults.Job(r.name, r.submit_seconds, r.duration_seconds or 60.0, r.gpus)
        for r in records
    ]
    runs: dict[str, Any] = {}
    for mode in ("auto", "human"):
        started = time.process_time()
        runs[mode] = incidents.run(jobs, sizing.nodes, days, args.seed, mode)
        runs[mode]["cpu_seconds"] = round(time.process_time() - started, 1)
        print(
            f"{mode}: {runs[mode]['gpu_hours']['wasted']:,.1f} GPU-hours wasted, "
            f"{runs[mode]['actions']['applied']} actions, {runs[mode]['cpu_seconds']} s",
            file=sys.stderr,
            flush=True,
        )
    m = {**report.machine(), "revision": report.revision(ROOT)}
    command = " ".join(["python", "bench/remediation.py", *(argv or sys.argv[1:])])
    doc = {
        "command": command,
        "machine": m,
        "settings": {
            "source": source,
            "jobs": len(jobs),
            "days": days,
            "nodes": sizing.nodes,
            "load": args.load,
            "seed": args.seed,
            "rates": incident_faults.Rates().__repr__(),
            "human_delays_hours": {k: v / 3600 for k, v in incidents.HUMAN_DELAYS.items()},
        },
        "runs": runs,
        "saved_gpu_hours": round(
            runs["human"]["gpu_hours"]["wasted"] - runs["auto"]["gpu_hours"]["wasted"], 1
        ),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "remediation.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (args.out / "remediation.md").write_text(markdown(doc, m), encoding="utf-8")
    plot(args.out / "remediation.png", doc)
    print(f"wrote {args.out / 'remediation.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
