"""From a catalog trace to a replay scenario: the one place job records become the
simulator's `ReplayJob`s (the backends may not read traces), shared by `k8s4ai sim jobs` and
`bench/jobs.py`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from k8s4ai.backends.sim import job_sweep, jobs
from k8s4ai.scheduler.admission import quota, workload
from k8s4ai.traces import catalog

BENCH_PHILLY = "philly@35-42"
"""What `philly` stands for in the job benchmarks: one week at 80 % of its own size, since a
whole-trace replay is two months of overload (docs/jobs.md)."""


def bench_traces(root: Path, only: str | None, philly: str) -> list[str]:
    """The shared traces present under `root`, or the ones named in `only` (comma-separated);
    the name `philly` stands for `philly`."""
    names = catalog.available(root) if only is None else [n.strip() for n in only.split(",")]
    return [philly if n == "philly" else n for n in names if n]


def replay_jobs(trace: catalog.Trace) -> tuple[jobs.ReplayJob, ...]:
    """Every job of the trace, with its queue (`catalog.load` fills in every duration)."""
    out = []
    for r in trace.jobs:
        if r.duration_seconds is None:
            raise ValueError(f"{trace.name}: job {r.name} has no duration")
        out.append(
            jobs.ReplayJob(
                r.name, r.submit_seconds, r.duration_seconds, r.gpus, r.queue or "default"
            )
        )
    return tuple(out)


def scenario(trace: catalog.Trace, sizing: catalog.Sizing) -> job_sweep.Scenario:
    cluster = jobs.Cluster(sizing.nodes, sizing.gpus_per_node)
    return job_sweep.Scenario(
        trace.name, replay_jobs(trace), cluster, tuple(catalog.queues(trace, cluster.gpus))
    )


def checkpointing(write: float, restore: float, interval: float) -> workload.Checkpointing:
    """Interval 0 means the jobs never checkpoint on their own."""
    return workload.Checkpointing(interval=interval or None, write=write, restore=restore)


def describe(
    trace: catalog.Trace, sizing: catalog.Sizing, queues: Sequence[quota.QueueQuota] = ()
) -> dict[str, Any]:
    """What a replay ran on, for JSON and for the lines printed before it."""
    gpu_hours = catalog.work(trace.jobs) / 3600
    return {
        "trace": trace.name,
        "source": trace.source,
        "cite": trace.cite,
        "notes": list(trace.notes),
        "jobs": len(trace.jobs),
        "arrival_span_hours": round(catalog.span(trace.jobs) / 3600, 3),
        "gpu_hours_asked": round(gpu_hours, 1),
        "largest_job_gpus": max((r.gpus for r in trace.jobs), default=0),
        "nodes": sizing.nodes,
        "gpus_per_node": sizing.gpus_per_node,
        "gpus": sizing.gpus,
        "target_load": sizing.target_load,
        "offered_load": round(sizing.offered_load, 4),
        "sized_by": sizing.reason,
        "real_nodes": trace.real_nodes,
        "real_size": trace.real_note,
        "cohort": trace.cohort,
        "queues": [
            {"name": q.name, "weight": q.weight, "nominal_gpus": round(lim.nominal, 3)}
            for q in queues
            for lim in q.limits.values()
        ],
    }
