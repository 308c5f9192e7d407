"""The live workload's driver: queues and classes from the store's objects, arrivals played
at `speed`, readable unique names and cost labels, a bounded backlog."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np

from k8s4ai import api, testing
from k8s4ai.backends.sim import live_driver, live_progress

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def chosen() -> list[live_driver.Target]:
    q = testing.typed(testing.queue("team-a", gpus=16))
    q.metadata.labels["team"] = "research"
    nodes = [testing.typed(testing.node(f"n{i}")) for i in range(4)]
    ckpt = testing.typed(testing.checkpoint_policy("hourly", "team-a"))
    return live_driver.targets([q], nodes, [ckpt])  # type: ignore[list-item]


def arrivals(*draws: live_driver.Draw) -> Iterator[live_driver.Draw]:
    return iter(draws)


def test_targets_follow_the_queues_and_nodes() -> None:
    [target] = chosen()
    assert (target.queue, target.namespace, target.team, target.accelerator_class) == (
        "team-a", "team-a", "research", "h100")
    assert (target.per_node, target.max_gpus, target.weight) == (8, 16, 32)
    assert target.checkpoint_policy == "hourly"
    assert (target.cpu_per_gpu, target.memory_per_gpu_gib) == (8, 64)


def test_due_draws_become_labelled_gangs_at_speed() -> None:
    draws = arrivals(
        live_driver.Draw(0.0, 600.0, 1),
        live_driver.Draw(120.0, 7200.0, 16),
        live_driver.Draw(600.0, 60.0, 64),  # larger than the queue may ever hold
        live_driver.Draw(900.0, 60.0, 2),
    )
    driver = live_driver.Driver(chosen(), draws, np.random.default_rng(3), 60.0, T0, first=41)
    first = driver.due(T0 + timedelta(seconds=1), waiting=0)
    assert len(first) == 1
    later = driver.due(T0 + timedelta(seconds=20), waiting=0)
    assert len(later) == 2
    gangs = first + later
    names = [g.metadata.name for g in gangs]
    assert len(set(names)) == 3 and all(n[-5:] in {"00041", "00042", "00043"} for n in names)
    big = gangs[1]
    assert (big.spec.pod_sets[0].count, big.spec.pod_sets[0].resources.gpus) == (2, 8)
    assert big.spec.checkpoint_policy == "hourly"
    assert big.metadata.annotations[live_progress.WORK] == "7200"
    for g in gangs:
        assert {"team", "project", "experiment", "model"} <= set(g.metadata.labels)
        assert g.metadata.labels[live_driver.SOURCE] == "live"
        assert g.spec.queue == "team-a" and g.metadata.namespace == "team-a"
    assert driver.due(T0 + timedelta(hours=1), waiting=0) == []


def test_arrivals_are_turned_away_while_the_backlog_is_full() -> None:
    draws = arrivals(*(live_driver.Draw(float(i), 60.0, 1) for i in range(5)))
    driver = live_driver.Driver(chosen(), draws, np.random.default_rng(3), 1.0, T0, max_backlog=3)
    assert len(driver.due(T0 + timedelta(seconds=10), waiting=1)) == 2
    assert driver.turned_away == 3


def test_load_scale_offers_the_asked_share_of_the_gpus() -> None:
    sample = [live_driver.Draw(0.0, 3600.0, 4)] * 10
    scale = live_driver.load_scale(sample, 36_000.0, chosen(), 0.5)
    # 10 jobs x 4 GPU-hours in 10 hours offer 4 GPUs; half of 32 GPUs is 16: 4x the rate
    assert scale == 4.0


def test_the_sequence_continues_after_the_store_s_generated_gangs() -> None:
    g = api.GangSchedulingGroup.model_validate(testing.gang("x").build())
    g.metadata.annotations[live_driver.SEQUENCE] = "17"
    assert live_driver.next_sequence([g]) == 18
