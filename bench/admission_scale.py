"""Benchmark: admission decisions per second on a 5,000-node cluster with 100 queues and
50,000 pending jobs, under the default admission policy.

Cluster: `--nodes` identical nodes of 8 H100 (128 cores, 1 TiB). Queues: `--queues` queues
in `--cohorts` cohorts of equal size; each queue's nominal GPU quota is drawn at random
(lognormal, rounded to 8 GPUs) and scaled so all nominals sum to the cluster's GPUs;
borrowing is unlimited, and every third queue lends only half its nominal (the rest is
guaranteed). Jobs: GPU counts and durations from the built-in job generator
(`k8s4ai.traces.synthetic_jobs`, profile `--profile`); a job of N GPUs is a gang of ⌈N/8⌉ pods
of at most 8 GPUs, 4 cores and 64 GiB per GPU; its queue is drawn with probability
proportional to nominal quota × a lognormal factor (so some queues want more than their
share and others less, and borrowing happens), and 5 % of jobs have priority 1.

Phases:
1. first cycle: all `--jobs` jobs, submitted over the day before t=0 (the generator's
   arrival pattern squeezed into it), pending on an empty cluster; one cycle at t=0;
2. steady state, `--rounds` times: the clock advances `--step` seconds, running jobs whose
   work (the generator's duration) is done complete, as many new jobs as completed (at least
   `--arrivals`) are submitted during the step, and one cycle runs.

A decision is a job the cycle considered: admitted (possibly by preempting) or given a
reason. Decisions/s is decisions over the cycles' process CPU time (wall time is recorded
too: on a shared machine it is longer); only `Scheduler.cycle` is timed.

Writes `admission_scale.json` and `admission_scale.md` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai.backends.sim import report
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import cycle, policies, quota, workload
from k8s4ai.traces import jobs as job_traces
from k8s4ai.traces import synthetic_jobs

ROOT = Path(__file__).resolve().parents[1]
GPUS_PER_NODE = 8
NODE_CPU_MILLI = 128_000
NODE_MEMORY_MIB = 1_048_576
CPU_PER_GPU_MILLI = 4_000
MEMORY_PER_GPU_MIB = 65_536
HIGH_PRIORITY_SHARE = 0.05
DAY = 86_400.0


def cluster(count: int) -> list[snapshot.NodeSpec]:
    return [
        snapshot.NodeSpec(f"node-{i:05d}", NODE_CPU_MILLI, NODE_MEMORY_MIB, GPUS_PER_NODE, "h100")
        for i in range(count)
    ]


def queues(count: int, cohorts: int, gpus: int, rng: np.random.Generator) -> list[quota.QueueQuota]:
    """Nominal GPU quotas that sum to `gpus` (multiples of 8 but for the last queue)."""
    raw = rng.lognormal(0.0, 0.5, count)
    nominal = np.floor(raw / raw.sum() * gpus / GPUS_PER_NODE) * GPUS_PER_NODE
    nominal[-1] += gpus - nominal.sum()
    out = []
    for i, n in enumerate(nominal.tolist()):
        lending = n / 2 if i % 3 == 2 else None
        out.append(
            quota.QueueQuota(
                f"q{i:03d}",
                f"cohort-{i % cohorts}",
                limits={("gpu", None): quota.Limits(n, None, lending)},
            )
        )
    return out


def gang(name: str, gpus: int) -> tuple[pods.PodRequest, ...]:
    count = math.ceil(gpus / GPUS_PER_NODE)
    sizes = [GPUS_PER_NODE] * (count - 1) + [gpus - GPUS_PER_NODE * (count - 1)]
    return tuple(
        pods.PodRequest(f"{name}-{i}", CPU_PER_GPU_MILLI * n, MEMORY_PER_GPU_MIB * n, n, pods.MILLI)
        for i, n in enumerate(sizes)
    )


class Workloads:
    """Jobs from the generator, given queues and priorities, in submission order."""

    def __init__(
        self, profile: str, qs: Sequence[quota.QueueQuota], rng: np.random.Generator
    ) -> None:
        self.profile = profile
        self.rng = rng
        self.names = [q.name for q in qs]
        nominal = np.array([q.limits[("gpu", None)].nominal for q in qs])
        demand = nominal * rng.lognormal(0.0, 1.0, len(qs))
        self.p = demand / demand.sum()
        self.made = 0
        self.offset = 0.0

    def take(
        self, count: int, start: float, end: float, max_gpus: int
    ) -> list[tuple[workload.Workload, float]]:
        """`count` jobs with the generator's arrival pattern squeezed into [start, end]."""
        records: list[job_traces.JobRecord] = []
        while len(records) < count:
            batch = synthetic_jobs.generate(self.profile, count, self.rng)
            records.extend(r for r in batch if r.gpus <= max_gpus)
        records = records[:count]
        span = (records[-1].submit_seconds if records else 0.0) or 1.0
        queue_of = self.rng.choice(len(self.names), size=count, p=self.p)
        high = self.rng.random(count) < HIGH_PRIORITY_SHARE
        out = []
        for r, q, h in zip(records, queue_of.tolist(), high.tolist(), strict=True):
            name = f"job-{self.made:06d}"
            self.made += 1
            wl = workload.Workload(
                name,
                self.names[q],
                gang(name, r.gpus),
                priority=1 if h else 0,
                submitted=start + (end - start) * r.submit_seconds / span,
            )
            out.append((wl, r.duration_seconds or 3600.0))
        return out


