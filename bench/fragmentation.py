"""Benchmark: the FGD paper's fragmentation experiment (Weng et al., ATC'23 §6) on every
openb pod list, every registered policy and 10 seeds, against the authors' published numbers.

For each (pod list, policy, seed) pods arrive until 130 % of the cluster's GPUs are requested
(`k8s4ai.backends.sim.fragmentation`); the GPU allocation % reached is compared with the
10-seed mean the authors published (`fgd-expected/analysis_allo_discrete.csv` in the trace
folder, read here, never copied). Policies the paper did not evaluate are compared with the
paper's FGD.

Writes `fragmentation.json` (every run), `fragmentation.md` (tables) and `fragmentation.png`
to `--out`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from k8s4ai.backends.sim import fragmentation, published, report, sweep
from k8s4ai.scheduler import registry
from k8s4ai.traces import csvrows, openb

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces" / "alibaba-gpu-v2023"
NODE_LIST = "openb_node_list_gpu_node.csv"
POD_LISTS = "openb_pod_list_*.csv"
PAPER = Path("fgd-expected", "analysis_allo_discrete.csv")
QUICK_LIST = "openb_pod_list_default"


def pod_lists(traces: Path, spec: str | None) -> list[Path]:
    """Every pod list in the folder, or the ones named (`default,cpu050` or file stems)."""
    available = {p.stem: p for p in sorted(traces.glob(POD_LISTS))}
    if spec is None:
        return list(available.values())
    chosen = []
    for name in (n.strip() for n in spec.split(",") if n.strip()):
        stem = name.removesuffix(".csv")
        stem = stem if stem in available else f"openb_pod_list_{stem}"
        if stem not in available:
            sys.exit(f"error: no pod list {name!r} in {traces} (have: {', '.join(available)})")
        chosen.append(available[stem])
    return chosen


def show(progress: sweep.Progress) -> None:
    if progress.result is None:
        return
    job, run = progress.result.job, progress.result.run
    print(
        f"[{progress.finished}/{progress.total}] {job.workload} {job.policy} seed {job.seed}: "
        f"{run.final_allocation:.2f}% in {run.seconds:.1f}s",
        file=sys.stderr,
        flush=True,
    )


def run_record(result: sweep.Result) -> dict[str, Any]:
    run = result.run
    return {
        "list": result.job.workload,
        "policy": run.policy,
        "seed": run.seed,
        "tune": result.job.tune,
        "final_allocation": run.final_allocation,
        "pods": run.pods,
        "placed": run.placed,
        "failed": run.failed,
        "seconds": round(run.seconds, 3),
        "placements_per_second": round(run.placements_per_second, 1),
        "refusals": run.refusals,
        "curve": {str(a): v for a, v in sorted(run.curve.items())},
    }


def markdown(
    summaries: list[sweep.Summary], paper: report.Paper, settings: dict[str, Any], m: dict[str, Any]
) -> str:
    policies = list(dict.fromkeys(s.policy for s in summaries))
    published_run = [p for p in registry.PUBLISHED if p in policies]
    arrivals = sum(s.attempts for s in summaries) / sum(len(s.seeds) for s in summaries)
    lines = [
        "# Fragmentation benchmark (FGD paper, ATC'23 §6)",
        "",
        report.machine_line(m),
        "",
        f"Command: `{m['command']}` at revision {m.get('revision', 'unknown')}.",
        "",
        f"Cluster: `{NODE_LIST}` ({settings['nodes']} nodes, {settings['gpus']} GPUs); "
        f"seeds {settings['seeds']}; arrivals up to {settings['tune']:g} × the cluster's GPUs; "
        f"{settings['workers']} worker processes.",
        "",
        "## GPU allocation at 130 % arrived load",
        "",
        "Mean allocation % over the seeds, **ours / paper** (the paper's 10-seed mean, read from "
        f"`{PAPER}`; n/a where it has no number). ✗ marks a cell more than "
        f"{report.TOLERANCE} pt from the paper. *Published within {report.TOLERANCE} pt* counts "
        "the paper's policies that match; *best new policy* compares our best policy outside "
        "the paper with the paper's FGD.",
        "",
        *report.comparison_table(summaries, paper, published_run),
        "",
        *_agreement(summaries, paper, published_run),
        *_target(summaries),
        "## Speed",
        "",
        f"Wall time of one run (one policy, one seed: {arrivals:,.0f} pod arrivals on average "
        f"on the {settings['nodes']}-node cluster) and placement attempts per second (failed "
        "attempts included), over every pod list; runs share the machine with the other "
        "worker processes.",
        "",
        *report.speed_table(summaries),
        "",
    ]
    return "\n".join(lines)


TARGET = 96.0
"""Issue 3: k8s4ai's best policy reaches at least this allocation % on the default list."""


def _target(summaries: list[sweep.Summary]) -> list[str]:
    mine = [s for s in summaries if s.workload == QUICK_LIST and s.policy not in registry.PUBLISHED]
    if not mine:
        return []
    best = max(mine, key=lambda s: s.allocation)
    verdict = "met" if best.allocation >= TARGET else "**not met**"
    return [
        f"Target (issue 3): our best new policy at least {TARGET:.1f} % on `{QUICK_LIST}`: "
        f"{verdict} (best: {best.policy} {best.allocation:.2f}).",
        "",
    ]


