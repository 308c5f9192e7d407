"""What one pod asks of a node, in the integer units placement computes with: milli-CPU,
MiB, and milli-GPU per GPU (1000 = a whole GPU)."""

from __future__ import annotations

from dataclasses import dataclass

MILLI = 1000

Shape = tuple[int, int, int, int, frozenset[str] | None]
"""What placement depends on: pods of one shape are interchangeable to every policy."""


@dataclass(frozen=True, slots=True)
class PodRequest:
    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int = 0
    gpu_milli: int = 0
    """Per GPU. A fractional pod has num_gpu == 1 and gpu_milli < 1000; multi-GPU pods take
    whole GPUs (gpu_milli == 1000)."""
    gpu_models: frozenset[str] | None = None
    """GPU models the pod may run on (`gpu_spec` "A|B"); None means any."""

    def __post_init__(self) -> None:
        if self.cpu_milli < 0 or self.memory_mib < 0 or self.num_gpu < 0:
            raise ValueError(f"{self.name}: requests cannot be negative")
        if self.num_gpu > 1 and self.gpu_milli != MILLI:
            raise ValueError(f"{self.name}: a multi-GPU pod takes whole GPUs (gpu_milli=1000)")
        if self.num_gpu >= 1 and not 0 < self.gpu_milli <= MILLI:
            raise ValueError(f"{self.name}: gpu_milli must be in 1..1000 for a GPU pod")
        if self.num_gpu == 0 and self.gpu_milli:
            raise ValueError(f"{self.name}: a pod without GPUs cannot ask for gpu_milli")

    @property
    def shape(self) -> Shape:
        return (self.cpu_milli, self.memory_mib, self.num_gpu, self.gpu_milli, self.gpu_models)

    @property
    def is_fractional(self) -> bool:
        return self.num_gpu == 1 and self.gpu_milli < MILLI

    @property
    def gpu_request_milli(self) -> int:
        """Total GPU asked for, in milli-GPU: what the allocation ratio counts."""
        return self.num_gpu * self.gpu_milli if self.num_gpu else 0
