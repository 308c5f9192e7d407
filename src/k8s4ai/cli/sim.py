"""`k8s4ai sim`: run the simulator on a trace without a cluster or a server, e.g. the FGD
paper's fragmentation experiment on the Alibaba openb trace."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click
import numpy as np

import k8s4ai
from k8s4ai.backends.sim import job_metrics, job_report, job_sweep, report, sweep
from k8s4ai.backends.sim import jobs as replay
from k8s4ai.cli import errors, job_traces, printers
from k8s4ai.scheduler import registry
from k8s4ai.scheduler.admission import policies as admission_policies
from k8s4ai.scheduler.admission import workload
from k8s4ai.traces import catalog, csvrows, openb, synthetic

TRACE_DIR = Path("..", "shared", "traces", "alibaba-gpu-v2023")
DEFAULT_NODES = "openb_node_list_gpu_node.csv"
DEFAULT_PODS = "openb_pod_list_default.csv"


@click.group("sim")
def command() -> None:
    """Run the simulator on a trace (no cluster or server needed)."""


def _repo_root() -> Path | None:
    """The checkout this package runs from, when it runs from one (an editable install)."""
    for parent in Path(k8s4ai.__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return None


def trace_dirs() -> list[Path]:
    """Where the default trace is looked for: beside the current directory, then beside the
    checkout, so the command works from the repository and from anywhere else."""
    bases = [Path.cwd(), _repo_root()]
    return list(dict.fromkeys((base / TRACE_DIR).resolve() for base in bases if base))


SYNTHETIC_NODES = 1213
SYNTHETIC_PODS = 8152
"""The openb trace's own sizes, so a synthetic run loads the cluster as the real one does."""


def _workload(nodes: Path | None, pods: Path | None) -> tuple[sweep.Workload, str]:
    """The files given, else the default trace's, else the built-in openb-like generator
    (for a machine without the trace); returns the workload and where it came from."""
    folder = next((d for d in trace_dirs() if d.is_dir()), None)
    if folder is not None:
        nodes = nodes or folder / DEFAULT_NODES
        pods = pods or folder / DEFAULT_PODS
    rng = np.random.default_rng(0)
    try:
        node_specs = openb.load_nodes(nodes) if nodes else synthetic.nodes(SYNTHETIC_NODES, rng)
        pod_list = openb.load_pods(pods) if pods else synthetic.pod_list(SYNTHETIC_PODS, rng)
    except csvrows.TraceError as err:
        raise errors.CommandError(str(err)) from None
    if nodes is None or pods is None:
        looked = ", ".join(str(d) for d in trace_dirs())
        click.echo(
            f"note: no openb trace found (looked in {looked}); using the built-in openb-like "
            "generator (k8s4ai.traces.synthetic) for "
            + " and ".join(n for n, p in (("nodes", nodes), ("pods", pods)) if p is None),
            err=True,
        )
    name = pods.stem if pods else "synthetic-openb"
    source = f"{name} on {nodes.name if nodes else 'synthetic-openb nodes'}"
    return sweep.Workload(name, tuple(node_specs), tuple(pod_list)), source


def _seeds(seed: int | None, seeds: str | None) -> tuple[int, ...]:
    if seed is not None and seeds is not None:
        raise click.UsageError("give --seed or --seeds, not both")
    if seeds is None:
        return (42 if seed is None else seed,)
    try:
        return sweep.parse_seeds(seeds)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--seeds") from None


_F = TypeVar("_F", bound=Callable[..., Any])


class _Advance(Protocol):
    @property
    def finished(self) -> int: ...

    @property
    def total(self) -> int: ...

    @property
    def fraction(self) -> float: ...


@contextmanager
def _progress(total: int) -> Iterator[Callable[[_Advance], None]]:
    """A bar on stderr that fills with the work done (pods placed, jobs completed),
    labelled with the runs finished."""
    steps = 1000
    with click.progressbar(
        length=steps,
        label=f"0/{total} runs",
        file=sys.stderr,
        show_pos=False,
    ) as bar:
        shown = 0

        def update(progress: _Advance) -> None:
            nonlocal shown
            bar.label = f"{progress.finished}/{progress.total} runs"
            target = int(progress.fraction * steps)
            if target > shown:
                bar.update(target - shown)
                shown = target

        yield update


