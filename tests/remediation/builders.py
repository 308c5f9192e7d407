"""A tiny simulated cluster for scenario tests: two 8-GPU nodes per zone, a default
StorageClass, and helpers to submit jobs and run the engine over it."""

from __future__ import annotations

import numpy as np

from k8s4ai.backends.sim import incident_services, incident_truth, incident_world, incidents
from k8s4ai.remediation import audit, engine, guardrails, registry, state

HOUR = 3600.0
MEMORY = 64 * 1024.0


def world(nodes: int = 4) -> incident_world.SimWorld:
    w = incident_world.SimWorld(seed=1)
    for i in range(nodes):
        w.add_node(f"n{i}", ("zone-a", "zone-b")[i % 2], 1024 * 1024.0)
    w.add_class(state.StorageClass(state.Ref(state.STORAGE_CLASS, "", "standard"), default=True))
    return w


def job(
    w: incident_world.SimWorld,
    name: str,
    gpus: int = 8,
    work: float = 10 * HOUR,
    namespace: str = "team-a",
    **truth: object,
) -> state.Ref:
    ref = state.Ref(state.JOB, namespace, name)
    fields = {k: v for k, v in truth.items() if k in state.Job.__dataclass_fields__}
    hidden = {k: v for k, v in truth.items() if k not in fields}
    hidden.setdefault("need_mib", MEMORY)
    t = incident_truth.Truth(work=work, **hidden)  # type: ignore[arg-type]
    fields.setdefault("memory_mib", MEMORY)
    w.submit(state.Job(ref, str(fields.pop("queue", "team-a")), gpus, **fields), t)  # type: ignore[arg-type]
    return ref


def service(
    w: incident_world.SimWorld, name: str = "chat", replicas: int = 8, peak: float = 60.0
) -> state.Ref:
    ref = state.Ref(state.SERVICE, "serving", name)
    w.services[ref] = incident_services.ServiceSim(
        ref, peak, peak, 20.0, np.random.default_rng(0), replicas=replicas
    )
    return ref


def loop(
    w: incident_world.SimWorld,
    mode: engine.Mode = engine.Mode.AUTO,
    limits: guardrails.Limits | None = None,
    rules: list[str] | None = None,
) -> engine.Engine:
    chosen = registry.default_rules() if rules is None else registry.pick(rules)
    return engine.Engine(
        w,
        chosen,
        engine.Policy(mode),
        clock=lambda: w.kernel.now,
        limits=limits,
        log=audit.AuditLog(),
    )


def run(w: incident_world.SimWorld, e: engine.Engine | None, hours: float) -> None:
    incidents.drive(w, e, w.kernel.now + hours * HOUR)


def events(e: engine.Engine, kind: str) -> list[dict[str, object]]:
    return [dict(r) for r in e.log.records() if r["event"] == kind]
