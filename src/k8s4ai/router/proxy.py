"""The request path: parse, pick a replica, forward, pass the answer back.

Retries only while nothing has reached the client: a connection refused, a timeout before
the answer starts, or a 502/503/504 from the replica go to another replica; once a streamed
byte is out, a failure ends the response (a client cannot un-read half an answer). Upstream
URLs come only from the configuration: nothing in a request names where it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import numpy as np
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from k8s4ai.router import config, errors, health, metrics, policies, replicas, requests, usage

SESSION_HEADER = "X-Session-ID"
RETRYABLE_STATUS = frozenset({502, 503, 504})
_HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
        "Content-Length",
    )
)


def _forwarded(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in headers.items():
        if key.lower() not in _HOP_BY_HOP:
            out.add(key, value)
    return out


@dataclass(frozen=True, slots=True)
class _Relayed:
    response: web.StreamResponse
    whole: bool
    ttft: float | None
    tokens: int | None


class Router:
    def __init__(
        self,
        cfg: config.RouterConfig,
        rng: np.random.Generator,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.pool = replicas.ReplicaSet.of(cfg.endpoints, cfg.eject_after, cfg.models)
        self.policy = policies.build(cfg, rng)
        self.metrics = metrics.RouterMetrics.create(clock)
        self._session: aiohttp.ClientSession | None = None
        self._prober: asyncio.Task[None] | None = None
        self._updating = asyncio.Lock()
        for replica in self.pool.replicas:
            self.metrics.healthy.labels(replica.url).set(1)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the router is not started")
        return self._session

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.cfg.max_body_bytes)
        app.router.add_post("/v1/completions", self.completions)
        app.router.add_post("/v1/chat/completions", self.chat_completions)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.scrape)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
            auto_decompress=False,
        )
        learn = not self.cfg.models
        await health.probe_all(self.session, self.pool, 5.0, learn, self._changed)
        self._prober = asyncio.create_task(
            health.keep_probing(
                self.session, self.pool, self.cfg.health_interval, learn, self._changed
            )
        )

    async def _stop(self, app: web.Application) -> None:
        if self._prober is not None:
            self._prober.cancel()
            await asyncio.gather(self._prober, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def _changed(self, replica: replicas.Replica, healthy: bool) -> None:
        """In or out of rotation, a replica's cache is not what the router believed."""
        self.policy.forget(replica)
        self.metrics.healthy.labels(replica.url).set(1 if healthy else 0)
        if not healthy:
            self.metrics.ejections.inc()

    async def set_endpoints(self, urls: tuple[str, ...]) -> None:
        """Route to `urls` from now on. New replicas are probed first, so a replica swapped
        for another leaves no gap with nobody healthy; requests in flight to a dropped replica
        finish there. Calls run one at a time, in order."""
        async with self._updating:
            known = frozenset(self.cfg.models) or None
            fresh = [
                replicas.Replica(url, 0, healthy=False, models=known)
                for url in urls
                if self.pool.get(url) is None
            ]
            learn = not self.cfg.models
            results = await asyncio.gather(
                *(health.probe(self.session, r, 5.0, learn) for r in fresh)
            )
            for replica, ok in zip(fresh, results, strict=True):
                replica.healthy = ok
                replica.failures = 0 if ok else 1
            for replica in self.pool.update(urls, fresh):
                self.policy.forget(replica)
                with contextlib.suppress(KeyError):
                    self.metrics.healthy.remove(replica.url)
            for replica in self.pool.replicas:
                self.metrics.healthy.labels(replica.url).set(1 if replica.healthy else 0)

    def _failed(self, replica: replicas.Replica) -> None:
        was = replica.healthy
        self.pool.failed(replica)
        if was and not replica.healthy:
            self._changed(replica, False)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        return await self._forward(request, chat=False)

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._forward(request, chat=True)

    async def _forward(self, request: web.Request, chat: bool) -> web.StreamResponse:
        began = time.perf_counter()
        limit = self.cfg.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return errors.too_large(limit)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return errors.too_large(limit)
        try:
            parsed = requests.parse(body, chat, request.headers.get(SESSION_HEADER))
        except requests.InvalidRequestError as err:
            return errors.bad_request(str(err), err.param)
        model = parsed.routed.model
        if not self.pool.candidates(model):
            known = self.pool.known_models()
            if model is not None and known and model not in known:
                return errors.unknown_model(model, known)
            return errors.unavailable(f"no healthy replica serves model {model!r}")
        headers = _forwarded(request.headers)
        path = request.path
        tried: set[str] = set()
        spent_upstream = 0.0
        last_error = "no replica answered"
        for attempt in range(self.cfg.retries + 1):
            candidates = [r for r in self.pool.candidates(model) if r.url not in tried]
            if not candidates:
                break
            choice = self.policy.choose(parsed.routed, candidates)
            replica = choice.replica
            tried.add(replica.url)
            self.metrics.prompt_blocks.labels(choice.reason).inc(choice.prompt_blocks)
            self.metrics.matched_blocks.inc(choice.matched_blocks)
            if attempt:
                self.metrics.retries.inc()
            replica.outstanding += 1
            sent = time.perf_counter()
            try:
                async with self.session.post(
                    replica.url + path,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(
                        total=self.cfg.request_timeout,
                        sock_connect=self.cfg.connect_timeout,
                        sock_read=self.cfg.first_byte_timeout,
                    ),
                ) as upstream:
                    if upstream.status in RETRYABLE_STATUS:
                        await upstream.read()
                        self._failed(replica)
                        last_error = f"replica {replica.url} answered {upstream.status}"
                        continue
                    relayed = await self._relay(request, upstream, parsed.stream, sent)
                    spent_upstream += time.perf_counter() - sent
            except (TimeoutError, aiohttp.ClientConnectionError) as err:
                spent_upstream += time.perf_counter() - sent
                self._failed(replica)
                last_error = f"replica {replica.url}: {type(err).__name__} {err}".strip()
                continue
            finally:
                replica.outstanding -= 1
            if relayed.whole:
                self.pool.succeeded(replica)
            else:
                self._failed(replica)
            replica.served += 1
            self.metrics.answered(
                replica.url,
                relayed.response.status,
                relayed.ttft,
                relayed.tokens,
                choice.prompt_blocks,
                choice.matched_blocks,
            )
            self.metrics.overhead.observe(max(0.0, time.perf_counter() - began - spent_upstream))
            return relayed.response
        if "Timeout" in last_error:
            return errors.timed_out(last_error)
        return errors.upstream_failed(last_error)

    async def _relay(
        self, request: web.Request, upstream: aiohttp.ClientResponse, stream: bool, sent: float
    ) -> _Relayed:
        """The replica's answer, passed on as it comes: whether it came whole, its time to
        first token (streams only) and the tokens its usage reports."""
        headers = _forwarded(upstream.headers)
        ok = upstream.status == 200
        if not stream:
            data = await upstream.read()
            answer = web.Response(body=data, status=upstream.status, headers=headers)
            return _Relayed(answer, True, None, usage.tokens(data) if ok else None)
        response = web.StreamResponse(status=upstream.status, headers=headers)
        await response.prepare(request)
        ttft: float | None = None
        tail = b""
        try:
            async for chunk in upstream.content.iter_any():
                if ttft is None:
                    ttft = time.perf_counter() - sent
                tail = (tail + chunk)[-usage.TAIL_BYTES :]
                await response.write(chunk)
        except (TimeoutError, aiohttp.ClientError):
            # Bytes are out: no retry; cutting the connection tells the client.
            if request.transport is not None:
                request.transport.close()
            return _Relayed(response, False, None, None)
        await response.write_eof()
        return _Relayed(response, True, ttft if ok else None, usage.tokens(tail) if ok else None)

    async def models(self, request: web.Request) -> web.Response:
        data = [
            {"id": m, "object": "model", "owned_by": "k8s4ai"}
            for m in sorted(self.pool.known_models())
        ]
        return web.json_response({"object": "list", "data": data})

    async def health(self, request: web.Request) -> web.Response:
        healthy = sum(r.healthy for r in self.pool.replicas)
        body = {"status": "ok" if healthy else "unavailable", "healthyReplicas": healthy}
        return web.json_response(body, status=200 if healthy else 503)

    async def scrape(self, request: web.Request) -> web.Response:
        for replica in self.pool.replicas:
            self.metrics.outstanding.labels(replica.url).set(replica.outstanding)
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"}
        )
