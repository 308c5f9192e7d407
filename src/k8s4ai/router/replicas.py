"""The replicas behind a router and what it knows of each: healthy or ejected, requests in
flight, models served.

A replica is ejected after `eject_after` failures in a row (failed probes or failed
requests) and re-admitted by the first probe that succeeds, so one slow restart does not take
traffic it cannot serve, and a recovered replica comes back without anyone acting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class Replica:
    url: str
    index: int
    healthy: bool = True
    outstanding: int = 0
    failures: int = 0
    served: int = 0
    models: frozenset[str] | None = None
    """None until the replica has said (or the config says) which models it serves."""

    def serves(self, model: str | None) -> bool:
        return model is None or self.models is None or model in self.models


@dataclass(slots=True)
class ReplicaSet:
    replicas: list[Replica]
    eject_after: int = 2
    ejections: int = 0
    readmissions: int = 0
    _by_url: dict[str, Replica] = field(default_factory=dict)

    @classmethod
    def of(cls, urls: Sequence[str], eject_after: int, models: Iterable[str] = ()) -> ReplicaSet:
        known = frozenset(models) or None
        replicas = [Replica(url, i, models=known) for i, url in enumerate(urls)]
        return cls(replicas, eject_after, _by_url={r.url: r for r in replicas})

    def update(self, urls: Sequence[str], probed: Sequence[Replica] = ()) -> list[Replica]:
        """Route to `urls` from now on; returns the replicas dropped. A replica kept keeps
        its health, load and models; a new one comes from `probed` (already asked whether
        it is healthy and what it serves) or else waits out of rotation for its first good
        probe, as a Kubernetes endpoint waits to be ready."""
        ready = {r.url: r for r in probed}
        wanted = dict.fromkeys(urls)
        dropped = [r for r in self.replicas if r.url not in wanted]
        next_index = max((r.index for r in self.replicas), default=-1) + 1
        kept = []
        for url in wanted:
            replica = self._by_url.get(url)
            if replica is None:
                replica = ready.get(url) or Replica(url, 0, healthy=False)
                replica.index = next_index
                next_index += 1
            kept.append(replica)
        self.replicas = kept
        self._by_url = {r.url: r for r in kept}
        return dropped

    def get(self, url: str) -> Replica | None:
        return self._by_url.get(url)

    def candidates(self, model: str | None) -> list[Replica]:
        return [r for r in self.replicas if r.healthy and r.serves(model)]

    def known_models(self) -> set[str]:
        return {m for r in self.replicas if r.healthy and r.models for m in r.models}

    def failed(self, replica: Replica) -> None:
        replica.failures += 1
        if replica.healthy and replica.failures >= self.eject_after:
            replica.healthy = False
            self.ejections += 1

    def succeeded(self, replica: Replica) -> None:
        replica.failures = 0
        if not replica.healthy:
            replica.healthy = True
            self.readmissions += 1
