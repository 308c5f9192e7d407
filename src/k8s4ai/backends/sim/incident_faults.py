"""The month the remediation benchmark replays: a cluster, its jobs, notebooks and services,
and faults injected at documented rates. Every random draw is made here, up front, from
generators spawned off one seed, so a run with remediation and one without see the same
jobs, the same faults at the same moments, and the same load.

Rates (`Rates`; per job unless said otherwise), and where they come from:

- OOM kills: 3 % of training jobs ask for less memory than they peak at; the true need is
  the request × a log-normal factor (median 1.12, σ 0.12), peaking at a uniform point of
  the run. No public trace gives OOM rates per job; 3 % is the order of magnitude reported
  for Philly's failures caused by memory (Jeon et al., ATC'19, Table 2 lists CPU/GPU OOM
  among the top failure reasons).
- Crashes: 4 % of training jobs crash once at a uniform point of their run. Half are
  transient (exit 137 or 143: killed by a signal from outside, gone on restart); half are
  bugs that crash at the same point every time, 80 % of them with an exit code 1–127 and
  20 % by a signal the program raises itself (139 SIGSEGV, 134 SIGABRT). These shares are
  assumptions: Jeon et al. (ATC'19) find most Philly failures are user and program errors,
  but no public trace splits them by exit code.
- Bad hardware shows as a signal too: half of a flaky node's failures (an assumption) kill
  its jobs with a signal their own process raised (135 SIGBUS — how Linux delivers an
  uncorrectable memory error, `BUS_MCEERR_AR` in `man 2 sigaction` — 139 SIGSEGV or 134
  SIGABRT, equally likely) and no hardware event; the other half are GPU errors the platform
  reports. Over a month that makes bugs most of the self-raised-signal crashes and hardware
  some, so a rule that tells them apart is tested both ways.
- Claims: 10 % of training jobs mount a claim; 5 % of those name a StorageClass that does
  not exist, 5 % are pinned to a zone their class does not serve, 5 % ask for more than
  their class has left.
- Flaky nodes: one training node turns flaky every 7 days on average; it then kills the jobs
  on it every 3 h on average (GPU errors) until cordoned.
- Healthy hardware fails too: each node every 6,334 h on average (Meta's Llama 3 run: 419
  interruptions in 54 days on 16,384 GPUs), a one-off GPU error.
- Node loss: every 5 days a node hosting a job with a claim goes NotReady for 12 h; the
  claim stays attached to it (the stuck-attachment case).
- Notebooks: 12 a day, 1 GPU, used for a log-normal time (median 3 h), then left idle
  until the user comes back (exponential, mean 16 h) and closes them.
- Services: two, with diurnal load; drift signals on each every 10 days on average (score
  0.25–0.6), plus as many weak ones (0.05–0.15) that should not trigger retraining.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from k8s4ai.backends.sim import incident_services, incident_truth, incident_world
from k8s4ai.remediation import state

DAY = 86400.0
HOUR = 3600.0
NODE_MEMORY_MIB = 1024 * 1024.0
MEMORY_PER_GPU_MIB = 16 * 1024.0
ZONES = ("zone-a", "zone-b")
HARDWARE_SIGNALS = (135, 139, 134)


@dataclass(frozen=True, slots=True)
class Rates:
    oom: float = 0.03
    crash: float = 0.04
    claim: float = 0.10
    broken_claim: float = 0.05
    """Per claim and per kind (missing class, zone conflict, capacity)."""
    flaky_every_days: float = 7.0
    flaky_failure_hours: float = 3.0
    flaky_signal_share: float = 0.5
    """Share of a flaky node's failures that kill its jobs by a self-raised signal."""
    node_mtbf_hours: float = 6334.0
    node_loss_every_days: float = 5.0
    node_loss_hours: float = 12.0
    notebooks_per_day: float = 12.0
    drift_every_days: float = 10.0
    checkpoint_every: float = 1800.0


@dataclass(frozen=True, slots=True)
class Job:
    """One training job of the workload: (name, submit, duration, GPUs)."""

    name: str
    submit: float
    duration: float
    gpus: int


