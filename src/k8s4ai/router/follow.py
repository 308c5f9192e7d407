"""Where a ContentRouter's replicas are, read from the store and followed while it changes.

A ContentRouter lists its `endpoints`, or names an InferenceService whose status lists them
(`k8s4ai up` writes them as it starts replicas; the Kubernetes backend would from the
service's endpoints). A router started from the store keeps following both objects, so a
service scaled up or down, or a router re-pointed at other replicas, takes effect without a
restart. Following is level-triggered: on any write to the store it re-reads the two objects
and reports the endpoints only when they differ, so a missed or coalesced event changes
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from k8s4ai.api import inference, routing
from k8s4ai.store import errors, interface


class NoReplicasError(LookupError):
    """The ContentRouter names a service that lists no ready endpoints yet."""


def resolve(store: interface.Store, name: str, namespace: str) -> routing.ContentRouterSpec:
    """The ContentRouter's spec with `endpoints` filled in from its service when it names
    one. Raises the store's NotFound, or NoReplicasError."""
    found = store.get(routing.ContentRouter.kind_name, name, namespace)
    assert isinstance(found, routing.ContentRouter)
    spec = found.spec
    if spec.endpoints or spec.service is None:
        return spec
    service = store.get(inference.InferenceService.kind_name, spec.service, namespace)
    assert isinstance(service, inference.InferenceService)
    if not service.status.endpoints:
        raise NoReplicasError(
            f"ContentRouter {namespace}/{name}: InferenceService {spec.service} has no ready "
            "endpoints yet"
        )
    return spec.model_copy(update={"endpoints": list(service.status.endpoints)})


def endpoints(store: interface.Store, name: str, namespace: str) -> tuple[str, ...]:
    """The replicas to route to now; none when the router or its service is gone or lists
    none, which a `Follower` takes as "keep the last ones": a service between replicas (or
    deleted by mistake) keeps serving from what was there, and health checks eject the dead."""
    try:
        spec = resolve(store, name, namespace)
    except (errors.NotFound, NoReplicasError):
        return ()
    return tuple(url.rstrip("/") for url in spec.endpoints)


def on_writes(
    store: interface.Store,
    stop: threading.Event,
    act: Callable[[], None],
    wait_seconds: float,
    failed: Callable[[Exception], None],
) -> None:
    """Until `stop`: `act()` after every write to the store. A failure (of the store or of
    `act`) goes to `failed` and the loop waits `wait_seconds` before going on: whoever
    follows the store must outlive a bad moment, and the next write retries."""
    seen = store.resource_version()
    while not stop.is_set():
        try:
            latest = store.wait(seen, wait_seconds)
            if latest == seen:
                continue
            seen = latest
            act()
        except Exception as err:  # handed to `failed`; following goes on
            failed(err)
            stop.wait(wait_seconds)


class Follower:
    """Follows one ContentRouter's endpoints on a daemon thread, calling `changed(urls)` (on
    that thread) each time they differ from the last ones reported or given at start."""

    def __init__(
        self,
        store: interface.Store,
        name: str,
        namespace: str,
        current: tuple[str, ...],
        changed: Callable[[tuple[str, ...]], None],
        wait_seconds: float = 5.0,
    ) -> None:
        self._store = store
        self._name = name
        self._namespace = namespace
        self._current = current
        self._changed = changed
        self._wait = wait_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"k8s4ai-router-follow-{name}", daemon=True
        )
        self.error: Exception | None = None
        """The store failure that ended following, if one did."""

    def start(self) -> Follower:
        self._thread.start()
        return self

    def _run(self) -> None:
        on_writes(self._store, self._stopping, self._act, self._wait, self._failed)

    def _act(self) -> None:
        urls = endpoints(self._store, self._name, self._namespace)
        self.error = None
        if urls and urls != self._current:
            self._current = urls
            self._changed(urls)

    def _failed(self, err: Exception) -> None:
        self.error = err  # reported, not raised: routing goes on with the last replicas

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)
