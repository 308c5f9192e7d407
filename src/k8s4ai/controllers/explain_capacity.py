"""The numbers behind quota and capacity refusals, read from the rebuilt admission state: what
the job asks, what its queue and cohort have left and who borrows it, where GPUs are free and
who holds the rest — each with what would change the answer."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from k8s4ai.api import gang
from k8s4ai.controllers import admission_convert, admission_state, admission_topology
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import quota, reasons, workload

Facts = tuple[list[str], list[str]]
"""(how things stand, what would let the job start)."""

EPSILON = 1e-9
LISTED = 6
"""Most nodes or jobs named in one line."""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _listing(items: list[tuple[str, float]]) -> str:
    shown = ", ".join(f"{name} {amount:g}" for name, amount in items[:LISTED])
    more = len(items) - LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _span(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _pod_sets(wl: workload.Workload) -> list[tuple[str, pods.PodRequest, int]]:
    """(pod set, one of its pods, how many) in spec order."""
    counts = Counter(admission_convert.pod_set_of(p)[0] for p in wl.pods)
    first: dict[str, pods.PodRequest] = {}
    for p in wl.pods:
        first.setdefault(admission_convert.pod_set_of(p)[0], p)
    return [(name, first[name], counts[name]) for name in first]


def _per_pod(pod: pods.PodRequest) -> str:
    if not pod.num_gpu:
        return f"{pod.cpu_milli / 1000:g} CPU"
    if pod.is_fractional:
        return f"{pod.gpu_milli / pods.MILLI:g} of a GPU"
    return _plural(pod.num_gpu, "whole GPU")


def need(wl: workload.Workload, level: str | None) -> str:
    sets = _pod_sets(wl)
    per_set = [f"{_plural(n, 'pod')} × {p.gpu_request_milli / pods.MILLI:g}" for _, p, n in sets]
    if len(sets) > 1:
        per_set = [f"{name}: {text}" for (name, _, _), text in zip(sets, per_set, strict=True)]
    together = (
        "at once"
        if wl.min_member is None
        else f"with at least {wl.min_member} of its {len(wl.pods)} pods at once"
    )
    where = f" in one {level}" if level else ""
    total = admission_topology.gang_gpus(wl)
    if not total:
        return f"needs {_plural(len(wl.pods), 'pod')} without GPUs {together}{where}"
    cls = f" of class {wl.accelerator_class}" if wl.accelerator_class else ""
    gpus = f"{total:g} GPU{'' if total == 1 else 's'}"
    return f"needs {gpus} ({', '.join(per_set)}){cls} {together}{where}"


# -- quota ----------------------------------------------------------------------------------


def quota_left(state: admission_state.State, wl: workload.Workload) -> Facts:
    book, q = state.scheduler.book, wl.queue
    charged = book.charged(q, wl.usage())
    check = book.check(q, wl.usage())
    key = check.key or next((k for k in charged if k[0] == "gpu"), next(iter(charged), None))
    if key is None:
        return [f"queue {q} limits none of what the job asks"], []
    lim, used, asks = book.limits(q, key), book.usage[q].get(key, 0.0), charged[key]
    name = quota.describe_key(key)
    over = f" (borrowing {used - lim.nominal:g})" if used > lim.nominal + EPSILON else ""
    facts = [
        f"queue {q} uses {used:g} of its nominal {lim.nominal:g} {name}{over}; "
        f"the job asks {asks:g}"
    ]
    cohort = book.queues[q].cohort
    if cohort is None:
        facts.append(f"queue {q} is in no cohort, so it cannot borrow")
    else:
        capacity, pooled = book.pool(q, key)
        limit = (
            "without limit" if lim.borrowing_limit is None else f"at most {lim.borrowing_limit:g}"
        )
        facts.append(
            f"it may borrow {limit} {name} from cohort {cohort}, which has "
            f"{max(0.0, capacity - pooled):g} left to lend"
        )
        facts += _borrowers(state, q, key, within=used + asks <= lim.nominal + EPSILON)
    ceiling = _ceiling(lim, cohort is not None)
    if ceiling is not None and asks > ceiling + EPSILON:
        facts.append(f"even idle, queue {q} can hold at most {ceiling:g} {name}")
    if check.mode >= quota.Mode.BORROW:
        facts.append("with what runs now it fits in quota: the next cycle decides again")
    remedies = []
    fewer = _fewest_pods_over(book, wl)
    if fewer is not None:
        remedies.append(
            f"asking for {fewer} pods instead of {len(wl.pods)}: that fits the quota now"
        )
    holders = sorted(
        (
            (job.name, amount)
            for job in state.scheduler.running.values()
            if job.queue == q and (amount := book.charged(q, job.workload.usage()).get(key, 0.0))
        ),
        key=lambda item: (-item[1], item[0]),
    )
    if holders and (ceiling is None or asks <= ceiling + EPSILON):
        remedies.append(f"jobs of queue {q} finishing: {_listing(holders)} {name}")
    more = " or borrowingLimit" if cohort is not None else ""
    remedies.append(f"raising queue {q}'s nominal quota{more} for {name}")
    return facts, remedies


def _ceiling(lim: quota.Limits, in_cohort: bool) -> float | None:
    """The most a queue may ever use of a key, if bounded."""
    if not in_cohort:
        return lim.nominal
    if lim.borrowing_limit is None:
        return None
    return lim.nominal + lim.borrowing_limit


def _borrowers(
    state: admission_state.State, q: str, key: workload.ResourceKey, within: bool
) -> list[str]:
    book = state.scheduler.book
    cohort = book.queues[q].cohort
    out = []
    for member in book.members(q):
        over = book.borrowed(member).get(key, 0.0) if member != q else 0.0
        if over <= EPSILON:
            continue
        line = f"{member} borrows {over:g} {quota.describe_key(key)} of cohort {cohort}"
        if within:
            saving = [
                j.workload.checkpointing.write
                for j in state.scheduler.running.values()
                if j.queue == member and j.workload.checkpointing.saves_on_notice()
            ]
            when = f" once they checkpoint (~{_span(max(saving))})" if saving else " now"
            line += (
                f", reclaimable{when}: this job stays within its queue's nominal quota, so "
                "admission preempts borrowers for it"
            )
        else:
            line += f"; not reclaimable for this job, which would put {q} above its nominal quota"
        out.append(line)
    return out


def _fewest_pods_over(book: quota.QuotaBook, wl: workload.Workload) -> int | None:
    """The most pods (fewer than asked) the queue's quota would take now, if any."""
    ordered = sorted(wl.pods, key=lambda p: -p.gpu_request_milli)
    for n in range(len(ordered) - 1, 0, -1):
        smaller = dataclasses.replace(wl, pods=tuple(ordered[:n]), min_member=None)
        if book.check(wl.queue, smaller.usage()).mode >= quota.Mode.BORROW:
            return n
    return None


