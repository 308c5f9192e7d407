"""Findings: money spent on nothing, each with what to do and what it saves per month.

Five kinds, as Kubecost's savings cards but knowing what k8s4ai knows: GPUs held and idle
(remove them, share one by MIG slice or fraction, or shrink to fewer: sized by the peak engine
activity and memory the samples show, so a slice is never recommended that the work would
not fit); inference endpoints with more replicas than their peak load needs at their latency
target; volumes no pod has mounted for days; checkpoints kept beyond a CheckpointPolicy's
retention; cold data on a premium storage class.

Savings are monthly (730 h) at each resource's price at `now`, in cents: what the bill would
lose if the action were taken today. A volume or allocation is reported once, under the first
kind that applies (an orphaned volume is not also "cold"), so savings can be summed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from k8s4ai.api import accelerator, checkpoint
from k8s4ai.finops import allocation, ledger, money, pricing, utilisation

GIB = float(2**30)


class Kind(StrEnum):
    IDLE_GPU = "idle-gpu"
    OVERPROVISIONED_ENDPOINT = "overprovisioned-endpoint"
    ORPHANED_VOLUME = "orphaned-volume"
    CHECKPOINT_BLOAT = "checkpoint-bloat"
    COLD_PREMIUM_STORAGE = "cold-premium-storage"


class Action(StrEnum):
    REMOVE = "remove"
    SHARE = "share"
    SHRINK = "shrink"
    SCALE_DOWN = "scale-down"
    DELETE = "delete"
    MOVE = "move"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    subject: str
    action: Action
    reason: str
    monthly_savings: int
    """Cents per month."""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Thresholds:
    idle_activity: float = 0.05
    """Peak engine activity below which held GPUs count as idle (Kubecost's default)."""
    target_activity: float = 0.8
    """Activity a right-sized GPU share should peak at: headroom for bursts."""
    fraction_step: float = 0.1
    """Fractional GPU shares (without MIG) are recommended in steps of this much."""
    orphan_days: float = 7.0
    cold_days: float = 30.0


@dataclass(frozen=True, slots=True)
class LoadPoint:
    """A measured operating point of one replica: at this many requests per second its
    p95 latency was this many seconds."""

    rps: float
    p95_seconds: float


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    rate: pricing.RateKey
    gpus_per_replica: float
    replicas: int
    peak_rps: float
    """The highest load measured over the window."""
    curve: tuple[LoadPoint, ...]
    p95_target: float
    min_replicas: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)

    def replica_capacity(self) -> float:
        """The most load one replica was measured to take within the latency target."""
        return max((p.rps for p in self.curve if p.p95_seconds <= self.p95_target), default=0.0)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    job: str
    policy: str
    """Name of the job's CheckpointPolicy."""
    created: float
    size_gb: float
    storage_class: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scene:
    """Everything findings look at, as of `window.end`."""

    book: ledger.Ledger
    prices: pricing.PriceBook
    window: allocation.Window
    samples: utilisation.Samples = field(default_factory=utilisation.Samples.empty)
    classes: Mapping[str, accelerator.AcceleratorClass] = field(default_factory=dict)
    endpoints: Sequence[Endpoint] = ()
    checkpoints: Sequence[Checkpoint] = ()
    policies: Mapping[str, checkpoint.CheckpointPolicy] = field(default_factory=dict)
    last_read: Mapping[str, float] = field(default_factory=dict)
    """Seconds since the epoch each volume (by its `volume` label) was last read."""
    cheaper: Mapping[str, str] = field(default_factory=dict)
    """A premium storage class → the class its cold data should move to."""


def find(scene: Scene, thresholds: Thresholds = Thresholds()) -> list[Finding]:
    """Every finding, largest savings first."""
    orphans = orphaned_volumes(scene, thresholds)
    found = [
        *idle_gpus(scene, thresholds),
        *overprovisioned_endpoints(scene),
        *orphans,
        *checkpoint_bloat(scene),
        *cold_premium_storage(scene, thresholds, {f.subject for f in orphans}),
    ]
    return sorted(found, key=lambda f: (-f.monthly_savings, f.kind, f.subject))


