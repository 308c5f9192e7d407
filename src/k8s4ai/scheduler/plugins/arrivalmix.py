"""What the pods seen so far in a run look like, learned online.

Policies that adapt to the workload (FGD's typical pods, the dead-gap test of
`plugins/gaps.py`) learn it here from the pods they are asked to place, instead of from the
pod list the run will draw from: a live scheduler does not know its future pods, and a
policy that reads the list is fitted to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from k8s4ai.scheduler import pods


class ArrivalMix:
    """Counts of the pods seen so far: how many, how much GPU they asked for, and how many
    fractional pods of each milli-GPU size and of each (milli-GPU, CPU, memory) shape."""

    def __init__(self) -> None:
        self.seen: list[pods.PodRequest] = []
        self.gpu_milli = 0
        self.fractional: npt.NDArray[np.int64] = np.zeros(pods.MILLI + 1, dtype=np.int64)
        self._fillers: Counter[tuple[int, int, int]] = Counter()
        self._table: Fillers | None = None

    def __len__(self) -> int:
        return len(self.seen)

    def observe(self, pod: pods.PodRequest) -> None:
        self.seen.append(pod)
        self.gpu_milli += pod.gpu_request_milli
        if pod.is_fractional:
            self.fractional[pod.gpu_milli] += 1
            self._fillers[pod.gpu_milli, pod.cpu_milli, pod.memory_mib] += 1
            self._table = None

    def pods_to_fill(self, free_milli: int) -> float:
        """How many more pods like those seen would it take to ask for `free_milli` GPU."""
        if not self.gpu_milli:
            return float("inf") if free_milli else 0.0
        return free_milli * len(self.seen) / self.gpu_milli

    def share_at_most(self) -> npt.NDArray[np.float64]:
        """For each size r in 0..1000 milli-GPU, the share of pods seen that are fractional
        and ask for at most r."""
        if not self.seen:
            return np.zeros(pods.MILLI + 1)
        share: npt.NDArray[np.float64] = np.cumsum(self.fractional) / len(self.seen)
        return share

    def fillers(self) -> Fillers:
        """The fractional pods seen, by shape, in ascending milli-GPU."""
        if self._table is None:
            shapes = sorted(self._fillers)
            column = [np.array([shape[i] for shape in shapes], dtype=np.int64) for i in range(3)]
            counts = np.array([self._fillers[shape] for shape in shapes], dtype=np.float64)
            self._table = Fillers(column[0], column[1], column[2], counts)
        return self._table


@dataclass(frozen=True, slots=True)
class Fillers:
    """Fractional pod shapes seen (parallel arrays, ascending `gpu_milli`) and how often."""

    gpu_milli: npt.NDArray[np.int64]
    cpu_milli: npt.NDArray[np.int64]
    memory_mib: npt.NDArray[np.int64]
    count: npt.NDArray[np.float64]
