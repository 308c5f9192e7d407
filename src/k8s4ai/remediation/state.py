"""What the rules read: a frozen view of the cluster at one instant plus the recent event
stream. Both the simulator and the embedded store build it, so one set of rules serves both
(the `world.World` protocol).

Records carry only what some rule reads. Field names are the names a `plan.Change` patches,
so a plan's diff is written against exactly what the rules saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, order=True)
class Ref:
    """Which object: `kind` as the API names it; `namespace` is "" for cluster-scoped kinds."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        scope = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{scope}{self.name}"


@dataclass(frozen=True, slots=True)
class Job:
    """A gang: a training job, a notebook or a dev job. Memory is per pod, in MiB.
    `utilisation` holds (time, mean GPU utilisation 0–1) samples, oldest first, covering at
    least the longest window a rule looks back over."""

    ref: Ref
    queue: str
    gpus: int
    memory_mib: float
    workload: str = "training"
    """"training", "notebook" or "dev"."""
    phase: str = "Pending"
    """Pending, Running, Succeeded, Failed or Stopped."""
    suspend: bool = False
    reason: str | None = None
    exit_code: int | None = None
    peak_memory_mib: float | None = None
    progress: float = 0.0
    checkpoint_progress: float | None = None
    restarts: int = 0
    nodes: tuple[str, ...] = ()
    failed_on: tuple[str, ...] = ()
    """The nodes it ran on when it last failed (empty if unknown or it never failed)."""
    volume: str | None = None
    """The PersistentVolumeClaim it mounts (same namespace), if any."""
    zone: str | None = None
    """The zone its pods are pinned to, if any."""
    failed_at: float | None = None
    started_at: float | None = None
    utilisation: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Node:
    ref: Ref
    gpus: int
    memory_mib: float
    zone: str
    unschedulable: bool = False
    ready: bool = True


@dataclass(frozen=True, slots=True)
class StorageClass:
    ref: Ref
    binding_mode: str = "WaitForFirstConsumer"
    """"Immediate" or "WaitForFirstConsumer"."""
    zones: tuple[str, ...] = ()
    """Zones it can provision in; empty means every zone."""
    free_gib: float = float("inf")
    default: bool = False


@dataclass(frozen=True, slots=True)
class Volume:
    """A PersistentVolumeClaim. `attached_node` is where its volume is still attached (a
    ReadWriteOnce volume can be attached to one node at a time)."""

    ref: Ref
    size_gib: float
    storage_class: str | None
    phase: str = "Pending"
    zone: str | None = None
    attached_node: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """An InferenceService. `load_rps` is the peak request rate over the last window;
    `capacity_rps` is what one replica serves within the latency target. Each measurement
    is None when nobody measured it: unknown is not zero, and a rule must not act on it."""

    ref: Ref
    replicas: int
    min_replicas: int
    gpus_per_replica: int
    load_rps: float | None
    capacity_rps: float | None
    latency_ms: float | None
    latency_target_ms: float | None
    retrain_job: str | None = None
    """A suspended job in the same namespace that retrains the model."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, as a runtime reports it (Kubernetes Event-like)."""

    time: float
    ref: Ref
    reason: str
    message: str = ""
    node: str | None = None
    value: float | None = None
    exit_code: int | None = None
    """For a failure: the exit code the runtime reported, None when it did not say."""


@dataclass(frozen=True, slots=True)
class State:
    time: float
    jobs: Mapping[Ref, Job] = field(default_factory=dict)
    nodes: Mapping[Ref, Node] = field(default_factory=dict)
    classes: Mapping[Ref, StorageClass] = field(default_factory=dict)
    volumes: Mapping[Ref, Volume] = field(default_factory=dict)
    services: Mapping[Ref, Service] = field(default_factory=dict)
    events: tuple[Event, ...] = ()

    def get(self, ref: Ref) -> Job | Node | StorageClass | Volume | Service | None:
        tables: dict[str, Mapping[Ref, Job | Node | StorageClass | Volume | Service]] = {
            JOB: self.jobs,
            NODE: self.nodes,
            STORAGE_CLASS: self.classes,
            VOLUME: self.volumes,
            SERVICE: self.services,
        }
        return tables[ref.kind].get(ref) if ref.kind in tables else None

    def node(self, name: str) -> Node | None:
        return self.nodes.get(Ref(NODE, "", name))

    def storage_class(self, name: str | None) -> StorageClass | None:
        return None if name is None else self.classes.get(Ref(STORAGE_CLASS, "", name))

    def largest_node_memory(self) -> float:
        return max((n.memory_mib for n in self.nodes.values()), default=0.0)

    def gpus(self) -> int:
        return sum(n.gpus for n in self.nodes.values())


JOB = "GangSchedulingGroup"
NODE = "Node"
STORAGE_CLASS = "StorageClass"
VOLUME = "PersistentVolumeClaim"
SERVICE = "InferenceService"