def monthly(prices: pricing.PriceBook, rate: pricing.RateKey, amount: float, now: float
            ) -> int:
    return money.cents(amount * prices.schedule(rate).at(now) * pricing.HOURS_PER_MONTH)


def idle_gpus(scene: Scene, thresholds: Thresholds = Thresholds()) -> list[Finding]:
    """GPU allocations held through the whole window whose samples (there must be some)
    peak below what they hold."""
    held = scene.book.allocations
    window = scene.window
    peaks = scene.samples.peaks(len(held), window)
    gpu_codes = [i for i, r in enumerate(held.rates) if r.kind is pricing.ResourceKind.GPU]
    through = (
        np.isin(held.rate, gpu_codes)
        & (held.start <= window.start)
        & (held.end >= window.end)
        & (peaks.count > 0)
        & (held.amount > 0)
    )
    found = []
    for row in np.flatnonzero(through):
        rate = held.rates[held.rate[row]]
        amount = float(held.amount[row])
        active = float(peaks.engine_active[row])
        memory = float(peaks.memory_used[row])
        if active < thresholds.idle_activity:
            action, keep = Action.REMOVE, 0.0
            why = f"peak engine activity {active:.0%} over the window"
        else:
            keep = _right_size(
                amount, active, memory, scene.classes.get(rate.sku), thresholds
            )
            if keep >= amount:
                continue
            action = Action.SHARE if keep < 1 <= amount else Action.SHRINK
            why = (
                f"peak engine activity {active:.0%} of {_gpus(amount)} and {memory:.1f} GiB "
                f"used fit in {_gpus(keep)}"
            )
        labels = held.labels_of(int(row))
        found.append(
            Finding(
                Kind.IDLE_GPU,
                _subject(labels, f"allocation {row}"),
                action,
                f"holds {_gpus(amount)} of {rate}: {why}",
                monthly(scene.prices, rate, amount - keep, window.end),
                labels,
            )
        )
    return found


def _right_size(
    amount: float,
    active: float,
    memory_gib: float,
    accel: accelerator.AcceleratorClass | None,
    thresholds: Thresholds,
) -> float:
    """The fewest GPUs (whole, or one MIG slice or fraction when less than one) that take the
    peak compute at the target activity and the peak memory."""
    compute = active * amount / thresholds.target_activity
    vram = float(accel.spec.vram.value) / GIB if accel is not None else 0.0
    need = max(compute, memory_gib / vram if vram else 0.0)
    if need >= 1 or accel is None:
        return float(min(amount, max(1, math.ceil(need - 1e-9))))
    slices = sorted(accel.spec.mig_profiles, key=lambda p: p.compute_slices)
    for profile in slices:
        fraction = profile.compute_slices / accelerator.MIG_COMPUTE_SLICES
        if fraction >= compute and float(profile.vram.value) / GIB >= memory_gib:
            return min(amount, fraction)
    if accel.spec.allow_fractional and not slices:
        step = thresholds.fraction_step
        return min(amount, math.ceil(need / step - 1e-9) * step)
    return min(amount, 1.0)


def overprovisioned_endpoints(scene: Scene) -> list[Finding]:
    """Endpoints whose peak load, at the load one replica takes within the latency target,
    needs fewer replicas than they run."""
    found = []
    for ep in scene.endpoints:
        capacity = ep.replica_capacity()
        if capacity <= 0:
            continue
        need = max(ep.min_replicas, math.ceil(ep.peak_rps / capacity - 1e-9))
        if need >= ep.replicas:
            continue
        found.append(
            Finding(
                Kind.OVERPROVISIONED_ENDPOINT,
                ep.name,
                Action.SCALE_DOWN,
                f"{ep.replicas} replicas for a peak of {ep.peak_rps:g} req/s; one replica takes "
                f"{capacity:g} req/s within p95 {ep.p95_target:g} s, so {need} suffice",
                monthly(scene.prices, ep.rate, (ep.replicas - need) * ep.gpus_per_replica,
                        scene.window.end),
                ep.labels,
            )
        )
    return found


