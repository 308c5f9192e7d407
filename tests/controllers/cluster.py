"""A small GPU cluster in a real store, a clock the test moves, and manifest builders for what
`k8s4ai.testing` does not build (cohort queues with limits, budgets): shared by the admission
controller and `explain` tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from k8s4ai import testing
from k8s4ai.api import registry, resource
from k8s4ai.controllers import admission, runner
from k8s4ai.store import sqlite

Manifest = dict[str, Any]
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
"""A day ago, so that commands reading the wall clock (`explain`) come after it."""


class Clock:
    """Now, as the store and the controller see it; `tick` moves it on."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def open_store(path: Path, clock: Clock) -> sqlite.SqliteStore:
    return sqlite.SqliteStore(path, synchronous="NORMAL", clock=clock)


def apply(store: sqlite.SqliteStore, *manifests: Manifest) -> list[resource.Resource]:
    objs = [registry.by_kind(m["kind"]).model_validate(m) for m in manifests]
    return [r.object for r in store.apply(objs)]


def nodes(*racks: int, gpus: int = 8) -> list[Manifest]:
    """Rack i holds racks[i] nodes of `gpus` H100s, named n1, n2... across racks."""
    out: list[Manifest] = [testing.accelerator_class("h100"), testing.topology()]
    count = 0
    for rack, size in enumerate(racks, start=1):
        for _ in range(size):
            count += 1
            out.append(testing.node(f"n{count}", gpus=gpus, rack=f"r{rack}"))
    return out


def queue(
    name: str,
    gpus: float = 32,
    cohort: str | None = None,
    borrowing: float | None = None,
    lending: float | None = None,
    **spec: Any,
) -> Manifest:
    manifest = testing.queue(name, gpus=int(gpus), cohort=cohort)
    limits = manifest["spec"]["quotas"][0]
    if borrowing is not None:
        limits["borrowingLimit"] = borrowing
    if lending is not None:
        limits["lendingLimit"] = lending
    manifest["spec"].update(spec)
    return manifest


def budget(name: str, queues: list[str], amount: float = 100.0, **more: Any) -> Manifest:
    spec = {
        "queues": queues,
        "amount": amount,
        "thresholds": [
            {"percent": 80, "action": "notify"},
            {"percent": 100, "action": "block-new"},
        ],
        **more,
    }
    return {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "Budget",
        "metadata": {"name": name},
        "spec": spec,
    }


def controller(
    store: sqlite.SqliteStore, clock: Clock, policy: str = "k8s4ai"
) -> admission.AdmissionController:
    return admission.AdmissionController(store, clock=clock, policy=policy)


def settle(store: sqlite.SqliteStore, clock: Clock, policy: str = "k8s4ai") -> None:
    """Run the controllers as `k8s4ai up` does until they have nothing left to write."""
    inventory = runner.InventoryController(store, clock=clock, admission=True)
    admit = controller(store, clock, policy)
    for _ in range(10):
        if inventory.run_once() + admit.run_once() == 0:
            return
    raise AssertionError("the controllers kept writing")
