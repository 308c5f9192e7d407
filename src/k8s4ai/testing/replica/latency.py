"""How long the mock replica takes: a latency model for a 7-8B model on one H100.

A request waits for one of `max_running` sequence slots (vLLM's `--max-num-seqs`, default
256), then for the prefills queued before it: prefill is compute-bound, so the replica runs
one prefill at a time at `prefill_tokens_per_second` over the prompt tokens its prefix cache
does not hold. The first token comes out when its prefill ends (TTFT); every later token takes
`decode_seconds_per_token + decode_seconds_per_running × running sequences` (decode is
memory-bound and slows as the batch grows). Decode steps do not wait for prefills: the model
leaves out chunked prefill's interference and the KV memory running sequences hold.

Where the defaults come from (Llama-3.1-8B, BF16, one H100 SXM):

- `prefill_tokens_per_second = 30_000`: an estimate, not a measurement. A forward pass costs
  about 2 FLOP per parameter per token, 16.1 GFLOP for 8.03 B parameters; an H100 SXM does
  989 TFLOP/s of dense BF16 (NVIDIA H100 datasheet); at the ~50 % model-FLOPs utilisation
  large prefill batches reach, that is ~30,700 prompt tokens/s. Attention over long contexts
  makes real prefill somewhat slower for the longest prompts.
- `decode_seconds_per_token = 0.0046`, `decode_seconds_per_running = 0.00004`: a line
  through NVIDIA's published NIM benchmark for Llama-3.1-8B-Instruct on one H100 (NIM 1.8.0,
  docs.nvidia.com/nim/benchmarking/llm/.../performance): inter-token latency 4.63 ms at
  concurrency 1, 7.57 ms at 100, 12.65 ms at 200.
- `max_running = 256`: vLLM's default `--max-num-seqs`.

`speed` divides every duration: 10 runs the replica ten times faster than the GPU it
models (for replaying traces with time compressed by the same factor); `math.inf` makes it
answer at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LatencyModel:
    prefill_tokens_per_second: float = 30_000.0
    decode_seconds_per_token: float = 0.0046
    decode_seconds_per_running: float = 0.00004
    max_running: int = 256
    speed: float = 1.0

    def __post_init__(self) -> None:
        if not self.prefill_tokens_per_second > 0:
            raise ValueError("prefill_tokens_per_second must be positive")
        if self.decode_seconds_per_token < 0 or self.decode_seconds_per_running < 0:
            raise ValueError("decode times cannot be negative")
        if self.max_running < 1:
            raise ValueError(f"max_running must be at least 1, not {self.max_running}")
        if not self.speed > 0:
            raise ValueError(f"speed must be positive, not {self.speed}")

    @classmethod
    def instant(cls) -> LatencyModel:
        """A replica that answers as fast as it can: for measuring what sits in front of it."""
        return cls(speed=math.inf)

    def prefill_seconds(self, uncached_tokens: int) -> float:
        return uncached_tokens / self.prefill_tokens_per_second / self.speed

    def token_seconds(self, running: int) -> float:
        """Time for one decode step with `running` sequences in the batch."""
        step = self.decode_seconds_per_token + self.decode_seconds_per_running * running
        return step / self.speed


class PrefillQueue:
    """One prefill at a time, first come first served: `reserve` says when a prefill that
    asks at `now` will end, counting the prefills already queued ahead of it."""

    def __init__(self, model: LatencyModel) -> None:
        self.model = model
        self.free_at = -math.inf

    def reserve(self, now: float, uncached_tokens: int) -> float:
        start = max(now, self.free_at)
        self.free_at = start + self.model.prefill_seconds(uncached_tokens)
        return self.free_at

    def backlog(self, now: float) -> float:
        """Seconds of prefill work queued ahead of a request arriving at `now`."""
        return max(0.0, self.free_at - now)
