"""The file layout: WAL, versioned schema, durability setting, created on first open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from k8s4ai.store import errors, schema, sqlite


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_first_open_creates_parent_dirs_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    with sqlite.SqliteStore(path):
        pass

    assert pragma(path, "user_version") == schema.SCHEMA_VERSION
    assert pragma(path, "journal_mode") == "wal"


def test_reopening_keeps_data_and_version(db_path: Path) -> None:
    for _ in range(2):
        with sqlite.SqliteStore(db_path):
            pass

    assert pragma(db_path, "user_version") == schema.SCHEMA_VERSION


def test_newer_schema_is_refused(db_path: Path) -> None:
    with sqlite.SqliteStore(db_path):
        pass
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()

    with pytest.raises(errors.StoreError, match="schema version"):
        sqlite.SqliteStore(db_path)


@pytest.mark.parametrize(("mode", "level"), [("FULL", 2), ("NORMAL", 1)])
def test_synchronous_mode_is_applied(
    tmp_path: Path, mode: schema.Synchronous, level: int
) -> None:
    conn = schema.connect(tmp_path / "store.db", mode, busy_timeout=1)
    try:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == level
    finally:
        conn.close()
