"""ContentRouter side by side with sglang-router and vllm-router (issue 7).

Part 1, trace replay: for each router (ours with each policy, sglang-router and vllm-router
with their `cache_aware` policy) start N fresh mock replicas (`k8s4ai.testing.replica`, an
LRU prefix cache of `--cache-blocks` 512-token blocks and an H100-like latency model), put
the router in front, replay each Mooncake trace concurrently at its timestamps (compressed
`--compression`× in time; replicas run `--compression`× faster so the load per replica is the
trace's), then read the replicas' own `/metrics` for their true prefix-cache hits. Reported:
hit rate, and as a share of what an unlimited cache could reuse; TTFT and end-to-end p50/p99
(in trace seconds); imbalance (max/mean requests per replica); requests/s.

Part 2, overhead: instant replicas (`--speed inf`), short non-streamed requests sent open
loop at `--rate` requests/s, first straight to the replicas and then through each router; the
router's added latency at a percentile is the difference of the two percentiles. Then each
router's peak: requests/s with `--concurrency` requests always in flight.

Peers are found next to this Python or on PATH (`pip install -e '.[peers]'`); a peer that is
not installed is reported as such, not skipped silently. Every process binds 127.0.0.1 and
runs offline (HF_HUB_OFFLINE=1). Writes router.{json,md,png} to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np

from k8s4ai.backends.sim import report
from k8s4ai.testing import replay
from k8s4ai.testing.replica import metrics as replica_metrics
from k8s4ai.testing.replica import server as replica_server
from k8s4ai.testing.replica import tokens
from k8s4ai.traces import mooncake

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT.parent / "shared" / "traces"
MODEL = "mock-8b"
OURS = ("prefix-cache-aware", "round-robin", "least-load", "consistent-hash")
PEERS = {"sglang": "sglang-router", "vllm": "vllm-router"}
HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Router:
    name: str
    kind: str
    """`ours`, `sglang` or `vllm`."""
    policy: str


def routers(selected: Sequence[str]) -> list[Router]:
    known = [Router(f"k8s4ai {p}", "ours", p) for p in OURS] + [
        Router(f"{PEERS[k]} cache_aware", k, "cache_aware") for k in PEERS
    ]
    if not selected:
        return known
    by_key = {r.policy if r.kind == "ours" else r.kind: r for r in known}
    unknown = [s for s in selected if s not in by_key]
    if unknown:
        raise SystemExit(f"--routers: unknown {unknown}; known: {sorted(by_key)}")
    return [by_key[s] for s in selected]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def executable(name: str, peer_bin: Path | None) -> str | None:
    here = Path(sys.executable).parent
    path = os.pathsep.join(str(p) for p in (peer_bin, here) if p) + os.pathsep + os.environ["PATH"]
    return shutil.which(name, path=path)


@contextmanager
def process(
    cmd: Sequence[str], log: Path, cpus: frozenset[int] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`cmd` running, its output in `log`; on `cpus` only (set before exec, so every thread
    it starts inherits them) when given."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_PROXY": "*"}
    pin = None if cpus is None else functools.partial(os.sched_setaffinity, 0, cpus)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=pin,
        )  # fmt: skip
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()


def wait_until(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> float:
    """Seconds until `url`/v1/models lists the model: the router has found its replicas."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: exited with {proc.returncode}; see {log}")
        try:
            r = httpx.get(f"{url}/v1/models", timeout=1.0, trust_env=False)
            if r.status_code == 200 and MODEL in r.text:
                return time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url}: not ready after {timeout:.0f}s; see {log}")


@dataclass(frozen=True, slots=True)
class Setup:
    replicas: int
    cache_blocks: int
    compression: float
    chars_per_token: float
    logs: Path
    tokenizer: Path
    peer_bin: Path | None


def replica_cmd(port: int, setup: Setup, speed: float) -> list[str]:
    return [
        sys.executable, "-m", "k8s4ai.testing.replica", "--host", HOST, "--port", str(port),
        "--model", MODEL, "--cache-blocks", str(setup.cache_blocks), "--speed", str(speed),
        "--model-path", str(setup.tokenizer), "--stream-interval", "0.05",
    ]  # fmt: skip


