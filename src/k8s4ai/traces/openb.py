"""The Alibaba GPU-sharing trace "openb" (cluster-trace-gpu-v2023; Weng et al., "Beware of
Fragmentation", USENIX ATC'23): node lists `sn,cpu_milli,memory_mib,gpu,model` and pod lists
`name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,...]`."""

from __future__ import annotations

from pathlib import Path

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.traces import csvrows

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")

TraceError = csvrows.TraceError
"""Kept here too: callers catch `csvrows.TraceError` for every trace format."""


def load_nodes(path: Path) -> list[snapshot.NodeSpec]:
    nodes = []
    for row in csvrows.rows(path, NODE_COLUMNS):
        gpus = row.field("gpu", csvrows.count)
        model = row.cells.get("model") or ""
        if gpus and not model:
            raise row.error("model", "a node with GPUs needs a model")
        nodes.append(
            snapshot.NodeSpec(
                name=row.cells["sn"],
                cpu_milli=row.field("cpu_milli", csvrows.count),
                memory_mib=row.field("memory_mib", csvrows.count),
                gpus=gpus,
                gpu_model=model if gpus else "",
            )
        )
    if not nodes:
        raise csvrows.TraceError(f"{path}: no nodes")
    return nodes


def load_pods(path: Path) -> list[pods.PodRequest]:
    out = []
    for row in csvrows.rows(path, POD_COLUMNS):
        num_gpu = row.field("num_gpu", csvrows.count)
        gpu_milli = row.field("gpu_milli", csvrows.count)
        if num_gpu and not 0 < gpu_milli <= pods.MILLI:
            raise row.error("gpu_milli", "must be 1..1000 for a GPU pod")
        if num_gpu > 1 and gpu_milli != pods.MILLI:
            raise row.error("gpu_milli", f"a pod with {num_gpu} GPUs takes whole GPUs (1000)")
        models = frozenset(m for m in (row.cells.get("gpu_spec") or "").split("|") if m.strip())
        out.append(
            pods.PodRequest(
                name=row.cells["name"],
                cpu_milli=row.field("cpu_milli", csvrows.count),
                memory_mib=row.field("memory_mib", csvrows.count),
                num_gpu=num_gpu,
                gpu_milli=gpu_milli if num_gpu else 0,
                gpu_models=models if models and num_gpu else None,
            )
        )
    if not out:
        raise csvrows.TraceError(f"{path}: no pods")
    return out
