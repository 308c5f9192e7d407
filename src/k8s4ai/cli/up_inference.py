"""The inference half of `k8s4ai up` on the embedded cluster: each InferenceService's replicas
run as mock replicas (`k8s4ai.testing.replica`: there are no GPUs here, and the mock has a
real prefix cache and an H100-like latency model), and each ContentRouter runs as a live
router in front of them, so the example endpoint answers OpenAI requests on 127.0.0.1.

It keeps following the store while `up` runs (level-triggered, on every write): a service
scaled up or down gains or loses replicas and its `status.endpoints` says so, its routers
switch to the new replicas without a restart, a service or router applied later starts, one
deleted stops, and a router whose spec changed restarts on the same port. Each router writes
what it measures (requests/s, TTFT, prefix hits, tokens/s) into its ContentRouter's and its
service's status (`k8s4ai.router.publish`), and, unless `up` runs without a workload, a light
trace-shaped load (`up_traffic`) goes through each router so there is something to measure.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import click

from k8s4ai.api import inference, routing
from k8s4ai.cli import up_traffic
from k8s4ai.controllers import runner
from k8s4ai.router import app as router_app
from k8s4ai.router import config as router_config
from k8s4ai.router import follow, publish
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface
from k8s4ai.testing.replica import run as replica_run
from k8s4ai.testing.replica import server as replica_server

log = logging.getLogger(__name__)


def _key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}"


@dataclass
class _Service:
    config: replica_server.ReplicaConfig
    replicas: list[replica_run.RunningReplica] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.replicas]


@dataclass
class _Router:
    running: router_app.InThread
    spec: routing.ContentRouterSpec
    endpoints: tuple[str, ...]
    publisher: publish.Publisher


@dataclass
class Serving:
    host: str
    clock: Callable[[], datetime] = runner.wall_clock
    publish_period: float = publish.DEFAULT_PERIOD
    services: dict[str, _Service] = field(default_factory=dict)
    targets: Mapping[str, up_traffic.Target] = field(default_factory=dict)
    """Where demo traffic may go now; replaced whole, never changed, so other threads read
    it without a lock."""
    _routers: dict[str, _Router] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _traffic: up_traffic.Traffic | None = None

    @property
    def routers(self) -> dict[str, router_app.InThread]:
        return {key: r.running for key, r in self._routers.items()}

    def reconcile(self, store: interface.Store) -> None:
        """Make the running replicas and routers match the store, once."""
        self._services(store)
        self._routers_(store)

    def _services(self, store: interface.Store) -> None:
        seen = set()
        for svc in store.list(inference.InferenceService.kind_name).items:
            assert isinstance(svc, inference.InferenceService)
            key = _key(svc.metadata.namespace, svc.metadata.name)
            seen.add(key)
            config = replica_server.ReplicaConfig(
                model=svc.spec.model,
                max_model_len=svc.spec.max_model_len or replica_server.DEFAULT_MAX_MODEL_LEN,
            )
            running = self.services.get(key)
            if running is not None and running.config != config:
                _stop_all(running.replicas)
                running = None
            if running is None:
                running = self.services[key] = _Service(config)
            before = running.urls
            while len(running.replicas) < svc.spec.replicas:
                running.replicas.append(replica_run.start(config, self.host))
            while len(running.replicas) > svc.spec.replicas:
                _stop_all([running.replicas.pop()])
            urls = running.urls
            if urls != before or svc.status.endpoints != urls:
                status = {"readyReplicas": len(urls), "endpoints": urls}
                name, namespace = svc.metadata.name, svc.metadata.namespace
                _patch_status(store, svc.kind_name, name, namespace, status)
        for key in set(self.services) - seen:
            _stop_all(self.services.pop(key).replicas)

    def _routers_(self, store: interface.Store) -> None:
        seen = set()
        for cr in store.list(routing.ContentRouter.kind_name).items:
            assert isinstance(cr, routing.ContentRouter)
            key = _key(cr.metadata.namespace, cr.metadata.name)
            namespace = cr.metadata.namespace or "default"
            seen.add(key)
            urls = follow.endpoints(store, cr.metadata.name, namespace)
            current = self._routers.get(key)
            if current is not None and current.spec != cr.spec:
                port = int(current.running.url.rsplit(":", 1)[1])
                current.publisher.stop(clear=False)
                current.running.stop()
                del self._routers[key]
                current = None
            else:
                port = cr.spec.port
            if current is None:
                if not urls:
                    continue
                running = _start_router(router_config.from_spec(cr.spec, urls), self.host, port)
                publisher = publish.Publisher(
                    store, cr.metadata.name, namespace, running.router.metrics.recent.summary,
                    self.clock, self.publish_period,
                ).start()  # fmt: skip
                self._routers[key] = _Router(running, cr.spec, urls, publisher)
                status = {"url": running.url, "readyReplicas": len(urls)}
                _patch_status(store, cr.kind_name, cr.metadata.name, namespace, status)
            elif urls and urls != current.endpoints:
                current.running.set_endpoints(urls)
                current.endpoints = urls
                status = {"readyReplicas": len(urls)}
                _patch_status(store, cr.kind_name, cr.metadata.name, namespace, status)
        for key in set(self._routers) - seen:
            gone = self._routers.pop(key)
            gone.publisher.stop(clear=True)
            gone.running.stop()
        self.targets = self._demo_targets()

    def _demo_targets(self) -> dict[str, up_traffic.Target]:
        targets = {}
        for key, router in self._routers.items():
            service = self.services.get(_key(key.split("/", 1)[0], router.spec.service or ""))
            if service is not None:
                config = service.config
                targets[key] = up_traffic.Target(
                    router.running.url, config.model, config.max_model_len
                )
        return targets

    def send_traffic(self, seed: int = 0) -> None:
        """A light trace-shaped load through every router, until `stop`."""
        self._traffic = up_traffic.Traffic(lambda: self.targets, seed).start()

    def follow(self, store: interface.Store, wait_seconds: float = 1.0) -> None:
        """Reconcile on every write to the store until `stop`, on a daemon thread."""

        def failed(err: Exception) -> None:
            log.error("inference: reconcile failed: %s", err, exc_info=err)

        self._thread = threading.Thread(
            target=follow.on_writes,
            args=(store, self._stop, lambda: self.reconcile(store), wait_seconds, failed),
            name="k8s4ai-inference",
            daemon=True,
        )
        self._thread.start()

    def stop(self, store: interface.Store) -> None:
        """Stop serving and say so in status, so nobody is sent to a dead URL."""
        self._stop.set()
        if self._traffic is not None:
            self._traffic.stop()
        if self._thread is not None:
            self._thread.join(10)
        for key, router in self._routers.items():
            router.publisher.stop(clear=True)
            with contextlib.suppress(Exception):
                router.running.stop()
            namespace, name = key.split("/", 1)
            status: dict[str, object] = {"readyReplicas": 0, "url": None}
            _patch_status(store, routing.ContentRouter.kind_name, name, namespace, status)
        for key, service in self.services.items():
            _stop_all(service.replicas)
            namespace, name = key.split("/", 1)
            status = {"readyReplicas": 0, "endpoints": []}
            _patch_status(store, inference.InferenceService.kind_name, name, namespace, status)
        self._routers.clear()
        self.services.clear()


def _stop_all(replicas: list[replica_run.RunningReplica]) -> None:
    for replica in replicas:
        with contextlib.suppress(Exception):
            replica.stop()


def _start_router(cfg: router_config.RouterConfig, host: str, port: int) -> router_app.InThread:
    try:
        return router_app.InThread(cfg, host, port)
    except OSError:
        click.echo(f"router: port {port} is taken; serving on a free port instead", err=True)
        return router_app.InThread(cfg, host, 0)


def _patch_status(
    store: interface.Store, kind: str, name: str, namespace: str | None, status: dict[str, object]
) -> None:
    with contextlib.suppress(store_errors.StoreError):
        store.patch(kind, name, namespace, {"status": status}, subresource="status")


def start(
    store: interface.Store,
    host: str,
    traffic: bool = False,
    clock: Callable[[], datetime] = runner.wall_clock,
    publish_period: float = publish.DEFAULT_PERIOD,
) -> Serving:
    """Serve the store's services and routers; with `traffic`, a demo load through them."""
    serving = Serving(host, clock, publish_period)
    try:
        serving.reconcile(store)
    except BaseException:
        serving.stop(store)
        raise
    serving.follow(store)
    if traffic:
        serving.send_traffic()
    return serving