def build(
    jobs: Sequence[Job], nodes: int, days: float, seed: int, rates: Rates
) -> incident_world.SimWorld:
    world = incident_world.SimWorld(seed)
    rngs = np.random.default_rng(seed).spawn(8)
    for i in range(nodes):
        world.add_node(f"gpu-{i:03d}", ZONES[i % 2], NODE_MEMORY_MIB)
    _storage(world)
    for i, job in enumerate(jobs):
        _training(world, i, job, rngs[0], rates, nodes * incident_world.GPUS_PER_NODE)
    _notebooks(world, days, rngs[1], rates)
    horizon = days * DAY
    _flaky(world, nodes, horizon, rngs[2], rates)
    _background(world, nodes, horizon, rngs[3], rates)
    _node_losses(world, horizon, rngs[4], rates)
    _services(world, horizon, rngs[5:8], rates)
    return world


def _storage(world: incident_world.SimWorld) -> None:
    sc = state.STORAGE_CLASS
    world.add_class(state.StorageClass(state.Ref(sc, "", "standard"), default=True))
    world.add_class(state.StorageClass(state.Ref(sc, "", "zonal-a"), zones=("zone-a",)))
    world.add_class(state.StorageClass(state.Ref(sc, "", "nvme-local"), free_gib=500.0))


def _training(
    world: incident_world.SimWorld,
    i: int,
    job: Job,
    rng: np.random.Generator,
    rates: Rates,
    gpus: int,
) -> None:
    u = rng.random(8)
    size = min(job.gpus, gpus)
    per_pod = min(size, incident_world.GPUS_PER_NODE)
    memory = MEMORY_PER_GPU_MIB * per_pod
    truth = incident_truth.Truth(
        work=max(job.duration, 60.0),
        need_mib=memory,
        checkpoint_every=rates.checkpoint_every,
    )
    if u[0] < rates.oom:
        truth.need_mib = memory * max(1.01, float(rng.lognormal(math.log(1.12), 0.12)))
        truth.oom_at = truth.work * u[1]
    if u[2] < rates.crash:
        truth.crash_at = truth.work * u[3]
        kind = rng.random()
        truth.crash_permanent = kind >= 0.5
        if not truth.crash_permanent:
            truth.crash_code = 137 if kind < 0.25 else 143
        else:
            truth.crash_code = 1 if kind < 0.9 else (139 if kind < 0.95 else 134)
    ref = state.Ref(state.JOB, "training", job.name)
    volume, zone = None, None
    if u[4] < rates.claim:
        volume = f"{job.name}-data"
        storage: str | None = "standard"
        broken = u[5] / rates.claim
        if broken < rates.broken_claim:
            storage = "fast-ssd"
        elif broken < 2 * rates.broken_claim:
            storage, zone = "zonal-a", "zone-b"
        elif broken < 3 * rates.broken_claim:
            storage = "nvme-local"
        size_gib = 2000.0 if storage == "nvme-local" else 100.0
        world.add_volume(
            state.Volume(state.Ref(state.VOLUME, "training", volume), size_gib, storage)
        )
    record = state.Job(ref, "training", size, memory, volume=volume, zone=zone)
    world.kernel.at(job.submit, lambda k: world.submit(record, truth))
    if volume is not None and storage != "standard":
        incident = incident_truth.Incident(
            "claim", state.Ref(state.VOLUME, "training", volume), 0.0
        )
        world.kernel.at(job.submit, lambda k: _open_at(world, incident, k.now))


def _open_at(world: incident_world.SimWorld, incident: incident_truth.Incident, now: float) -> None:
    incident.start = now
    world.open(incident)


def _notebooks(
    world: incident_world.SimWorld, days: float, rng: np.random.Generator, rates: Rates
) -> None:
    count = int(rng.poisson(rates.notebooks_per_day * days))
    for i, at in enumerate(np.sort(rng.uniform(0.0, days * DAY, count))):
        ref = state.Ref(state.JOB, "dev", f"notebook-{i}")
        truth = incident_truth.Truth(
            active_for=float(rng.lognormal(math.log(3 * HOUR), 0.6)),
            away_for=float(rng.exponential(16 * HOUR)),
        )
        record = state.Job(ref, "dev", 1, MEMORY_PER_GPU_MIB, workload="notebook")
        _at(world, float(at), functools.partial(world.submit, record, truth))


def _at(world: incident_world.SimWorld, when: float, action: Callable[[], None]) -> None:
    world.kernel.at(when, lambda k: action())


def _poisson(rng: np.random.Generator, mean_gap: float, start: float, end: float) -> list[float]:
    out: list[float] = []
    t = start
    while True:
        t += float(rng.exponential(mean_gap))
        if t >= end:
            return out
        out.append(t)


