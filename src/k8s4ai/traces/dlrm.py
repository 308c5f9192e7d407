"""The Alibaba disaggregated DLRM inference trace (cluster-trace-gpu-v2025; Yang et al.,
"GPU-Disaggregated Serving for Deep Learning Recommendation Models at Scale", NSDI'25):
one row per inference instance, `instance_sn,role,app_name,cpu_request,...,gpu_request,...,
memory_request,...,creation_time,scheduled_time,deletion_time`.

`role` is `CN` (CPU node) or `HN` (heterogeneous GPU node; one GPU each in the published
trace); `memory_request` is host memory in GiB — the trace says nothing about GPU memory.
Times are seconds from the trace start; an empty (or NaN) creation time means the instance
existed before the trace began, an empty deletion time that it outlived the trace.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from k8s4ai.traces import csvrows

COLUMNS = (
    "instance_sn",
    "role",
    "app_name",
    "cpu_request",
    "gpu_request",
    "memory_request",
    "creation_time",
    "deletion_time",
)
ROLES = ("CN", "HN")
FILE = Path("alibaba-gpu-v2025-dlrm") / "disaggregated_DLRM_trace.csv"
"""Where the trace lives under the shared traces folder."""


@dataclass(frozen=True, slots=True)
class Instance:
    name: str
    role: str
    app: str
    cpu: float
    gpus: int
    memory_gib: float
    created: float | None
    """Seconds from the trace start; None: it existed before the trace began."""
    deleted: float | None
    """None: it outlived the trace."""


def _amount(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError("must be a finite number ≥ 0")
    return value


def _count(raw: str) -> int:
    value = _amount(raw)
    if value != int(value):
        raise ValueError("must be a whole number")
    return int(value)


def _time(raw: str) -> float | None:
    if raw.strip().lower() in ("", "nan"):
        return None
    return _amount(raw)


def _role(raw: str) -> str:
    if raw not in ROLES:
        raise ValueError(f"must be one of {', '.join(ROLES)}")
    return raw


def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw


def load(path: Path, roles: Iterable[str] = ("HN",)) -> list[Instance]:
    """The instances of the given roles, in file order; raises `csvrows.TraceError` naming the
    file, line and column of the first malformed value."""
    wanted = set(roles)
    out = []
    for row in csvrows.rows(path, COLUMNS):
        role = row.field("role", _role)
        if role not in wanted:
            continue
        created = row.field("creation_time", _time)
        deleted = row.field("deletion_time", _time)
        if created is not None and deleted is not None and deleted < created:
            raise row.error("deletion_time", f"{deleted} is before the creation time {created}")
        out.append(
            Instance(
                name=row.field("instance_sn", _text),
                role=role,
                app=row.field("app_name", _text),
                cpu=row.field("cpu_request", _amount),
                gpus=row.field("gpu_request", _count),
                memory_gib=row.field("memory_request", _amount),
                created=created,
                deleted=deleted,
            )
        )
    if not out:
        raise csvrows.TraceError(f"{path}: no instances with role {', '.join(sorted(wanted))}")
    return out


def horizon(instances: Iterable[Instance]) -> float:
    """The last creation or deletion time in the trace: where it ends."""
    times = [t for i in instances for t in (i.created, i.deleted) if t is not None]
    return max(times, default=0.0)
