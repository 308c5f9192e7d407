"""Consistent hashing on a session key: a conversation keeps landing on one replica, and
when a replica leaves only its own sessions move (Karger et al., STOC'97)."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence

from k8s4ai.router import replicas
from k8s4ai.router.policies import base

VIRTUAL_NODES = 160
"""Points per replica on the ring; enough that load per replica varies by a few percent."""


OPENING_BLOCKS = 4


def _point(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


class ConsistentHash:
    def __init__(self, block_chars: int) -> None:
        self.block_chars = block_chars
        self._rings: dict[tuple[str, ...], tuple[list[int], list[str]]] = {}

    def _ring(self, urls: tuple[str, ...]) -> tuple[list[int], list[str]]:
        ring = self._rings.get(urls)
        if ring is None:
            points = sorted(
                (_point(f"{url}#{v}"), url) for url in urls for v in range(VIRTUAL_NODES)
            )
            ring = ([p for p, _ in points], [u for _, u in points])
            if len(self._rings) > 64:
                self._rings.clear()
            self._rings[urls] = ring
        return ring

    def key(self, request: base.Routed) -> str:
        """The session id when the client sent one; otherwise the prompt's opening
        `OPENING_BLOCKS` blocks, so turns of one conversation (which share their opening) stay
        together while conversations that share only a system prompt still spread out."""
        return request.session or request.text[: self.block_chars * OPENING_BLOCKS]

    def choose(self, request: base.Routed, candidates: Sequence[replicas.Replica]) -> base.Choice:
        by_url = {r.url: r for r in candidates}
        points, urls = self._ring(tuple(by_url))
        at = bisect.bisect(points, _point(self.key(request))) % len(points)
        return base.Choice(by_url[urls[at]], reason="session")

    def forget(self, replica: replicas.Replica) -> None:
        return None
