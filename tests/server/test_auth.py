"""Bearer tokens: none or unknown → 401, a read-only token writing → 403, reads allowed;
probes, metrics and the OpenAPI document need no token."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from k8s4ai.server import run

from . import manifests
from .conftest import READ_TOKEN, TOKENS, WRITE_TOKEN

pytestmark = pytest.mark.integration


@pytest.fixture
def secured(serve: Callable[..., run.RunningServer]) -> run.RunningServer:
    return serve(tokens=TOKENS)


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "unknown-token"])
def test_requests_without_a_valid_token_are_401(
    secured: run.RunningServer, client: Callable[..., httpx.Client], token: str | None
) -> None:
    response = client(secured, token).get(manifests.path("queues"))
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_basic_auth_is_not_a_bearer_token(
    secured: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    api = client(secured)
    response = api.get(manifests.path("queues"), headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert response.status_code == 401


def test_read_token_reads_but_cannot_write(
    secured: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    reader = client(secured, READ_TOKEN)
    assert reader.get(manifests.path("queues")).status_code == 200
    assert reader.get(manifests.PREFIX).status_code == 200
    for response in (
        reader.post(manifests.path("queues"), json=manifests.queue("a")),
        reader.put(manifests.path("queues", "a"), json=manifests.queue("a")),
        reader.patch(manifests.path("queues", "a"), content=b"{}"),
        reader.delete(manifests.path("queues", "a")),
        reader.post(f"{manifests.PREFIX}/apply", json={"kind": "List", "items": []}),
    ):
        assert response.status_code == 403, response.request.method
        assert response.json()["reason"] == "Forbidden"


def test_write_token_writes(
    secured: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    writer = client(secured, WRITE_TOKEN)
    assert writer.post(manifests.path("queues"), json=manifests.queue("a")).status_code == 201
    assert writer.get(manifests.path("queues", "a")).status_code == 200


@pytest.mark.parametrize("url", ["/healthz", "/readyz", "/metrics", "/openapi/v3", "/openapi.json"])
def test_public_endpoints_need_no_token(
    secured: run.RunningServer, client: Callable[..., httpx.Client], url: str
) -> None:
    assert client(secured).get(url).status_code == 200


def test_empty_token_set_refuses_everyone(
    serve: Callable[..., run.RunningServer], client: Callable[..., httpx.Client]
) -> None:
    locked = serve(tokens={})
    assert client(locked, "anything").get(manifests.path("queues")).status_code == 401