def _holders(
    state: admission_state.State,
    mine: Callable[[workload.Job], bool],
    rows: snapshot.BoolArray | None = None,
) -> list[tuple[str, float]]:
    """Running jobs chosen by `mine`, with the GPUs they hold (on `rows`), most first."""
    out = []
    for job in state.scheduler.running.values():
        if not mine(job):
            continue
        gpus = sum(p.pod.gpu_request_milli for p in job.placed if rows is None or rows[p.node])
        if gpus:
            out.append((job.name, gpus / pods.MILLI))
    return sorted(out, key=lambda item: (-item[1], item[0]))


# -- capacity -------------------------------------------------------------------------------


def capacity(state: admission_state.State, wl: workload.Workload, kind: str) -> Facts:
    snap = state.scheduler.snap
    biggest = max(wl.pods, key=lambda p: p.gpu_request_milli)
    allowed = snap.allowed_models(biggest) & (snap.gpu_count > 0)
    left = snap.gpu_free.sum(axis=1) / pods.MILLI
    cls = wl.accelerator_class or "any-class"
    free_nodes = sorted(
        ((state.node_name(int(r)), float(left[r])) for r in np.flatnonzero(allowed) if left[r] > 0),
        key=lambda item: (-item[1], item[0]),
    )
    total = sum(v for _, v in free_nodes)
    where = f": {_listing(free_nodes)}" if free_nodes else ""
    facts = [f"{total:g} {cls} GPUs are free{where}"]
    for name, pod, count in _pod_sets(wl):
        fits = int(_fits(snap, pod).sum())
        facts.append(
            f"each {name} pod needs {_per_pod(pod)} on one node: "
            f"{_plural(fits, 'node')} can take one now, and the job has {count}"
        )
    level = state.required.get(wl.name)
    if level is not None:
        per = _by_domain(state, level, left, allowed)
        facts.append(f"free {cls} GPUs per {level}: {_listing(per) or 'none'}")
    holders = _holders(state, lambda job: True, allowed)
    if holders:
        facts.append(f"running on those nodes: {_listing(holders)} GPUs")
    need_gpus = admission_topology.gang_gpus(wl)
    if kind == reasons.Kind.GANG_CANNOT_FIT:
        remedies = [f"{max(need_gpus - total, 0):g} more {cls} GPUs freed by jobs finishing"]
    else:
        remedies = ["jobs on the partly used nodes finishing, so whole GPUs come free"]
        remedies += _smaller_pods(snap, biggest, allowed, need_gpus)
    if wl.min_member is None and len(wl.pods) > 1:
        remedies.append("setting spec.minMember, so it can start with fewer pods than all")
    same = _holders(
        state, lambda job: job.queue == wl.queue and job.workload.priority >= wl.priority, allowed
    )
    if same:
        remedies.append(
            f"a spec.priority above theirs, to preempt jobs of its own queue: {_listing(same)}"
        )
    return facts, remedies


