"""GPU utilisation on a real cluster, read from the Prometheus that scrapes NVIDIA's
dcgm-exporter, as samples of the ledger's GPU allocations (`finops.utilisation.Samples`):
what the idle-GPU findings and the usage basis need.

dcgm-exporter labels each GPU's series with the `namespace` and `pod` holding it (its
Kubernetes mode), so an allocation row is matched by its `namespace` and `pod` labels; rows
without both get no samples (and are charged as held). Per pod and scrape step:

- engine activity is `DCGM_FI_PROF_GR_ENGINE_ACTIVE` (a 0–1 share, relative to the MIG
  instance on a MIG slice), averaged over the pod's GPUs; where profiling metrics are off,
  `DCGM_FI_DEV_GPU_UTIL` / 100 stands in (coarser: any kernel running counts as busy);
- memory used is `DCGM_FI_DEV_FB_USED` (MiB) summed over the pod's GPUs, in GiB.

A sample is kept only inside its row's [start, end): a pod name reused by a later run is
another row.
"""

from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from k8s4ai.finops import allocation, ledger, pricing, utilisation

ENGINE_ACTIVE = "avg by (namespace, pod) (DCGM_FI_PROF_GR_ENGINE_ACTIVE)"
GPU_UTIL = "avg by (namespace, pod) (DCGM_FI_DEV_GPU_UTIL) / 100"
FB_USED_GIB = "sum by (namespace, pod) (DCGM_FI_DEV_FB_USED) / 1024"

PodKey = tuple[str, str]
MAX_POINTS = 11_000
"""Prometheus refuses a range query of more points per series than this."""

log = logging.getLogger(__name__)


class PrometheusError(RuntimeError):
    """Prometheus could not be asked, or refused the query; the message says which."""


@dataclass(frozen=True, slots=True)
class Series:
    labels: Mapping[str, str]
    times: tuple[float, ...]
    values: tuple[float, ...]


def query_range(
    client: httpx.Client, query: str, window: allocation.Window, step: float
) -> list[Series]:
    """One range query through Prometheus' HTTP API (`/api/v1/query_range`)."""
    params: dict[str, str | float] = {
        "query": query, "start": window.start, "end": window.end, "step": step
    }
    where = f"{client.base_url}: {query}"
    try:
        response = client.get("/api/v1/query_range", params=params)
    except httpx.HTTPError as err:
        raise PrometheusError(f"{where}: {err}") from None
    try:
        body: Any = response.json()
    except ValueError:
        raise PrometheusError(
            f"{where}: HTTP {response.status_code}: {response.text[:200]!r}"
        ) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        reason = body.get("error", response.text[:200]) if isinstance(body, dict) else body
        raise PrometheusError(f"{where}: HTTP {response.status_code}: {reason}")
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise PrometheusError(f"{where}: expected a matrix, got {data.get('resultType')!r}")
    out = []
    for item in data.get("result", []):
        points = [(float(t), float(v)) for t, v in item.get("values", [])]
        out.append(
            Series(
                dict(item.get("metric", {})),
                tuple(t for t, _ in points),
                tuple(v for _, v in points),
            )
        )
    return out


def _by_pod(series: list[Series]) -> dict[PodKey, dict[float, float]]:
    out: dict[PodKey, dict[float, float]] = {}
    for s in series:
        namespace, pod = s.labels.get("namespace"), s.labels.get("pod")
        if namespace and pod:
            out.setdefault((namespace, pod), {}).update(zip(s.times, s.values, strict=True))
    return out


def _gpu_rows(book: ledger.Ledger) -> dict[PodKey, list[int]]:
    rows = book.allocations
    gpu_rates = {i for i, r in enumerate(rows.rates) if r.kind is pricing.ResourceKind.GPU}
    namespaces, pods = rows.label_codes("namespace"), rows.label_codes("pod")
    ns_values, pod_values = rows.label_values("namespace"), rows.label_values("pod")
    out: dict[PodKey, list[int]] = defaultdict(list)
    for row in range(len(rows)):
        if int(rows.rate[row]) in gpu_rates and namespaces[row] >= 0 and pods[row] >= 0:
            out[(ns_values[namespaces[row]], pod_values[pods[row]])].append(row)
    return out


def samples(
    client: httpx.Client, book: ledger.Ledger, window: allocation.Window, step: float = 60.0
) -> utilisation.Samples:
    """Samples for every GPU allocation row of `book` with `namespace` and `pod` labels, over
    `window` at `step` seconds."""
    if not step > 0:
        raise ValueError(f"step must be positive, not {step}")
    wanted = _gpu_rows(book)
    builder = utilisation.SamplesBuilder()
    if not wanted:
        return builder.build()
    activity = _by_pod(query_range(client, ENGINE_ACTIVE, window, step))
    if not activity:
        activity = _by_pod(query_range(client, GPU_UTIL, window, step))
    memory = _by_pod(query_range(client, FB_USED_GIB, window, step))
    rows = book.allocations
    for key, row_ids in wanted.items():
        points = activity.get(key, {})
        used = memory.get(key, {})
        times = sorted(points)
        for row in row_ids:
            start, end = float(rows.start[row]), float(rows.end[row])
            for t in times[bisect.bisect_left(times, start) : bisect.bisect_left(times, end)]:
                active = min(1.0, max(0.0, points[t]))
                builder.add(row, t, active, max(0.0, used.get(t, 0.0)))
    return builder.build()


def sampler(
    client: httpx.Client, step: float = 60.0
) -> Callable[[ledger.Ledger], utilisation.Samples]:
    """Samples for a whole ledger (a `cost_ledger.Sampler`): its allocations' span, at `step`
    or coarser where the span would need more than `MAX_POINTS` points. Prometheus failing
    leaves the ledger without samples (charged as held), logged, rather than without a
    report."""

    def sample(book: ledger.Ledger) -> utilisation.Samples:
        rows = book.allocations
        if not len(rows) or not float(rows.end.max()) > float(rows.start.min()):
            return utilisation.Samples.empty()
        span = allocation.Window(float(rows.start.min()), float(rows.end.max()))
        coarse = max(step, (span.end - span.start) / MAX_POINTS)
        try:
            return samples(client, book, span, coarse)
        except PrometheusError as err:
            log.warning("no GPU utilisation: %s", err)
            return utilisation.Samples.empty()

    return sample
