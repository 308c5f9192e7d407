"""A kr8s client connected to kmock's Kubernetes emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import kmock
import kr8s.asyncio
import pytest_asyncio


@pytest_asyncio.fixture()
async def api(kmock: kmock.KubernetesEmulator) -> AsyncIterator[kr8s.asyncio.Api]:
    # kr8s asks for `/version/`, kmock serves `/version`.
    kmock["get /version/"] << {"major": "1", "minor": "31", "gitVersion": "v1.31.0"}
    client = await kr8s.asyncio.api(url=str(kmock.url))
    yield client
    # kr8s has no public close; the operator keeps one client for its lifetime.
    if client._session is not None:
        await client._session.aclose()
