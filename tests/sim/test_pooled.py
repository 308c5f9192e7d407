"""The pooled-GPU model behind bench/jobs_room.py."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.backends.sim import pooled

Job = pooled.PooledJob


def test_hand_computed_single_gpu() -> None:
    jobs = [Job(0.0, 10.0, 1), Job(1.0, 2.0, 1)]
    assert pooled.replay(jobs, 1, "fifo").tolist() == pytest.approx([10.0, 11.0])
    assert pooled.replay(jobs, 1, "srpt").tolist() == pytest.approx([12.0, 2.0])


def test_fifo_backfills_but_never_preempts() -> None:
    jobs = [Job(0.0, 10.0, 2), Job(1.0, 5.0, 4), Job(2.0, 3.0, 2)]
    # 4 GPUs: the 4-GPU job waits for the first; the last fits beside the first.
    assert pooled.replay(jobs, 4, "fifo").tolist() == pytest.approx([10.0, 14.0, 3.0])


@pytest.mark.parametrize("seed", range(5))
def test_srpt_is_optimal_on_one_server(seed: int) -> None:
    rng = np.random.default_rng(seed)
    submits = np.cumsum(rng.exponential(10.0, 200))
    lengths = rng.lognormal(2.0, 1.2, 200)
    jobs = [Job(float(s), float(d), 1) for s, d in zip(submits, lengths, strict=True)]
    best = pooled.replay(jobs, 1, "srpt").mean()
    for policy in ("fifo", "las", "gittins"):
        assert best <= pooled.replay(jobs, 1, policy).mean() + 1e-9


def test_gittins_beats_las_when_lengths_cluster() -> None:
    """Identical lengths: LAS round-robins every job to the end, Gittins runs them in turn."""
    jobs = [Job(float(i), 1_000.0, 1) for i in range(20)]
    assert pooled.replay(jobs, 1, "gittins").mean() < 0.7 * pooled.replay(jobs, 1, "las").mean()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown pooled policy 'sjf'"):
        pooled.replay([Job(0.0, 1.0, 1)], 1, "sjf")
    with pytest.raises(ValueError, match="asks for 4 of 2 GPUs"):
        pooled.replay([Job(0.0, 1.0, 4)], 2, "fifo")
