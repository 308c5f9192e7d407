"""Routing policies replayed offline: each Mooncake request goes through a policy and into the
chosen replica's prefix cache (the mock replica's own `PrefixCache`), with no HTTP and no
clock, so only the routing decisions differ. Loads are zero throughout, so the load guard never
fires: this isolates what each policy's *memory* does to the hit rate, in seconds, on any
trace. `bench/router.py` measures the live routers.

One ablation matters: `prefix-cache-aware (forget with cache)` is our policy with its affinity
memory cut to the replica's cache size, i.e. an index that forgets a conversation when the
replica does. Writes router_policies.{json,md} to `--out`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai.backends.sim import report
from k8s4ai.router import config, policies, replicas
from k8s4ai.router.policies import base
from k8s4ai.testing import replay
from k8s4ai.testing.replica import prefix_cache, tokens
from k8s4ai.testing.replica import server as replica_server
from k8s4ai.traces import mooncake

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
BLOCK_TOKENS_ROUTER = 64


def variants(urls: tuple[str, ...], block_chars: int, cache_blocks: int) -> dict[str, Any]:
    router_cache = cache_blocks * tokens.BLOCK_TOKENS // BLOCK_TOKENS_ROUTER
    base_cfg = config.RouterConfig(urls, block_chars=block_chars, cache_blocks=router_cache)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {
        name: policies.build(config.RouterConfig(urls, policy=name, block_chars=block_chars), rng)
        for name in ("round-robin", "consistent-hash")
    }
    out["prefix-cache-aware"] = policies.build(base_cfg, rng)
    for threshold in (0.1, 0.5):
        cfg = dataclasses.replace(base_cfg, cache_threshold=threshold)
        out[f"prefix-cache-aware (cache_threshold {threshold})"] = policies.build(cfg, rng)
    forgetful = config.RouterConfig(
        urls, block_chars=block_chars, index_blocks=router_cache, cache_blocks=router_cache
    )
    out["prefix-cache-aware (forget with cache)"] = policies.build(forgetful, rng)
    return out


def run(trace: mooncake.Trace, n_replicas: int, cache_blocks: int) -> list[dict[str, Any]]:
    texts = [replay.prompt(r) for r in trace.requests]
    sample = trace.requests[:200]
    chars = sum(len(t) for t in texts[:200]) / max(1, sum(r.input_length for r in sample))
    block_chars = max(1, round(BLOCK_TOKENS_ROUTER * chars))
    hashes = [tokens.block_hashes(tokens.split(t)) for t in texts]
    urls = tuple(f"http://127.0.0.1:{9000 + i}" for i in range(n_replicas))
    rows = []
    for name, policy in variants(urls, block_chars, cache_blocks).items():
        pool = [replicas.Replica(u, i) for i, u in enumerate(urls)]
        caches = [prefix_cache.PrefixCache(cache_blocks) for _ in pool]
        hit = total = 0
        served: Counter[int] = Counter()
        reasons: Counter[str] = Counter()
        for request, text, blocks in zip(trace.requests, texts, hashes, strict=True):
            choice = policy.choose(base.Routed("m", text), pool)
            reasons[choice.reason] += 1
            served[choice.replica.index] += 1
            hit += served_tokens(caches[choice.replica.index], blocks, request.input_length)
            total += request.input_length
        counts = [served[i] for i in range(n_replicas)]
        rows.append({
            "trace": trace.name, "policy": name, "hit_rate": round(hit / total, 4),
            "imbalance": round(max(counts) / (sum(counts) / n_replicas), 3),
            "decisions": dict(reasons),
        })  # fmt: skip
    return rows


def served_tokens(cache: prefix_cache.PrefixCache, blocks: list[bytes], prompt: int) -> int:
    """Prompt tokens `cache` holds for this request (its last token is always computed), after
    which the request's blocks are cached."""
    matched = cache.match(blocks)
    cache.store(blocks)
    return min(matched * tokens.BLOCK_TOKENS, prompt - 1) if matched else 0


def pooled(trace: mooncake.Trace, cache_blocks: int) -> float:
    cache = prefix_cache.PrefixCache(cache_blocks)
    hit = total = 0
    for request in trace.requests:
        blocks = tokens.block_hashes(tokens.split(replay.prompt(request)))
        hit += served_tokens(cache, blocks, request.input_length)
        total += request.input_length
    return round(hit / total, 4) if total else 0.0


def markdown(result: dict[str, Any]) -> str:
    out = [
        "# Routing policies, offline: what each one's memory does to the hit rate",
        "",
        f"Command: `{result['command']}`  ",
        f"Revision: {result['revision']}  ",
        f"{result['replicas']} replicas × {result['cache_blocks']} blocks of 512 tokens "
        "(the mock replica's LRU prefix cache); no load, no clock.",
        "",
        "Pooled: the hit rate of one LRU cache as large as all replicas' together, which is "
        "about the best routing can do in front of replicas that evict least recently used "
        "blocks.",
        "",
        "| trace | requests | reusable (unlimited cache) | pooled | policy | hit rate | "
        "imbalance | decisions |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in result["rows"]:
        t = result["traces"][r["trace"]]
        decisions = ", ".join(f"{k} {v}" for k, v in sorted(r["decisions"].items()))
        out.append(
            f"| {r['trace']} | {t['requests']:,} | {t['reusable']:.1%} | {t['pooled']:.1%} | "
            f"{r['policy']} | {r['hit_rate']:.1%} | {r['imbalance']} | {decisions} |"
        )
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=Path, default=TRACES if TRACES.is_dir() else None)
    parser.add_argument("--trace", action="append", default=[])
    parser.add_argument("--requests", type=int, default=0, help="first N requests (0: all)")
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--cache-blocks", type=int, default=replica_server.DEFAULT_CACHE_BLOCKS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    names = args.trace or mooncake.available(args.traces) or list(mooncake.SYNTHETIC)
    rows: list[dict[str, Any]] = []
    traces: dict[str, dict[str, Any]] = {}
    for name in names:
        trace = mooncake.load_named(name, args.traces)
        if args.requests:
            requests = trace.requests[: args.requests]
            trace = mooncake.Trace(trace.name, trace.source, trace.cite, requests)
        print(f"{trace.name}: {len(trace.requests)} requests ...", file=sys.stderr, flush=True)
        traces[trace.name] = {
            "source": trace.source,
            "requests": len(trace.requests),
            "reusable": mooncake.reusable_fraction(trace.requests),
            "pooled": pooled(trace, args.replicas * args.cache_blocks),
        }
        rows += run(trace, args.replicas, args.cache_blocks)
    result = {
        "command": "python bench/router_policies.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "revision": report.revision(ROOT),
        "replicas": args.replicas,
        "cache_blocks": args.cache_blocks,
        "traces": traces,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "router_policies.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "router_policies.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
