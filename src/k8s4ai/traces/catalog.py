"""The shared job traces by name, ready to replay: jobs with durations, teams' queues, and a
cluster sized for them. See docs/jobs.md for the same in prose, with the numbers.

Names (files under the traces root, by default ``../shared/traces``):

- ``philly``: ``jobs/philly-2017-sia/philly.csv`` (Jeon et al., ATC'19, via Sia);
- ``itp-01`` .. ``itp-05``: ``jobs/microsoft-itp-2021/clusterNN.csv`` (ElasticFlow, ASPLOS'23);
- ``crux``: ``jobs/alibaba-crux-2023-rfold/crux.csv`` (Crux, SIGCOMM'24, via RFold);
- ``pollux-1`` .. ``pollux-8``: ``pollux-workloads/workloads/workload-N.csv`` and
  ``pollux-realistic-1`` .. ``pollux-realistic-8``: ``pollux-workloads/workloads-realistic/``
  (Qiao et al., OSDI'21); each file is its own trace of 160 jobs over 8 hours;
- ``synthetic-<profile>``: `SYNTHETIC_JOBS` jobs from the built-in generator
  (`synthetic_jobs.PROFILES`: philly, itp-cluster01..05, crux), so every command runs on a
  machine without the shared traces.

A name may end in ``@FROM-TO``: only the jobs submitted from day FROM up to (not including)
day TO of the trace, rebased to start at 0 (``philly@30-37`` is the trace's fifth week).
Anything else that names an existing file is loaded by its header (`jobs.load`).

**Durations.** Every trace has them except Pollux's, which gives each job an application and a
replica count: Pollux's simulator derives completion from measured training progress. Here a
Pollux job runs for ``POLLUX_GPU_HOURS[application] × 3600 / replicas`` seconds: a fixed
GPU-time per application, scaled linearly with its replicas. The GPU-hours come from how the
workloads were made (adaptdl ``simulator/workload.py``): each job was a Philly job sampled
with duration ≥ 60 s and GPU-time < 1000 GPU-hours, and its GPU-time picked the application:
< 1 GPU-hour cifar10 or ncf, 1–10 deepspeech2 (half renamed bert), 10–100 yolov3, 100–1000
imagenet — the size categories S, M, L, XL of the Pollux paper's Table 1. Each application's
GPU-hours are the mean GPU-time of the Philly jobs in its category (computed from the same
``philly.csv`` with the same filters), so the expected total GPU-time of a workload matches
what was sampled. This is an approximation: real jobs differ within a category and do not
scale linearly.

**Queues.** Philly's virtual clusters become queues in one cohort, ``philly``, each with a
nominal GPU quota and a fair-share weight proportional to the VC's node count in
``philly-derived/philly_vc.csv`` (11 VCs, 352 nodes); jobs of VCs not listed there (4 VCs,
18 jobs) share one queue, ``other``, weighted as one node. Borrowing is unlimited and nothing
is guarded from lending, so an idle VC's quota serves the others until it has work again.
Without the VC file every VC gets the same weight. Traces without teams get one queue,
``default``, owning the whole cluster.

**Cluster size.** `size`: identical 8-GPU nodes, as many as make the offered load (Σ gpus ×
duration / (arrival span × cluster GPUs)) about `DEFAULT_LOAD`, never fewer than the largest
job needs. The real size is recorded where the data says it: Philly's VCs sum to 352 nodes
(the node count of ``philly_vc.csv``; that file does not give GPUs per node). The other
traces' folders do not say, so it is unknown.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from k8s4ai.scheduler.admission import quota
from k8s4ai.traces import csvrows, jobs, synthetic_jobs

DEFAULT_ROOT = Path("..", "shared", "traces")
PHILLY_VC = Path("philly-derived", "philly_vc.csv")
DEFAULT_LOAD = 0.8
GPUS_PER_NODE = 8
SYNTHETIC_JOBS = 1000
DAY = 86400.0
DEFAULT_QUEUE = "default"
OTHER_QUEUE = "other"
OTHER_WEIGHT = 1.0
"""VCs missing from philly_vc.csv weigh as one node together."""
PHILLY_COHORT = "philly"
GPU = ("gpu", None)

POLLUX_GPU_HOURS: Mapping[str, float] = {
    # Size category S (< 1 GPU-hour): Philly mean 0.298 over 55,508 jobs.
    "cifar10": 0.30,
    "ncf": 0.30,
    # M (1–10): mean 2.613 over 13,807 jobs.
    "deepspeech2": 2.6,
    "bert": 2.6,
    # L (10–100): mean 33.25 over 3,575 jobs.
    "yolov3": 33.0,
    # XL (100–1000): mean 318.4 over 1,538 jobs.
    "imagenet": 320.0,
}
"""GPU-hours per Pollux application (see the module docstring for where they come from)."""

_CITE_PHILLY = "Jeon et al., ATC'19 (Microsoft Philly; via the Sia artifact, SOSP'23)"
_CITE_ITP = "ElasticFlow, ASPLOS'23 (microsoft/elasticflow-traces)"
_CITE_CRUX = "Crux, SIGCOMM'24 (via RFold)"
_CITE_POLLUX = "Qiao et al., Pollux, OSDI'21 (petuum/adaptdl)"


@dataclass(frozen=True, slots=True)
class Source:
    """A named shared trace: its file under the traces root and whom to cite."""

    name: str
    path: Path
    cite: str


def _sources() -> dict[str, Source]:
    found = [Source("philly", Path("jobs", "philly-2017-sia", "philly.csv"), _CITE_PHILLY)]
    found += [
        Source(f"itp-{n:02d}", Path("jobs", "microsoft-itp-2021", f"cluster{n:02d}.csv"), _CITE_ITP)
        for n in range(1, 6)
    ]
    found.append(Source("crux", Path("jobs", "alibaba-crux-2023-rfold", "crux.csv"), _CITE_CRUX))
    for prefix, folder in (("pollux", "workloads"), ("pollux-realistic", "workloads-realistic")):
        found += [
            Source(
                f"{prefix}-{n}",
                Path("pollux-workloads", folder, f"workload-{n}.csv"),
                _CITE_POLLUX,
            )
            for n in range(1, 9)
        ]
    return {s.name: s for s in found}


SHARED: dict[str, Source] = _sources()
SYNTHETIC = tuple(f"synthetic-{profile}" for profile in synthetic_jobs.PROFILES)


def names() -> list[str]:
    """Every trace name, shared first."""
    return [*SHARED, *SYNTHETIC]


class UnknownTraceError(LookupError):
    def __init__(self, spec: str) -> None:
        super().__init__(
            f"unknown trace {spec!r}: not a file and not a known name; known: "
            f"{', '.join(names())} (any of them may end in @FROM-TO days)"
        )


class MissingTraceError(LookupError):
    def __init__(self, name: str, looked: Sequence[Path]) -> None:
        where = ", ".join(str(p) for p in looked) or "nowhere (no traces folder found)"
        super().__init__(
            f"trace {name!r} is not here: looked for {where}; give the folder with --traces, "
            f"or use one of {', '.join(SYNTHETIC)}"
        )


@dataclass(frozen=True, slots=True)
class Trace:
    """Jobs ready to replay: every job has a duration and names one of `weights`' queues."""

    name: str
    source: str
    """The file read, or the generator and its seed."""
    cite: str
    jobs: tuple[jobs.JobRecord, ...]
    weights: tuple[tuple[str, float], ...]
    """Queue → fair-share weight; quotas are proportional to it (`queues`)."""
    cohort: str | None
    real_nodes: int | None
    real_note: str
    notes: tuple[str, ...] = ()
    """What was done to the data on the way (windows, dropped rows, duration model)."""


