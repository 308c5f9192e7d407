"""Probing replicas: `/health` says whether one takes traffic, `/v1/models` which models it
serves (base models and LoRA adapters alike, as vLLM lists them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from k8s4ai.router import replicas

Listener = Callable[[replicas.Replica, bool], None]


async def models_of(session: aiohttp.ClientSession, url: str, timeout: float) -> frozenset[str]:
    async with session.get(f"{url}/v1/models", timeout=aiohttp.ClientTimeout(total=timeout)) as r:
        r.raise_for_status()
        data = await r.json(content_type=None)
    return frozenset(str(m["id"]) for m in data.get("data", []) if "id" in m)


async def probe(
    session: aiohttp.ClientSession,
    replica: replicas.Replica,
    timeout: float,
    learn_models: bool,
) -> bool:
    try:
        async with session.get(
            f"{replica.url}/health", timeout=aiohttp.ClientTimeout(total=timeout)
        ) as r:
            ok = r.status == 200
            await r.read()
        if ok and learn_models:
            replica.models = await models_of(session, replica.url, timeout)
    except (TimeoutError, aiohttp.ClientError, ValueError, KeyError, TypeError):
        return False
    return ok


async def probe_all(
    session: aiohttp.ClientSession,
    pool: replicas.ReplicaSet,
    timeout: float,
    learn_models: bool,
    changed: Listener,
) -> None:
    """One round of probes; `changed` hears each replica that went in or out of rotation."""
    members = list(pool.replicas)
    results = await asyncio.gather(*(probe(session, r, timeout, learn_models) for r in members))
    for replica, ok in zip(members, results, strict=True):
        was = replica.healthy
        if ok:
            pool.succeeded(replica)
        else:
            pool.failed(replica)
        if replica.healthy != was:
            changed(replica, replica.healthy)


async def keep_probing(
    session: aiohttp.ClientSession,
    pool: replicas.ReplicaSet,
    interval: float,
    learn_models: bool,
    changed: Listener,
) -> None:
    while True:
        await asyncio.sleep(interval)
        await probe_all(session, pool, min(interval, 5.0), learn_models, changed)
