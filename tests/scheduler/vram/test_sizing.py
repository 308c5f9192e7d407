"""The replica arithmetic, checked against figures worked out by hand from the model shapes."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler.vram import sizing

GIB = 2**30
LLAMA2_7B = sizing.Architecture("7b", 6.74e9, 32, 32, 128)
LLAMA2_70B = sizing.Architecture("70b", 68.98e9, 80, 8, 128)


def test_weights_and_kv_cache() -> None:
    assert LLAMA2_7B.weights("bf16") == 13_480_000_000
    assert LLAMA2_7B.weights("int4") == 3_370_000_000
    # 2 (K, V) × 32 layers × 32 heads × 128 dims × 2 bytes = 512 KiB per token
    assert LLAMA2_7B.kv_per_token("bf16") == 512 * 1024
    # grouped-query attention: 8 KV heads over 80 layers
    assert LLAMA2_70B.kv_per_token("fp8") == 2 * 80 * 8 * 128
    with pytest.raises(ValueError, match="unknown precision 'fp4'"):
        sizing.bits("fp4")


def test_tensor_parallel_degree_and_share() -> None:
    usable = 78 * GIB
    assert sizing.tensor_parallel(60 * GIB, usable) == 1
    assert sizing.tensor_parallel(77 * GIB, usable) == 1
    assert sizing.tensor_parallel(int(77.5 * GIB), usable) == 2
    assert sizing.tensor_parallel(300 * GIB, usable) == 4
    assert sizing.per_gpu(100 * GIB, 2) == 51 * GIB
    with pytest.raises(ValueError, match="does not fit on 8 GPUs"):
        sizing.tensor_parallel(700 * GIB, usable)


def test_cold_start_is_weights_over_bandwidth() -> None:
    assert sizing.load_seconds(130_000_000_000) == pytest.approx(81.25)
    assert sizing.load_seconds(10**9, bandwidth=5e9) == pytest.approx(0.2)
    assert sizing.gib(int(81.5 * GIB)) == "81.5 GiB"
