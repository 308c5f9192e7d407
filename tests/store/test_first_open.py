"""Several processes opening a new store file at once all succeed and agree on the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from k8s4ai.store import sqlite

from . import processes

pytestmark = pytest.mark.integration


def test_concurrent_first_open(db_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, str(processes.SCRIPT), str(db_path), f"p{i}", "5"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]

    assert [proc.returncode for proc in procs] == [0, 0, 0, 0]
    acked = processes.acknowledged([line for out in outputs for line in out.splitlines(True)])
    with sqlite.SqliteStore(db_path) as store:
        assert len(store.list("Queue").items) == len(acked) == 20
        assert sorted(acked.values()) == list(range(1, 21))
