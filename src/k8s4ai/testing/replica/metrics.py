"""The replica's Prometheus metrics, and a reader for them (benchmarks scrape replicas).

Names follow vLLM's where vLLM has the metric, so dashboards and routers that read vLLM's
`/metrics` read the mock's too; the rest are ``k8s4ai_replica_*``. Values are read from the
engine at scrape time, so serving a request costs no metric updates. Hits are the
replica's true prefix-cache hits, in prompt tokens (vLLM V1's `prefix_cache_hits`).

| name | kind | what |
|---|---|---|
| `vllm:num_requests_running` | gauge | sequences holding a slot |
| `vllm:num_requests_waiting` | gauge | requests queued for a slot |
| `vllm:prompt_tokens_total` | counter | prompt tokens admitted |
| `vllm:generation_tokens_total` | counter | tokens generated |
| `vllm:prefix_cache_queries_total` | counter | prompt tokens looked up in the cache |
| `vllm:prefix_cache_hits_total` | counter | of those, tokens found cached |
| `vllm:kv_cache_usage_perc` | gauge | cached blocks / capacity (0..1) |
| `k8s4ai_replica_requests_total` | counter | HTTP requests by `endpoint` and `code` |
| `k8s4ai_replica_sequences_total` | counter | requests admitted to a slot |
| `k8s4ai_replica_blocks_evicted_total` | counter | cache blocks evicted |
| `k8s4ai_replica_cache_blocks` | gauge | blocks by `state`: `capacity`, `used` |
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import prometheus_client
from prometheus_client import core, parser

from k8s4ai.testing.replica import engine as engine_module


class _Collector(prometheus_client.registry.Collector):
    def __init__(self, engine: engine_module.Engine, model: str, http: Counter[tuple[str, int]]):
        self._engine = engine
        self._model = model
        self._http = http

    def collect(self) -> Iterator[core.Metric]:
        engine, labels, model = self._engine, ["model_name"], [self._model]
        stats, cache = engine.stats, engine.cache

        def gauge(name: str, doc: str, value: float) -> core.GaugeMetricFamily:
            family = core.GaugeMetricFamily(name, doc, labels=labels)
            family.add_metric(model, value)
            return family

        def counter(name: str, doc: str, value: float) -> core.CounterMetricFamily:
            family = core.CounterMetricFamily(name, doc, labels=labels)
            family.add_metric(model, value)
            return family

        yield gauge("vllm:num_requests_running", "Sequences holding a slot.", engine.running)
        yield gauge("vllm:num_requests_waiting", "Requests queued for a slot.", engine.waiting)
        yield counter("vllm:prompt_tokens", "Prompt tokens admitted.", stats.prompt_tokens)
        yield counter("vllm:generation_tokens", "Tokens generated.", stats.generation_tokens)
        yield counter("vllm:prefix_cache_queries", "Prompt tokens looked up.", stats.prompt_tokens)
        yield counter("vllm:prefix_cache_hits", "Prompt tokens found cached.", stats.cached_tokens)
        usage = len(cache) / cache.capacity if cache.capacity else 0.0
        yield gauge("vllm:kv_cache_usage_perc", "Cached blocks over capacity.", usage)
        requests = core.CounterMetricFamily(
            "k8s4ai_replica_requests", "HTTP requests.", labels=["endpoint", "code"]
        )
        for (endpoint, code), count in sorted(self._http.items()):
            requests.add_metric([endpoint, str(code)], count)
        yield requests
        yield counter("k8s4ai_replica_sequences", "Requests admitted to a slot.", stats.requests)
        yield counter("k8s4ai_replica_blocks_evicted", "Cache blocks evicted.", cache.evicted)
        blocks = core.GaugeMetricFamily(
            "k8s4ai_replica_cache_blocks", "Cache blocks.", labels=["model_name", "state"]
        )
        blocks.add_metric([self._model, "capacity"], cache.capacity)
        blocks.add_metric([self._model, "used"], len(cache))
        yield blocks


def registry(
    engine: engine_module.Engine, model: str, http: Counter[tuple[str, int]]
) -> prometheus_client.CollectorRegistry:
    """A registry of its own per replica, so replicas in one process never share counters."""
    found = prometheus_client.CollectorRegistry(auto_describe=False)
    found.register(_Collector(engine, model, http))
    return found


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a scrape of one replica says; subtract two for what happened in between."""

    sequences: float
    prompt_tokens: float
    cached_tokens: float
    generation_tokens: float
    blocks_evicted: float
    running: float
    waiting: float

    def __sub__(self, earlier: Snapshot) -> Snapshot:
        return Snapshot(
            self.sequences - earlier.sequences,
            self.prompt_tokens - earlier.prompt_tokens,
            self.cached_tokens - earlier.cached_tokens,
            self.generation_tokens - earlier.generation_tokens,
            self.blocks_evicted - earlier.blocks_evicted,
            self.running,
            self.waiting,
        )

    @property
    def hit_rate(self) -> float:
        """Cached prompt tokens over prompt tokens (0 without prompts)."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


_FIELDS = {
    "k8s4ai_replica_sequences_total": "sequences",
    "vllm:prompt_tokens_total": "prompt_tokens",
    "vllm:prefix_cache_hits_total": "cached_tokens",
    "vllm:generation_tokens_total": "generation_tokens",
    "k8s4ai_replica_blocks_evicted_total": "blocks_evicted",
    "vllm:num_requests_running": "running",
    "vllm:num_requests_waiting": "waiting",
}


def read(text: str) -> Snapshot:
    """Parse a replica's `/metrics` text (summed over models)."""
    values = dict.fromkeys(_FIELDS.values(), 0.0)
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            field = _FIELDS.get(sample.name)
            if field is not None:
                values[field] += sample.value
    return Snapshot(**values)
