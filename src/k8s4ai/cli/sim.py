"""`k8s4ai sim`: run the simulator on a trace without a cluster or a server, e.g. the FGD
paper's fragmentation experiment on the Alibaba openb trace."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
import numpy as np

import k8s4ai
from k8s4ai.backends.sim import report, sweep
from k8s4ai.cli import errors, printers
from k8s4ai.scheduler import registry
from k8s4ai.traces import openb, synthetic

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
    except openb.TraceError as err:
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


@contextmanager
def _progress(total: int) -> Iterator[Callable[[sweep.Progress], None]]:
    """A bar on stderr that fills with the pods placed, labelled with the runs finished."""
    steps = 1000
    with click.progressbar(
        length=steps,
        label=f"0/{total} runs",
        file=sys.stderr,
        show_pos=False,
    ) as bar:
        shown = 0

        def update(progress: sweep.Progress) -> None:
            nonlocal shown
            bar.label = f"{progress.finished}/{progress.total} runs"
            target = int(progress.fraction * steps)
            if target > shown:
                bar.update(target - shown)
                shown = target

        yield update


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
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("k8s4ai-sim-out"),
    show_default=True,
    help="Folder for the curve CSV and plot.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes running (policy, seed) pairs in parallel [default: min(2, CPUs)].",
)
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
