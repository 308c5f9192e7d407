"""How high can GPU allocation at 130 % arrived load go on an openb pod list? A true upper
bound on every placement policy, and two estimates, per seed.

The experiment (`k8s4ai.backends.sim.fragmentation`) fixes the arrival sequence per seed; a
policy only chooses where each pod goes, and a pod that fits somewhere is always placed. That
last rule is what keeps allocation below 100 %: with admission control (free to drop pods)
the whole-GPU pods alone nearly fill the cluster and complementary fractional pods fill the
rest, so a relaxation that drops the rule bounds nothing.

**True upper bound (the "sliver" bound).** Take a fractional size s above 500 milli-GPU
(810 on the openb lists) and a class c of pods of that size (same CPU and memory, no GPU-model
constraint). Whatever the policy, let i_c be the arrival index of the first class-c pod that
fails (or "never"). Then

1. every class-c pod arriving before i_c was placed, each on its own GPU, leaving a gap of
   1000 − s that only pods of at most 1000 − s milli-GPU can fill; so the cluster ends with at
   least W = k·(1000 − s) − F free, k the number of those pods and F the total request of all
   such small pods in the whole sequence: allocation ≤ C − W;
2. at i_c no node had a GPU with s free together with class c's CPU and memory, and free
   resources only shrink, so every later pod that asks at least s per GPU and at least class
   c's CPU and memory fails: allocation ≤ the total request of all the other pods.

With two classes (c1, c2) of size s, both hold at once for the policy's (unknown) pair
(i_c1, i_c2); the bound is the maximum over all pairs of the smaller of the two right-hand
sides, and the reported bound is the smallest over the sizes s tried. CPU-only pods, node
shapes and memory only make real placement harder, so the bound holds for any policy.

**Estimate 1 (GPU-only best fit).** The same arrival sequence packed by plain best fit into
6,212 GPUs treated as one pool (no nodes, no CPU or memory, multi-GPU pods take any whole
GPUs). Not a bound: dropping constraints also changes which pods must be placed. It shows
what a simple online packer reaches when node shapes and CPU do not interfere.

**Estimate 2 (GPU-only best fit, offline order).** The fractional pods that the GPU-only
best fit placed, re-packed by best fit decreasing (largest first; near optimal for these
sizes), whole-GPU pods filling the rest: how much of the gap is online ordering.

Usage: `python bench/fragmentation_bound.py [TRACE_DIR] [--lists default,...] [--seeds 42-51]`.
Writes `fragmentation_bound.json` and `fragmentation_bound.md` to `--out`.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from k8s4ai.backends.sim import fragmentation, published, report, sweep
from k8s4ai.scheduler import pods
from k8s4ai.traces import csvrows, openb

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces" / "alibaba-gpu-v2023"
NODE_LIST = "openb_node_list_gpu_node.csv"
PAPER = Path("fgd-expected", "analysis_allo_discrete.csv")
MILLI = pods.MILLI
FloatArray = npt.NDArray[np.float64]


def _after(values: FloatArray) -> FloatArray:
    """after[i] = sum of values[j] for j > i, for i in 0..n (after[n] = 0)."""
    suffix = np.concatenate([np.cumsum(values[::-1])[::-1], [0.0]])
    return np.append(suffix[1:], 0.0)


def sliver_bound(seq: Sequence[pods.PodRequest], capacity: int, size: int) -> dict[str, Any]:
    """The true upper bound for one fractional size (see the module docstring)."""
    n = len(seq)
    milli = np.array([p.gpu_request_milli for p in seq], dtype=np.float64)
    per_gpu = np.array([p.gpu_milli for p in seq])
    cpu = np.array([p.cpu_milli for p in seq])
    mem = np.array([p.memory_mib for p in seq])
    of_size = [p.is_fractional and p.gpu_milli == size and p.gpu_models is None for p in seq]
    counts = collections.Counter(
        (p.cpu_milli, p.memory_mib) for p, hit in zip(seq, of_size, strict=True) if hit
    )
    classes = [c for c, _ in counts.most_common(2)]
    if not classes:
        return {"size": size, "bound_milli": float(capacity), "classes": []}
    gap = MILLI - size
    fill = float(milli[(per_gpu > 0) & (per_gpu <= gap)].sum())
    members = [
        np.array(
            [hit and (p.cpu_milli, p.memory_mib) == c for p, hit in zip(seq, of_size, strict=True)]
        )
        for c in classes
    ]
    dominating = [(per_gpu >= size) & (cpu >= c[0]) & (mem >= c[1]) for c in classes]
    if len(classes) == 1:  # a second class that never exists changes nothing
        members.append(np.zeros(n, dtype=bool))
        dominating.append(np.zeros(n, dtype=bool))
    # Candidate first-failure indices per class: each of its pods, or n ("never").
    first = [np.append(np.flatnonzero(m), n) for m in members]
    before = [np.concatenate([[0], np.cumsum(m)]) for m in members]
    only1 = _after(np.where(dominating[0] & ~dominating[1], milli, 0.0))
    only2 = _after(np.where(dominating[1] & ~dominating[0], milli, 0.0))
    both = _after(np.where(dominating[0] & dominating[1], milli, 0.0))
    i1, i2 = first[0][:, None], first[1][None, :]
    forced = before[0][i1] + before[1][i2]
    waste = np.maximum(0.0, gap * forced - fill)
    by_waste = capacity - waste
    by_failures = milli.sum() - only1[i1] - only2[i2] - both[np.minimum(i1, i2)]
    bound = np.minimum(np.minimum(by_waste, by_failures), capacity)
    a, b = np.unravel_index(int(np.argmax(bound)), bound.shape)
    return {
        "size": size,
        "bound_milli": float(bound[a, b]),
        "classes": [list(c) for c in classes],
        "first_failures": [int(first[0][a]), int(first[1][b])],
        "forced_pods": int(forced[a, b]),
        "small_fill_milli": fill,
    }


def true_bound(seq: Sequence[pods.PodRequest], capacity: int) -> dict[str, Any]:
    sizes = sorted({p.gpu_milli for p in seq if p.is_fractional and p.gpu_milli > MILLI // 2})
    per_size = [sliver_bound(seq, capacity, s) for s in sizes]
    best = min(per_size, key=lambda r: r["bound_milli"], default={"bound_milli": capacity})
    return {"percent": 100 * best["bound_milli"] / capacity, "binding": best}


def gpu_only_best_fit(seq: Sequence[pods.PodRequest], gpus: int) -> tuple[float, list[int], int]:
    """Allocation % of best fit on one pool of GPUs; the fractional sizes it placed and the
    whole GPUs it gave out."""
    gaps = np.zeros(MILLI + 1, dtype=np.int64)  # gaps[g]: GPUs with g milli free
    gaps[MILLI] = gpus
    placed: list[int] = []
    whole = 0
    for p in seq:
        if not p.num_gpu:
            continue
        if not p.is_fractional:
            if gaps[MILLI] >= p.num_gpu:
                gaps[MILLI] -= p.num_gpu
                gaps[0] += p.num_gpu
                whole += p.num_gpu
            continue
        fitting = np.flatnonzero(gaps[p.gpu_milli :]) + p.gpu_milli
        if fitting.size:
            g = int(fitting[0])
            gaps[g] -= 1
            gaps[g - p.gpu_milli] += 1
            placed.append(p.gpu_milli)
    free = int((np.arange(MILLI + 1) * gaps).sum())
    return 100 - 100 * free / (gpus * MILLI), placed, whole


def best_fit_decreasing_bins(sizes: Sequence[int]) -> int:
    gaps = np.zeros(MILLI + 1, dtype=np.int64)
    bins = 0
    for s in sorted(sizes, reverse=True):
        fitting = np.flatnonzero(gaps[s:]) + s
        if fitting.size:
            g = int(fitting[0])
            gaps[g] -= 1
            gaps[g - s] += 1
        else:
            bins += 1
            gaps[MILLI - s] += 1
    return bins


def offline_repack(fractional: Sequence[int], whole_wanted: int, gpus: int) -> float:
    """Allocation % when the fractional pods are packed by best fit decreasing and whole-GPU
    requests (up to `whole_wanted`) take the GPUs left."""
    bins = best_fit_decreasing_bins(fractional)
    whole = min(whole_wanted, gpus - bins)
    return 100 * (whole * MILLI + sum(fractional)) / (gpus * MILLI)


def analyse(
    nodes: Sequence[Any], workload: Sequence[pods.PodRequest], seeds: Sequence[int]
) -> list[dict[str, Any]]:
    gpus = sum(n.gpus for n in nodes)
    capacity = gpus * MILLI
    rows = []
    for seed in seeds:
        seq = fragmentation.arrival_sequence(workload, capacity, 1.3, np.random.default_rng(seed))
        bound = true_bound(seq, capacity)
        online, fractional, _ = gpu_only_best_fit(seq, gpus)
        whole_demand = sum(p.num_gpu for p in seq if p.num_gpu and not p.is_fractional)
        rows.append(
            {
                "seed": seed,
                "arrivals": len(seq),
                "whole_gpu_demand_percent": 100 * whole_demand / gpus,
                "true_upper_bound": bound["percent"],
                "binding": bound["binding"],
                "gpu_only_best_fit": online,
                "gpu_only_offline_repack": offline_repack(fractional, whole_demand, gpus),
            }
        )
    return rows


def markdown(results: dict[str, list[dict[str, Any]]], paper: dict[Any, float], cmd: str) -> str:
    m = report.machine()
    lines = [
        "# How high can allocation at 130 % arrived load go?",
        "",
        report.machine_line(m),
        "",
        f"Command: `{cmd}`",
        "",
        "- **True upper bound** (holds for every placement policy, online or clairvoyant): "
        "the sliver bound of `bench/fragmentation_bound.py` — pods of a large fractional size "
        "(810 milli-GPU) that arrive before that size first fails must be placed and each "
        "leaves a gap only rare small pods can fill, while after it first fails every later "
        "pod asking as much GPU, CPU and memory fails too. It ignores every other source of "
        "waste, so it is loose.",
        "- **Estimate 1, GPU-only best fit** (not a bound): the same arrivals packed by plain "
        "best fit into the cluster's GPUs as one pool, without nodes, CPU or memory.",
        "- **Estimate 2, GPU-only offline repack** (not a bound): the fractional pods estimate 1 "
        "placed, packed by best fit decreasing, whole-GPU pods filling the GPUs left.",
        "",
        "Reading: a target below the true upper bound is not ruled out; a target above the "
        "GPU-only estimates asks an online policy, which also faces node shapes, CPU and memory, "
        "to beat a plain best fit that faces none of them.",
        "",
    ]
    for name, rows in results.items():
        fgd = paper.get((name, "fgd"))
        lines += [
            f"## {name}",
            "",
            "Paper FGD mean: " + (f"{fgd:.2f} %" if fgd is not None else "n/a") + ".",
            "",
            "| seed | true upper bound % | binding size, forced pods | GPU-only best fit % "
            "| GPU-only offline repack % | whole-GPU demand % of cluster |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            b = r["binding"]
            lines.append(
                f"| {r['seed']} | {r['true_upper_bound']:.3f} | {b.get('size', '-')}, "
                f"{b.get('forced_pods', '-')} | {r['gpu_only_best_fit']:.3f} | "
                f"{r['gpu_only_offline_repack']:.3f} | {r['whole_gpu_demand_percent']:.1f} |"
            )
        mean = {
            k: statistics.fmean(r[k] for r in rows)
            for k in ("true_upper_bound", "gpu_only_best_fit", "gpu_only_offline_repack")
        }
        lines += [
            f"| **mean** | **{mean['true_upper_bound']:.3f}** | | "
            f"**{mean['gpu_only_best_fit']:.3f}** | **{mean['gpu_only_offline_repack']:.3f}** | |",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", type=Path, nargs="?", default=TRACES, help="openb trace folder")
    parser.add_argument("--lists", default="default", help="pod lists, e.g. default,cpu050, or all")
    parser.add_argument("--seeds", default="42-51")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    try:
        nodes = openb.load_nodes(args.traces / NODE_LIST)
    except csvrows.TraceError as err:
        sys.exit(f"error: {err}")
    available = {p.stem: p for p in sorted(args.traces.glob("openb_pod_list_*.csv"))}
    wanted = (
        list(available)
        if args.lists == "all"
        else [
            f"openb_pod_list_{n.strip().removeprefix('openb_pod_list_')}"
            for n in args.lists.split(",")
        ]
    )
    missing = [w for w in wanted if w not in available]
    if missing:
        sys.exit(f"error: no pod list {', '.join(missing)} in {args.traces}")
    seeds = sweep.parse_seeds(args.seeds)
    results = {}
    for name in wanted:
        results[name] = analyse(nodes, openb.load_pods(available[name]), seeds)
        rows = results[name]
        bound = statistics.fmean(r["true_upper_bound"] for r in rows)
        estimate = statistics.fmean(r["gpu_only_best_fit"] for r in rows)
        print(
            f"{name}: true upper bound {bound:.3f}, GPU-only best fit {estimate:.3f}",
            file=sys.stderr,
        )
    paper = (
        published.mean_allocation(args.traces / PAPER) if (args.traces / PAPER).is_file() else {}
    )
    cmd = "python bench/fragmentation_bound.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fragmentation_bound.json").write_text(
        json.dumps({"machine": report.machine(), "lists": results}, indent=1) + "\n"
    )
    text = markdown(results, paper, cmd.strip())
    (args.out / "fragmentation_bound.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
