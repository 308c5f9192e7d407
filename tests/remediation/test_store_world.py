"""The same engine and rules run over the embedded store: an OOMKilled gang is found,
approved from the CLI, patched in the store, audited beside the store file and undone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from k8s4ai.cli import context, remediate
from k8s4ai.controllers import remediation as store_remediation
from k8s4ai.remediation import audit, engine, plan, registry, state
from k8s4ai.store import sqlite
from k8s4ai.testing import builders

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
MIB = 2**20


def _store(db: Path) -> None:
    with sqlite.SqliteStore(db) as store:
        store.apply([builders.typed(builders.node("n0"))])
        manifest = builders.gang("llm", "team-a").gpus(8).build()
        manifest["spec"]["podSets"][0]["resources"]["memory"] = "64Gi"
        manifest["spec"]["estimatedDuration"] = "10h"
        store.apply([builders.typed(manifest)])
        status = {
            "phase": "Failed",
            "reason": "OOMKilled",
            "exitCode": 137,
            "peakMemory": "64Gi",
            "progress": 0.3,
            "checkpointProgress": 0.25,
        }
        store.patch("GangSchedulingGroup", "llm", "team-a", {"status": status}, "status")


def test_world_reads_gangs_and_nodes(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    _store(db)
    with sqlite.SqliteStore(db) as store:
        snap = store_remediation.StoreWorld(store, lambda: NOW).snapshot()
    job = snap.jobs[state.Ref(state.JOB, "team-a", "llm")]
    assert (job.phase, job.reason, job.exit_code, job.gpus) == ("Failed", "OOMKilled", 137, 8)
    assert job.memory_mib == 64 * 1024 and job.peak_memory_mib == 64 * 1024
    assert job.progress == 3 * 3600 and job.checkpoint_progress == 2.5 * 3600
    node = snap.nodes[state.Ref(state.NODE, "", "n0")]
    assert node.gpus == 8 and node.memory_mib == 1024 * 1024 and node.zone == "z1"


def test_cli_lists_approves_audits_and_undoes(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    _store(db)
    target = context.Target(None, None, db)

    def cli(*args: str) -> str:
        done = CliRunner().invoke(remediate.command, list(args), obj=target, catch_exceptions=False)
        assert done.exit_code == 0, done.output
        return done.output

    listed = cli("list")
    assert "oom-killed GangSchedulingGroup/team-a/llm" in listed
    assert "memory_mib: 65536 → 78644" in listed
    (plan_id,) = [line.split()[0] for line in listed.splitlines() if "raise memory" in line]
    assert "applied" in cli("approve", plan_id)
    with sqlite.SqliteStore(db) as store:
        gang = store.get("GangSchedulingGroup", "llm", "team-a")
    dumped = gang.model_dump(mode="json", by_alias=True)
    assert dumped["spec"]["podSets"][0]["resources"]["memory"] == "78644Mi"
    assert dumped["status"]["phase"] == "Pending" and dumped["status"]["restarts"] == 1
    records = list(audit.read(store_remediation.audit_path(db)))
    assert [r["event"] for r in records] == ["dry-run", "applied"]
    assert records[1]["actor"].startswith("user:")
    trail = cli("audit")
    assert "applied" in trail and "memory_mib 65536 → 78644; phase Failed → Pending" in trail
    assert "undone" in cli("undo", plan_id)
    with sqlite.SqliteStore(db) as store:
        gang = store.get("GangSchedulingGroup", "llm", "team-a")
    dumped = gang.model_dump(mode="json", by_alias=True)
    assert dumped["spec"]["podSets"][0]["resources"]["memory"] == "65536Mi"
    assert dumped["status"]["phase"] == "Failed" and dumped["status"]["restarts"] == 0
    assert (dumped["status"]["reason"], dumped["status"]["exitCode"]) == ("OOMKilled", 137)
    assert (
        json.loads(store_remediation.audit_path(db).read_text().splitlines()[-1])["event"]
        == "undone"
    )


def test_engine_in_auto_mode_over_the_store(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    _store(db)
    with sqlite.SqliteStore(db) as store:
        world = store_remediation.StoreWorld(store, lambda: NOW)
        loop = engine.Engine(
            world,
            registry.default_rules(),
            engine.Policy(engine.Mode.AUTO),
            clock=lambda: NOW.timestamp(),
        )
        loop.step()
        job = world.snapshot().jobs[state.Ref(state.JOB, "team-a", "llm")]
    assert job.phase == "Pending" and job.memory_mib == 78644 and job.restarts == 1


def test_controller_proposes_under_the_ids_the_cli_shows(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    _store(db)
    with sqlite.SqliteStore(db) as store:
        controller = store_remediation.Controller(store, db, lambda: NOW)
        controller.run_once()
        controller.run_once()
        (pending,) = controller.engine.pending()
    assert pending.id == store_remediation.proposal_id(pending.plan)
    events = [r["event"] for r in audit.read(store_remediation.audit_path(db))]
    assert events == ["detected", "proposed"]


def test_unmeasured_service_load_is_unknown_not_zero(tmp_path: Path) -> None:
    """The store holds no load or latency for an InferenceService: the world says "not
    measured" and idle-replicas does not read that as an idle service."""
    db = tmp_path / "k.db"
    with sqlite.SqliteStore(db) as store:
        manifest = builders.inference_service("chat", "serving", replicas=3, minReplicas=2)
        store.apply([builders.typed(manifest)])
        world = store_remediation.StoreWorld(store, lambda: NOW)
        svc = world.snapshot().services[state.Ref(state.SERVICE, "serving", "chat")]
        loop = engine.Engine(
            world,
            registry.default_rules(),
            engine.Policy(engine.Mode.AUTO),
            clock=lambda: NOW.timestamp(),
        )
        loop.step()
    assert (svc.load_rps, svc.capacity_rps, svc.latency_ms, svc.latency_target_ms) == (
        None,
        None,
        None,
        None,
    )
    assert (svc.replicas, svc.min_replicas) == (3, 2)
    assert not loop.findings and not loop.proposals


def test_memory_plan_changes_only_the_largest_pod_set(tmp_path: Path) -> None:
    """A launcher pod set with a smaller request keeps it through a bump and its undo."""
    db = tmp_path / "k.db"
    _store(db)
    with sqlite.SqliteStore(db) as store:
        current = store.get("GangSchedulingGroup", "llm", "team-a")
        sets = current.model_dump(mode="json", by_alias=True)["spec"]["podSets"]
        launcher = {**sets[0], "name": "launcher", "count": 1}
        launcher["resources"] = {"cpu": "1", "memory": "4Gi"}
        patch = {"spec": {"podSets": [launcher, *sets]}}
        store.patch("GangSchedulingGroup", "llm", "team-a", patch)
        world = store_remediation.StoreWorld(store, lambda: NOW)
        job = world.snapshot().jobs[state.Ref(state.JOB, "team-a", "llm")]
        assert job.memory_mib == 64 * 1024
        change = plan.Change(job.ref, "memory_mib", job.memory_mib, 80_000.0)
        world.apply([change])
        after = store.get("GangSchedulingGroup", "llm", "team-a")
        world.apply([change.reversed()])
        undone = store.get("GangSchedulingGroup", "llm", "team-a")
    mib = [p.resources.memory.bytes / MIB for p in after.spec.pod_sets]
    assert mib == [4096, 80_000]
    assert [p.resources.memory.bytes / MIB for p in undone.spec.pod_sets] == [4096, 65536]