@dataclass(frozen=True, slots=True)
class Timed:
    result: cycle.CycleResult
    wall: float
    cpu: float
    """Process CPU time: what the cycle cost even when other work shares the machine."""


def timed_cycle(s: cycle.Scheduler, now: float) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    result = s.cycle(now)
    return Timed(result, time.perf_counter() - wall, time.process_time() - cpu)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def phase_record(name: str, cycles: Sequence[Timed]) -> dict[str, Any]:
    cpu = [c.cpu for c in cycles]
    decisions = sum(c.result.considered for c in cycles)
    return {
        "phase": name,
        "cycles": len(cycles),
        "decisions": decisions,
        "admitted": sum(len(c.result.admitted) for c in cycles),
        "preempted": sum(len(c.result.preempted) for c in cycles),
        "cpu_seconds": round(sum(cpu), 3),
        "wall_seconds": round(sum(c.wall for c in cycles), 3),
        "decisions_per_second": round(decisions / sum(cpu), 1) if sum(cpu) else None,
        "cycle_p50_seconds": round(statistics.median(cpu), 4),
        "cycle_p99_seconds": round(percentile(cpu, 0.99), 4),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    rev = report.revision(ROOT, "src/k8s4ai/scheduler")
    rng = np.random.default_rng(args.seed)
    nodes = cluster(args.nodes)
    total_gpus = args.nodes * GPUS_PER_NODE
    qs = queues(args.queues, args.cohorts, total_gpus, rng)
    policy = policies.get(args.policy)
    s = cycle.Scheduler(nodes, qs, policy, np.random.default_rng(args.seed))
    source = Workloads(args.profile, qs, rng)
    now = 0.0

    def submit(count: int, start: float) -> None:
        for wl, duration in source.take(count, start, now, total_gpus):
            s.submit(wl, work=duration)

    submit(args.jobs, -DAY)
    pending_gpus = sum(j.workload.gpus for j in s.pending.values())
    first = timed_cycle(s, now)
    after_first = s.snap.allocated_gpu_milli / s.snap.total_gpu_milli
    print(
        f"first cycle: {first.result.considered:,} decisions, {len(first.result.admitted):,} "
        f"admitted in {first.cpu:.2f}s CPU",
        file=sys.stderr,
        flush=True,
    )
    steady: list[Timed] = []
    completed = 0
    for index in range(args.rounds):
        now += args.step
        done = [j.name for j in s.running.values() if j.remaining_at(now) == 0.0]
        for name in done:
            s.finish(name, now)
        completed += len(done)
        submit(max(len(done), args.arrivals), now - args.step)
        steady.append(timed_cycle(s, now))
        r, t = steady[-1].result, steady[-1].cpu
        print(
            f"round {index + 1}/{args.rounds}: {len(done)} completed, {r.considered:,} "
            f"decisions, {len(r.admitted)} admitted, {len(r.preempted)} preempted in {t:.2f}s "
            "CPU",
            file=sys.stderr,
            flush=True,
        )
    allocated = s.snap.allocated_gpu_milli / s.snap.total_gpu_milli
    return {
        "machine": {
            **report.machine(),
            "revision": rev,
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "nodes": args.nodes,
            "gpus": total_gpus,
            "queues": args.queues,
            "cohorts": args.cohorts,
            "jobs": args.jobs,
            "pending_gpus": pending_gpus,
            "profile": args.profile,
            "policy": policy.name,
            "rounds": args.rounds,
            "step_seconds": args.step,
            "arrivals": args.arrivals,
            "seed": args.seed,
        },
        "phases": [phase_record("first cycle", [first])]
        + ([phase_record("steady state", steady)] if steady else []),
        "allocation_after_first_cycle_percent": round(100 * after_first, 2),
        "end": {
            "running": len(s.running),
            "pending": len(s.pending),
            "completed": completed,
            "allocation_percent": round(100 * allocated, 2),
            "borrowing_queues": sum(s.book.is_borrowing(q) for q in s.book.queues),
        },
    }


def markdown(document: dict[str, Any]) -> str:
    m, s, end = document["machine"], document["settings"], document["end"]
    lines = [
        f"# Admission throughput: {s['nodes']:,} nodes, {s['queues']} queues, "
        f"{s['jobs']:,} pending jobs",
        "",
        report.machine_line(m),
        "",
        f"Command: `{m['command']}` at revision {m['revision']}.",
        "",
        f"Cluster: {s['nodes']:,} nodes × 8 H100 = {s['gpus']:,} GPUs. {s['queues']} queues in "
        f"{s['cohorts']} cohorts, nominal GPU quotas summing to the cluster, borrowing "
        "unlimited, every third queue lending half its nominal. "
        f"{s['jobs']:,} jobs (asking for {s['pending_gpus']:,.0f} GPUs in all) from the "
        f"`{s['profile']}` job generator, as gangs of ≤ 8-GPU pods; 5 % at priority 1. "
        f"Policy `{s['policy']}`; seed {s['seed']}. Steady state: {s['rounds']} rounds of "
        f"{s['step_seconds']:g} s — completions, at least {s['arrivals']} arrivals, one cycle. "
        "A decision is a job a cycle admitted or gave a reason; only the cycle is timed, in "
        "process CPU seconds (wall seconds in brackets; they differ when other work shares the "
        f"machine: load average {m['load_average_before']} before the run, "
        f"{m['load_average_after']} after).",
        "",
        "| phase | cycles | decisions | admitted | preempted | CPU s (wall s) | decisions/s | "
        "cycle p50 (s) | cycle p99 (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in document["phases"]:
        lines.append(
            f"| {p['phase']} | {p['cycles']} | {p['decisions']:,} | {p['admitted']:,} | "
            f"{p['preempted']:,} | {p['cpu_seconds']:.2f} ({p['wall_seconds']:.2f}) | "
            f"{p['decisions_per_second']:,.0f} | "
            f"{p['cycle_p50_seconds']:.3f} | {p['cycle_p99_seconds']:.3f} |"
        )
    lines += [
        "",
        f"After the first cycle {document['allocation_after_first_cycle_percent']}% of GPUs "
        f"were allocated. At the end: {end['running']:,} jobs running, {end['pending']:,} pending, "
        f"{end['completed']:,} completed during the steady state; "
        f"{end['allocation_percent']}% of GPUs allocated; {end['borrowing_queues']} queues "
        "borrowing.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--cohorts", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument(
        "--profile", default="itp-cluster04", choices=sorted(synthetic_jobs.PROFILES)
    )
    parser.add_argument("--policy", default=policies.DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step", type=float, default=300.0)
    parser.add_argument("--arrivals", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run: 50 nodes, 10 queues, 500 jobs, 3 rounds"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.nodes, args.queues, args.cohorts, args.jobs = 50, 10, 2, 500
        args.rounds, args.arrivals = 3, 20
    try:
        policies.get(args.policy)
    except policies.UnknownPolicyError as err:
        sys.exit(f"error: {err}")
    document = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "admission_scale.json").write_text(json.dumps(document, indent=1) + "\n")
    text = markdown(document)
    (args.out / "admission_scale.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
