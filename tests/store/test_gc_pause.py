"""Bulk decoding pauses the garbage collector and always restores its previous state."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from k8s4ai.store import sqlite

from . import builders


@pytest.fixture
def gc_state() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:  # pragma: no cover - pytest runs with the collector on
        gc.disable()


def test_collector_is_back_on_after_a_list(store: sqlite.SqliteStore, gc_state: None) -> None:
    store.apply([builders.queue(f"q-{i}") for i in range(20)])
    gc.enable()

    threads = [threading.Thread(target=store.list, args=("Queue",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.events(0)

    assert gc.isenabled()


def test_collector_left_off_stays_off(store: sqlite.SqliteStore, gc_state: None) -> None:
    store.create(builders.queue("q"))
    gc.disable()

    store.list("Queue")

    assert not gc.isenabled()
