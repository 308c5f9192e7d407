"""k8s4ai as a secondary scheduler on a cluster: connect, elect a leader, run the loop.

This is what `k8s4ai up --kubeconfig PATH` / `--in-cluster` runs (the Deployment in
`deploy/` uses `--in-cluster`). Every replica watches; only the one holding the Lease acts.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field

import kr8s.asyncio

from k8s4ai.backends.kubernetes import controller, leader
from k8s4ai.scheduler.admission import policies

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True, slots=True)
class Settings:
    lease: leader.LeaseConfig = field(default_factory=leader.LeaseConfig)
    identity: str = ""
    """The Lease holder's name: the pod name in a Deployment (env POD_NAME)."""
    policy: str = policies.DEFAULT
    period_seconds: float = 10.0


def default_identity() -> str:
    return os.environ.get("POD_NAME") or socket.gethostname()


async def connect(kubeconfig: str | None = None, in_cluster: bool = False) -> kr8s.asyncio.Api:
    """A client from a kubeconfig file, or from the pod's service account in a cluster."""
    if in_cluster:
        return await kr8s.asyncio.api(serviceaccount=SERVICE_ACCOUNT)
    return await kr8s.asyncio.api(kubeconfig=kubeconfig)


def server_of(api: kr8s.asyncio.Api) -> str:
    return str(api.auth.server)


async def run(api: kr8s.asyncio.Api, settings: Settings, stop: asyncio.Event) -> None:
    """Until `stop`: renew or contend for the Lease, and schedule while holding it."""
    elector = leader.Elector(api, settings.identity or default_identity(), settings.lease)
    loop = controller.Controller(api, leading=elector.leading, policy=settings.policy)
    await asyncio.gather(
        elector.run(stop, on_acquire=loop.changed.set),
        loop.run(stop, settings.period_seconds),
    )
    await elector.release()
