"""Resuming from a version the store has compacted away is an ERROR event carrying a 410
Expired Status, as kube-apiserver sends: the client must list again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from k8s4ai.server import run
from k8s4ai.store import sqlite

from . import manifests

pytestmark = pytest.mark.integration


def test_watch_from_compacted_version_is_expired(
    tmp_path: Path, serve: Callable[..., run.RunningServer], client: Callable[..., httpx.Client]
) -> None:
    with sqlite.SqliteStore(tmp_path / "small.db", event_retention=3) as small:
        server = serve(small)
        api = client(server)
        queues = manifests.path("queues")
        for i in range(10):
            assert api.post(queues, json=manifests.queue(f"q{i}")).status_code == 201
        events = manifests.watch_lines(api, queues, resourceVersion=1, timeoutSeconds=2)
        assert len(events) == 1
        assert events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["kind"] == "Status"
        assert status["code"] == 410
        assert status["reason"] == "Expired"

        recent = manifests.watch_lines(api, queues, resourceVersion=8, timeoutSeconds=1)
        assert [e["object"]["metadata"]["name"] for e in recent] == ["q8", "q9"]
        server.stop()