@dataclass(frozen=True, slots=True)
class Sizing:
    nodes: int
    gpus_per_node: int
    target_load: float
    offered_load: float
    """Offered load at `nodes` (0 when the trace has a single arrival instant)."""
    reason: str
    """"load", "largest job" or "given"."""

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


def find_root(candidates: Iterable[Path]) -> Path | None:
    """The first candidate folder that exists."""
    return next((c for c in candidates if c.is_dir()), None)


def available(root: Path | None) -> list[str]:
    """The shared traces whose files are under `root`."""
    if root is None:
        return []
    return [name for name, src in SHARED.items() if (root / src.path).is_file()]


_WINDOW = re.compile(r"^(?P<name>.+)@(?P<start>\d+(?:\.\d+)?)-(?P<end>\d+(?:\.\d+)?)$")


def split_window(spec: str) -> tuple[str, tuple[float, float] | None]:
    """`philly@30-37` → ("philly", (30.0, 37.0)); a spec without a window is returned as is."""
    match = _WINDOW.match(spec)
    if match is None:
        return spec, None
    start, end = float(match["start"]), float(match["end"])
    if end <= start:
        raise ValueError(f"{spec!r}: a window goes from an earlier day to a later one")
    return match["name"], (start, end)


def load(
    spec: str, root: Path | None, seed: int = 0, synthetic_count: int = SYNTHETIC_JOBS
) -> Trace:
    """The trace a name (optionally with a window) or a file path stands for. Raises
    `UnknownTraceError`, `MissingTraceError`, `csvrows.TraceError` (a malformed file) or
    ValueError (a bad window)."""
    base, window = split_window(spec)
    if base in SYNTHETIC:
        trace = _synthetic(base, seed, synthetic_count)
    elif base in SHARED:
        src = SHARED[base]
        if root is None or not (root / src.path).is_file():
            raise MissingTraceError(base, [root / src.path] if root else [])
        trace = _from_file(base, root / src.path, root, src.cite)
    elif Path(base).is_file():
        trace = _from_file(Path(base).stem, Path(base), root, "")
    else:
        raise UnknownTraceError(spec)
    return trace if window is None else _windowed(trace, spec, *window)