def _out_option(text: str) -> Callable[[_F], _F]:
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("k8s4ai-sim-out"),
        show_default=True,
        help=text,
    )


def _workers_option(what: str) -> Callable[[_F], _F]:
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help=f"Processes running {what} in parallel [default: min(2, CPUs)].",
    )


@command.command("fragmentation")
@click.option(
    "--nodes",
    "nodes_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help=f"Node list (openb format) [default: {TRACE_DIR / DEFAULT_NODES}].",
)
@click.option(
    "--pods",
    "pods_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help=f"Pod list (openb format) [default: {TRACE_DIR / DEFAULT_PODS}].",
)
@click.option(
    "--policy",
    "policy_spec",
    required=True,
    metavar="NAME|all",
    help="Placement policy, a comma-separated list, or `all` for every registered one.",
)
@click.option("--seed", type=click.IntRange(min=0), help="One seed [default: 42].")
@click.option("--seeds", "seed_spec", metavar="LIST", help="Seeds: 42-51 or 1,3,5-7.")
@click.option(
    "--tune",
    type=click.FloatRange(min=0, min_open=True),
    default=1.3,
    show_default=True,
    help="Arrive until the GPU requested is this multiple of the cluster's GPUs.",
)
@_out_option("Folder for the curve CSV and plot.")
@_workers_option("(policy, seed) pairs")
def fragmentation(
    nodes_path: Path | None,
    pods_path: Path | None,
    policy_spec: str,
    seed: int | None,
    seed_spec: str | None,
    tune: float,
    out: Path,
    workers: int | None,
) -> None:
    """The FGD paper's fragmentation experiment (Weng et al., ATC'23 §6).

    Pods of the pod list arrive in a random order (then random repeats) until the GPU they
    ask for reaches TUNE × the cluster's GPUs; each is placed by the policy or fails, and
    never leaves. Prints the GPU allocation reached per policy and seed, and writes the
    allocation curve (CSV and PNG) into --out. Runs for the same seed see the same pods in
    the same order, so policies are compared on equal terms.

    Without --nodes/--pods the openb trace is looked for in
    ../shared/traces/alibaba-gpu-v2023, from the current directory and then from the
    k8s4ai checkout; without it, a built-in generator draws an openb-like cluster and pod
    list (shapes and their frequencies taken from the trace; see k8s4ai.traces.synthetic).

    \b
    Examples:
      k8s4ai sim fragmentation --policy fgd
      k8s4ai sim fragmentation --policy all --seeds 42-51
      k8s4ai sim fragmentation --pods my_pods.csv --nodes my_nodes.csv --policy bestfit,fgd
    """
    try:
        policies = sweep.parse_policies(policy_spec)
    except registry.UnknownPolicyError as err:
        raise errors.CommandError(f"{err} (or {sweep.ALL})") from None
    seeds = _seeds(seed, seed_spec)
    workload, source = _workload(nodes_path, pods_path)
    jobs = sweep.plan([workload.name], policies, seeds, tune)
    with _progress(len(jobs)) as on_progress:
        results = sweep.run_many(
            [workload], jobs, workers or min(2, os.cpu_count() or 1), on_progress
        )
    summaries = sweep.summarise(results)
    click.echo(_runs_table(results))
    if len(seeds) > 1:
        click.echo(f"\nMean over {len(seeds)} seeds:")
        click.echo(_means_table(summaries))
    out.mkdir(parents=True, exist_ok=True)
    stem = f"fragmentation-{workload.name}"
    written = [
        report.write_curves(out / f"{stem}.csv", results),
        report.plot_curves(out / f"{stem}.png", summaries, source),
    ]
    click.echo("")
    for path in written:
        click.echo(f"wrote {path}")


def _arrived(results: Sequence[sweep.Result]) -> int:
    return max(max(r.run.curve) for r in results)


