"""The live runtime's writes on a real store: a status written meanwhile by someone else is
never overwritten, and the next step writes from the newer object; finished generated jobs
are collected."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from k8s4ai import api, testing
from k8s4ai.backends.sim import live_driver, live_failures, live_progress, live_runtime, live_writer
from k8s4ai.store import sqlite

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
CALM = live_failures.Rates(oom=0, error=0, terminated=0, node_mtbf_hours=1e12)


def test_a_conflicting_write_is_skipped_and_made_again_from_the_newer_object(
    tmp_path: Path,
) -> None:
    store = sqlite.SqliteStore(tmp_path / "s.db")
    try:
        store.create(testing.typed(testing.node("n1")))
        g = api.GangSchedulingGroup.model_validate(testing.gang("job").gpus(8).build())
        g.metadata.annotations[live_progress.WORK] = "3600"
        created = store.create(g)
        assert isinstance(created, api.GangSchedulingGroup)
        placed = created.status.model_copy(update={
            "phase": "Admitted", "start_time": T0, "queue": "team-a",
            "assignments": [api.gang.PodSetAssignment(name="worker", nodes=["n1"])],
        })
        store.replace(created.model_copy(update={"status": placed}), subresource="status")
        rt = live_runtime.Runtime(60.0, 1, np.random.default_rng(1), CALM)
        stale = store.list("Node").items + store.list("GangSchedulingGroup").items
        changes = rt.step(stale, T0)
        assert len(changes) == 1
        current = store.get("GangSchedulingGroup", "job", "default")
        cond = api.meta.Condition(type="Admitted", status="True", reason="Admitted")
        store.replace(current.model_copy(update={"status": current.status.model_copy(
            update={"conditions": [cond]})}), subresource="status")  # admission, meanwhile
        assert live_writer.apply(store, changes, T0) == live_writer.Written(0, 1)
        fresh = store.list("Node").items + store.list("GangSchedulingGroup").items
        assert live_writer.apply(store, rt.step(fresh, T0), T0) == live_writer.Written(1, 0)
        job = store.get("GangSchedulingGroup", "job", "default")
        assert job.status.phase == "Running"
        assert [c.reason for c in job.status.conditions] == ["Admitted"], "admission's kept"
        started = store.get("Event", "gangschedulinggroup.job.started", "default")
        assert isinstance(started, api.Event) and started.spec.reason == "Started"
    finally:
        store.close()


def test_only_the_newest_finished_generated_gangs_are_kept(tmp_path: Path) -> None:
    store = sqlite.SqliteStore(tmp_path / "s.db")
    try:
        for i in range(5):
            g = api.GangSchedulingGroup.model_validate(
                testing.gang(f"job-{i}").labels(**{live_driver.SOURCE: "live"}).build())
            created = store.create(g)
            done = created.status.model_copy(update={
                "phase": "Succeeded" if i < 4 else "Running",
                "completion_time": T0 + timedelta(minutes=i) if i < 4 else None,
            })
            store.replace(created.model_copy(update={"status": done}), subresource="status")
        store.create(api.GangSchedulingGroup.model_validate(testing.gang("mine").build()))
        gone = live_writer.collect(store, live_writer.generated(store), keep=2)
        assert gone == 2
        names = sorted(g.metadata.name for g in store.list("GangSchedulingGroup").items)
        assert names == ["job-2", "job-3", "job-4", "mine"]
    finally:
        store.close()
