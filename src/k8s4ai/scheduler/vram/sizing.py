"""How much GPU memory an inference replica needs, on how many GPUs, and how long its weights
take to load: the arithmetic behind a pod's `vram` when the user gives a model instead.

- weights = parameters × bits per parameter ÷ 8 (bf16 16, fp8 8, int4 4; quantisation scales
  and embeddings kept at higher precision are ignored, a few per cent);
- KV cache = tokens held × 2 (K and V) × layers × KV heads × head dimension × bytes per value
  — the budget an engine such as vLLM sets aside for the sequences it batches;
- per GPU = (weights + KV cache) ÷ tensor-parallel degree + a runtime overhead (CUDA context,
  activations), the degree being the smallest power of two whose share fits one GPU;
- cold start = weights ÷ load bandwidth. The default, 1.6 GB/s, is what ServerlessLLM measured
  for existing loaders reading from local NVMe (Fu et al., OSDI'24: LLaMA-2-70B, ~130 GB, in
  84 s); a GPU's PCIe Gen5 ×16 link would allow ~50 GB/s, network storage far less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GIB = 2**30
LOAD_BANDWIDTH = 1.6e9
"""Bytes per second a replica's weights load at, see the module docstring."""
RUNTIME_OVERHEAD = 1 * GIB
"""Per replica and GPU: the CUDA context (~0.5 GiB) and activation workspace."""
BITS = {"bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4}


@dataclass(frozen=True, slots=True)
class Architecture:
    """What sizes a transformer's weights and KV cache."""

    name: str
    parameters: float
    layers: int
    kv_heads: int
    head_dim: int

    def weights(self, precision: str) -> int:
        return math.ceil(self.parameters * bits(precision) / 8)

    def kv_per_token(self, kv_precision: str) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * bits(kv_precision) // 8


def bits(precision: str) -> int:
    try:
        return BITS[precision]
    except KeyError:
        raise ValueError(f"unknown precision {precision!r} (known: {', '.join(BITS)})") from None


def tensor_parallel(total: int, usable_per_gpu: int, overhead: int = RUNTIME_OVERHEAD) -> int:
    """The fewest GPUs (a power of two, at most 8) whose share of `total` bytes fits."""
    tp = 1
    while total / tp + overhead > usable_per_gpu:
        tp *= 2
        if tp > 8:
            raise ValueError(f"{total / GIB:.0f} GiB does not fit on 8 GPUs")
    return tp


def per_gpu(total: int, tp: int, overhead: int = RUNTIME_OVERHEAD) -> int:
    return math.ceil(total / tp) + overhead


def gib(amount: int) -> str:
    """Bytes as people read GPU memory, for messages: `81.5 GiB`."""
    return f"{amount / GIB:.1f} GiB"


def load_seconds(weights: int, bandwidth: float = LOAD_BANDWIDTH) -> float:
    return weights / bandwidth