def _volumes(book: ledger.Ledger, now: float) -> Iterable[tuple[str, int]]:
    """(volume name, asset row) of the storage assets that exist at `now`."""
    assets = book.assets
    codes = assets.label_codes("volume")
    names = assets.label_values("volume")
    for row in np.flatnonzero((codes >= 0) & (assets.end >= now) & (assets.start < now)):
        if assets.rates[assets.rate[row]].kind is pricing.ResourceKind.STORAGE:
            yield names[codes[row]], int(row)


def orphaned_volumes(scene: Scene, thresholds: Thresholds = Thresholds()) -> list[Finding]:
    """Volumes (storage assets with a `volume` label) older than `orphan_days` that no
    allocation naming them has held in that time."""
    now = scene.window.end
    since = now - thresholds.orphan_days * 86_400
    held = scene.book.allocations
    codes = held.label_codes("volume")
    recent = codes[(codes >= 0) & (held.end > since)]
    mounted = {held.label_values("volume")[c] for c in np.unique(recent)}
    assets = scene.book.assets
    found = []
    for name, row in _volumes(scene.book, now):
        if name in mounted or assets.start[row] > since:
            continue
        rate = assets.rates[assets.rate[row]]
        size = float(assets.amount[row])
        found.append(
            Finding(
                Kind.ORPHANED_VOLUME,
                name,
                Action.DELETE,
                f"{size:g} GB of {rate} no pod has mounted for {thresholds.orphan_days:g} days",
                monthly(scene.prices, rate, size, now),
                assets.labels_of(row),
            )
        )
    return found


def checkpoint_bloat(scene: Scene) -> list[Finding]:
    """Per job, the checkpoints older than the newest `retention` its policy keeps."""
    by_job: dict[str, list[Checkpoint]] = {}
    for c in scene.checkpoints:
        by_job.setdefault(c.job, []).append(c)
    found = []
    for job, kept in sorted(by_job.items()):
        policy = scene.policies.get(kept[0].policy)
        if policy is None:
            continue
        retention = policy.spec.retention
        extra = sorted(kept, key=lambda c: c.created, reverse=True)[retention:]
        if not extra:
            continue
        now = scene.window.end
        cost = sum(
            monthly(scene.prices, pricing.RateKey(pricing.ResourceKind.STORAGE, c.storage_class),
                    c.size_gb, now)
            for c in extra
        )
        size = sum(c.size_gb for c in extra)
        found.append(
            Finding(
                Kind.CHECKPOINT_BLOAT,
                job,
                Action.DELETE,
                f"{len(kept)} checkpoints kept where CheckpointPolicy {policy.metadata.name} "
                f"retains {retention}: {len(extra)} older ones hold {size:g} GB",
                cost,
                kept[0].labels,
            )
        )
    return found


def cold_premium_storage(
    scene: Scene,
    thresholds: Thresholds = Thresholds(),
    skip: set[str] | frozenset[str] = frozenset(),
) -> list[Finding]:
    """Volumes on a class with a cheaper alternative, not read for `cold_days`."""
    now = scene.window.end
    assets = scene.book.assets
    found = []
    for name, row in _volumes(scene.book, now):
        rate = assets.rates[assets.rate[row]]
        target = scene.cheaper.get(rate.sku)
        read = scene.last_read.get(name)
        if name in skip or target is None or read is None:
            continue
        idle_days = (now - read) / 86_400
        if idle_days < thresholds.cold_days:
            continue
        size = float(assets.amount[row])
        cheap = pricing.RateKey(pricing.ResourceKind.STORAGE, target, rate.market)
        saving = monthly(scene.prices, rate, size, now) - monthly(scene.prices, cheap, size, now)
        if saving <= 0:
            continue
        found.append(
            Finding(
                Kind.COLD_PREMIUM_STORAGE,
                name,
                Action.MOVE,
                f"{size:g} GB on {rate.sku} not read for {idle_days:.0f} days: move it to {target}",
                saving,
                assets.labels_of(row),
            )
        )
    return found


def _gpus(amount: float) -> str:
    return f"{amount:g} GPU" if amount >= 1 else f"{amount:.3g} of a GPU"


def _subject(labels: Mapping[str, str], fallback: str) -> str:
    for name in ("job", "model", "experiment"):
        if name in labels:
            return f"{name} {labels[name]}"
    return fallback
