"""Job traces for the admission simulator: one `JobRecord` per job, whatever the source.

Formats (told apart by their header, see `load`):

- ``philly``: Microsoft Philly via the Sia artifact (Jeon et al., ATC'19),
  ``timestamp,duration,num_gpus,gpu_time,cluster``; ``cluster`` (the virtual cluster) is the
  queue; rows are not sorted; jobs are named ``philly-<data row number>`` (1-based).
- ``itp``: Microsoft ITP clusters (ElasticFlow, ASPLOS'23),
  ``job_id,submission_time,duration,num_gpu`` in seconds.
- ``crux``: Alibaba Crux via RFold (SIGCOMM'24),
  ``#job id,arrival time (sec),topology,shape,size,duration (sec)``; ``size`` is the GPU count;
  jobs are named ``crux-<job id>``.
- ``pollux``: Pollux workloads (OSDI'21), ``name,time,application,num_replicas,batch_size``;
  one GPU per replica. The trace has no durations: Pollux's simulator derives completion from
  each application's training progress, so ``duration_seconds`` is None.

Every loader rebases submission times so the first returned job is submitted at 0, drops jobs
asking for zero GPUs (none of the public traces has any), and returns the records sorted by
``(submit_seconds, name)``. Malformed or negative values raise `csvrows.TraceError`
(also known as `csvrows.TraceError`).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from k8s4ai.traces import csvrows

PHILLY_TIMESTAMP = "%Y-%m-%d %H:%M:%S"
_EPOCH = datetime.datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job. `submit_seconds` counts from the trace's first submission; `duration_seconds`
    is None when the trace does not say (Pollux); `queue` is the team/virtual cluster, if any."""

    name: str
    submit_seconds: float
    duration_seconds: float | None
    gpus: int
    queue: str | None


RowParser = Callable[[csvrows.Row], JobRecord]


@dataclass(frozen=True, slots=True)
class _Format:
    name: str
    columns: tuple[str, ...]
    parse: RowParser


def _non_empty(raw: str) -> str:
    if not raw.strip():
        raise ValueError("cannot be empty")
    return raw


def _seconds(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if value < 0:
        raise ValueError("cannot be negative")
    return value


def _timestamp(raw: str) -> float:
    moment = datetime.datetime.strptime(raw, PHILLY_TIMESTAMP)
    return (moment - _EPOCH).total_seconds()


def _philly(row: csvrows.Row) -> JobRecord:
    return JobRecord(
        name=f"philly-{row.number}",
        submit_seconds=row.field("timestamp", _timestamp),
        duration_seconds=row.field("duration", _seconds),
        gpus=row.field("num_gpus", csvrows.count),
        queue=row.field("cluster", _non_empty),
    )


def _itp(row: csvrows.Row) -> JobRecord:
    return JobRecord(
        name=row.field("job_id", _non_empty),
        submit_seconds=row.field("submission_time", _seconds),
        duration_seconds=row.field("duration", _seconds),
        gpus=row.field("num_gpu", csvrows.count),
        queue=None,
    )


def _crux(row: csvrows.Row) -> JobRecord:
    return JobRecord(
        name=f"crux-{row.field('#job id', _non_empty)}",
        submit_seconds=row.field("arrival time (sec)", _seconds),
        duration_seconds=row.field("duration (sec)", _seconds),
        gpus=row.field("size", csvrows.count),
        queue=None,
    )


def _pollux(row: csvrows.Row) -> JobRecord:
    return JobRecord(
        name=row.field("name", _non_empty),
        submit_seconds=row.field("time", _seconds),
        duration_seconds=None,
        gpus=row.field("num_replicas", csvrows.count),
        queue=None,
    )


PHILLY = _Format("philly", ("timestamp", "duration", "num_gpus", "gpu_time", "cluster"), _philly)
ITP = _Format("itp", ("job_id", "submission_time", "duration", "num_gpu"), _itp)
CRUX = _Format(
    "crux",
    ("#job id", "arrival time (sec)", "topology", "shape", "size", "duration (sec)"),
    _crux,
)
POLLUX = _Format("pollux", ("name", "time", "application", "num_replicas", "batch_size"), _pollux)
FORMATS = (PHILLY, ITP, CRUX, POLLUX)


def _matches(fmt: _Format, header: list[str]) -> bool:
    return all(column in header for column in fmt.columns)


def _load(path: Path, fmt: _Format) -> list[JobRecord]:
    expected = f"{fmt.name} traces have {','.join(fmt.columns)}"
    records = []
    for row in csvrows.rows(path, fmt.columns, expected):
        record = fmt.parse(row)
        if record.gpus:
            records.append(record)
    if not records:
        raise csvrows.TraceError(f"{path}: no jobs with GPUs")
    return _rebased(records)


def _rebased(records: list[JobRecord]) -> list[JobRecord]:
    start = min(r.submit_seconds for r in records)
    rebased = [replace(r, submit_seconds=r.submit_seconds - start) for r in records]
    return sorted(rebased, key=lambda r: (r.submit_seconds, r.name))


def load_philly(path: Path) -> list[JobRecord]:
    return _load(path, PHILLY)


def load_itp(path: Path) -> list[JobRecord]:
    return _load(path, ITP)


def load_crux(path: Path) -> list[JobRecord]:
    return _load(path, CRUX)


def load_pollux(path: Path) -> list[JobRecord]:
    return _load(path, POLLUX)


def load(path: Path) -> list[JobRecord]:
    """Load a job trace of any known format, recognised by its header line."""
    header = csvrows.header(path)
    for fmt in FORMATS:
        if _matches(fmt, header):
            return _load(path, fmt)
    known = "; ".join(f"{fmt.name} ({','.join(fmt.columns)})" for fmt in FORMATS)
    raise csvrows.TraceError(
        f"{path}: line 1: unknown job trace header {','.join(header)!r}; known formats: {known}"
    )