def _runs_table(results: Sequence[sweep.Result]) -> str:
    header = ["POLICY", "SEED", f"ALLOC% @{_arrived(results)}", "PLACED", "FAILED"]
    rows = [[*header, "SECONDS", "PLACEMENTS/S"]]
    for r in results:
        run = r.run
        rows.append(
            [
                run.policy,
                str(run.seed),
                f"{run.final_allocation:.2f}",
                str(run.placed),
                str(run.failed),
                f"{run.seconds:.2f}",
                f"{run.placements_per_second:,.0f}",
            ]
        )
    return printers.table(rows)


def _means_table(summaries: Sequence[sweep.Summary]) -> str:
    rows = [["POLICY", "SEEDS", "ALLOC%", "±STD", "PLACED", "FAILED", "SECONDS", "PLACEMENTS/S"]]
    for s in sorted(summaries, key=lambda s: -s.allocation):
        rows.append(
            [
                s.policy,
                str(len(s.seeds)),
                f"{s.allocation:.2f}",
                f"{s.allocation_std:.2f}",
                f"{s.placed:.0f}",
                f"{s.failed:.0f}",
                f"{s.seconds:.2f}",
                f"{s.placements_per_second:,.0f}",
            ]
        )
    return printers.table(rows)


def traces_roots() -> list[Path]:
    """Where the shared traces are looked for: beside the current directory, then beside
    the checkout."""
    bases = [Path.cwd(), _repo_root()]
    return list(dict.fromkeys((base / catalog.DEFAULT_ROOT).resolve() for base in bases if base))


def parse_admission_policies(spec: str) -> tuple[str, ...]:
    """`all` or a comma-separated list of admission policies, in the order given."""
    names = [n.strip().lower() for n in spec.split(",") if n.strip()]
    if not names or names == [sweep.ALL]:
        return tuple(admission_policies.POLICIES)
    for name in names:
        admission_policies.get(name)
    return tuple(dict.fromkeys(names))


def load_trace(spec: str, root: Path | None, seed: int, synthetic_jobs: int) -> catalog.Trace:
    """The trace, or a CommandError that says what is known."""
    try:
        return catalog.load(spec, root, seed, synthetic_jobs)
    except (catalog.UnknownTraceError, catalog.MissingTraceError) as err:
        raise errors.CommandError(str(err.args[0])) from None
    except (csvrows.TraceError, ValueError) as err:
        raise errors.CommandError(str(err)) from None


_CHECKPOINT = workload.Checkpointing()


def _seconds(flag: str, default: float, text: str) -> Callable[[_F], _F]:
    return click.option(
        flag, type=click.FloatRange(min=0), default=default, show_default=True, help=text
    )


