"""The one thing the engine needs from a cluster, simulated or stored: a view of it now and
a way to write changes. Declared here, beside its consumer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from k8s4ai.remediation import plan, state


class World(Protocol):
    def snapshot(self) -> state.State: ...

    def apply(self, changes: Sequence[plan.Change]) -> None:
        """Write every change's `after`, all or none. The engine has already checked each
        `before` against a fresh snapshot."""
        ...
