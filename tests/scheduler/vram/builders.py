"""AcceleratorClasses and replicas for the VRAM tests, e.g.

geo = geometry(H100)                         # MIG geometry of an H100-80GB
replica("a", gib=30, model="m7b", weights_gib=13)
"""

from __future__ import annotations

from typing import Any

from k8s4ai import testing
from k8s4ai.api import accelerator
from k8s4ai.scheduler.vram import mig, placers

GIB = 2**30

H100 = [
    {"name": "1g.10gb", "computeSlices": 1, "vram": "10Gi", "maxPerGpu": 7},
    {"name": "1g.10gb+me", "computeSlices": 1, "vram": "10Gi", "maxPerGpu": 1},
    {"name": "1g.20gb", "computeSlices": 1, "vram": "20Gi", "maxPerGpu": 4},
    {"name": "2g.20gb", "computeSlices": 2, "vram": "20Gi", "maxPerGpu": 3},
    {"name": "3g.40gb", "computeSlices": 3, "vram": "40Gi", "maxPerGpu": 2},
    {"name": "4g.40gb", "computeSlices": 4, "vram": "40Gi", "maxPerGpu": 1},
    {"name": "7g.80gb", "computeSlices": 7, "vram": "80Gi", "maxPerGpu": 1},
]
A100_40GB = [
    {"name": "1g.5gb", "computeSlices": 1, "vram": "5Gi", "maxPerGpu": 7},
    {"name": "2g.10gb", "computeSlices": 2, "vram": "10Gi", "maxPerGpu": 3},
    {"name": "3g.20gb", "computeSlices": 3, "vram": "20Gi", "maxPerGpu": 2},
    {"name": "4g.20gb", "computeSlices": 4, "vram": "20Gi", "maxPerGpu": 1},
    {"name": "7g.40gb", "computeSlices": 7, "vram": "40Gi", "maxPerGpu": 1},
]


def accel(profiles: list[dict[str, Any]], vram: str = "80Gi") -> accelerator.AcceleratorClass:
    return accelerator.AcceleratorClass.model_validate(
        testing.accelerator_class("gpu", vram=vram, mig=profiles)
    )


def geometry(profiles: list[dict[str, Any]] = H100, vram: str = "80Gi") -> mig.Geometry:
    return mig.geometry(accel(profiles, vram).spec)


def layout(*spec: str) -> mig.Layout:
    """`layout("3g.40gb@4", "1g.10gb@0")` → a canonical layout."""
    out = []
    for s in spec:
        name, start = s.split("@")
        out.append(mig.Instance(name, int(start)))
    return mig.canonical(out)


def replica(
    name: str, gib: float, model: str | None = None, weights_gib: float = 0.0, gpus: int = 1
) -> placers.Replica:
    return placers.Replica(name, model or name, round(gib * GIB), round(weights_gib * GIB), gpus)
