"""Which store a command talks to: a server given by `--server` (or K8S4AI_SERVER), else the
embedded store file (`--db`, K8S4AI_DB, default ~/.k8s4ai/k8s4ai.db), which `k8s4ai up` and
`k8s4ai server` also use by default, so the CLI sees what a local server serves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from k8s4ai.store import interface


def home() -> Path:
    return Path(os.environ.get("K8S4AI_HOME", "~/.k8s4ai")).expanduser()


def default_db() -> Path:
    return home() / "k8s4ai.db"


@dataclass(frozen=True, slots=True)
class Target:
    server: str | None
    token: str | None
    db: Path

    def describe(self) -> str:
        return self.server if self.server else f"embedded store {self.db}"


@contextmanager
def connect(target: Target) -> Iterator[interface.Store]:
    store: interface.Store
    if target.server:
        from k8s4ai.client import http

        store = http.HttpStore(target.server, token=target.token)
    else:
        from k8s4ai.store import sqlite

        store = sqlite.SqliteStore(target.db)
    try:
        yield store
    finally:
        store.close()
