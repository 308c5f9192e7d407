"""MIG layouts: which sets of instances can share one GPU, where a new instance can go, and
which instances would have to move to make room for it.

An A100/H100-class GPU has 8 memory slices and 7 compute slices (GPCs). A GPU instance
occupies `size` memory slices from `start` (NVML's `nvmlGpuInstancePlacement_t`), and the
hardware allows each profile only some starts. `nvidia-smi mig -lgipp` on an H100-80GB prints
(NVIDIA Multi-Instance GPU User Guide, "Getting Started with MIG › List GPU Instance
Profiles", https://docs.nvidia.com/datacenter/tesla/mig-user-guide/):

    1g.10gb {0,1,2,3,4,5,6}:1   1g.20gb {0,2,4,6}:2   2g.20gb {0,2,4}:2
    3g.40gb {0,4}:4             4g.40gb {0}:4         7g.80gb {0}:8

The sizes and starts come from the AcceleratorClass (`MigProfile.memory_slices` and
`MigProfile.starts`, which derive them from compute slices and VRAM and reproduce this table).
Here instances overlap in neither memory nor compute slices, and a GPU holds at most
maxPerGpu instances of one profile (e.g. one `+me` profile) — so a 4g.40gb and a 3g.40gb fit
together but two 4g.40gb do not.

Layouts are tuples of instances sorted by start, so results can be cached per layout.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from k8s4ai.api import accelerator
from k8s4ai.scheduler import pods


class UnknownProfileError(LookupError):
    """A profile the AcceleratorClass does not offer; the message lists those it does."""


@dataclass(frozen=True, slots=True)
class Shape:
    """A MIG profile as placement sees it: slices, memory in bytes, and where it may start."""

    name: str
    compute: int
    memory: int
    vram: int
    max_per_gpu: int
    starts: tuple[int, ...]

    def masks(self, start: int) -> tuple[int, int]:
        """(memory, compute) slices taken at `start`, as bit masks."""
        return ((1 << self.memory) - 1) << start, ((1 << self.compute) - 1) << start


@dataclass(frozen=True, slots=True)
class Instance:
    profile: str
    start: int


Layout = tuple[Instance, ...]


@dataclass(frozen=True, slots=True)
class Geometry:
    """The MIG profiles of one GPU model, smallest first."""

    gpu_vram: int
    shapes: tuple[Shape, ...]

    def shape(self, name: str) -> Shape:
        for s in self.shapes:
            if s.name == name:
                return s
        offered = ", ".join(s.name for s in self.shapes) or "none"
        raise UnknownProfileError(f"no MIG profile {name!r} (it offers: {offered})")


@dataclass(frozen=True, slots=True)
class Repartition:
    """A valid layout with room for a new instance: where it goes, and what moved for it
    (each `(before, after)`; moving means destroying and recreating the instance)."""

    layout: Layout
    placed: Instance
    moved: tuple[tuple[Instance, Instance], ...]


def geometry(spec: accelerator.AcceleratorClassSpec) -> Geometry:
    shapes = [
        Shape(
            p.name,
            p.compute_slices,
            p.memory_slices(spec.vram),
            int(p.vram.value),
            p.max_per_gpu,
            p.starts(spec.vram),
        )
        for p in spec.mig_profiles
    ]
    shapes.sort(key=lambda s: (s.vram, s.compute, "+" in s.name, s.name))
    return Geometry(int(spec.vram.value), tuple(shapes))


def milli_gpu(compute_slices: int) -> int:
    """A MIG instance as a fraction of its GPU's compute, rounded down so that any layout of
    at most 7 compute slices sums to at most one GPU (7 × 1g is 994 milli-GPU)."""
    return pods.MILLI * compute_slices // accelerator.MIG_COMPUTE_SLICES


def smallest_fitting(geo: Geometry, vram: int, media: bool = False) -> Shape | None:
    """The smallest profile with at least `vram` bytes (media-extension profiles only when
    asked for)."""
    for s in geo.shapes:
        if s.vram >= vram and (media or "+" not in s.name):
            return s
    return None


def canonical(layout: Iterable[Instance]) -> Layout:
    return tuple(sorted(layout, key=lambda i: (i.start, i.profile)))


def problems(geo: Geometry, layout: Sequence[Instance]) -> list[str]:
    """Why `layout` cannot exist on one GPU (empty when it can)."""
    out: list[str] = []
    taken: list[tuple[Instance, int, int]] = []
    counts: Counter[str] = Counter()
    for inst in layout:
        try:
            shape = geo.shape(inst.profile)
        except UnknownProfileError as err:
            out.append(str(err.args[0]))
            continue
        counts[inst.profile] += 1
        if inst.start not in shape.starts:
            allowed = ",".join(map(str, shape.starts)) or "none"
            out.append(f"{inst.profile} cannot start at slice {inst.start} (allowed: {allowed})")
            continue
        memory, compute = shape.masks(inst.start)
        for other, other_memory, other_compute in taken:
            if memory & other_memory or compute & other_compute:
                out.append(f"{inst.profile}@{inst.start} overlaps {other.profile}@{other.start}")
        taken.append((inst, memory, compute))
    for name, count in sorted(counts.items()):
        limit = next((s.max_per_gpu for s in geo.shapes if s.name == name), count)
        if count > limit:
            out.append(f"at most {limit} x {name} fit on one GPU, the layout has {count}")
    return out


def is_valid(geo: Geometry, layout: Sequence[Instance]) -> bool:
    return not problems(geo, layout)


def _used(geo: Geometry, layout: Iterable[Instance]) -> tuple[int, int, Counter[str]]:
    memory = compute = 0
    counts: Counter[str] = Counter()
    for inst in layout:
        m, c = geo.shape(inst.profile).masks(inst.start)
        memory, compute = memory | m, compute | c
        counts[inst.profile] += 1
    return memory, compute, counts


def _starts(shape: Shape, memory: int, compute: int, count: int) -> list[int]:
    if count >= shape.max_per_gpu:
        return []
    out = []
    for s in shape.starts:
        m, c = shape.masks(s)
        if not (m & memory or c & compute):
            out.append(s)
    return out


@functools.lru_cache(maxsize=65536)
def free_starts(geo: Geometry, layout: Layout, profile: str) -> tuple[int, ...]:
    """Starts where `profile` fits beside the (valid) `layout` without moving anything."""
    memory, compute, counts = _used(geo, layout)
    return tuple(_starts(geo.shape(profile), memory, compute, counts[profile]))


@functools.lru_cache(maxsize=65536)
def find_slot(geo: Geometry, layout: Layout, profile: str) -> int | None:
    """Where to create `profile` beside `layout`: of the free starts, the one that leaves the
    most (profile, start) choices for later instances (lowest start on ties), or None."""
    best: tuple[int, int] | None = None
    for start in free_starts(geo, layout, profile):
        after = canonical((*layout, Instance(profile, start)))
        room = sum(len(free_starts(geo, after, s.name)) for s in geo.shapes)
        if best is None or room > best[0]:
            best = (room, start)
    return None if best is None else best[1]


def _pack(geo: Geometry, layout: Layout, names: Sequence[str]) -> Layout | None:
    """`layout` plus instances of `names` (largest first), or None if they cannot all fit."""
    if not names:
        return layout
    memory, compute, counts = _used(geo, layout)
    first = geo.shape(names[0])
    for start in _starts(first, memory, compute, counts[first.name]):
        done = _pack(geo, canonical((*layout, Instance(first.name, start))), names[1:])
        if done is not None:
            return done
    return None


def _largest_first(geo: Geometry, names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda n: (-geo.shape(n).memory, -geo.shape(n).compute, n))


def arrange(geo: Geometry, names: Sequence[str]) -> Layout | None:
    """A valid layout of instances of `names` (a Node's `migLayout`), or None if none exists."""
    for name in names:
        geo.shape(name)
    return _pack(geo, (), _largest_first(geo, names))


@functools.lru_cache(maxsize=16384)
def repartition(geo: Geometry, layout: Layout, profile: str) -> Repartition | None:
    """The layout that fits `profile` beside `layout` moving the fewest instances (the
    smallest ones first), or None when no layout holds them all."""
    start = find_slot(geo, layout, profile)
    if start is not None:
        new = Instance(profile, start)
        return Repartition(canonical((*layout, new)), new, ())
    by_size = sorted(layout, key=lambda i: (geo.shape(i.profile).memory, i.start))
    for k in range(1, len(layout) + 1):
        for moving in itertools.combinations(by_size, k):
            kept = canonical(i for i in layout if i not in moving)
            names = _largest_first(geo, [profile, *(i.profile for i in moving)])
            done = _pack(geo, kept, names)
            if done is None:
                continue
            added = [i for i in done if i not in kept]
            new = next(i for i in added if i.profile == profile)
            added.remove(new)
            pairs = []
            for old in moving:
                after = next(i for i in added if i.profile == old.profile)
                added.remove(after)
                pairs.append((old, after))
            return Repartition(done, new, tuple(pairs))
    return None


def free_memory_slices(geo: Geometry, layout: Iterable[Instance]) -> int:
    memory, _, _ = _used(geo, layout)
    return accelerator.MIG_MEMORY_SLICES - memory.bit_count()
