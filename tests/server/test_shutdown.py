"""Stopping a server ends its open watches cleanly and promptly, instead of waiting for
them (an idle watch would otherwise hold shutdown until the graceful timeout)."""

from __future__ import annotations

import threading
import time

import pytest

from k8s4ai.api import Queue
from k8s4ai.client import http
from k8s4ai.server import run
from k8s4ai.store import interface, sqlite

from . import manifests

pytestmark = pytest.mark.integration


def test_stop_ends_open_watches(store: sqlite.SqliteStore) -> None:
    server = run.start(store, tokens=None)
    remote = http.HttpStore(server.url)
    remote.create(Queue.model_validate(manifests.queue("a")))
    seen: list[interface.WatchEvent] = []
    ended = threading.Event()

    def consume() -> None:
        seen.extend(remote.watch("Queue"))
        ended.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    while not seen:
        time.sleep(0.01)

    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < run.GRACEFUL_SHUTDOWN_SECONDS
    consumer.join(timeout=5)
    assert ended.is_set(), "the watch stream ended without an error"
    assert [e.object.metadata.name for e in seen] == ["a"]
    remote.close()


def test_port_zero_picks_a_free_port_on_loopback(store: sqlite.SqliteStore) -> None:
    with run.start(store, tokens=None) as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
