"""HttpStore's `events`, `wait` and streaming `watch`: the same event log the embedded store
gives, resumable by resourceVersion."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from k8s4ai.api import Queue, resource, selector
from k8s4ai.client import http
from k8s4ai.server import run
from k8s4ai.store import errors as store_errors
from k8s4ai.store import sqlite

from . import manifests

pytestmark = pytest.mark.integration


def queue(name: str, **kwargs: object) -> resource.Resource:
    return Queue.model_validate(manifests.queue(name, **kwargs))  # type: ignore[arg-type]


def test_events_match_the_embedded_store(
    http_store: http.HttpStore, store: sqlite.SqliteStore
) -> None:
    http_store.create(queue("a", labels={"team": "x"}))
    http_store.create(queue("b"))
    http_store.delete("Queue", "a")
    for kwargs in ({}, {"kind": "Queue"}, {"label_selector": selector.parse("team=x")}):
        remote = http_store.events(0, **kwargs)  # type: ignore[arg-type]
        local = store.events(0, **kwargs)  # type: ignore[arg-type]
        assert [(e.type, e.object, e.resource_version) for e in remote] == [
            (e.type, e.object, e.resource_version) for e in local
        ]
    assert [e.resource_version for e in http_store.events(1, limit=1)] == [2]


def test_wait_returns_on_a_write_or_at_the_timeout(http_store: http.HttpStore) -> None:
    head = http_store.resource_version()
    started = time.monotonic()
    assert http_store.wait(head, timeout=0.3) == head
    assert 0.25 <= time.monotonic() - started < 3

    writer = threading.Timer(0.2, lambda: http_store.create(queue("a")))
    writer.start()
    started = time.monotonic()
    assert http_store.wait(head, timeout=10) == head + 1
    assert time.monotonic() - started < 5
    writer.join()


def test_watch_lists_then_streams(http_store: http.HttpStore) -> None:
    http_store.create(queue("a"))
    stream = http_store.watch("Queue")
    first = next(stream)
    assert (first.type, first.object.metadata.name) == ("ADDED", "a")
    http_store.patch("Queue", "a", None, {"spec": {"weight": 4}})
    second = next(stream)
    assert second.type == "MODIFIED"
    assert second.resource_version == first.resource_version + 1
    stream.close()


def test_watch_resumes_and_reports_deletions_at_their_version(
    http_store: http.HttpStore,
) -> None:
    created = http_store.create(queue("a"))
    deleted = http_store.delete("Queue", "a")
    since = int(created.metadata.resource_version or 0)
    events = list(http_store.watch("Queue", resource_version=since, timeout_seconds=1))
    assert [(e.type, e.resource_version) for e in events] == [
        ("DELETED", int(deleted.metadata.resource_version or 0))
    ]


def test_watch_from_compacted_version_raises_gone(
    tmp_path: Path, serve: Callable[..., run.RunningServer]
) -> None:
    with sqlite.SqliteStore(tmp_path / "small.db", event_retention=2) as small:
        server = serve(small)
        with http.HttpStore(server.url) as remote:
            for name in "abcde":
                remote.create(queue(name))
            with pytest.raises(store_errors.Gone):
                list(remote.watch("Queue", resource_version=1, timeout_seconds=1))
        server.stop()