def _synthetic(name: str, seed: int, count: int) -> Trace:
    profile = name.removeprefix("synthetic-")
    records = synthetic_jobs.generate(profile, count, np.random.default_rng(seed))
    return Trace(
        name,
        f"built-in generator (k8s4ai.traces.synthetic_jobs, profile {profile}, seed {seed})",
        "",
        tuple(replace(r, queue=DEFAULT_QUEUE) for r in records),
        ((DEFAULT_QUEUE, 1.0),),
        None,
        None,
        "synthetic",
        (f"{count} jobs drawn from the {profile} profile",),
    )


def _from_file(name: str, path: Path, root: Path | None, cite: str) -> Trace:
    records = jobs.load(path)
    notes: list[str] = []
    if any(r.duration_seconds is None for r in records):
        records = pollux_durations(records, pollux_applications(path))
        notes.append("durations: POLLUX_GPU_HOURS[application] × 3600 / replicas (approximate)")
    if any(r.queue is not None for r in records):
        vc_path = root / PHILLY_VC if root is not None else None
        sizes = philly_vc_sizes(vc_path) if vc_path is not None and vc_path.is_file() else None
        records, weights = vc_queues(records, sizes)
        if sizes is None:
            notes.append(f"no {PHILLY_VC}: every virtual cluster weighs the same")
        real = sum(sizes.values()) if sizes else None
        note = f"{real} nodes: sum of the VCs in {PHILLY_VC}" if real else "unknown"
        return Trace(
            name, str(path), cite, tuple(records), weights, PHILLY_COHORT, real, note, tuple(notes)
        )
    return Trace(
        name,
        str(path),
        cite,
        tuple(replace(r, queue=DEFAULT_QUEUE) for r in records),
        ((DEFAULT_QUEUE, 1.0),),
        None,
        None,
        "unknown",
        tuple(notes),
    )


def _windowed(trace: Trace, spec: str, start_day: float, end_day: float) -> Trace:
    start, end = start_day * DAY, end_day * DAY
    kept = [r for r in trace.jobs if start <= r.submit_seconds < end]
    if not kept:
        raise ValueError(f"{spec!r}: no job of {trace.name} was submitted in that window")
    first = kept[0].submit_seconds
    used = {r.queue for r in kept}
    return replace(
        trace,
        name=spec,
        jobs=tuple(replace(r, submit_seconds=r.submit_seconds - first) for r in kept),
        weights=tuple((q, w) for q, w in trace.weights if q in used),
        notes=(
            *trace.notes,
            f"window: jobs submitted in days [{start_day:g}, {end_day:g}) of the trace "
            f"({len(kept)} of {len(trace.jobs)} jobs), rebased to start at 0",
        ),
    )


def pollux_applications(path: Path) -> dict[str, str]:
    """Job name → application, from a Pollux workload file."""
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["name"]: row["application"] for row in csv.DictReader(handle)}


