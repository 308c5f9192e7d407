"""Every acknowledged write survives SIGKILL of the writing process."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from k8s4ai.store import sqlite

from . import processes

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_acknowledged_writes_survive_kill_9(db_path: Path, synchronous: str) -> None:
    proc = processes.start_writer(db_path, "acked", 1_000_000, synchronous)
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(150)]  # mid-burst: it keeps writing
    os.kill(proc.pid, signal.SIGKILL)
    lines += proc.stdout.readlines()  # acknowledged before the kill, still in the pipe
    proc.stdout.close()
    assert proc.wait(timeout=30) == -signal.SIGKILL

    acked = processes.acknowledged(lines)
    assert len(acked) >= 150
    with sqlite.SqliteStore(db_path) as store:
        stored = {o.metadata.name: o.metadata.resource_version for o in store.list("Queue").items}
        assert {name: int(stored[name]) for name in acked} == acked  # type: ignore[arg-type]
        assert store.resource_version() >= max(acked.values())
