"""Failure injection: Poisson failures per unit, repairs, Meta's rates, and the same failures
for the same seed whatever else the simulation does."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.backends.sim import failures, kernel
from k8s4ai.scheduler import checkpointing


def inject(
    components: list[failures.Component],
    seed: int,
    until: float,
    stop: tuple[int, float] | None = None,
) -> list[failures.Failure]:
    k = kernel.Kernel(0)
    seen: list[failures.Failure] = []
    injector = failures.Injector(
        components, np.random.default_rng(seed), lambda _, f: seen.append(f)
    )
    injector.start(k)
    if stop is not None:
        owner, at = stop
        k.at(at, lambda _: injector.stop(owner))
    k.run(until)
    assert seen == injector.failures
    return seen


@pytest.mark.parametrize(
    ("gpus", "nodes", "racks"),
    [
        pytest.param(1, 1, 1, id="one-gpu"),
        pytest.param(12, 2, 1, id="partial-node"),
        pytest.param(64, 8, 2, id="two-racks"),
        pytest.param(16_384, 2_048, 512, id="meta-scale"),
    ],
)
def test_layout_units(gpus: int, nodes: int, racks: int) -> None:
    layout = failures.Layout(gpus_per_node=8, nodes_per_rack=4)
    assert [layout.units(level, gpus) for level in failures.LEVELS] == [gpus, nodes, racks]


def test_meta_rates_reproduce_the_report() -> None:
    meta = failures.meta_llama3()
    report_hours = checkpointing.META_DAYS * 24 / checkpointing.META_INTERRUPTIONS
    assert meta.job_mtbf(checkpointing.META_GPUS) / 3600 == pytest.approx(report_hours)
    by_level = {
        m.level: meta.layout.units(m.level, checkpointing.META_GPUS) / m.mtbf for m in meta.modes
    }
    total = sum(by_level.values())
    assert by_level["gpu"] / total == pytest.approx(0.587)
    assert by_level["rack"] / total == pytest.approx(0.084)
    assert meta.scaled(4.0).job_mtbf(1024) == pytest.approx(meta.job_mtbf(1024) / 4)


def test_meta_rate_agrees_with_the_prior_for_whole_racks() -> None:
    meta, prior = failures.meta_llama3(), checkpointing.meta_prior()
    for gpus in (32, 1024, 4096):
        assert meta.job_mtbf(gpus) == pytest.approx(prior.job_mtbf(gpus))


def test_failures_arrive_as_a_poisson_process() -> None:
    mode = failures.Mode("gpu", mtbf=1000.0)
    seen = inject([failures.Component(mode, owner=3, count=100)], seed=1, until=100_000.0)
    expected = 100 * 100_000.0 / 1000.0
    assert abs(len(seen) - expected) < 5 * np.sqrt(expected)
    gaps = np.diff([0.0] + [f.at for f in seen])
    assert gaps.mean() == pytest.approx(10.0, rel=0.05)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.05)
    assert {f.owner for f in seen} == {3}
    assert all(0 <= f.unit < 100 and f.back_at == f.at for f in seen)
    counts = np.bincount([f.unit for f in seen], minlength=100)
    assert counts.min() > 0


def test_a_unit_in_repair_does_not_fail_again() -> None:
    mode = failures.Mode("node", mtbf=100.0, repair=50.0)
    seen = inject([failures.Component(mode, owner=0, count=1)], seed=2, until=150_000.0)
    assert all(f.back_at == f.at + 50.0 for f in seen)
    assert np.diff([f.at for f in seen]).min() >= 50.0
    expected = 150_000.0 / 150.0
    assert abs(len(seen) - expected) < 5 * np.sqrt(expected)


def test_same_seed_same_failures_whatever_another_owner_does() -> None:
    mode = failures.Mode("gpu", mtbf=50.0)
    parts = [failures.Component(mode, 0, 8), failures.Component(mode, 1, 8)]
    alone = inject(parts, seed=5, until=2000.0)
    stopped = inject(parts, seed=5, until=2000.0, stop=(0, 500.0))
    assert [f for f in stopped if f.owner == 1] == [f for f in alone if f.owner == 1]
    assert max(f.at for f in stopped if f.owner == 0) <= 500.0
    assert any(f.owner == 0 and f.at > 500.0 for f in alone)
    other = inject(parts, seed=6, until=2000.0)
    assert [f.at for f in other] != [f.at for f in alone]


def test_modes_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        failures.Mode("zone", 10.0)
    with pytest.raises(ValueError, match="positive"):
        failures.Mode("gpu", 0.0)
    with pytest.raises(ValueError, match="positive"):
        failures.meta_llama3().scaled(0.0)
