"""The Alibaba GPU-sharing trace "openb" (cluster-trace-gpu-v2023; Weng et al., "Beware of
Fragmentation", USENIX ATC'23): node lists `sn,cpu_milli,memory_mib,gpu,model` and pod lists
`name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,...]`."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from k8s4ai.scheduler import pods, snapshot

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")

T = TypeVar("T")


class TraceError(ValueError):
    """A malformed trace file; the message names the file, line and column."""


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise TraceError(f"{path}: cannot read: {err.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise TraceError(
                f"{path}: line 1: missing column(s) {', '.join(missing)} "
                f"(expected {','.join(required)})"
            )
        for row in reader:
            yield reader.line_num, row


def _field(path: Path, line: int, row: dict[str, str], column: str, parse: Callable[[str], T]) -> T:
    raw = row.get(column)
    try:
        if raw is None:
            raise ValueError("the row has too few columns")
        return parse(raw)
    except ValueError as err:
        raise TraceError(f"{path}: line {line}: column {column}: {raw!r}: {err}") from None


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("cannot be negative")
    return value


def load_nodes(path: Path) -> list[snapshot.NodeSpec]:
    nodes = []
    for line, row in _rows(path, NODE_COLUMNS):
        gpus = _field(path, line, row, "gpu", _count)
        model = row.get("model") or ""
        if gpus and not model:
            raise TraceError(f"{path}: line {line}: column model: a node with GPUs needs a model")
        nodes.append(
            snapshot.NodeSpec(
                name=row["sn"],
                cpu_milli=_field(path, line, row, "cpu_milli", _count),
                memory_mib=_field(path, line, row, "memory_mib", _count),
                gpus=gpus,
                gpu_model=model if gpus else "",
            )
        )
    if not nodes:
        raise TraceError(f"{path}: no nodes")
    return nodes


def load_pods(path: Path) -> list[pods.PodRequest]:
    out = []
    for line, row in _rows(path, POD_COLUMNS):
        num_gpu = _field(path, line, row, "num_gpu", _count)
        gpu_milli = _field(path, line, row, "gpu_milli", _count)
        if num_gpu and not 0 < gpu_milli <= pods.MILLI:
            raise TraceError(
                f"{path}: line {line}: column gpu_milli: must be 1..1000 for a GPU pod"
            )
        if num_gpu > 1 and gpu_milli != pods.MILLI:
            raise TraceError(
                f"{path}: line {line}: column gpu_milli: a pod with {num_gpu} GPUs takes whole "
                "GPUs (1000)"
            )
        models = frozenset(m for m in (row.get("gpu_spec") or "").split("|") if m.strip())
        out.append(
            pods.PodRequest(
                name=row["name"],
                cpu_milli=_field(path, line, row, "cpu_milli", _count),
                memory_mib=_field(path, line, row, "memory_mib", _count),
                num_gpu=num_gpu,
                gpu_milli=gpu_milli if num_gpu else 0,
                gpu_models=models if models and num_gpu else None,
            )
        )
    if not out:
        raise TraceError(f"{path}: no pods")
    return out
