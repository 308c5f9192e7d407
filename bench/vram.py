"""Inference replicas of different sizes placed on H100 nodes by whole GPU, by MIG instance
and by memory (VRAM), and how many cold starts warm-aware placement avoids.

The mix (every figure documented in docs/vram.md):
- LLM replicas of 7B-, 13B- and 70B-class models at bf16, fp8 and int4, several models per
  class with Zipf popularity, arriving as a Poisson process with a daily cycle and living a
  log-normal time (autoscaled serving replicas). Each needs weights + a KV-cache budget +
  runtime overhead (`k8s4ai.scheduler.vram.sizing`); 70B at bf16 needs two GPUs.
- one-GPU DLRM inference instances from the Alibaba disaggregated-DLRM trace (NSDI'25), with
  their creation and deletion times in a window of the trace. The trace gives host memory
  only; an instance's model state in GPU memory is read as its host memory request ×
  `--dlrm-vram-ratio` (1.0), capped at one GPU, plus the same runtime overhead as an LLM
  replica. Without the trace, the mix is the LLM replicas alone, and the report says so.

The cluster has enough 8-GPU nodes for `--capacities` × the peak number of GPUs the mix
would hold one replica per GPU. Each placement (`k8s4ai.scheduler.vram.placers`) sees the
same arrivals; a replica that does not fit when it arrives is refused. Reported: GPUs in use
(peak, time average), replicas refused, and for VRAM placement warm-aware against warm-blind:
the share of starts that found their weights resident and the load time that saved
(weights ÷ `--load-gbps`).

Writes vram.json, vram.md and vram.png to `--out`.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import figure
from matplotlib.backends import backend_agg

from k8s4ai.api import accelerator, manifest
from k8s4ai.backends.sim import report
from k8s4ai.cli import up
from k8s4ai.scheduler.vram import mig, placers, residency, sizing, vram_placer
from k8s4ai.traces import csvrows, dlrm

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
GIB = sizing.GIB
DAY = 86400.0
PER_NODE = 8
MODES = ("whole-gpu", "mig", "vram-blind", "vram-warm")

ARCHS = {
    "7b": sizing.Architecture("7B (Llama-2-7B shape)", 6.74e9, 32, 32, 128),
    "13b": sizing.Architecture("13B (Llama-2-13B shape)", 13.0e9, 40, 40, 128),
    "70b": sizing.Architecture("70B (Llama-2-70B shape, GQA)", 68.98e9, 80, 8, 128),
}
CLASS_SHARE = {"7b": 0.5, "13b": 0.3, "70b": 0.2}
MODELS_PER_CLASS = {"7b": 8, "13b": 4, "70b": 3}
PRECISIONS = {"bf16": ("bf16", 0.4), "fp8": ("fp8", 0.4), "int4": ("bf16", 0.2)}
"""Weight precision → (KV-cache precision, share of replicas)."""


@dataclass(frozen=True, slots=True)
class Variant:
    model: str
    arch: str
    precision: str
    weights: int
    kv: int
    tp: int
    vram: int
    share: float


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float
    until: float
    replica: placers.Replica
    source: str


def variants(usable: int, kv_tokens: int) -> list[Variant]:
    out = []
    for cls, arch in ARCHS.items():
        zipf = np.array([1 / (i + 1) for i in range(MODELS_PER_CLASS[cls])])
        zipf /= zipf.sum()
        for i, p_model in enumerate(zipf):
            for precision, (kv_precision, p_prec) in PRECISIONS.items():
                weights = arch.weights(precision)
                kv = kv_tokens * arch.kv_per_token(kv_precision)
                tp = sizing.tensor_parallel(weights + kv, usable)
                vram = sizing.per_gpu(weights + kv, tp)
                share = CLASS_SHARE[cls] * float(p_model) * p_prec
                out.append(
                    Variant(
                        f"llm-{cls}-{i}-{precision}", cls, precision, weights, kv, tp, vram, share
                    )
                )
    return out


def llm_arrivals(
    catalog: list[Variant],
    rng: np.random.Generator,
    horizon: float,
    concurrency: float,
    median_hours: float,
    sigma: float,
) -> list[Arrival]:
    """Poisson arrivals at a rate ∝ 1 + ½ sin(2πt/day), averaging `concurrency` replicas
    alive (Little's law with the log-normal mean lifetime)."""
    mean_life = median_hours * 3600 * math.exp(sigma**2 / 2)
    peak_rate = 1.5 * concurrency / mean_life
    gaps = rng.exponential(1 / peak_rate, int(peak_rate * horizon * 1.2) + 16)
    while gaps.sum() < horizon:
        gaps = np.concatenate([gaps, rng.exponential(1 / peak_rate, len(gaps))])
    times = np.cumsum(gaps)
    times = times[times < horizon]
    keep = rng.random(len(times)) < (1 + 0.5 * np.sin(2 * np.pi * times / DAY)) / 1.5
    times = times[keep]
    shares = np.array([v.share for v in catalog])
    picks = rng.choice(len(catalog), size=len(times), p=shares / shares.sum())
    lives = median_hours * 3600 * rng.lognormal(0.0, sigma, len(times))
    out = []
    for n, (t, k, life) in enumerate(zip(times, picks, lives, strict=True)):
        v = catalog[k]
        replica = placers.Replica(f"llm-{n}", v.model, v.vram, v.weights, v.tp)
        out.append(Arrival(float(t), float(t + life), replica, "llm"))
    return out


def dlrm_arrivals(
    instances: list[dlrm.Instance],
    start: float,
    end: float,
    usable: int,
    ratio: float,
    sample: float,
    rng: np.random.Generator,
) -> list[Arrival]:
    """Instances alive in [start, end), shifted so the window starts at 0; those already
    running at `start` arrive at 0."""
    trace_end = dlrm.horizon(instances)
    out = []
    for inst in instances:
        created = inst.created or 0.0
        deleted = inst.deleted if inst.deleted is not None else trace_end
        if inst.gpus != 1 or created >= end or deleted <= start or rng.random() >= sample:
            continue
        weights = min(usable - sizing.RUNTIME_OVERHEAD, round(inst.memory_gib * ratio * GIB))
        vram = sizing.per_gpu(weights, 1)
        replica = placers.Replica(f"dlrm-{inst.name}", f"dlrm-{inst.app}", vram, weights)
        out.append(Arrival(max(created, start) - start, min(deleted, end) - start, replica, "dlrm"))
    return out


def whole_gpu_peak(arrivals: list[Arrival]) -> int:
    events = sorted(
        [(a.until, -a.replica.gpus) for a in arrivals] + [(a.at, a.replica.gpus) for a in arrivals]
    )
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


def make_placer(
    mode: str,
    nodes: int,
    cls: accelerator.AcceleratorClass,
    reserved: int,
    policy: residency.Policy,
) -> placers.Placer:
    vram = int(cls.spec.vram.value)
    if mode == "whole-gpu":
        return placers.WholeGpuPlacer(nodes, PER_NODE, vram)
    if mode == "mig":
        return placers.MigPlacer(nodes, PER_NODE, mig.geometry(cls.spec))
    if mode in ("vram-blind", "vram-warm"):
        return vram_placer.VramPlacer(
            nodes, PER_NODE, vram, reserved, warm_aware=mode == "vram-warm", policy=policy
        )
    raise ValueError(f"unknown placement {mode!r} (known: {', '.join(MODES)})")


def simulate(
    mode: str,
    capacity: float,
    nodes: int,
    arrivals: list[Arrival],
    horizon: float,
    cls: accelerator.AcceleratorClass,
    reserved: int,
    policy: residency.Policy,
    bandwidth: float,
) -> dict[str, Any]:
    started = time.process_time()
    placer = make_placer(mode, nodes, cls, reserved, policy)
    leaving: list[tuple[float, int, str]] = []
    now = area = 0.0
    peak = 0
    series: list[tuple[float, int]] = [(0.0, 0)]
    count = {"starts": 0, "warm": 0, "evicted": 0, "repartition": 0}
    refused = {"llm": 0, "dlrm": 0}
    offered = {"llm": 0, "dlrm": 0}
    saved = cold = 0.0

    def advance(to: float) -> None:
        nonlocal now, area
        area += placer.gpus_in_use * (to - now)
        now = to

    for seq, a in enumerate(arrivals):
        while leaving and leaving[0][0] <= a.at:
            t, _, name = heapq.heappop(leaving)
            advance(t)
            placer.remove(name, t)
        advance(a.at)
        offered[a.source] += 1
        result = placer.place(a.replica, a.at)
        if isinstance(result, placers.Refused):
            refused[a.source] += 1
            count["repartition"] += result.repartition
            continue
        heapq.heappush(leaving, (a.until, seq, a.replica.name))
        load = sizing.load_seconds(a.replica.weights, bandwidth)
        count["starts"] += 1
        count["warm"] += result.warm
        count["evicted"] += result.evicted
        saved += load if result.warm else 0.0
        cold += 0.0 if result.warm else load
        peak = max(peak, placer.gpus_in_use)
        if series[-1][1] != placer.gpus_in_use:
            series.append((a.at, placer.gpus_in_use))
    while leaving and leaving[0][0] < horizon:
        t, _, name = heapq.heappop(leaving)
        advance(t)
        placer.remove(name, t)
        series.append((t, placer.gpus_in_use))
    advance(horizon)
    return {
        "mode": mode,
        "capacity": capacity,
        "gpus": nodes * PER_NODE,
        "gpus_used_peak": peak,
        "gpus_used_avg": area / horizon if horizon else 0.0,
        "offered": offered,
        "refused": refused,
        "refused_repartition_would_fit": count["repartition"],
        "starts": count["starts"],
        "warm_starts": count["warm"],
        "evictions": count["evicted"],
        "load_seconds_saved": saved,
        "load_seconds_cold": cold,
        "cpu_seconds": round(time.process_time() - started, 2),
        "series": [(round(t, 1), n) for t, n in series[:: max(1, len(series) // 500)]],
    }


def load_class(path: Path, name: str) -> accelerator.AcceleratorClass:
    docs = manifest.load([(str(path), path.read_text(encoding="utf-8"))])
    for m in docs:
        if isinstance(m.object, accelerator.AcceleratorClass) and m.object.metadata.name == name:
            return m.object
    sys.exit(f"error: {path}: no AcceleratorClass {name!r}")


def sizing_rows(catalog: list[Variant], geo: mig.Geometry) -> list[dict[str, Any]]:
    rows = {}
    for v in catalog:
        key = (v.arch, v.precision)
        if key in rows:
            continue
        shape = mig.smallest_fitting(geo, v.vram) if v.tp == 1 else None
        rows[key] = {
            "class": v.arch,
            "precision": v.precision,
            "weights_gib": v.weights / GIB,
            "kv_gib": v.kv / GIB,
            "tp": v.tp,
            "vram_per_gpu_gib": v.vram / GIB,
            "mig_profile": shape.name if shape else None,
        }
    return list(rows.values())


def _run(doc: dict[str, Any], mode: str, capacity: float) -> dict[str, Any]:
    return next(r for r in doc["runs"] if r["mode"] == mode and r["capacity"] == capacity)


def _change(new: float, old: float) -> str:
    return f"{(new - old) / old:+.1%}" if old else "—"


def markdown(doc: dict[str, Any]) -> str:
    s, m = doc["settings"], doc["machine"]
    lines = [
        "# GPU memory as a resource: whole GPU, MIG and VRAM packing, warm placement",
        "",
        report.machine_line(m),
        "",
        f"Command: `{doc['command']}` at revision {m['revision']}.",
        "",
        f"Input: {s['input']}. LLM replicas: {s['llm_concurrency']:g} alive on average, "
        f"log-normal lifetimes (median {s['llm_median_hours']:g} h, σ {s['llm_sigma']:g}), "
        f"a KV-cache budget of {s['kv_tokens']:,} tokens. Cluster: {s['gpu']}, nodes of "
        f"{PER_NODE}; the VRAMPool reserves {s['reserved_gib']:g} GiB per GPU and evicts "
        f"{s['policy']}; cold start = weights ÷ {s['load_gbps']:g} GB/s. A replica that does "
        "not fit when it arrives is refused. How the mix is built: docs/vram.md.",
        "",
        "| capacity | GPUs | placement | GPUs used, peak | GPUs used, avg | vs whole GPU "
        "| refused LLM | refused DLRM | warm starts | loads skipped (h) | evictions | CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["runs"]:
        off, ref = r["offered"], r["refused"]
        shared = r["mode"].startswith("vram")
        whole = _run(doc, "whole-gpu", r["capacity"])
        repart = r["refused_repartition_would_fit"]
        note = f" ({repart:,} a repartition avoids)" if r["mode"] == "mig" and repart else ""
        warm = f"{r['warm_starts'] / max(1, r['starts']):.1%}" if shared else "—"
        saved = f"{r['load_seconds_saved'] / 3600:,.1f}" if shared else "—"
        lines.append(
            f"| {r['capacity']:.0%} | {r['gpus']:,} | {r['mode']} | {r['gpus_used_peak']:,} "
            f"| {r['gpus_used_avg']:,.0f} | {_change(r['gpus_used_avg'], whole['gpus_used_avg'])} "
            f"| {ref['llm']:,} / {off['llm']:,}{note} | {ref['dlrm']:,} / {off['dlrm']:,} "
            f"| {warm} | {saved} "
            f"| {r['evictions']:,} | {r['cpu_seconds']:.1f} |"
        )
    lines += [
        "",
        "*capacity*: cluster GPUs as a share of the peak the mix holds at one replica per GPU "
        "(at 100 % whole-GPU placement refuses nothing, or the odd two-GPU replica finding no "
        "node with two free GPUs, so GPUs used compare directly; below, refusals count too). "
        "*GPUs used*: GPUs running at least one replica; idle resident weights "
        "do not count. *a repartition avoids*: MIG refusals for which moving running "
        "instances on some GPU would have made a slot (never done here: moving restarts "
        "them). *warm starts*: starts that found their weights resident on the GPU; *loads "
        "skipped*: the load time those starts did not spend.",
        "",
        "## Cold starts avoided by warm-aware VRAM placement",
        "",
        "| capacity | warm starts, blind | warm starts, aware | cold load time, blind (h) "
        "| cold load time, aware (h) | saved vs blind (h) | GPUs used avg, aware vs blind |",
        "|---|---|---|---|---|---|---|",
    ]
    for cap in sorted({r["capacity"] for r in doc["runs"]}, reverse=True):
        blind, aware = _run(doc, "vram-blind", cap), _run(doc, "vram-warm", cap)
        lines.append(
            f"| {cap:.0%} | {blind['warm_starts'] / max(1, blind['starts']):.1%} "
            f"| {aware['warm_starts'] / max(1, aware['starts']):.1%} "
            f"| {blind['load_seconds_cold'] / 3600:,.1f} "
            f"| {aware['load_seconds_cold'] / 3600:,.1f} "
            f"| {(blind['load_seconds_cold'] - aware['load_seconds_cold']) / 3600:,.1f} "
            f"| {_change(aware['gpus_used_avg'], blind['gpus_used_avg'])} |"
        )
    lines += [
        "",
        "## What each LLM replica needs",
        "",
        "| class | precision | weights GiB | KV cache GiB | GPUs | per GPU GiB | MIG profile |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in doc["sizing"]:
        lines.append(
            f"| {row['class']} | {row['precision']} | {row['weights_gib']:.1f} "
            f"| {row['kv_gib']:.1f} | {row['tp']} | {row['vram_per_gpu_gib']:.1f} "
            f"| {row['mig_profile'] or 'whole GPUs'} |"
        )
    return "\n".join(lines) + "\n"


def plot(path: Path, doc: dict[str, Any]) -> None:
    capacities = sorted({r["capacity"] for r in doc["runs"]}, reverse=True)
    fig = figure.Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    for r in doc["runs"]:
        if r["capacity"] != capacities[0]:
            continue
        t, used = zip(*r["series"], strict=True)
        left.step(np.array(t) / 3600, used, where="post", label=r["mode"])
    left.set_xlabel("hours")
    left.set_ylabel("GPUs in use")
    left.set_title(f"GPUs in use, cluster at {capacities[0]:.0%} of the whole-GPU peak")
    left.legend()
    width = 0.8 / len(MODES)
    for j, mode in enumerate(MODES):
        shares = []
        for cap in capacities:
            r = next(x for x in doc["runs"] if x["mode"] == mode and x["capacity"] == cap)
            shares.append(100 * sum(r["refused"].values()) / max(1, sum(r["offered"].values())))
        left_edge = np.arange(len(capacities)) - 0.4 + width * (j + 0.5)
        right.bar(left_edge, shares, width, label=mode)
    right.set_xticks(range(len(capacities)), [f"{c:.0%}" for c in capacities])
    right.set_xlabel("cluster size, share of the whole-GPU peak")
    right.set_ylabel("replicas refused, %")
    right.legend()
    backend_agg.FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=Path, default=TRACES, help="shared traces folder")
    parser.add_argument(
        "--accelerators", type=Path, default=up.packaged_examples() / "00-accelerators.yaml"
    )
    parser.add_argument("--accelerator-class", default="h100-sxm")
    parser.add_argument("--start-day", type=float, default=0.0, help="DLRM trace window start")
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument(
        "--dlrm-share", type=float, default=0.25, help="share of the DLRM instances kept"
    )
    parser.add_argument("--dlrm-vram-ratio", type=float, default=1.0)
    parser.add_argument("--llm-concurrency", type=float, default=1200.0)
    parser.add_argument("--llm-median-hours", type=float, default=1.0)
    parser.add_argument("--llm-sigma", type=float, default=1.0)
    parser.add_argument("--kv-tokens", type=int, default=32768)
    parser.add_argument("--reserved-gib", type=float, default=2.0)
    parser.add_argument("--policy", default="LRU", choices=residency.POLICIES)
    parser.add_argument("--load-gbps", type=float, default=sizing.LOAD_BANDWIDTH / 1e9)
    parser.add_argument("--capacities", default="1.0,0.75,0.5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: one day, 2 %% of the DLRM instances, 60 LLM replicas on average",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.quick:
        args.days, args.dlrm_share, args.llm_concurrency = 1.0, 0.02, 60.0

    cls = load_class(args.accelerators, args.accelerator_class)
    reserved = round(args.reserved_gib * GIB)
    usable = int(cls.spec.vram.value) - reserved
    rng = np.random.default_rng(args.seed)
    horizon = args.days * DAY
    catalog = variants(usable, args.kv_tokens)
    arrivals = llm_arrivals(
        catalog, rng, horizon, args.llm_concurrency, args.llm_median_hours, args.llm_sigma
    )
    trace = args.traces / dlrm.FILE
    if trace.exists():
        try:
            instances = dlrm.load(trace)
        except csvrows.TraceError as err:
            sys.exit(f"error: {err}")
        start = args.start_day * DAY
        dl = dlrm_arrivals(
            instances, start, start + horizon, usable, args.dlrm_vram_ratio, args.dlrm_share, rng
        )
        source = (
            f"{len(arrivals):,} synthetic LLM replicas and {len(dl):,} DLRM instances "
            f"({args.dlrm_share:.0%} of those alive in days [{args.start_day:g}, "
            f"{args.start_day + args.days:g}) of `{dlrm.FILE}`, Yang et al. NSDI'25)"
        )
        arrivals += dl
    else:
        source = (
            f"{len(arrivals):,} synthetic LLM replicas over {args.days:g} days; the DLRM "
            f"trace was not found at {trace}, so the mix has no DLRM instances"
        )
    arrivals.sort(key=lambda a: (a.at, a.replica.name))
    peak = whole_gpu_peak(arrivals)
    capacities = [float(c) for c in args.capacities.split(",")]
    jobs = [
        (mode, cap, max(1, math.ceil(peak * cap / PER_NODE)))
        for cap in capacities
        for mode in MODES
    ]
    print(
        f"{len(arrivals):,} replicas; whole-GPU peak {peak:,} GPUs; {len(jobs)} runs",
        file=sys.stderr,
        flush=True,
    )
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(
                simulate,
                mode,
                cap,
                nodes,
                arrivals,
                horizon,
                cls,
                reserved,
                args.policy,
                args.load_gbps * 1e9,
            )
            for mode, cap, nodes in jobs
        ]
        runs = []
        for i, future in enumerate(futures, 1):
            runs.append(future.result())
            r = runs[-1]
            print(
                f"[{i}/{len(jobs)}] {r['mode']} at {r['capacity']:.0%}: peak "
                f"{r['gpus_used_peak']:,} GPUs, {sum(r['refused'].values()):,} refused",
                file=sys.stderr,
                flush=True,
            )
    m = {**report.machine(), "revision": report.revision(ROOT)}
    doc = {
        "machine": m,
        "command": " ".join(
            ["python", "bench/vram.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "settings": {
            "input": source,
            "gpu": cls.spec.model,
            "reserved_gib": args.reserved_gib,
            "policy": args.policy,
            "load_gbps": args.load_gbps,
            "days": args.days,
            "kv_tokens": args.kv_tokens,
            "llm_concurrency": args.llm_concurrency,
            "llm_median_hours": args.llm_median_hours,
            "llm_sigma": args.llm_sigma,
            "whole_gpu_peak": peak,
            "seed": args.seed,
        },
        "sizing": sizing_rows(catalog, mig.geometry(cls.spec)),
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vram.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    (args.out / "vram.md").write_text(markdown(doc), encoding="utf-8")
    plot(args.out / "vram.png", doc)
    print(f"wrote {args.out / 'vram.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
