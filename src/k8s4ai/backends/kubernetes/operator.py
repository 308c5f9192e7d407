"""k8s4ai as a secondary scheduler on a cluster: connect, elect a leader, run the loops.

This is what `k8s4ai up --kubeconfig PATH` / `--in-cluster` runs (the Deployment in
`deploy/` uses `--in-cluster`). Every replica watches and keeps its own cost journal; only the
one holding the Lease binds pods and writes Budget status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import kr8s.asyncio

from k8s4ai.backends.kubernetes import controller, costs, dcgm, leader
from k8s4ai.controllers import cost_ledger
from k8s4ai.finops import pricing
from k8s4ai.scheduler.admission import policies

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

Serve = Callable[[costs.CostLoop], contextlib.AbstractContextManager[object]]
"""What serves the cost loop's reports while the operator runs (the cli layer passes the
HTTP app: backends do not know the server)."""


@dataclass(frozen=True, slots=True)
class Settings:
    lease: leader.LeaseConfig = field(default_factory=leader.LeaseConfig)
    identity: str = ""
    """The Lease holder's name: the pod name in a Deployment (env POD_NAME)."""
    policy: str = policies.DEFAULT
    period_seconds: float = 10.0
    ledger_dir: Path | None = None
    """Where the cost journal lives (`--ledger-dir`); None: `default_ledger_dir()`."""
    prices: pricing.PriceBook | None = None
    """Imported prices (OpenCost pricing files) over the AcceleratorClasses' and defaults."""
    prometheus: str | None = None
    """The Prometheus that scrapes dcgm-exporter (`--prometheus`): GPU utilisation for the
    cost loop's `view()`; None: no samples (GPUs are charged as held)."""
    prometheus_step_seconds: float = 60.0


def default_identity() -> str:
    return os.environ.get("POD_NAME") or socket.gethostname()


def default_ledger_dir() -> Path:
    """$K8S4AI_LEDGER_DIR (deploy/ sets it to a mounted volume), else `cluster-ledger` in
    $K8S4AI_HOME (default ~/.k8s4ai), where `k8s4ai up` keeps its state."""
    given = os.environ.get("K8S4AI_LEDGER_DIR")
    if given:
        return Path(given)
    home = os.environ.get("K8S4AI_HOME") or "~/.k8s4ai"
    return Path(home).expanduser() / "cluster-ledger"


async def connect(kubeconfig: str | None = None, in_cluster: bool = False) -> kr8s.asyncio.Api:
    """A client from a kubeconfig file, or from the pod's service account in a cluster."""
    if in_cluster:
        return await kr8s.asyncio.api(serviceaccount=SERVICE_ACCOUNT)
    return await kr8s.asyncio.api(kubeconfig=kubeconfig)


def server_of(api: kr8s.asyncio.Api) -> str:
    return str(api.auth.server)


async def run(
    api: kr8s.asyncio.Api, settings: Settings, stop: asyncio.Event, serve: Serve | None = None
) -> None:
    """Until `stop`: renew or contend for the Lease, keep the cost ledger, and schedule and
    write Budget status while holding the Lease; `serve(ledger)` is entered once the ledger
    exists and left when the loops have stopped (every replica serves its own ledger)."""
    elector = leader.Elector(api, settings.identity or default_identity(), settings.lease)
    loop = controller.Controller(api, leading=elector.leading, policy=settings.policy)
    with contextlib.ExitStack() as stack:
        sampler: cost_ledger.Sampler = costs.no_samples
        if settings.prometheus:
            client = stack.enter_context(httpx.Client(base_url=settings.prometheus, timeout=30))
            sampler = dcgm.sampler(client, settings.prometheus_step_seconds)
        ledger = costs.CostLoop(
            api,
            loop.pods,
            loop.nodes,
            settings.ledger_dir or default_ledger_dir(),
            leading=elector.leading,
            imported=settings.prices,
            sampler=sampler,
        )
        if serve is not None:
            stack.enter_context(serve(ledger))
        await _run(elector, loop, ledger, settings, stop)


async def _run(
    elector: leader.Elector,
    loop: controller.Controller,
    ledger: costs.CostLoop,
    settings: Settings,
    stop: asyncio.Event,
) -> None:
    loop.listeners.append(ledger.changed.set)

    def acquired() -> None:
        loop.changed.set()
        ledger.changed.set()

    await asyncio.gather(
        elector.run(stop, on_acquire=acquired),
        loop.run(stop, settings.period_seconds),
        ledger.run(stop, settings.period_seconds),
    )
    await elector.release()
