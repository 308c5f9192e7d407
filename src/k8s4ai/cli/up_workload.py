"""The living workload of `k8s4ai up`: jobs arriving from the built-in trace-shaped generator,
run, checkpointed, failed and finished by the simulated cluster's runtime, time-compressed.

`--speed 60` plays an hour of the workload in a real minute: arrivals, run times, checkpoint
intervals, failures and repairs are all compressed; timestamps stay on the wall clock, so the
dashboard's and `get`'s ages are true. The job mix is the Microsoft ITP cluster 2 profile of
`k8s4ai.traces.synthetic_jobs` (85 % one-GPU jobs, 6 % on a whole node, a few on 2–4
nodes, durations of minutes to days), its arrival rate scaled so that it offers 85 % of the
cluster's GPUs (jobs are cut at 48 cluster hours). On a store with no generated job yet,
`up` first replays the last 16 cluster hours (16 real minutes at 60×) in a second or two —
arrivals, admission, the runtime and, every few steps, cost — with the store's and the
controllers' clock set back, so the first screen shows a cluster that has been running:
jobs at various progress, some finished or failed, a queue, a ledger.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import click
import numpy as np

from k8s4ai.api import checkpoint, gang, inference, node, queue, resource
from k8s4ai.backends.sim import live_driver, live_runtime, live_writer
from k8s4ai.controllers import runner
from k8s4ai.store import errors, interface
from k8s4ai.traces import jobs as job_traces
from k8s4ai.traces import synthetic_jobs

log = logging.getLogger(__name__)

PROFILE = "itp-cluster02"
LOAD = 0.85
"""Offered load: GPU-time arriving per GPU-time the cluster has."""
WARM_HOURS = 16.0
WARM_STEPS = ((4.0, 900.0), (WARM_HOURS, 3600.0))
"""Cluster seconds between the warm-up's steps, by how many cluster hours before now: an
hour while the cluster fills, a quarter of an hour over the last four hours."""
WARM_BUDGET_SECONDS = 4.0
"""Wall seconds the warm-up may take before it skips to the present."""
COST_EVERY = 4
"""Warm-up steps between cost passes (the ledger reads start and completion times)."""
TICK_SECONDS = 2.0
"""Wall seconds between live steps: also bounds how often the controllers wake for it."""
KEEP_FINISHED = 200
COLLECT_SECONDS = 30.0
SAMPLE_JOBS = 10_000
MAX_WORK_HOURS = 48.0
"""Jobs longer than this are cut to it: a demo never sees them end, and their rare, huge
GPU-time would set the arrival rate for a load the cluster reaches only after days."""

Decorated = TypeVar("Decorated", bound=Callable[..., object])


def options(command: Decorated) -> Decorated:
    command = click.option(
        "--workload-seed", type=int, default=0, show_default=True,
        help="Seed of the simulated workload and its failures.",
    )(command)
    command = click.option(
        "--no-workload", is_flag=True,
        help="A still cluster: no simulated jobs arrive, run, fail or finish.",
    )(command)
    return click.option(
        "--speed", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
        envvar="K8S4AI_SPEED",
        help="Time compression of the simulated workload: 60 plays an hour in a minute "
        "[env K8S4AI_SPEED].",
    )(command)


class Clock:
    """The wall clock, except while the warm-up replays the past: then the moment it is at.
    Shared by the store and the controllers so that all of them agree."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed if self.fixed is not None else runner.wall_clock()


def draws(
    profile: str, rng: np.random.Generator, scale: float, chunk: int = 5_000
) -> Iterator[live_driver.Draw]:
    """The generator's jobs, endlessly: chunk after chunk, each starting on the next day."""
    offset = 0.0
    while True:
        records = synthetic_jobs.generate(profile, chunk, rng, scale)
        yield from (_draw(r, offset) for r in records)
        days = math.ceil((records[-1].submit_seconds + 1) / synthetic_jobs.DAY)
        offset += days * synthetic_jobs.DAY


def _scale(profile: str, chosen: Sequence[live_driver.Target], rng: np.random.Generator) -> float:
    sample = synthetic_jobs.generate(profile, SAMPLE_JOBS, rng, 1.0)
    span = SAMPLE_JOBS / synthetic_jobs.PROFILES[profile].rate_per_hour * 3600.0
    return live_driver.load_scale([_draw(r) for r in sample], span, chosen, LOAD)


def _draw(record: job_traces.JobRecord, offset: float = 0.0) -> live_driver.Draw:
    work = min(record.duration_seconds or 1.0, MAX_WORK_HOURS * 3600.0)
    return live_driver.Draw(offset + record.submit_seconds, work, record.gpus)


def _warm_step(before: float, speed: float) -> timedelta:
    """The wall time to the next warm-up step, `before` cluster seconds before now."""
    every = next((step for hours, step in WARM_STEPS if before <= hours * 3600.0), 3600.0)
    return timedelta(seconds=every / speed)


