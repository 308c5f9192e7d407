"""What topology costs a data-parallel training job: its step time is compute plus the
all-reduce of its gradients, and the all-reduce runs at the slowest link its placement
crosses.

    step = compute + all_reduce
    compute = 6 · parameters · tokens per GPU per step / (peak FLOP/s · MFU)
    all_reduce = 2 (N − 1) / N · gradient bytes / bandwidth of the slowest link

The all-reduce is the bandwidth term of a ring all-reduce over N GPUs (each GPU sends and
receives 2 (N − 1) / N of the buffer; Patarasuk & Yuan, JPDC 2009; NCCL's "bus bandwidth"
uses the same factor). Latency terms and any overlap of communication with the backward pass
are left out: overlap would shrink every placement's penalty alike, latency matters little
for gradient buffers of gigabytes. 6 · parameters FLOPs per token is the usual dense
transformer estimate (Kaplan et al., 2020: 2 forward + 4 backward).

Defaults, each overridable per job:

- `parameters` 7e9: a 7B-class model (Llama 2 7B, Touvron et al. 2023). Traces give GPU
  counts, not model sizes, so every job gets this unless told otherwise.
- `gradient_bytes_per_parameter` 2: bf16 gradients, as mixed-precision training reduces them.
- `tokens_per_gpu` 16,384: 4 sequences of 4,096 tokens per GPU per step.
- `peak_tflops` 989: H100 SXM dense BF16 (NVIDIA H100 datasheet).
- `mfu` 0.40: Meta reports 38–43 % BF16 model FLOPs utilisation pre-training Llama 3 405B
  on 8k–16k H100s (Llama 3 paper, 2024, table 4).

With these, compute is 1.74 s a step and 16 GPUs reducing 14 GB of gradients take 0.53 s
inside a rack at 50 GB/s per GPU, 8.0 s across a spine at 3.3 GB/s.
"""

from __future__ import annotations

from dataclasses import dataclass

FLOPS_PER_PARAMETER_TOKEN = 6.0
GB = 1e9
TERA = 1e12


@dataclass(frozen=True, slots=True)
class Training:
    """One data-parallel training job's step, as the model above prices it."""

    parameters: float = 7e9
    gradient_bytes_per_parameter: float = 2.0
    tokens_per_gpu: float = 16_384.0
    peak_tflops: float = 989.0
    mfu: float = 0.40

    def __post_init__(self) -> None:
        for name in ("parameters", "gradient_bytes_per_parameter", "tokens_per_gpu"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        if not self.peak_tflops > 0 or not 0 < self.mfu <= 1:
            raise ValueError("peak_tflops must be positive and mfu in (0, 1]")

    @property
    def gradient_bytes(self) -> float:
        return self.parameters * self.gradient_bytes_per_parameter

    @property
    def compute_seconds(self) -> float:
        flops = FLOPS_PER_PARAMETER_TOKEN * self.parameters * self.tokens_per_gpu
        return flops / (self.peak_tflops * TERA * self.mfu)

    def all_reduce_seconds(self, gpus: int, bandwidth_gbps: float) -> float:
        return all_reduce_seconds(gpus, self.gradient_bytes, bandwidth_gbps)

    def step_seconds(self, gpus: int, bandwidth_gbps: float) -> float:
        return self.compute_seconds + self.all_reduce_seconds(gpus, bandwidth_gbps)

    def stretch(self, gpus: int, bandwidth_gbps: float, ideal_gbps: float) -> float:
        """How much longer the job runs at `bandwidth_gbps` than at `ideal_gbps`."""
        return self.step_seconds(gpus, bandwidth_gbps) / self.step_seconds(gpus, ideal_gbps)


def all_reduce_seconds(gpus: int, gradient_bytes: float, bandwidth_gbps: float) -> float:
    """Ring all-reduce of `gradient_bytes` over `gpus` GPUs at `bandwidth_gbps` GB/s per
    GPU, one way; nothing to reduce on one GPU."""
    if gpus < 1:
        raise ValueError(f"an all-reduce needs at least one GPU, not {gpus}")
    if gpus == 1:
        return 0.0
    if not bandwidth_gbps > 0:
        raise ValueError(f"bandwidth must be positive, not {bandwidth_gbps}")
    return 2.0 * (gpus - 1) / gpus * gradient_bytes / (bandwidth_gbps * GB)
