"""Benchmark: placement throughput of every registered policy on a 10,000-node cluster.

The cluster resamples the node shapes (CPU, memory, GPU count and model) of the openb node
list when the trace is there, else the fixed openb-like mix of `k8s4ai.traces.synthetic`; pods
come from the default openb pod list, else that module's pod mix. Pods arrive as in the FGD
experiment (`k8s4ai.backends.sim.fragmentation`, seed 42) until about `--attempts` placement
attempts or 130 % of the cluster's GPUs requested, whichever comes first; runs are one at a
time so each has the machine to itself.

Writes `placement_scale.json` and `placement_scale.md` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai.backends.sim import fragmentation, report, sweep
from k8s4ai.scheduler import pods, registry, snapshot
from k8s4ai.traces import csvrows, openb
from k8s4ai.traces import synthetic as traces

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces" / "alibaba-gpu-v2023"
NODE_LIST = "openb_node_list_gpu_node.csv"
POD_LIST = "openb_pod_list_default.csv"
CLUSTER_SEED = 0


def inputs(
    folder: Path, size: int, attempts: int
) -> tuple[list[snapshot.NodeSpec], list[pods.PodRequest], str]:
    """The cluster, the workload (at most `attempts` pods, so the run can stop there), and
    where their shapes came from."""
    rng = np.random.default_rng(CLUSTER_SEED)
    node_file, pod_file = folder / NODE_LIST, folder / POD_LIST
    template = openb.load_nodes(node_file) if node_file.is_file() else None
    nodes = traces.nodes(size, rng, template)
    if pod_file.is_file():
        workload = openb.load_pods(pod_file)
        if len(workload) > attempts:
            workload = [workload[i] for i in sorted(rng.choice(len(workload), attempts, False))]
    else:
        workload = traces.pod_list(min(attempts, 2000), rng)
    source = (
        f"nodes resampled from `{node_file.name}`"
        if template
        else "nodes from the built-in openb-like mix"
    ) + (f", pods from `{pod_file.name}`" if pod_file.is_file() else ", built-in pod mix")
    return nodes, workload, source


def tune_for(workload: list[pods.PodRequest], capacity_milli: int, attempts: int) -> float:
    """The arrival target that stops near `attempts` pods: the whole workload arrives first,
    then random repeats until the GPU requested reaches tune × capacity (capped at 1.3)."""
    per_pod = statistics.fmean(p.gpu_request_milli for p in workload)
    return min(fragmentation.MAX_ARRIVED_PERCENT / 100, attempts * per_pod / capacity_milli)


def show(progress: sweep.Progress) -> None:
    if progress.result is not None:
        run = progress.result.run
        print(
            f"[{progress.finished}/{progress.total}] {run.policy}: {run.pods:,} attempts in "
            f"{run.seconds:.1f}s = {run.placements_per_second:,.0f}/s",
            file=sys.stderr,
            flush=True,
        )


def markdown(document: dict[str, Any]) -> str:
    m, s = document["machine"], document["settings"]
    lines = [
        f"# Placement throughput on a {s['nodes']:,}-node cluster",
        "",
        report.machine_line(m),
        "",
        f"Command: `{m['command']}`",
        "",
        f"Cluster: {s['nodes']:,} nodes, {s['gpus']:,} GPUs ({s['source']}); workload of "
        f"{s['workload_pods']:,} pods; seed {s['seed']}; arrivals up to {s['tune']:.3f} × the "
        f"cluster's GPUs, i.e. about {s['attempts']:,} placement attempts per policy. One run "
        "at a time. Placements/s counts attempts, failed ones included.",
        "",
        "| policy | attempts | placed | failed | arrived % | allocation % | seconds | "
        "placements/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in document["results"]:
        lines.append(
            f"| {r['policy']} | {r['attempts']:,} | {r['placed']:,} | {r['failed']:,} | "
            f"{r['arrived_percent']} | {r['final_allocation']:.2f} | {r['seconds']:.2f} | "
            f"{r['placements_per_second']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=Path, default=TRACES, help="openb trace folder")
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--policies", default=sweep.ALL, help="comma-separated [default: all]")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--quick", action="store_true", help="a tiny run: 300 nodes, 500 pods")
    args = parser.parse_args(argv)
    if args.quick:
        args.nodes, args.attempts = 300, 500
    try:
        policies = sweep.parse_policies(args.policies)
    except registry.UnknownPolicyError as err:
        sys.exit(f"error: {err}")
    try:
        nodes, workload, source = inputs(args.traces, args.nodes, args.attempts)
    except csvrows.TraceError as err:
        sys.exit(f"error: {err}")
    capacity = sum(n.gpus for n in nodes) * pods.MILLI
    tune = tune_for(workload, capacity, args.attempts)
    cluster = sweep.Workload("scale", tuple(nodes), tuple(workload))
    jobs = sweep.plan([cluster.name], policies, [args.seed], tune)
    results = sweep.run_many([cluster], jobs, workers=1, on_progress=show)

    document = {
        "machine": report.machine(),
        "settings": {
            "nodes": len(nodes),
            "gpus": capacity // pods.MILLI,
            "source": source,
            "workload_pods": len(workload),
            "seed": args.seed,
            "tune": tune,
            "attempts": args.attempts,
        },
        "results": [
            {
                "policy": r.run.policy,
                "attempts": r.run.pods,
                "placed": r.run.placed,
                "failed": r.run.failed,
                "arrived_percent": max(r.run.curve),
                "final_allocation": r.run.final_allocation,
                "seconds": round(r.run.seconds, 3),
                "placements_per_second": round(r.run.placements_per_second, 1),
            }
            for r in results
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "placement_scale.json").write_text(json.dumps(document, indent=1) + "\n")
    text = markdown(document)
    (args.out / "placement_scale.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
