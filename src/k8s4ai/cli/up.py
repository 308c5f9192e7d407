"""`k8s4ai up`: the whole plane on one machine, with an example GPU cluster to look at."""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import resources as package_files
from pathlib import Path
from types import FrameType
from typing import TypeVar
from urllib import parse

import click

from k8s4ai.api import manifest, node, queue
from k8s4ai.cli import context, errors, server, sources, up_cluster, up_inference, up_workload
from k8s4ai.controllers import admission, cost_controller, remediation, runner
from k8s4ai.remediation import engine as remediation_engine
from k8s4ai.scheduler.admission import policies
from k8s4ai.server import auth, run, watch_cache
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface, lookup, sqlite

Decorated = TypeVar("Decorated", bound=Callable[..., object])


def packaged_examples() -> Path:
    return Path(str(package_files.files("k8s4ai") / "examples"))


def policy_option(text: str) -> Callable[[Decorated], Decorated]:
    """--policy, the admission policy by name (env K8S4AI_POLICY), for `up` and `explain`."""
    return click.option(
        "--policy",
        envvar="K8S4AI_POLICY",
        type=click.Choice(sorted(set(policies.POLICIES) - set(policies.ORACLES))),
        default=policies.DEFAULT,
        show_default=True,
        help=f"{text} [env K8S4AI_POLICY]",
    )


@click.command("up")
@server.HOST_OPTION
@server.PORT_OPTION
@server.TOKEN_FILE_OPTION
@server.NO_AUTH_OPTION
@click.option(
    "--examples",
    "examples_dir",
    type=click.Path(exists=True, path_type=Path),
    help="Manifests to load at start [default: the example cluster shipped with k8s4ai].",
)
@click.option("--no-examples", is_flag=True, help="Start with only what the store holds.")
@policy_option("Admission policy: the order jobs are admitted in, and whether it may preempt.")
@click.option(
    "--remediation",
    "remediation_mode",
    type=click.Choice([m.name.lower() for m in remediation_engine.Mode]),
    default="propose",
    show_default=True,
    help="What remediation does with a fault it finds: observe (report it), propose (plan a "
    "fix that waits for `k8s4ai remediation approve`) or auto (apply it within guardrails).",
)
@up_workload.options
@up_cluster.options
@click.pass_obj
def command(
    target: context.Target,
    host: str,
    port: int,
    token_file: Path | None,
    no_auth: bool,
    examples_dir: Path | None,
    no_examples: bool,
    policy: str,
    remediation_mode: str,
    kubeconfig: Path | None,
    in_cluster: bool,
    lease: str,
    lease_duration: str,
    renew_deadline: str,
    retry_period: str,
    identity: str | None,
    ledger_dir: Path | None,
    prometheus: str | None,
    speed: float,
    no_workload: bool,
    workload_seed: int,
) -> None:
    """Run k8s4ai locally: the API server on the embedded store, the controllers (inventory;
    admission, which admits and places applied gangs; cost, which keeps the ledger beside the
    store file and budgets' spending) and an example cluster (2 racks x
    4 nodes x 8 H100, an A100 node with MIG, L4 serving nodes, team queues in a cohort,
    training gangs, an inference service behind a ContentRouter, a CheckpointPolicy and
    budgets). Inference services run as mock replicas (there are no GPUs here) behind a live
    router per ContentRouter, on 127.0.0.1. Stop it with Ctrl-C; state is kept in the store
    file (--db) for next time, and examples are re-applied without duplicates.

    The simulated cluster lives: jobs shaped like a public trace arrive in the team queues,
    run, checkpoint, fail now and then and finish, and nodes go NotReady and come back, all
    --speed times faster than real time (60: an hour a minute). On a fresh store it opens
    on the last hours of that workload, replayed in a few seconds. --no-workload keeps the
    cluster still.

    With --kubeconfig or --in-cluster, k8s4ai instead schedules a Kubernetes cluster's pods
    (those with schedulerName k8s4ai) as a secondary scheduler, electing a leader among
    replicas on a Lease; see docs/kubernetes.md. On a cluster it serves its cost ledger
    (/api/v1/allocation, /metrics) on --host/--port.
    """
    on_cluster = up_cluster.ClusterArgs(
        kubeconfig, in_cluster, lease, lease_duration, renew_deadline, retry_period, identity,
        ledger_dir, prometheus, host, port, token_file, no_auth,
    )
    if on_cluster.wanted:
        up_cluster.run(on_cluster, policy)
        return
    if target.server:
        raise errors.CommandError("`up` runs its own server; drop --server / K8S4AI_SERVER")
    server.check_host(host)
    tokens = server.tokens_for(token_file, no_auth)
    clock = up_workload.Clock()
    store = sqlite.SqliteStore(target.db, clock=clock)
    try:
        if not no_workload:
            up_workload.Live.rewind(store, clock, speed)
        if not no_examples:
            _load_examples(store, examples_dir or packaged_examples())
        cache = watch_cache.WatchCache(store)
        costs = cost_controller.CostController(
            watch_cache.CachedLists(store, cache), target.db.parent, target.db.stem, clock=clock
        )
        inventory = runner.InventoryController(store, clock=clock, admission=True)
        admitting = admission.AdmissionController(store, clock=clock, policy=policy)
        live = None if no_workload else up_workload.Live(store, clock, speed, workload_seed)
        if live is not None:
            inventory.run_once()
            began = time.monotonic()
            if live.warm_up((admitting.run_once,), costs.run_once):
                took = time.monotonic() - began
                click.echo(
                    f"replayed the last {up_workload.WARM_HOURS:g} hours of the simulated "
                    f"workload in {took:.1f}s"
                )
        try:
            api = run.start(
                store, host, port, tokens=tokens, cost=costs.view, cache=cache,
                remediation_audit=remediation.audit_path(target.db),
            )  # fmt: skip
        except OSError as err:
            hint = " (is `k8s4ai up` already running? try --port)" if port else ""
            message = f"cannot listen on {host}:{port}: {err.strerror}{hint}"
            raise errors.CommandError(message) from None
        stop = threading.Event()
        controllers = [
            threading.Thread(target=loop, args=(stop,), name=f"k8s4ai-{name}", daemon=True)
            for name, loop in (
                ("inventory", inventory.run),
                ("admission", admitting.run),
                ("cost", costs.run),
                ("remediation", _remediation(store, target.db, clock, remediation_mode).run),
                *([("workload", live.run)] if live is not None else []),
            )
        ]
        for controller in controllers:
            controller.start()
        serving = up_inference.start(store, host, traffic=not no_workload, clock=clock)
        tokens_at = token_file or context.home() / "tokens.csv"
        _banner(store, api.url, target.db, tokens_at, no_auth,
                _workload_banner(live) + _routers_banner(serving),
                _dashboard_url(api.url, tokens))
        _wait_for_signal()
        click.echo("stopping...")
        stop.set()
        serving.stop(store)
        api.stop()
        for controller in controllers:
            controller.join(timeout=5)
    finally:
        store.close()