def _flaky(
    world: incident_world.SimWorld,
    nodes: int,
    horizon: float,
    rng: np.random.Generator,
    rates: Rates,
) -> None:
    for onset in _poisson(rng, rates.flaky_every_days * DAY, 0.0, horizon):
        name = f"gpu-{int(rng.integers(nodes)):03d}"
        fails = _poisson(rng, rates.flaky_failure_hours * HOUR, onset, horizon)
        _at(world, onset, functools.partial(_turn_flaky, world, name))
        for at in fails:
            if rng.random() < rates.flaky_signal_share:
                code = int(rng.choice(HARDWARE_SIGNALS))
                _at(world, at, functools.partial(world.crash_node, name, code))
            else:
                _at(world, at, functools.partial(world.fail_node, name, "GPUError"))


def _turn_flaky(world: incident_world.SimWorld, name: str) -> None:
    node = world.node(name)
    if node is None or node.unschedulable or name in world.flaky:
        return
    world.flaky.add(name)
    world.open(incident_truth.Incident("flaky-node", node.ref, world.kernel.now))


def _background(
    world: incident_world.SimWorld,
    nodes: int,
    horizon: float,
    rng: np.random.Generator,
    rates: Rates,
) -> None:
    for at in _poisson(rng, rates.node_mtbf_hours * HOUR / max(nodes, 1), 0.0, horizon):
        name = f"gpu-{int(rng.integers(nodes)):03d}"
        _at(world, at, functools.partial(world.fail_node, name, "GPUError"))


def _node_losses(
    world: incident_world.SimWorld, horizon: float, rng: np.random.Generator, rates: Rates
) -> None:
    for at in _poisson(rng, rates.node_loss_every_days * DAY, 0.0, horizon):
        world.kernel.at(at, lambda k: _lose_node(world, rates.node_loss_hours * HOUR))


def _lose_node(world: incident_world.SimWorld, repair: float) -> None:
    """Take down the node of the first running job with a claim (by name)."""
    holders = sorted(
        (j for j in world.jobs.values() if j.phase == "Running" and j.volume and j.nodes),
        key=lambda j: j.ref,
    )
    if not holders:
        return
    name = holders[0].nodes[0]
    node = world.node(name)
    assert node is not None
    world.nodes[node.ref] = replace(node, ready=False)
    for job in holders:
        if name in job.nodes and job.volume:
            claim = state.Ref(state.VOLUME, job.ref.namespace, job.volume)
            world.open(incident_truth.Incident("stuck-volume", claim, world.kernel.now))
    world.fail_node(name, "NodeLost")
    world.kernel.after(repair, lambda k: _repair(world, name))


def _repair(world: incident_world.SimWorld, name: str) -> None:
    node = world.node(name)
    assert node is not None
    world.nodes[node.ref] = replace(node, ready=True)
    for ref, claim in list(world.volumes.items()):
        if claim.attached_node == name:
            world.volumes[ref] = replace(claim, attached_node=None)
    world.schedule()


def _services(
    world: incident_world.SimWorld,
    horizon: float,
    rngs: Sequence[np.random.Generator],
    rates: Rates,
) -> None:
    for (name, peak, capacity), rng in zip(
        (("chat", 240.0, 20.0), ("embed", 600.0, 80.0)), rngs[:2], strict=True
    ):
        ref = state.Ref(state.SERVICE, "serving", name)
        retrain = f"{name}-retrain"
        world.services[ref] = incident_services.ServiceSim(
            ref, peak, peak * 0.15, capacity, rng, retrain_job=retrain
        )
        job = state.Job(
            state.Ref(state.JOB, "serving", retrain),
            "ml-platform",
            8,
            8 * MEMORY_PER_GPU_MIB,
            suspend=True,
        )
        world.submit(job, incident_truth.Truth(work=3 * HOUR))
        strong = _poisson(rngs[2], rates.drift_every_days * DAY, 0.0, horizon)
        weak = _poisson(rngs[2], rates.drift_every_days * DAY, 0.0, horizon)
        for at in strong:
            score = float(rngs[2].uniform(0.25, 0.6))
            _at(world, at, functools.partial(_drift, world, ref, score, True))
        for at in weak:
            score = float(rngs[2].uniform(0.05, 0.15))
            _at(world, at, functools.partial(_drift, world, ref, score, False))


def _drift(world: incident_world.SimWorld, ref: state.Ref, score: float, real: bool) -> None:
    now = world.kernel.now
    world.events.append(state.Event(now, ref, "DriftDetected", f"score {score:.2f}", value=score))
    if real:
        world.open(incident_truth.Incident("drift", ref, now))
