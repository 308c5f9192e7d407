"""Runs the inventory controller against a store until told to stop: reconcile, write the
changed statuses, wait for the next write, repeat."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from k8s4ai.api import event, registry, resource
from k8s4ai.controllers import events, inventory
from k8s4ai.store import errors, interface

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class InventoryController:
    def __init__(
        self, store: interface.Store, clock: Clock = wall_clock, admission: bool = False
    ) -> None:
        """`admission`: the admission controller runs too and owns job and queue status."""
        self._store = store
        self._clock = clock
        self._admission = admission

    def _objects(self) -> list[resource.Resource]:
        return [
            obj
            for kind in registry.KINDS
            if kind is not event.Event
            for obj in self._store.list(kind.kind_name).items
        ]

    def run_once(self) -> int:
        """One pass; returns how many statuses it wrote. A conflict means someone else wrote
        first: the next pass sees their write and tries again."""
        now = self._clock()
        written = 0
        for change in inventory.reconcile(self._objects(), now, self._admission):
            try:
                self._store.replace(change.object, subresource="status")
            except (errors.Conflict, errors.NotFound):
                continue
            written += 1
            if change.reason:
                events.record(self._store, change.object, change.reason, change.message, now)
        return written

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        seen = -1
        while not stop.is_set():
            latest = self._store.resource_version()
            if latest != seen:
                try:
                    self.run_once()
                except errors.StoreError:
                    log.exception("inventory pass failed; retrying")
                seen = self._store.resource_version()
            self._store.wait(seen, timeout=poll_seconds)
