"""Why a job exited, from its exit code and reason: the platform stopped it, someone or
something outside killed it, the program killed itself, or the program exited with an
error. Only the first two are worth a plain restart.

Anchor: Kubeflow's `restartPolicy: ExitCode` treats 1–127 as permanent and every code from
128 up (a process killed by signal N exits 128 + N) as retryable. But a signal says who
sent it. SIGKILL, SIGTERM, SIGINT and SIGHUP come from outside the process (the kubelet, an
eviction, a user, a lost terminal), so the same program may well run on. SIGSEGV, SIGABRT,
SIGBUS, SIGFPE and SIGILL are raised by the process's own instructions (a bad pointer, a
failed assertion, a division by zero): a deterministic bug does it again at the same
step, so we call them program faults — unless the node they ran on shows hardware trouble,
because bad memory or a failing GPU makes healthy code fault the same way (the kernel
delivers an uncorrectable memory error as SIGBUS with `BUS_MCEERR_AR`, `man 2 sigaction`).
Exit 137 with reason OOMKilled is the memory rule's, not ours. A signal in neither list
(SIGPIPE, SIGUSR1, ...) is left unclassified rather than guessed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from k8s4ai.remediation import state

SIGNAL_BASE = 128
SELF_RAISED = {132: "SIGILL", 134: "SIGABRT", 135: "SIGBUS", 136: "SIGFPE", 139: "SIGSEGV"}
"""Exit codes of signals a process raises on itself by what it executes."""
EXTERNAL = {129: "SIGHUP", 130: "SIGINT", 137: "SIGKILL", 143: "SIGTERM"}
"""Exit codes of signals sent to a process from outside."""
PLATFORM_REASONS = frozenset({"Evicted", "Preempted", "NodeLost", "GPUError", "DeadlineExceeded"})
"""Reasons the platform gives when it, not the program, stopped the job."""
HARDWARE_REASONS = frozenset({"GPUError", "Xid", "NodeLost", "NodeNotReady", "NodeFailure"})
"""Events that say a node's hardware misbehaved."""


class Cause(enum.Enum):
    PLATFORM = "stopped by the platform"
    EXTERNAL = "killed by a signal from outside"
    SELF_SIGNAL = "killed by a signal it raised itself"
    PROGRAM = "exited with an error"
    UNKNOWN = "unclassified"


def cause(exit_code: int | None, reason: str | None) -> Cause:
    if reason in PLATFORM_REASONS:
        return Cause.PLATFORM
    if exit_code is None or exit_code <= 0 or exit_code > 255:
        return Cause.UNKNOWN
    if exit_code < SIGNAL_BASE:
        return Cause.PROGRAM
    if exit_code in EXTERNAL:
        return Cause.EXTERNAL
    if exit_code in SELF_RAISED:
        return Cause.SELF_SIGNAL
    return Cause.UNKNOWN


def signal_name(exit_code: int | None) -> str | None:
    if exit_code is None:
        return None
    return EXTERNAL.get(exit_code) or SELF_RAISED.get(exit_code)


def retryable(exit_code: int | None, reason: str | None, hardware: bool = False) -> bool | None:
    """True / False, or None when there is nothing to classify by. `hardware`: the node the
    job ran on shows hardware trouble, which turns a self-raised signal into a retryable
    failure (on another node)."""
    found = cause(exit_code, reason)
    if found in (Cause.PLATFORM, Cause.EXTERNAL):
        return True
    if found is Cause.SELF_SIGNAL:
        return hardware
    if found is Cause.PROGRAM:
        return False
    return None


@dataclass(frozen=True, slots=True)
class HardwareEvidence:
    """What, on the nodes a failed job ran on, points at the hardware rather than the
    program, from `window` before the failure up to now: the node is NotReady, or had a
    hardware event, or at least `corroborating` other jobs died there of a self-raised
    signal too. One other crash is not enough: bugs are common, and a big job spans many
    nodes, so two unrelated bugs meeting on one node in a day happens by chance; three
    failures of different jobs is the bar `faulty_node` sets for calling a node faulty.

    Only a hardware event within `coincide` of the job's own failure says the hardware
    failed under this job; an earlier event, a node down now, or other crashes make the
    hardware a suspect, not the cause (the node may have recovered, or failed later)."""

    window: float = 24 * 3600.0
    corroborating: int = 2
    coincide: float = 60.0

    def find(self, job: state.Job, now: state.State) -> Found:
        if not job.failed_on:
            return Found()
        at_failure: list[str] = []
        earlier: list[str] = []
        failed_at = job.failed_at if job.failed_at is not None else now.time
        for when, text in self._node_trouble(job, now):
            close = when is not None and abs(when - failed_at) <= self.coincide
            (at_failure if close else earlier).append(text)
        return Found(tuple(at_failure), tuple(earlier), tuple(self._crashes(job, now)))

    def _since(self, job: state.Job, now: state.State) -> float:
        return (job.failed_at if job.failed_at is not None else now.time) - self.window

    def _node_trouble(self, job: state.Job, now: state.State) -> Iterator[tuple[float | None, str]]:
        """(when, what) for each NotReady node (when unknown) and hardware event."""
        nodes = set(job.failed_on)
        since = self._since(job, now)
        for name in sorted(nodes):
            node = now.node(name)
            if node is not None and not node.ready:
                yield None, f"node {name} is NotReady"
        for event in now.events:
            if event.time >= since and event.node in nodes and event.reason in HARDWARE_REASONS:
                yield event.time, f"{event.reason} on {event.node} at t={event.time:.0f}"

    def _crashes(self, job: state.Job, now: state.State) -> Iterator[str]:
        nodes = set(job.failed_on)
        since = self._since(job, now)
        others = []
        for other in sorted(now.jobs.values(), key=lambda j: j.ref):
            if other.ref == job.ref or other.phase != "Failed" or other.failed_at is None:
                continue
            if other.failed_at < since or not nodes & set(other.failed_on):
                continue
            if cause(other.exit_code, other.reason) is Cause.SELF_SIGNAL:
                where = ", ".join(sorted(nodes & set(other.failed_on)))
                others.append(f"{other.ref.name} also died of {signal_name(other.exit_code)} "
                              f"on {where}")  # fmt: skip
        if len(others) >= self.corroborating:
            yield from others


@dataclass(frozen=True, slots=True)
class Found:
    """Hardware evidence split by how much it proves: `at_failure` is a hardware event on
    the job's node at the moment it failed; `earlier` is trouble on the node that did not
    coincide with the failure (an earlier event, the node NotReady now); `crashes` is other
    jobs dying the same way there. Bad hardware explains the last two, but so does chance,
    bugs being common."""

    at_failure: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()
    crashes: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.at_failure + self.earlier + self.crashes

    @property
    def certain(self) -> bool:
        return bool(self.at_failure)

    def doubt(self, signal: str | None) -> str:
        """Why the hardware is only suspected, or "" when it is certain or not suspected."""
        if self.certain or not self.all:
            return ""
        what = (
            "earlier trouble on the node" + (" and other crashes there" if self.crashes else "")
            if self.earlier
            else "other crashes on the node"
        )
        return (
            f"{signal or 'the signal'} is self-raised; hardware suspected only from {what}, "
            "no hardware event at the failure itself"
        )
