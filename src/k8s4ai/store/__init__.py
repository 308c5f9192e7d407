"""Where API objects live: the `Store` contract and its embedded SQLite implementation.

`open_store(path)` is what the CLI and server call; the contract and errors are in
`k8s4ai.store.interface` and `k8s4ai.store.errors`.
"""

from __future__ import annotations

import os

from k8s4ai.store.errors import AlreadyExists, Conflict, Gone, Invalid, NotFound, StoreError
from k8s4ai.store.interface import ApplyResult, ListResult, Store, WatchEvent
from k8s4ai.store.schema import Synchronous
from k8s4ai.store.sqlite import DEFAULT_EVENT_RETENTION, SqliteStore


def open_store(
    path: str | os.PathLike[str],
    *,
    synchronous: Synchronous = "FULL",
    event_retention: int = DEFAULT_EVENT_RETENTION,
) -> SqliteStore:
    """The embedded store at `path`, created on first use. Close it (or use it as a context
    manager) when done."""
    return SqliteStore(path, synchronous=synchronous, event_retention=event_retention)


__all__ = [
    "DEFAULT_EVENT_RETENTION",
    "AlreadyExists",
    "ApplyResult",
    "Conflict",
    "Gone",
    "Invalid",
    "ListResult",
    "NotFound",
    "SqliteStore",
    "Store",
    "StoreError",
    "Synchronous",
    "WatchEvent",
    "open_store",
]