def router_cmd(router: Router, port: int, urls: Sequence[str], setup: Setup) -> list[str] | None:
    if router.kind == "ours":
        ours = executable("k8s4ai", None)
        if ours is None:
            raise SystemExit("the k8s4ai command is not installed: pip install -e .")
        return [
            ours, "router", "--host", HOST, "--port", str(port), "--policy", router.policy,
            "--model", MODEL, "--cache-tokens-per-replica",
            str(setup.cache_blocks * tokens.BLOCK_TOKENS),
            "--chars-per-token", f"{setup.chars_per_token:.3f}", "--health-interval", "1",
            *(a for url in urls for a in ("--endpoint", url)),
        ]  # fmt: skip
    binary = executable(PEERS[router.kind], setup.peer_bin)
    if binary is None:
        return None
    metrics_port = str(free_port())
    head = [binary, "launch"] if router.kind == "sglang" else [binary]
    level = "warn" if router.kind == "sglang" else "warning"
    return [
        *head, "--host", HOST, "--port", str(port), "--worker-urls", *urls,
        "--policy", router.policy, "--prometheus-host", HOST, "--prometheus-port", metrics_port,
        "--log-level", level,
    ]  # fmt: skip


@contextmanager
def replicas(
    setup: Setup, speed: float, tag: str, cpus: frozenset[int] | None = None
) -> Iterator[list[str]]:
    ports = [free_port() for _ in range(setup.replicas)]
    urls = [f"http://{HOST}:{p}" for p in ports]
    with contextlib.ExitStack() as stack:
        for port, url in zip(ports, urls, strict=True):
            log = setup.logs / f"{tag}-replica-{port}.log"
            proc = stack.enter_context(process(replica_cmd(port, setup, speed), log, cpus))
            wait_until(url, proc, log)
        yield urls


@contextmanager
def routed(
    router: Router,
    urls: Sequence[str],
    setup: Setup,
    tag: str,
    cpus: frozenset[int] | None = None,
) -> Iterator[str | None]:
    port = free_port()
    cmd = router_cmd(router, port, urls, setup)
    if cmd is None:
        yield None
        return
    log = setup.logs / f"{tag}-{router.kind}-{router.policy}.log"
    with process(cmd, log, cpus) as proc:
        url = f"http://{HOST}:{port}"
        wait_until(url, proc, log)
        yield url


def scrape(urls: Sequence[str]) -> list[replica_metrics.Snapshot]:
    return [
        replica_metrics.read(httpx.get(f"{u}/metrics", timeout=10, trust_env=False).text)
        for u in urls
    ]


def replay_one(
    router: Router, trace: mooncake.Trace, setup: Setup, limit_share: float, cap: int | None
) -> dict[str, Any]:
    tag = f"{trace.name}-{router.kind}-{router.policy}"
    row: dict[str, Any] = {"trace": trace.name, "router": router.name}
    with replicas(setup, setup.compression, tag) as urls, routed(router, urls, setup, tag) as url:
        if url is None:
            return row | {"status": f"not installed ({PEERS[router.kind]})"}
        before = scrape(urls)
        options = replay.Options(url, MODEL, setup.compression, max_output_tokens=cap)
        results = asyncio.run(replay.replay(trace.requests, options))
        after = [a - b for a, b in zip(scrape(urls), before, strict=True)]
    s = replay.summary(results)
    prompt = sum(a.prompt_tokens for a in after)
    hits = sum(a.cached_tokens for a in after)
    per_replica = [a.sequences for a in after]
    hit_rate = hits / prompt if prompt else 0.0
    scale = setup.compression
    return row | {
        "status": "ok",
        "requests": s.requests,
        "errors": s.errors,
        "hit_rate": round(hit_rate, 4),
        "share_of_reusable": round(hit_rate / limit_share, 4) if limit_share else None,
        "ttft_p50_s": round(s.ttft_p50 * scale, 3),
        "ttft_p99_s": round(s.ttft_p99 * scale, 3),
        "e2e_p50_s": round(s.latency_p50 * scale, 3),
        "e2e_p99_s": round(s.latency_p99 * scale, 3),
        "imbalance": round(max(per_replica) / (sum(per_replica) / len(per_replica)), 3)
        if sum(per_replica)
        else None,
        "requests_per_replica": [int(v) for v in per_replica],
        "requests_per_second": round(s.requests_per_second, 2),
        "send_late_p99_s": round(s.late_p99, 4),
        "ttft_seconds": sorted(round(r.ttft * scale, 4) for r in results if r.ok and r.ttft),
    }


