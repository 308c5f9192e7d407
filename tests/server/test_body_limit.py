"""Bodies over the limit are refused with 413 while being read, whether or not the client
declares their length."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from k8s4ai.server import body, run

from . import manifests

pytestmark = pytest.mark.integration

LIMIT = 4096


@pytest.fixture
def small(serve: Callable[..., run.RunningServer]) -> run.RunningServer:
    return serve(max_body_bytes=LIMIT)


def oversized() -> bytes:
    data = manifests.queue("big")
    data["metadata"]["annotations"] = {"blob": "x" * (2 * LIMIT)}
    return json.dumps(data).encode()


def test_default_limit_is_three_mebibytes() -> None:
    assert body.DEFAULT_MAX_BODY_BYTES == 3 * 1024 * 1024


def test_declared_large_body_is_413(
    small: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    response = client(small).post(manifests.path("queues"), content=oversized())
    assert response.status_code == 413
    assert response.json()["reason"] == "RequestEntityTooLarge"


def test_chunked_large_body_is_413(
    small: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    payload = oversized()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    response = client(small).post(manifests.path("queues"), content=chunks())
    assert response.status_code == 413
    assert client(small).get(manifests.path("queues")).json()["items"] == []


def test_body_under_the_limit_is_accepted(
    small: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    response = client(small).post(manifests.path("queues"), json=manifests.queue("ok"))
    assert response.status_code == 201


def test_very_large_body_is_refused_without_reading_it_all(
    small: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    response = client(small).post(
        manifests.path("queues"), content=b"x" * (LIMIT * 16)
    )
    assert response.status_code == 413