def pollux_durations(
    records: Sequence[jobs.JobRecord], applications: Mapping[str, str]
) -> list[jobs.JobRecord]:
    """Each job's duration from its application's GPU-hours, scaled linearly by its
    replicas (`gpus`)."""
    out = []
    for r in records:
        app = applications.get(r.name, "")
        hours = POLLUX_GPU_HOURS.get(app)
        if hours is None:
            raise csvrows.TraceError(
                f"job {r.name}: no duration model for application {app!r} "
                f"(known: {', '.join(POLLUX_GPU_HOURS)})"
            )
        out.append(replace(r, duration_seconds=hours * 3600.0 / r.gpus))
    return out


def philly_vc_sizes(path: Path) -> dict[str, int]:
    """VC → node count from `philly_vc.csv` (`vc,node num`)."""
    sizes: dict[str, int] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    sizes[row["vc"]] = int(row["node num"])
                except (KeyError, TypeError, ValueError):
                    raise csvrows.TraceError(
                        f"{path}: line {line}: expected columns vc,node num with a whole number"
                    ) from None
    except OSError as err:
        raise csvrows.TraceError(f"{path}: cannot read: {err.strerror}") from None
    return sizes


def vc_queues(
    records: Sequence[jobs.JobRecord], sizes: Mapping[str, int] | None
) -> tuple[list[jobs.JobRecord], tuple[tuple[str, float], ...]]:
    """Jobs with their VC as queue (`OTHER_QUEUE` for VCs missing from `sizes`) and each
    queue's weight: its node count, `OTHER_WEIGHT` for `other`, 1 each without sizes."""
    seen = sorted({r.queue or OTHER_QUEUE for r in records})
    if sizes is None:
        return [replace(r, queue=r.queue or OTHER_QUEUE) for r in records], tuple(
            (vc, 1.0) for vc in seen
        )
    mapped = [replace(r, queue=r.queue if r.queue in sizes else OTHER_QUEUE) for r in records]
    weights = [(vc, float(n)) for vc, n in sorted(sizes.items()) if vc in seen]
    if any(r.queue == OTHER_QUEUE for r in mapped):
        weights.append((OTHER_QUEUE, OTHER_WEIGHT))
    return mapped, tuple(weights)


def work(records: Iterable[jobs.JobRecord]) -> float:
    """GPU-seconds the jobs ask for."""
    return sum(r.gpus * (r.duration_seconds or 0.0) for r in records)


def span(records: Sequence[jobs.JobRecord]) -> float:
    if not records:
        return 0.0
    submits = [r.submit_seconds for r in records]
    return max(submits) - min(submits)


def offered_load(records: Sequence[jobs.JobRecord], gpus: int) -> float:
    """Σ gpus × duration / (arrival span × cluster GPUs); 0 for a single arrival instant."""
    seconds = span(records)
    return work(records) / (seconds * gpus) if seconds > 0 and gpus > 0 else 0.0


def size(
    records: Sequence[jobs.JobRecord],
    load: float = DEFAULT_LOAD,
    gpus_per_node: int = GPUS_PER_NODE,
    nodes: int | None = None,
) -> Sizing:
    """Nodes for an offered load of about `load`, never fewer than the largest job needs
    (`nodes` overrides both)."""
    if not load > 0:
        raise ValueError(f"the load must be positive, not {load}")
    if gpus_per_node < 1:
        raise ValueError(f"a node has at least one GPU, not {gpus_per_node}")
    largest = math.ceil(max((r.gpus for r in records), default=1) / gpus_per_node)
    if nodes is not None:
        if nodes < 1:
            raise ValueError(f"the cluster needs at least one node, not {nodes}")
        count, reason = nodes, "given"
    else:
        seconds = span(records)
        by_load = math.ceil(work(records) / (seconds * load * gpus_per_node)) if seconds else 0
        count, reason = (by_load, "load") if by_load >= largest else (largest, "largest job")
    return Sizing(count, gpus_per_node, load, offered_load(records, count * gpus_per_node), reason)


def queues(trace: Trace, gpus: int) -> list[quota.QueueQuota]:
    """One queue per weight, nominal GPU quota proportional to it (the quotas sum to the
    cluster's GPUs), in the trace's cohort; borrowing unlimited, nothing held from lending."""
    total = sum(w for _, w in trace.weights)
    return [
        quota.QueueQuota(
            name,
            cohort=trace.cohort,
            weight=weight,
            limits={GPU: quota.Limits(gpus * weight / total)},
        )
        for name, weight in trace.weights
    ]