def _fits(snap: snapshot.ClusterSnapshot, pod: pods.PodRequest) -> snapshot.BoolArray:
    """Nodes that could take one such pod now."""
    mask: snapshot.BoolArray = (
        snap.allowed_models(pod)
        & (snap.cpu_free >= pod.cpu_milli)
        & (snap.memory_free >= pod.memory_mib)
    )
    if pod.num_gpu:
        mask &= (snap.gpu_free >= pod.gpu_milli).sum(axis=1) >= pod.num_gpu
    return mask


def _smaller_pods(
    snap: snapshot.ClusterSnapshot,
    pod: pods.PodRequest,
    allowed: snapshot.BoolArray,
    need_gpus: float,
) -> list[str]:
    """Whole-GPU pods of the size the free GPUs come in, if that many would hold the job."""
    whole = snap.full_gpus()[allowed]
    size = int(whole.max(initial=0))
    if pod.is_fractional or not 0 < size < pod.num_gpu:
        return []
    count = math.ceil(need_gpus / size)
    if int((whole // size).sum()) < count:
        return []
    return [f"smaller pods: {count} pods × {size} GPUs would fit the free GPUs as they lie"]


def _by_domain(
    state: admission_state.State,
    level: str,
    values: npt.NDArray[np.float64] | snapshot.IntArray,
    allowed: snapshot.BoolArray,
) -> list[tuple[str, float]]:
    out: dict[str, float] = {}
    for row, n in enumerate(state.nodes):
        domain = n.spec.topology.get(level)
        if domain is not None and allowed[row]:
            out[domain] = out.get(domain, 0.0) + float(values[row])
    return sorted(out.items(), key=lambda item: (-item[1], item[0]))


# -- never fits -----------------------------------------------------------------------------


def unschedulable(state: admission_state.State, wl: workload.Workload) -> Facts:
    """What no node (or domain) could ever hold, against the largest there is."""
    snap = state.scheduler.snap
    cls = wl.accelerator_class or "any-class"
    facts: list[str] = []
    fixes: list[str] = []
    for name, pod, count in _pod_sets(wl):
        allowed = snap.allowed_models(pod) & ((snap.gpu_count > 0) if pod.num_gpu else True)
        if not allowed.any():
            classes = Counter(
                {
                    m: int(snap.gpu_count[snap.node_model == i].sum())
                    for i, m in enumerate(snap.models)
                }
            )
            have = ", ".join(f"{m} {n}" for m, n in sorted(classes.items())) or "no GPUs"
            facts.append(f"no node has {cls} GPUs; the cluster has {have}")
            fixes.append(f"nodes with {cls} GPUs, or an acceleratorClass the cluster has")
            continue
        largest = int(snap.gpu_count[allowed].max())
        if pod.num_gpu > largest:
            facts.append(
                f"each {name} pod asks {pod.num_gpu} GPUs on one node; the largest {cls} node "
                f"has {largest}"
            )
            split = math.ceil(count * pod.num_gpu / largest)
            fixes.append(f"at most {largest} GPUs per pod: e.g. {split} pods × {largest} GPUs")
        for what, asks, has, unit in (
            ("CPU", pod.cpu_milli / 1000, snap.cpu_capacity[allowed].max() / 1000, ""),
            ("memory", pod.memory_mib / 1024, snap.memory_capacity[allowed].max() / 1024, "Gi"),
        ):
            if asks > has:
                facts.append(
                    f"each {name} pod asks {asks:g}{unit} {what}; the largest node it may use "
                    f"has {has:g}{unit}"
                )
                fixes.append(f"at most {has:g}{unit} {what} per pod")
    level = state.required.get(wl.name)
    if level is not None and not facts:
        biggest = max(wl.pods, key=lambda p: p.gpu_request_milli)
        usable = snap.allowed_models(biggest) & (snap.gpu_count > 0)
        per = _by_domain(state, level, snap.gpu_count, usable)
        facts.append(f"{cls} GPUs per {level}: {_listing(per) or 'none'}")
        fixes.append(f"a smaller gang, or a wider level than {level} in spec.topology.required")
    return facts, [f"waiting will not help; change the job: {f}" for f in fixes]


# -- strict FIFO ----------------------------------------------------------------------------


def head_of(
    state: admission_state.State, target: gang.GangSchedulingGroup
) -> gang.GangSchedulingGroup | None:
    """The first job waiting ahead of `target` in its queue: higher priority, then older."""
    key = admission_convert.job_key(target)

    def order(g: gang.GangSchedulingGroup) -> tuple[int, float, str]:
        created = admission_convert.seconds(g.metadata.creation_timestamp)
        return (-g.spec.priority, created, admission_convert.job_key(g))

    ahead = [
        g
        for k, g in state.gangs.items()
        if k != key
        and k in state.scheduler.pending
        and g.spec.queue == target.spec.queue
        and order(g) < order(target)
    ]
    return min(ahead, key=order, default=None)