def _typed(store: interface.Store, kind: type[resource.Resource]) -> list[resource.Resource]:
    return store.list(kind.kind_name).items


class Live:
    """The driver and the runtime against a store, one step at a time."""

    def __init__(
        self,
        store: interface.Store,
        clock: Clock,
        speed: float,
        seed: int = 0,
        profile: str = PROFILE,
    ) -> None:
        """Call `rewind` first, before anything is written: on a fresh store the warm-up
        starts from the clock's moment, so the examples look as old as the workload. Arrivals,
        the driver's choices and node failures each draw from their own generator, so one
        does not shift the others."""
        self._store = store
        self._clock = clock
        self.speed = speed
        arrivals, choices, faults, sample = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
        )
        queues = [q for q in _typed(store, queue.Queue) if isinstance(q, queue.Queue)]
        nodes = [n for n in _typed(store, node.Node) if isinstance(n, node.Node)]
        policies = [
            p for p in _typed(store, checkpoint.CheckpointPolicy)
            if isinstance(p, checkpoint.CheckpointPolicy)
        ]
        services = [
            s for s in _typed(store, inference.InferenceService)
            if isinstance(s, inference.InferenceService)
        ]
        self.targets = live_driver.targets(queues, nodes, policies, services)
        existing = live_writer.generated(store)
        self.fresh = clock.fixed is not None and not existing
        self.origin = clock()
        self.driver: live_driver.Driver | None = None
        if self.targets:
            scale = _scale(profile, self.targets, sample)
            self.driver = live_driver.Driver(
                self.targets, draws(profile, arrivals, scale), choices, speed, self.origin,
                first=live_driver.next_sequence(existing),
            )
        self.runtime = live_runtime.Runtime(speed, seed, faults)
        self._collected = self.origin

    @staticmethod
    def rewind(store: interface.Store, clock: Clock, speed: float) -> bool:
        """On a store without generated jobs, sets the clock back by the warm-up's span
        (`warm_up` brings it to the present); says whether it did."""
        if live_writer.generated(store):
            return False
        clock.fixed = runner.wall_clock() - timedelta(hours=WARM_HOURS / speed)
        return True

    def step(self, now: datetime) -> None:
        """New arrivals first, then the runtime on what the store holds (arrivals only wait
        for admission, so they need not be in its view yet)."""
        gangs = [
            g for g in _typed(self._store, gang.GangSchedulingGroup)
            if isinstance(g, gang.GangSchedulingGroup)
        ]
        mine = [g for g in gangs if live_writer.GENERATED.matches(g.metadata.labels)]
        if self.driver is not None:
            waiting = sum(1 for g in mine if g.status.phase in ("Pending", "Preempted"))
            live_writer.submit(self._store, self.driver.due(now, waiting))
        objs: list[resource.Resource] = [
            *_typed(self._store, node.Node),
            *_typed(self._store, checkpoint.CheckpointPolicy),
            *gangs,
        ]
        live_writer.apply(self._store, self.runtime.step(objs, now), now)
        if (now - self._collected).total_seconds() >= COLLECT_SECONDS:
            self._collected = now
            live_writer.collect(self._store, mine, KEEP_FINISHED)

    def warm_up(
        self,
        passes: Sequence[Callable[[], object]],
        costs: Callable[[], object],
        budget_seconds: float = WARM_BUDGET_SECONDS,
        elapsed: Callable[[], float] = time.monotonic,
    ) -> int:
        """Replays the time from `origin` to now in steps, with `passes` (admission...) run
        at each step and `costs` every few, on the same clock; returns the steps taken. A
        slow machine that spends `budget_seconds` on it skips to the last step, so that `up`
        still opens quickly, on a cluster that has run for less time."""
        if not self.fresh:
            self._clock.fixed = None
            return 0
        at, steps, began = self.origin, 0, elapsed()
        try:
            while at < (end := runner.wall_clock()):
                self._clock.fixed = at
                self.step(at)
                for run_pass in passes:
                    run_pass()
                if steps % COST_EVERY == 0:
                    costs()
                step = _warm_step((end - at).total_seconds() * self.speed, self.speed)
                if elapsed() - began > budget_seconds and at + step < end - step:
                    at = end - step
                    self._skip(at)
                else:
                    at += step
                steps += 1
        finally:
            self._clock.fixed = None
        costs()
        return steps

    def _skip(self, to: datetime) -> None:
        """Nothing happens between now and `to`: no arrivals, no failures."""
        if self.driver is not None:
            self.driver.skip(to)
        self.runtime.rest(to)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(TICK_SECONDS):
            try:
                self.step(self._clock())
            except (errors.StoreError, ValueError, KeyError):
                log.exception("live workload step failed; retrying")
