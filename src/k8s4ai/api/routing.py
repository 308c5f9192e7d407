"""ContentRouter: how an inference endpoint picks a replica for each request.

Mirrors the SGLang router's cache-aware policy (prefix tree per replica, with
balance_abs_threshold / balance_rel_threshold switching to least-load when replicas are
unbalanced) and llm-d's endpoint picker (prefix-cache and load scorers, LoRA affinity).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource
from k8s4ai.api.units import Duration

RoutingPolicy = Literal[
    "prefix-cache-aware", "least-load", "power-of-two", "round-robin", "random", "consistent-hash"
]


class ContentRouterSpec(meta.Model):
    service: meta.Name | None = Field(
        default=None, description="InferenceService in this namespace whose replicas to use"
    )
    endpoints: list[str] = Field(
        default_factory=list, description="Replica base URLs, when not taken from a service"
    )
    policy: RoutingPolicy = "prefix-cache-aware"
    block_size: int = Field(default=64, ge=1, description="Tokens per prefix-hash block")
    chars_per_token: float = Field(
        default=4.0,
        gt=0,
        description="Characters per token of the model's tokenizer (English BPE about 4)",
    )
    cache_threshold: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Share of the prompt a replica must hold beyond what every replica holds "
        "(a shared system prompt) to follow the cache",
    )
    balance_abs_threshold: int = Field(
        default=32, ge=0, description="Load gap (requests) beyond which least-load wins"
    )
    balance_rel_threshold: float = Field(
        default=1.5, ge=1, description="Load ratio beyond which least-load wins"
    )
    max_tree_size: int = Field(
        default=2**18,
        ge=1,
        description="Prefix blocks remembered per replica, to keep conversations together",
    )
    cache_tokens_per_replica: int | None = Field(
        default=None,
        ge=1,
        description="KV-cache tokens one replica holds; the router forgets blocks as it would",
    )
    eviction_interval: Duration = Field(default_factory=lambda: Duration("60s"))
    lora_affinity: bool = True
    port: int = Field(default=8000, ge=1, le=65535)

    @model_validator(mode="after")
    def _has_replicas(self) -> ContentRouterSpec:
        if self.service is None and not self.endpoints:
            raise ValueError("set `service` or list `endpoints`")
        return self


class ContentRouterStatus(meta.Status):
    """Measured by the router over its last `observedWindowSeconds`; empty is not measured."""

    url: str | None = Field(default=None, description="Where the router serves, when running")
    ready_replicas: int = 0
    prefix_hit_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of routed prompt blocks the router believed cached on the replica",
    )
    requests_per_second: float | None = Field(default=None, ge=0)
    ttft_p50_ms: float | None = Field(
        default=None, ge=0, description="Median time to first token of streamed answers (ms)"
    )
    ttft_p95_ms: float | None = Field(
        default=None, ge=0, description="95th percentile time to first token (ms)"
    )
    tokens_per_second: float | None = Field(
        default=None, ge=0, description="Prompt plus completion tokens, from replicas' usage"
    )
    observed_window_seconds: float | None = Field(default=None, ge=0)
    last_sample_time: datetime | None = Field(
        default=None, description="When these figures were taken"
    )


class ContentRouter(resource.Resource):
    kind_name: ClassVar[str] = "ContentRouter"
    plural: ClassVar[str] = "contentrouters"
    short_names: ClassVar[tuple[str, ...]] = ("cr", "router")
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Service", ".spec.service"),
        resource.PrinterColumn("Policy", ".spec.policy"),
        resource.PrinterColumn("Ready", ".status.readyReplicas", "integer"),
        resource.PrinterColumn("URL", ".status.url"),
        resource.PrinterColumn("Req/s", ".status.requestsPerSecond", "number", wide_only=True),
        resource.PrinterColumn("Hit rate", ".status.prefixHitRate", "number", wide_only=True),
    )

    kind: Literal["ContentRouter"] = "ContentRouter"
    spec: ContentRouterSpec
    status: ContentRouterStatus = Field(default_factory=ContentRouterStatus)
