from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from k8s4ai.store import sqlite

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "store.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[sqlite.SqliteStore]:
    with sqlite.SqliteStore(db_path, synchronous="NORMAL", clock=lambda: NOW) as opened:
        yield opened
