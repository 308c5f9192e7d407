"""The inference half of `k8s4ai up` on the embedded cluster: each InferenceService's replicas
run as mock replicas (`k8s4ai.testing.replica`: there are no GPUs here, and the mock has a
real prefix cache and an H100-like latency model), and each ContentRouter runs as a live
router in front of them, so the example endpoint answers OpenAI requests on 127.0.0.1.

Replicas and routers start from what the store holds when `up` starts; a service or router
applied later is not started until the next `up`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import click

from k8s4ai.api import inference, routing
from k8s4ai.router import app as router_app
from k8s4ai.router import config as router_config
from k8s4ai.store import interface
from k8s4ai.testing.replica import run as replica_run
from k8s4ai.testing.replica import server as replica_server


@dataclass
class Serving:
    replicas: list[replica_run.RunningReplica] = field(default_factory=list)
    routers: dict[str, router_app.InThread] = field(default_factory=dict)
    started: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(kind, name, namespace) of every object whose status says it is serving."""

    def stop(self, store: interface.Store) -> None:
        """Stop serving and say so in status, so nobody is sent to a dead URL."""
        for router in self.routers.values():
            with contextlib.suppress(Exception):
                router.stop()
        for replica in self.replicas:
            with contextlib.suppress(Exception):
                replica.stop()
        for kind, name, namespace in self.started:
            status = {"readyReplicas": 0, "endpoints": [], "url": None}
            if kind == inference.InferenceService.kind_name:
                del status["url"]
            else:
                del status["endpoints"]
            with contextlib.suppress(Exception):
                store.patch(kind, name, namespace, {"status": status}, subresource="status")


def _key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}"


def start(store: interface.Store, host: str) -> Serving:
    serving = Serving()
    try:
        endpoints = _start_replicas(store, host, serving)
        _start_routers(store, host, endpoints, serving)
    except BaseException:
        serving.stop(store)
        raise
    return serving


def _start_replicas(
    store: interface.Store, host: str, serving: Serving
) -> dict[str, list[str]]:
    endpoints: dict[str, list[str]] = {}
    for svc in store.list(inference.InferenceService.kind_name).items:
        assert isinstance(svc, inference.InferenceService)
        config = replica_server.ReplicaConfig(
            model=svc.spec.model,
            max_model_len=svc.spec.max_model_len or replica_server.DEFAULT_MAX_MODEL_LEN,
        )
        urls = []
        for _ in range(svc.spec.replicas):
            replica = replica_run.start(config, host)
            serving.replicas.append(replica)
            urls.append(replica.url)
        key = _key(svc.metadata.namespace, svc.metadata.name)
        endpoints[key] = urls
        status = {"status": {"readyReplicas": len(urls), "endpoints": urls}}
        store.patch(
            svc.kind_name, svc.metadata.name, svc.metadata.namespace, status, subresource="status"
        )
        serving.started.append((svc.kind_name, svc.metadata.name, svc.metadata.namespace))
    return endpoints


def _start_routers(
    store: interface.Store, host: str, endpoints: dict[str, list[str]], serving: Serving
) -> None:
    for cr in store.list(routing.ContentRouter.kind_name).items:
        assert isinstance(cr, routing.ContentRouter)
        key = _key(cr.metadata.namespace, cr.metadata.name)
        service = _key(cr.metadata.namespace, cr.spec.service or "")
        urls = list(cr.spec.endpoints) or endpoints.get(service, [])
        if not urls:
            click.echo(f"router {key}: no replicas to route to; not started", err=True)
            continue
        cfg = router_config.from_spec(cr.spec, urls)
        try:
            router = router_app.InThread(cfg, host, cr.spec.port)
        except OSError:
            router = router_app.InThread(cfg, host, 0)
        serving.routers[key] = router
        status = {"status": {"url": router.url, "readyReplicas": len(urls)}}
        store.patch(
            cr.kind_name, cr.metadata.name, cr.metadata.namespace, status, subresource="status"
        )
        serving.started.append((cr.kind_name, cr.metadata.name, cr.metadata.namespace))
