"""An append-only audit trail: every detection, proposal, approval, change (with its before
and after), verification and undo, one JSON object per line.

Each record is written with a single `write` on a file opened for appending and then
fsynced, so a crash leaves either the whole line or, at worst, a torn last line without
its newline, which `read` skips: nothing half-written is ever read back as a record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

Record = Mapping[str, Any]


class AuditLog:
    """`path` None keeps the records in memory only (simulations, tests)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._memory: list[Record] = []
        self._seq = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            _drop_torn_tail(path)
            self._seq = sum(1 for _ in read(path))

    def append(self, record: Mapping[str, Any]) -> Record:
        self._seq += 1
        full = {"seq": self._seq, **record}
        if self.path is None:
            self._memory.append(full)
            return full
        line = (json.dumps(full, sort_keys=True, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return full

    def records(self) -> list[Record]:
        return list(self._memory) if self.path is None else list(read(self.path))


def read(path: Path) -> Iterator[Record]:
    """The complete records of a log; a torn last line (no newline) is skipped."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                return
            yield json.loads(raw)


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line left without its newline by a crash, so the next record starts on a
    line of its own."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
            os.fsync(handle.fileno())