@command.command("jobs")
@click.option(
    "--trace",
    "trace_spec",
    required=True,
    metavar="NAME|FILE",
    help="A shared trace (philly, itp-01..05, crux, pollux-1..8, pollux-realistic-1..8) or "
    "synthetic-PROFILE, optionally ending in @FROM-TO to keep only the jobs submitted from "
    "day FROM to day TO; or a CSV file in any of the loaders' formats.",
)
@click.option(
    "--policy",
    "policy_spec",
    required=True,
    metavar="NAME|all",
    help=f"Admission policy, a comma-separated list, or `all` "
    f"({', '.join(admission_policies.POLICIES)}).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the simulator (and of the generator for synthetic traces).",
)
@click.option(
    "--load",
    type=click.FloatRange(min=0, min_open=True),
    default=catalog.DEFAULT_LOAD,
    show_default=True,
    help="Size the cluster so the trace offers this load (GPU-seconds asked / capacity "
    "over the arrival span).",
)
@click.option(
    "--nodes", type=click.IntRange(min=1), help="Use this many 8-GPU nodes instead of --load."
)
@click.option(
    "--traces",
    "traces_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help=f"Folder holding the shared traces [default: {catalog.DEFAULT_ROOT} from the current "
    "directory, then from the k8s4ai checkout].",
)
@click.option(
    "--synthetic-jobs",
    type=click.IntRange(min=1),
    default=catalog.SYNTHETIC_JOBS,
    show_default=True,
    help="Jobs drawn for a synthetic-PROFILE trace.",
)
@_seconds(
    "--checkpoint-write",
    _CHECKPOINT.write,
    "Seconds a job takes to write a checkpoint (before being preempted).",
)
@_seconds(
    "--checkpoint-restore", _CHECKPOINT.restore, "Seconds from a restart to making progress again."
)
@_seconds(
    "--checkpoint-interval",
    _CHECKPOINT.interval or 0.0,
    "Seconds between a job's periodic checkpoints (0: never).",
)
@_out_option("Folder for the per-job CSV, the JSON summary and the plots.")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Abandon a policy's replay after this much CPU time (it is reported, not dropped).",
)
@_workers_option("policies")
def jobs_command(
    trace_spec: str,
    policy_spec: str,
    seed: int,
    load: float,
    nodes: int | None,
    traces_dir: Path | None,
    synthetic_jobs: int,
    checkpoint_write: float,
    checkpoint_restore: float,
    checkpoint_interval: float,
    out: Path,
    time_limit: float | None,
    workers: int | None,
) -> None:
    """Replay a job trace through job-level admission (gangs, queues, fair share,
    preemption) and compare policies.

    Each job of N GPUs becomes a gang of ⌈N/8⌉ pods on identical 8-GPU nodes; the cluster is
    sized so the trace offers --load (never smaller than its largest job) unless --nodes is
    given. Philly's virtual clusters become queues in one cohort with quotas proportional to
    their sizes; other traces get one queue. Pollux workloads have no durations: each job
    gets its application's GPU-hours divided by its replicas (an approximation; see
    docs/jobs.md). A preempted job saves a checkpoint on notice and pays the restore time
    when it restarts.

    Prints, per policy, average and p99 job completion time and queueing delay, GPU
    utilisation, GPU-hours held idle by partly started jobs (pod-by-pod), Jain's fairness
    index over the queues, preemptions and lost work; with the right policies, the ratios
    the admission targets are stated in. Writes the per-job outcomes (CSV), the summary
    (JSON) and plots (JCT CDF; average JCT against SRPT) into --out. With several policies
    the runs share the CPUs (--workers processes).

    \b
    Examples:
      k8s4ai sim jobs --trace crux --policy all
      k8s4ai sim jobs --trace itp-03 --policy k8s4ai,srpt,las2d --load 0.9
      k8s4ai sim jobs --trace philly@30-37 --policy besteffort-fifo
      k8s4ai sim jobs --trace synthetic-crux --synthetic-jobs 500 --policy all
      k8s4ai sim jobs --trace my_jobs.csv --nodes 16 --policy k8s4ai
    """
    try:
        policy_names = parse_admission_policies(policy_spec)
    except admission_policies.UnknownPolicyError as err:
        raise errors.CommandError(f"{err.args[0]} (or {sweep.ALL})") from None
    root = traces_dir if traces_dir is not None else catalog.find_root(traces_roots())
    trace = load_trace(trace_spec, root, seed, synthetic_jobs)
    try:
        sizing = catalog.size(trace.jobs, load, catalog.GPUS_PER_NODE, nodes)
    except ValueError as err:
        raise errors.CommandError(str(err)) from None
    scenario = job_traces.scenario(trace, sizing)
    settings = job_traces.describe(trace, sizing, scenario.queues)
    ckpt = job_traces.checkpointing(checkpoint_write, checkpoint_restore, checkpoint_interval)
    click.echo(_trace_header(settings))
    runs = [job_sweep.Run(trace.name, p, seed, ckpt, time_limit) for p in policy_names]
    with _progress(len(runs)) as on_progress:
        done = job_sweep.run_many(
            [scenario], runs, workers or min(2, os.cpu_count() or 1), on_progress
        )
    weights = {q.name: q.weight for q in scenario.queues}
    replays = [d.result for d in done if d.result is not None]
    table = {(trace.name, r.policy): job_metrics.summarise(r, weights) for r in replays}
    click.echo("")
    click.echo(_jobs_table(list(table.values()), multi_queue=len(scenario.queues) > 1))
    for d in done:
        if d.result is None:
            click.echo(f"{d.run.policy}: {d.state} after {d.wall_seconds:,.0f} s")
    ratio_lines = _ratio_lines(job_report.ratios(table, trace.name))
    if ratio_lines:
        click.echo("")
        click.echo("\n".join(ratio_lines))
    written = _write_jobs(out, trace, settings, ckpt, table, replays)
    click.echo("")
    for path in written:
        click.echo(f"wrote {path}")
    failed = [d for d in done if d.error is not None]
    if failed:
        raise errors.CommandError(
            "\n".join(f"replay under {d.run.policy} failed: {d.error}" for d in failed)
        )