def from_json(path: Path) -> tuple[list[sweep.Result], dict[str, Any]]:
    """The runs and machine of an earlier `fragmentation.json`, to render its report again."""
    document = json.loads(path.read_text())
    results = [
        sweep.Result(
            sweep.Job(r["list"], r["policy"], r["seed"], r["tune"]),
            fragmentation.Run(
                policy=r["policy"],
                seed=r["seed"],
                pods=r["pods"],
                placed=r["placed"],
                failed=r["failed"],
                seconds=r["seconds"],
                curve={int(a): v for a, v in r["curve"].items()},
                refusals=r["refusals"],
            ),
        )
        for r in document["runs"]
    ]
    return results, document


def _agreement(
    summaries: list[sweep.Summary], paper: report.Paper, published_run: list[str]
) -> list[str]:
    pairs = [
        abs(s.allocation - paper[(s.workload, s.policy)])
        for s in summaries
        if s.policy in published_run and (s.workload, s.policy) in paper
    ]
    if not pairs:
        return []
    within = sum(d <= report.TOLERANCE for d in pairs)
    return [
        f"Published policies within {report.TOLERANCE} pt of the paper: {within} of "
        f"{len(pairs)} (pod list, policy) pairs; largest gap {max(pairs):.2f} pt.",
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=Path, default=TRACES, help="openb trace folder")
    parser.add_argument("--policies", default=None, help="comma-separated [default: all]")
    parser.add_argument("--seeds", default=None, help="e.g. 42-51 or 1,3,5-7 [default: 42-51]")
    parser.add_argument("--lists", default=None, help="pod lists, e.g. default,cpu050 [all]")
    parser.add_argument("--tune", type=float, default=1.3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        help="write the report again from an earlier fragmentation.json, without running",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny run: 1 pod list, 1 seed, 2 policies (unless given)",
    )
    args = parser.parse_args(argv)

    if args.render is not None:
        render(args.render, args.out, args.traces / PAPER)
        return
    lists = pod_lists(args.traces, args.lists)
    if not lists:
        sys.exit(f"error: no {POD_LISTS} in {args.traces}")
    try:
        policies = sweep.parse_policies(args.policies or sweep.ALL)
        seeds = sweep.parse_seeds(args.seeds or "42-51")
    except (registry.UnknownPolicyError, ValueError) as err:
        sys.exit(f"error: {err}")
    if args.quick:  # only what was not asked for explicitly
        lists = (
            lists if args.lists else [next((p for p in lists if p.stem == QUICK_LIST), lists[0])]
        )
        seeds = seeds if args.seeds else seeds[:1]
        policies = policies if args.policies else policies[:2]

    try:
        nodes = tuple(openb.load_nodes(args.traces / NODE_LIST))
        workloads = [sweep.Workload(p.stem, nodes, tuple(openb.load_pods(p))) for p in lists]
    except csvrows.TraceError as err:
        sys.exit(f"error: {err}")
    paper: report.Paper = {}
    if (args.traces / PAPER).is_file():
        paper = published.mean_allocation(args.traces / PAPER)

    jobs = sweep.plan([w.name for w in workloads], policies, seeds, args.tune)
    print(
        f"{len(jobs)} runs: {len(workloads)} pod lists × {len(policies)} policies × "
        f"{len(seeds)} seeds on {args.workers} workers",
        file=sys.stderr,
        flush=True,
    )
    results = sweep.run_many(workloads, jobs, args.workers, show)
    summaries = sweep.summarise(results)

    settings = {
        "traces": str(args.traces),
        "lists": [w.name for w in workloads],
        "policies": list(policies),
        "seeds": ",".join(map(str, seeds)),
        "tune": args.tune,
        "workers": args.workers,
        "nodes": len(nodes),
        "gpus": sum(n.gpus for n in nodes),
    }
    m = {**report.machine(), "revision": report.revision(ROOT)}
    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": m,
        "settings": settings,
        "paper": [
            {"list": w, "policy": p, "allocation_130": round(v, 4)}
            for (w, p), v in sorted(paper.items())
        ],
        "runs": [run_record(r) for r in results],
    }
    (args.out / "fragmentation.json").write_text(json.dumps(document, indent=1) + "\n")
    text = markdown(summaries, paper, settings, m)
    (args.out / "fragmentation.md").write_text(text)
    report.plot_comparison(args.out / "fragmentation.png", summaries, paper)
    print(text)


def render(path: Path, out: Path, paper_file: Path) -> None:
    results, document = from_json(path)
    summaries = sweep.summarise(results)
    paper: report.Paper = {(e["list"], e["policy"]): e["allocation_130"] for e in document["paper"]}
    if paper_file.is_file():  # the json keeps 4 decimals; the file gives the same rounding
        paper = published.mean_allocation(paper_file)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(summaries, paper, document["settings"], document["machine"])
    (out / "fragmentation.md").write_text(text)
    report.plot_comparison(out / "fragmentation.png", summaries, paper)
    print(text)


if __name__ == "__main__":
    main()
