"""What storage exists and who uses it, from what k8s4ai knows of it: CheckpointPolicies (where
jobs save, how much, how many kept) with the jobs that use them, and the volumes of the cost
ledger (storage assets with a `volume` label) with the allocations mounting them now.

The API has no volume objects (no PersistentVolumeClaim kind), so a volume waiting to be bound
cannot be seen: `volumes` lists those the ledger prices, each `bound` (an allocation naming it
is held now) or `orphaned` (none is), the state OpenCost's `__unmounted__` line charges.
Checkpoint storage is an upper bound: each job that has saved a checkpoint keeps at most its
policy's `retention` of them, each of the policy's `size` (when it gives one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from k8s4ai.api import checkpoint, gang
from k8s4ai.finops import allocation, pricing, view

GB = 1e9
MAX_JOBS = 200
"""Jobs listed with their last checkpoint (the most recent first); the counts cover all."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def checkpoints(
    policies: Iterable[checkpoint.CheckpointPolicy], gangs: Iterable[gang.GangSchedulingGroup]
) -> dict[str, Any]:
    """Per policy its storage and jobs; the jobs that saved a checkpoint, newest first."""
    using: Counter[tuple[str, str]] = Counter()
    saved: Counter[tuple[str, str]] = Counter()
    jobs = []
    for g in gangs:
        name = g.spec.checkpoint_policy
        if name is None:
            continue
        key = (g.metadata.namespace or "", name)
        using[key] += 1
        last = g.status.last_checkpoint_time
        if last is None:
            continue
        saved[key] += 1
        jobs.append((last, {
            "job": f"{g.metadata.namespace}/{g.metadata.name}", "policy": name,
            "phase": g.status.phase, "lastCheckpoint": _iso(last),
            "checkpointProgress": g.status.checkpoint_progress, "progress": g.status.progress,
        }))  # fmt: skip
    rows = []
    for p in sorted(policies, key=lambda p: (p.metadata.namespace or "", p.metadata.name)):
        key = (p.metadata.namespace or "", p.metadata.name)
        size = p.spec.storage.size
        each = float(size.value) / GB if size is not None else None
        rows.append({
            "namespace": key[0], "name": key[1], "uri": p.spec.storage.uri,
            "storageClass": p.spec.storage.storage_class, "sizeGB": each,
            "retention": p.spec.retention, "jobs": using[key], "checkpointed": saved[key],
            "upToGB": None if each is None else each * p.spec.retention * saved[key],
        })  # fmt: skip
    jobs.sort(key=lambda pair: pair[0], reverse=True)
    return {
        "policies": rows,
        "checkpointedJobs": len(jobs),
        "jobs": [row for _, row in jobs[:MAX_JOBS]],
    }


def volumes(current: view.CostView) -> dict[str, Any]:
    """The ledger's volumes at the view's `now`, their price, and the storage bill so far
    this month."""
    now, book, prices = current.now, current.ledger, current.prices
    assets, held = book.assets, book.allocations
    mounts: dict[str, list[str]] = defaultdict(list)
    codes, names = held.label_codes(allocation.VOLUME), held.label_values(allocation.VOLUME)
    for row in np.flatnonzero((codes >= 0) & (held.start <= now) & (held.end >= now)):
        labels = held.labels_of(int(row))
        owner = labels.get("job") or labels.get("namespace") or f"allocation {row}"
        mounts[names[codes[row]]].append(owner)
    found = []
    hourly = 0.0
    codes, names = assets.label_codes(allocation.VOLUME), assets.label_values(allocation.VOLUME)
    for row in np.flatnonzero((assets.start <= now) & (assets.end >= now)):
        rate = assets.rates[assets.rate[row]]
        if rate.kind is not pricing.ResourceKind.STORAGE:
            continue
        size = float(assets.amount[row])
        cost = size * prices.schedule(rate).at(now)
        hourly += cost
        if codes[row] < 0:
            continue
        name = names[codes[row]]
        found.append({
            "name": name, "storageClass": rate.sku, "sizeGB": size,
            "state": "bound" if mounts.get(name) else "orphaned",
            "since": _iso_seconds(float(assets.start[row])),
            "mountedBy": sorted(set(mounts.get(name, []))),
            "hourlyCost": cost, "monthlyCost": cost * pricing.HOURS_PER_MONTH,
        })  # fmt: skip
    found.sort(key=lambda v: (v["state"] != "orphaned", -v["hourlyCost"], v["name"]))
    states = Counter(v["state"] for v in found)
    return {
        "volumes": found,
        "bound": states["bound"],
        "orphaned": states["orphaned"],
        "hourlyCost": hourly,
    }


def _iso_seconds(seconds: float) -> str:
    return _iso(datetime.fromtimestamp(seconds, UTC)) or ""