async def open_loop(
    urls: Sequence[str], rate: float, seconds: float, concurrency: int = 0
) -> tuple[list[float], int, float]:
    """Latencies of short completions sent at `rate`/s (or, with `concurrency`, as fast as
    `concurrency` workers can), the error count, and the wall time taken."""
    connector = aiohttp.TCPConnector(limit=0)
    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal errors
        body = {"model": MODEL, "prompt": f"req {i} " + "short prompt " * 8, "max_tokens": 1}
        sent = time.perf_counter()
        try:
            async with session.post(f"{urls[i % len(urls)]}/v1/completions", json=body) as r:
                await r.read()
                ok = r.status == 200
        except aiohttp.ClientError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - sent)
        else:
            errors += 1

    async with aiohttp.ClientSession(connector=connector) as session:
        for i in range(50):
            await one(session, i)
        latencies.clear()
        began = time.perf_counter()
        if concurrency:
            counter = iter(range(10**9))

            async def worker() -> None:
                while time.perf_counter() - began < seconds:
                    await one(session, next(counter))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            tasks = []
            for i in range(int(rate * seconds)):
                delay = began + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(session, i)))
            await asyncio.gather(*tasks)
        return latencies, errors, time.perf_counter() - began


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


ROUNDS = 4
"""Overhead test: direct and routed runs alternate this many times each."""

SATURATED = 0.9
"""Overhead test: with the load generator's and replicas' CPUs busier than this, their own
queueing swamps what a router adds."""


