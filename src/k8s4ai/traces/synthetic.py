"""Synthetic clusters and pod lists shaped like the Alibaba "openb" trace (Weng et al.,
"Beware of Fragmentation", USENIX ATC'23; alibaba/clusterdata cluster-trace-gpu-v2023), and
CSV writers in its format. They let `k8s4ai sim` run on a machine without the trace, and tests
and benchmarks exercise the CSV loader anywhere.

Without a template, shapes are drawn from the mixes below: the most common node shapes of
`openb_node_list_gpu_node.csv` and pod shapes of `openb_pod_list_default.csv`, weighted by how
often they occur there (the pod mix covers ~2/3 of the pods; the long tail is left out). With a
template (e.g. the real trace's rows) its shapes are resampled instead.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from k8s4ai.scheduler import pods, snapshot

NODE_MIX: tuple[tuple[int, int, int, int, str], ...] = (
    # (count in openb, cpu_milli, memory_mib, gpus, model)
    (549, 96000, 393216, 8, "G2"),
    (387, 104000, 524288, 2, "T4"),
    (107, 16000, 122880, 2, "P100"),
    (39, 128000, 786432, 8, "G3"),
    (28, 32000, 131072, 4, "V100M16"),
    (22, 64000, 262144, 2, "P100"),
    (21, 96000, 786432, 8, "V100M32"),
    (19, 8000, 32768, 1, "V100M16"),
    (17, 96000, 393216, 4, "T4"),
    (9, 48000, 376832, 4, "V100M32"),
)

POD_MIX: tuple[tuple[int, int, int, int, int], ...] = (
    # (count in openb default, cpu_milli, memory_mib, num_gpu, gpu_milli)
    (1047, 3152, 5600, 1, 810),
    (857, 11300, 49152, 1, 1000),
    (534, 11400, 48128, 1, 1000),
    (470, 3152, 5600, 1, 1000),
    (388, 11908, 47104, 1, 470),
    (364, 12500, 57344, 0, 0),
    (360, 8000, 30517, 1, 470),
    (284, 32000, 49152, 0, 0),
    (255, 18708, 64512, 1, 1000),
    (237, 11908, 47104, 1, 650),
    (111, 4000, 22888, 1, 320),
    (84, 4000, 30517, 1, 230),
    (18, 88000, 327680, 8, 1000),
    (9, 32200, 132096, 4, 1000),
    (7, 16200, 66560, 2, 1000),
)


def _mix_nodes() -> list[snapshot.NodeSpec]:
    return [
        snapshot.NodeSpec(f"mix-{i}", cpu, memory, gpus, model)
        for i, (count, cpu, memory, gpus, model) in enumerate(NODE_MIX)
        for _ in range(count)
    ]


def _mix_pods() -> list[pods.PodRequest]:
    return [
        pods.PodRequest(f"mix-{i}", cpu, memory, num_gpu, gpu_milli)
        for i, (count, cpu, memory, num_gpu, gpu_milli) in enumerate(POD_MIX)
        for _ in range(count)
    ]


def nodes(
    count: int, rng: np.random.Generator, template: Sequence[snapshot.NodeSpec] | None = None
) -> list[snapshot.NodeSpec]:
    shapes = list(template) if template else _mix_nodes()
    return [
        snapshot.NodeSpec(f"node-{i:05d}", s.cpu_milli, s.memory_mib, s.gpus, s.gpu_model)
        for i, s in enumerate(shapes[j] for j in rng.integers(len(shapes), size=count))
    ]


def pod_list(
    count: int, rng: np.random.Generator, template: Sequence[pods.PodRequest] | None = None
) -> list[pods.PodRequest]:
    shapes = list(template) if template else _mix_pods()
    return [
        pods.PodRequest(
            f"pod-{i:05d}", s.cpu_milli, s.memory_mib, s.num_gpu, s.gpu_milli, s.gpu_models
        )
        for i, s in enumerate(shapes[j] for j in rng.integers(len(shapes), size=count))
    ]


def write_nodes(path: Path, specs: Sequence[snapshot.NodeSpec]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("sn", "cpu_milli", "memory_mib", "gpu", "model"))
        writer.writerows((n.name, n.cpu_milli, n.memory_mib, n.gpus, n.gpu_model) for n in specs)
    return path


def write_pods(path: Path, requests: Sequence[pods.PodRequest]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec"))
        writer.writerows(
            (
                p.name,
                p.cpu_milli,
                p.memory_mib,
                p.num_gpu,
                p.gpu_milli,
                "|".join(sorted(p.gpu_models or ())),
            )
            for p in requests
        )
    return path
