"""Fixtures for server tests: a real SQLite store, a real uvicorn server on 127.0.0.1 with a
free port in a background thread, and httpx clients, all closed at teardown (warnings are
errors, so a leaked socket fails the test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from k8s4ai.client import http
from k8s4ai.server import run
from k8s4ai.store import sqlite

READ_TOKEN = "read-token-for-tests"
WRITE_TOKEN = "write-token-for-tests"
TOKENS: dict[str, Any] = {READ_TOKEN: "read", WRITE_TOKEN: "write"}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "k8s4ai.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[sqlite.SqliteStore]:
    opened = sqlite.SqliteStore(db_path, synchronous="NORMAL")
    yield opened
    opened.close()


@pytest.fixture
def serve(store: sqlite.SqliteStore) -> Iterator[Callable[..., run.RunningServer]]:
    """Start a server over `store` (or another store) with any `run.start` options."""
    started: list[run.RunningServer] = []

    def start(over: Any = None, **options: Any) -> run.RunningServer:
        options.setdefault("tokens", None)
        options.setdefault("poll_seconds", 0.2)
        server = run.start(store if over is None else over, **options)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def server(serve: Callable[..., run.RunningServer]) -> run.RunningServer:
    return serve()


@pytest.fixture
def client() -> Iterator[Callable[..., httpx.Client]]:
    """Make httpx clients for a server, optionally with a bearer token; all closed after."""
    made: list[httpx.Client] = []

    def make(server: run.RunningServer, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        made.append(httpx.Client(base_url=server.url, headers=headers, timeout=10.0))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.fixture
def api(server: run.RunningServer, client: Callable[..., httpx.Client]) -> httpx.Client:
    return client(server)


@pytest.fixture
def http_store(server: run.RunningServer) -> Iterator[http.HttpStore]:
    with http.HttpStore(server.url, timeout=10.0) as remote:
        yield remote