def cpu_busy(cpus: frozenset[int] | None) -> tuple[int, int] | None:
    """(busy, total) jiffies of `cpus` so far, from /proc/stat; None where there is none."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    busy = total = 0
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        values = [int(v) for v in fields]
        total += sum(values)
        busy += sum(values) - values[3] - values[4]  # less idle and iowait
    return busy, total


def split_cpus(router_cpu: int | None) -> tuple[frozenset[int], frozenset[int]] | None:
    """(the router's CPU, everyone else's): the router under test gets a core of its own,
    as it would as its own pod, so that what it adds is its own cost and not the wait for a
    core that the load generator and the replicas are using."""
    available = frozenset(os.sched_getaffinity(0))
    if router_cpu is None or len(available) < 2:
        return None
    if router_cpu not in available:
        raise SystemExit(f"--router-cpu {router_cpu}: not one of this process's CPUs")
    return frozenset({router_cpu}), available - {router_cpu}


@contextmanager
def pinned(cpus: frozenset[int] | None) -> Iterator[None]:
    before = os.sched_getaffinity(0)
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def overhead(
    chosen: Sequence[Router],
    setup: Setup,
    rate: float,
    seconds: float,
    concurrency: int,
    cpus: tuple[frozenset[int], frozenset[int]] | None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    targets = [r for r in chosen if r.kind != "ours" or r.policy == "prefix-cache-aware"]
    router_cpus, harness = cpus if cpus is not None else (None, None)
    with pinned(harness), replicas(setup, math.inf, "overhead", harness) as urls:
        asyncio.run(open_loop(urls, rate, min(seconds, 5.0)))  # warm the replicas up
        for router in targets:
            with routed(router, urls, setup, "overhead", router_cpus) as url:
                if url is None:
                    rows.append({"router": router.name, "status": "not installed"})
                    continue
                asyncio.run(open_loop([url], rate, min(seconds, 2.0)))  # and the router
                # Direct and routed runs alternate, so drift in the machine hits both alike.
                direct, through, errs = [], [], 0
                busy = total = 0
                for _ in range(ROUNDS):
                    before = cpu_busy(harness)
                    got, _, _ = asyncio.run(open_loop(urls, rate, seconds / ROUNDS))
                    after = cpu_busy(harness)
                    if before is not None and after is not None:
                        busy += after[0] - before[0]
                        total += after[1] - before[1]
                    direct += got
                    got, bad, _ = asyncio.run(open_loop([url], rate, seconds / ROUNDS))
                    through += got
                    errs += bad
                done, _, wall = asyncio.run(open_loop([url], 0, seconds, concurrency))
            rows.append({
                "router": router.name, "status": "ok", "errors": errs,
                "direct_p50_ms": round(pct(direct, 50) * 1e3, 3),
                "direct_p99_ms": round(pct(direct, 99) * 1e3, 3),
                "p50_ms": round(pct(through, 50) * 1e3, 3),
                "p99_ms": round(pct(through, 99) * 1e3, 3),
                "added_p50_ms": round((pct(through, 50) - pct(direct, 50)) * 1e3, 3),
                "added_p99_ms": round((pct(through, 99) - pct(direct, 99)) * 1e3, 3),
                "peak_rps": round(len(done) / wall, 1),
                "harness_cpu_busy": round(busy / total, 3) if total else None,
            })  # fmt: skip
    return rows


def chars_per_token(trace: mooncake.Trace) -> float:
    sample = trace.requests[:200]
    return sum(len(replay.prompt(r)) for r in sample) / max(1, sum(r.input_length for r in sample))


def verdicts(rows: list[dict[str, Any]], over: list[dict[str, Any]]) -> list[str]:
    lines = []
    ok = [r for r in rows if r.get("status") == "ok"]
    for trace in sorted({r["trace"] for r in ok}):
        by = {r["router"]: r for r in ok if r["trace"] == trace}
        ours, sg = by.get("k8s4ai prefix-cache-aware"), by.get("sglang-router cache_aware")
        rr = by.get("k8s4ai round-robin")
        if ours and sg:
            hit = ours["hit_rate"] >= sg["hit_rate"]
            ttft = ours["ttft_p50_s"] <= sg["ttft_p50_s"] and ours["ttft_p99_s"] <= sg["ttft_p99_s"]
            lines.append(
                f"{trace}: hit rate {ours['hit_rate']:.1%} vs sglang-router "
                f"{sg['hit_rate']:.1%} ({'met' if hit else 'NOT met'}); TTFT p50/p99 "
                f"{ours['ttft_p50_s']}/{ours['ttft_p99_s']} s vs {sg['ttft_p50_s']}/"
                f"{sg['ttft_p99_s']} s ({'no worse' if ttft else 'WORSE'})"
            )
        if ours and rr:
            lines.append(
                f"{trace}: against round-robin, hit rate {rr['hit_rate']:.1%} → "
                f"{ours['hit_rate']:.1%}, TTFT p50 {rr['ttft_p50_s']} → {ours['ttft_p50_s']} s"
            )
    by_router = {r["router"]: r for r in over if r.get("status") == "ok"}
    ours_o, sg_o = (
        by_router.get("k8s4ai prefix-cache-aware"),
        by_router.get("sglang-router cache_aware"),
    )
    busy = max((r.get("harness_cpu_busy") or 0.0 for r in by_router.values()), default=0.0)
    if ours_o and busy >= SATURATED:
        lines.append(
            f"overhead: not measurable on this machine: the load generator and replicas kept "
            f"their CPUs {busy:.0%} busy, so the percentiles measure their queueing, not the "
            f"routers (k8s4ai adds {ours_o['added_p99_ms']} ms at p99"
            + (f", sglang-router {sg_o['added_p99_ms']} ms" if sg_o else "")
            + "); rerun with more CPUs or a lower --rate"
        )
    elif ours_o:
        # The direct p99 swings from run to run with the harness; against the quietest direct
        # run of the whole test, a router is not credited with the harness's bad moments.
        base = min(r["direct_p99_ms"] for r in by_router.values())
        ours_added = round(ours_o["p99_ms"] - base, 3)
        under = ours_added < 2.0
        line = (
            f"overhead: k8s4ai's p99 is {ours_o['p99_ms']} ms, {ours_added} ms above the "
            f"quietest direct p99 ({base} ms) (< 2 ms: {'met' if under else 'NOT met'})"
        )
        if sg_o:
            sg_added = round(sg_o["p99_ms"] - base, 3)
            within = ours_added <= 2 * max(sg_added, 0.0)
            line += (
                f"; sglang-router's is {sg_o['p99_ms']} ms, {sg_added} ms above it (≤ 2×: "
                f"{'met' if within else 'NOT met'}); peak {ours_o['peak_rps']} vs "
                f"{sg_o['peak_rps']} req/s"
            )
        lines.append(line)
    return lines


def markdown(result: dict[str, Any]) -> str:
    s = result["setup"]
    out = [
        "# ContentRouter vs sglang-router and vllm-router",
        "",
        f"Command: `{result['command']}`  ",
        f"Revision: {result['revision']}"
        + (f" (verdicts and tables rendered at {result['rendered_at_revision']})"
           if result.get("rendered_at_revision") else "") + "  ",
        f"Machine: {result['machine']}  ",
        f"Replicas: {s['replicas']} mock replicas (`k8s4ai.testing.replica`), each caching "
        f"{s['cache_blocks']} blocks of 512 tokens ({s['cache_blocks'] * 512:,} tokens; 850 is "
        "the KV cache of Llama-3.1-8B in bf16 on one H100-80GB, see "
        "`k8s4ai.testing.replica.server`); time "
        f"compressed {s['compression']:g}× (replicas {s['compression']:g}× faster, so a router's "
        f"own latency counts {s['compression']:g}× in trace seconds).",
        "",
        "## Trace replay",
        "",
        "| trace | router | hit rate | share of reusable | TTFT p50 / p99 (s) | "
        "e2e p50 / p99 (s) | imbalance | req/s | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["replay"]:
        if r.get("status") != "ok":
            out.append(f"| {r['trace']} | {r['router']} | {r['status']} | | | | | | |")
            continue
        out.append(
            f"| {r['trace']} | {r['router']} | {r['hit_rate']:.1%} | "
            f"{r['share_of_reusable']:.1%} | {r['ttft_p50_s']} / {r['ttft_p99_s']} | "
            f"{r['e2e_p50_s']} / {r['e2e_p99_s']} | {r['imbalance']} | "
            f"{r['requests_per_second']} | {r['errors']} |"
        )
    out += ["", "Reusable with an unlimited cache: " + ", ".join(
        f"{t} {v:.1%}" for t, v in result["reusable"].items()
    ) + ".", "", "## Router overhead", "",
        f"Short requests at {result['overhead_rate']:g}/s against instant replicas, for "
        f"{result['overhead_seconds']:g} s straight to the replicas and "
        f"{result['overhead_seconds']:g} s through the router, in alternating quarters; added = "
        "the router's percentile minus the "
        f"direct one; peak = requests/s with {result['concurrency']} in flight. "
        + (f"The router under test runs alone on CPU {result['router_cpu']}, the load generator "
           "and the replicas on the others." if result.get("router_cpu") is not None
           else "Nothing is pinned: router, load generator and replicas share every CPU."),
        "",
        "| router | direct p50 / p99 (ms) | routed p50 / p99 (ms) | added p50 (ms) | "
        "added p99 (ms) | peak req/s | errors | harness CPU busy (direct) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for r in result["overhead"]:
        if r.get("status") != "ok":
            out.append(f"| {r['router']} | {r['status']} | | | | | | |")
            continue
        out.append(
            f"| {r['router']} | {r['direct_p50_ms']} / {r['direct_p99_ms']} | "
            f"{r['p50_ms']} / {r['p99_ms']} | {r['added_p50_ms']} | {r['added_p99_ms']} | "
            f"{r['peak_rps']} | {r['errors']} | "
            + (f"{r['harness_cpu_busy']:.0%} |" if r.get("harness_cpu_busy") is not None else "|")
        )
    out += ["", "## Against the targets", "", *(f"- {v}" for v in result["verdicts"]), ""]
    return "\n".join(out)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in result["replay"] if r.get("status") == "ok"]
    traces = sorted({r["trace"] for r in ok})
    if not traces:
        return
    fig, axes = plt.subplots(len(traces), 2, figsize=(12, 4 * len(traces)), squeeze=False)
    for row, trace in zip(axes, traces, strict=True):
        runs = [r for r in ok if r["trace"] == trace]
        row[0].barh([r["router"] for r in runs], [r["hit_rate"] * 100 for r in runs])
        row[0].axvline(result["reusable"][trace] * 100, color="k", ls="--", label="unlimited")
        row[0].set_xlabel("prefix-cache hit rate (%)")
        row[0].set_title(trace)
        row[0].legend()
        for r in runs:
            values = np.asarray(r["ttft_seconds"])
            if values.size:
                row[1].plot(values, np.linspace(0, 1, values.size), label=r["router"])
        row[1].set_xscale("log")
        row[1].set_xlabel("TTFT (trace seconds)")
        row[1].set_ylabel("share of requests")
        row[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add(
        "--traces",
        type=Path,
        default=TRACES if TRACES.is_dir() else None,
        help="shared traces folder [default ../shared/traces when present]",
    )
    add(
        "--trace",
        action="append",
        default=[],
        help="Mooncake trace name, built-in synthetic-<profile>, or a file (repeatable) "
        "[default: every shared trace, else the synthetic ones]",
    )
    add(
        "--requests",
        type=int,
        default=0,
        help="replay the first N requests of each trace (0: all)",
    )
    add("--replicas", type=int, default=8)
    add(
        "--cache-blocks",
        type=int,
        default=replica_server.DEFAULT_CACHE_BLOCKS,
        help="512-token blocks per replica [default: Llama-3.1-8B bf16 on one H100-80GB]",
    )
    add("--compression", type=float, default=20.0, help="time compression of the replay")
    add("--max-output-tokens", type=int, default=None, help="cap each request's output")
    add("--routers", default="", help="comma-separated subset, e.g. prefix-cache-aware,sglang")
    add("--rate", type=float, default=1000.0, help="overhead test: requests/s")
    add(
        "--overhead-seconds",
        type=float,
        default=20.0,
        help="overhead test: seconds of each of direct and routed traffic",
    )
    add("--concurrency", type=int, default=64, help="peak test: requests in flight")
    add("--no-overhead", action="store_true")
    add(
        "--router-cpu",
        type=int,
        default=max(os.sched_getaffinity(0)),
        help="overhead test: the CPU the router under test runs on alone, the load generator "
        "and replicas on the others (-1: no pinning) [default: the last CPU]",
    )
    add("--no-replay", action="store_true")
    add("--peer-bin", type=Path, default=None, help="folder holding sglang-router/vllm-router")
    add("--out", type=Path, default=ROOT / "bench" / "results")
    add("--quick", action="store_true", help="a smoke run: 200 requests, 2 s of overhead")
    add(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: write the verdicts, Markdown and plot again from a router.json "
        "(its measurements and revision kept; the rendering revision recorded beside them)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.render is not None:
        result = json.loads(args.render.read_text())
        result["rendered_at_revision"] = report.revision(ROOT)
        return write(result, args.out)
    if args.quick:
        args.requests, args.overhead_seconds = min(args.requests or 200, 200), 2.0
    chosen = routers([s for s in args.routers.split(",") if s])
    names = (
        args.trace
        or ([n for n in mooncake.available(args.traces)] if args.traces else [])
        or list(mooncake.SYNTHETIC)
    )
    traces = []
    for name in names:
        trace = mooncake.load_named(name, args.traces)
        if args.requests:
            trace = mooncake.Trace(
                trace.name, trace.source, trace.cite, trace.requests[: args.requests]
            )
        traces.append(trace)
    split = split_cpus(None if args.router_cpu < 0 else args.router_cpu)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="k8s4ai-bench-router-") as tmp:
        logs = Path(tmp)
        setup = Setup(
            args.replicas, args.cache_blocks, args.compression,
            chars_per_token(traces[0]) if traces else 4.0, logs,
            tokens.write_tokenizer(logs / "tokenizer"), args.peer_bin,
        )  # fmt: skip
        rows: list[dict[str, Any]] = []
        reusable = {t.name: mooncake.reusable_fraction(t.requests) for t in traces}
        if not args.no_replay:
            for trace in traces:
                for router in chosen:
                    print(
                        f"replay {trace.name} ({len(trace.requests)} requests) via "
                        f"{router.name} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    rows.append(replay_one(router, trace, setup, reusable[trace.name],
                                           args.max_output_tokens))  # fmt: skip
        over: list[dict[str, Any]] = []
        if not args.no_overhead:
            print(f"overhead at {args.rate:g}/s ...", file=sys.stderr, flush=True)
            over = overhead(
                chosen, setup, args.rate, args.overhead_seconds, args.concurrency, split
            )  # fmt: skip
    result = {
        "command": "python bench/router.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "revision": report.revision(ROOT),
        "machine": machine(),
        "setup": {"replicas": setup.replicas, "cache_blocks": setup.cache_blocks,
                  "compression": setup.compression,
                  "chars_per_token": round(setup.chars_per_token, 3)},
        "traces": {t.name: {"source": t.source, "cite": t.cite, "requests": len(t.requests)}
                   for t in traces},
        "reusable": reusable,
        "replay": rows,
        "overhead": over,
        "overhead_rate": args.rate,
        "overhead_seconds": args.overhead_seconds,
        "concurrency": args.concurrency,
        "router_cpu": None if split is None else min(split[0]),
    }  # fmt: skip
    return write(result, args.out)


def write(result: dict[str, Any], out: Path) -> int:
    result["verdicts"] = verdicts(result["replay"], result["overhead"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "router.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "router.md").write_text(markdown(result))
    plot(result, out / "router.png")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