def _trace_header(s: dict[str, Any]) -> str:
    queues = s["queues"]
    lines = [
        f"trace {s['trace']}: {s['jobs']:,} jobs over {s['arrival_span_hours']:,} h, "
        f"{s['gpu_hours_asked']:,} GPU-hours asked, largest job {s['largest_job_gpus']} GPUs "
        f"({s['source']})",
        f"cluster: {s['nodes']} nodes × {s['gpus_per_node']} GPUs = {s['gpus']} GPUs, offered "
        f"load {100 * s['offered_load']:.1f}% (sized by {s['sized_by']}); real size: "
        f"{s['real_size']}",
        f"queues: {len(queues)}"
        + (f" in cohort {s['cohort']}" if s["cohort"] else "")
        + (": " + ", ".join(f"{q['name']} {q['nominal_gpus']:g}" for q in queues[:12]))
        + (" ..." if len(queues) > 12 else ""),
    ]
    lines += [f"note: {n}" for n in s["notes"]]
    return "\n".join(lines)


def _h(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds / 3600:,.2f}"


def _jobs_table(metrics: Sequence[job_metrics.Metrics], multi_queue: bool) -> str:
    header = ["POLICY", "JOBS", "AVG JCT h", "P99 JCT h", "AVG QUEUE h", "P99 QUEUE h"]
    header += ["UTIL%", "IDLE GPU-h", "JAIN", "PREEMPT", "LOST GPU-h", "SECONDS"]
    rows = [header]
    for m in metrics:
        rows.append(
            [
                m.policy,
                f"{m.jobs:,}" + (f" (+{m.unfinished} unfinished)" if m.unfinished else ""),
                _h(m.avg_jct),
                _h(m.p99_jct),
                _h(m.avg_queueing),
                _h(m.p99_queueing),
                "-" if math.isnan(m.utilisation) else f"{100 * m.utilisation:.1f}",
                f"{m.idle_gpu_hours:,.1f}",
                f"{m.jain:.3f}" if multi_queue and not math.isnan(m.jain) else "-",
                f"{m.preemptions:,}",
                f"{m.lost_gpu_hours:,.1f}",
                f"{m.wall_seconds:,.1f}",
            ]
        )
    return printers.table(rows)


def _ratio_lines(values: dict[str, float | None]) -> list[str]:
    lines = []
    for key, label, goal, ok in job_report.TARGETS:
        v = values[key]
        if v is not None and not math.isnan(v):
            lines.append(f"{label}: {v:.2f} (target {goal}: {'met' if ok(v) else 'not met'})")
    return lines


def _write_jobs(
    out: Path,
    trace: catalog.Trace,
    settings: dict[str, Any],
    ckpt: workload.Checkpointing,
    table: job_report.Table,
    replays: Sequence[replay.ReplayResult],
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = "jobs-" + "".join(c if c.isalnum() or c in "-_@." else "_" for c in trace.name)
    document = {
        "machine": report.machine(),
        "settings": {
            **settings,
            "checkpointing": dataclasses.asdict(ckpt),
        },
        "results": [job_report.record(t, m) for (t, _), m in table.items()],
        "ratios": job_report.ratios_record(table, trace.name),
    }
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    title = f"{trace.name}: {settings['gpus']} GPUs, offered load {settings['offered_load']}"
    return [
        job_report.write_outcomes(out / f"{stem}-outcomes.csv", replays),
        json_path,
        job_report.plot_jct_cdf(out / f"{stem}-jct-cdf.png", {trace.name: replays}, title),
        job_report.plot_vs_srpt(out / f"{stem}-vs-srpt.png", table, title),
    ]