def _remediation(
    store: interface.Store, db: Path, clock: Callable[[], datetime], mode: str
) -> remediation.Controller:
    chosen = remediation_engine.Mode[mode.upper()]
    return remediation.Controller(store, db, clock, remediation_engine.Policy(chosen))


def _load_examples(store: interface.Store, path: Path) -> None:
    try:
        texts = sources.read([str(path)])
        manifests = manifest.load(texts, lookup.lookup_in(store))
        results = store.apply([m.object for m in manifests])
    except sources.SourceError as err:
        raise errors.CommandError(str(err)) from None
    except manifest.ManifestError as err:
        raise errors.CommandError(f"examples in {path} are invalid:\n{err}") from None
    except store_errors.StoreError as err:
        raise errors.from_store(err) from None
    outcomes = Counter(r.outcome for r in results)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
    click.echo(f"loaded {len(results)} objects from {path} ({summary})")


def _cluster_summary(store: interface.Store) -> str:
    nodes = [n for n in store.list(node.Node.kind_name).items if isinstance(n, node.Node)]
    gpus: Counter[str] = Counter()
    for n in nodes:
        for group in n.spec.gpus:
            gpus[group.accelerator_class] += group.count
    queues = store.list(queue.Queue.kind_name).items
    per_class = ", ".join(f"{count} {cls}" for cls, count in sorted(gpus.items()))
    return (
        f"{len(nodes)} nodes, {sum(gpus.values())} GPUs ({per_class or 'none'}), "
        f"{len(queues)} queues"
    )


def _dashboard_url(url: str, tokens: Mapping[str, auth.Role] | None) -> str:
    """The dashboard with the read-only token in the fragment, which browsers never send to
    the server; the page moves it to session storage and out of the address bar."""
    read = next((token for token, role in (tokens or {}).items() if role == "read"), None)
    return f"{url}/ui/" if read is None else f"{url}/ui/#token={parse.quote(read, safe='')}"


def _banner(
    store: interface.Store,
    url: str,
    db: Path,
    token_file: Path,
    no_auth: bool,
    serving: str,
    dashboard: str,
) -> None:
    auth_line = "no authentication (--no-auth)" if no_auth else f"bearer tokens in {token_file}"
    db_flag = "" if db == context.default_db() else f" --db {db}"
    prog = _prog()
    click.echo(
        f"""
k8s4ai is up
  dashboard    {dashboard}
  API server   {url}/apis/k8s4ai.io/v1alpha1   ({auth_line})
  health       {url}/healthz   metrics {url}/metrics   OpenAPI {url}/openapi/v3
  store        {db}
  cluster      {_cluster_summary(store)}{serving}

Try, in another terminal:
  {prog}{db_flag} get nodes -o wide
  {prog}{db_flag} get gangs -A
  {prog}{db_flag} describe gang llama-70b-sft -n team-a
  {prog}{db_flag} explain mixtral-pretrain -n team-a
  {prog}{db_flag} get all -A

Press Ctrl-C to stop.""".rstrip()
    )


def _workload_banner(live: up_workload.Live | None) -> str:
    if live is None:
        return ""
    return (
        f"\n  workload     simulated jobs, failures and repairs at {live.speed:g}x "
        f"(--speed; --no-workload for a still cluster)"
    )


def _routers_banner(serving: up_inference.Serving) -> str:
    if not serving.routers:
        return ""
    lines = ["  inference    mock replicas behind OpenAI-compatible routers:"]
    for key, router in serving.routers.items():
        lines.append(f"    {key:28} {router.url}/v1/chat/completions")
    first = next(iter(serving.routers.values()))
    model = next(iter(sorted(first.router.pool.known_models())), "MODEL")
    body = f'{{"model": "{model}", "messages": [{{"role": "user", "content": "hi"}}]}}'
    lines.append(
        f"    curl {first.url}/v1/chat/completions -H 'Content-Type: application/json' "
        f"-d '{body}'"
    )
    return "\n" + "\n".join(lines)


def _prog() -> str:
    """How the user can run this CLI again: `k8s4ai` when that is on PATH, else the path
    they used (e.g. `.venv/bin/k8s4ai` right after the quick start)."""
    used = Path(sys.argv[0]).resolve()
    on_path = shutil.which("k8s4ai")
    if on_path is not None and Path(on_path).resolve() == used:
        return "k8s4ai"
    try:
        return str(used.relative_to(Path.cwd()))
    except ValueError:
        return str(used)


def _wait_for_signal() -> None:
    stopped = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
