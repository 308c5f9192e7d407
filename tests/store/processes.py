"""Starting `writer_process.py` from tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("writer_process.py")


def start_writer(
    db: Path, prefix: str, count: int, synchronous: str = "FULL"
) -> subprocess.Popen[str]:
    """A writer process, already past opening the store when this returns."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(db), prefix, str(count), synchronous],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def acknowledged(lines: list[str]) -> dict[str, int]:
    """name → resourceVersion of each complete line the writer printed."""
    acked = {}
    for line in lines:
        if line.endswith("\n") and line.strip() != "ready":
            name, rv = line.split()
            acked[name] = int(rv)
    return acked
