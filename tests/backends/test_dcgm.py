"""Utilisation samples from a Prometheus that scrapes dcgm-exporter, against a scripted
Prometheus HTTP API: the queries it is asked, the rows the answers land on, and errors."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from k8s4ai.backends.kubernetes import dcgm
from k8s4ai.finops import allocation, ledger, pricing

H100 = pricing.RateKey(pricing.ResourceKind.GPU, "h100")
CPU = pricing.RateKey(pricing.ResourceKind.CPU)


def _book() -> ledger.Ledger:
    allocations = (
        ledger.IntervalsBuilder()
        .add(0, 600, H100, 2, {"namespace": "a", "pod": "train-0"})
        .add(600, 1200, H100, 1, {"namespace": "a", "pod": "train-0"})  # the pod name reused
        .add(0, 1200, CPU, 8, {"namespace": "a", "pod": "train-0"})
        .add(0, 1200, H100, 1, {"namespace": "b", "job": "no-pod-label"})
        .build()
    )
    assets = ledger.IntervalsBuilder().add(0, 1200, H100, 8).build()
    return ledger.Ledger(allocations, assets)


def _matrix(series: list[tuple[dict[str, str], list[tuple[float, str]]]]) -> dict[str, Any]:
    result = [{"metric": m, "values": [[t, v] for t, v in points]} for m, points in series]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def _prometheus(answers: dict[str, dict[str, Any]], asked: list[str]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query_range"
        query = request.url.params["query"]
        asked.append(query)
        return httpx.Response(200, json=answers.get(query, _matrix([])))

    return httpx.Client(base_url="http://prometheus.test", transport=httpx.MockTransport(handle))


POD = {"namespace": "a", "pod": "train-0"}


def test_samples_land_on_the_rows_holding_the_pod_at_that_time() -> None:
    asked: list[str] = []
    answers = {
        dcgm.ENGINE_ACTIVE: _matrix([(POD, [(0, "0.5"), (300, "0.25"), (600, "1.2"), (900, "0")])]),
        dcgm.FB_USED_GIB: _matrix([(POD, [(0, "40"), (300, "41"), (600, "20"), (900, "-1")])]),
    }
    with _prometheus(answers, asked) as client:
        got = dcgm.samples(client, _book(), allocation.Window(0, 1200), step=300)
    assert asked == [dcgm.ENGINE_ACTIVE, dcgm.FB_USED_GIB]
    assert got.row.tolist() == [0, 0, 1, 1], "only GPU rows with a pod, each in its own time"
    assert got.time.tolist() == [0, 300, 600, 900]
    assert np.allclose(got.engine_active, [0.5, 0.25, 1.0, 0.0]), "clamped to a share"
    assert np.allclose(got.memory_used, [40, 41, 20, 0])


def test_gpu_util_stands_in_when_profiling_metrics_are_off() -> None:
    asked: list[str] = []
    answers = {dcgm.GPU_UTIL: _matrix([(POD, [(60, "0.3")])])}
    with _prometheus(answers, asked) as client:
        got = dcgm.samples(client, _book(), allocation.Window(0, 1200))
    assert asked == [dcgm.ENGINE_ACTIVE, dcgm.GPU_UTIL, dcgm.FB_USED_GIB]
    assert got.row.tolist() == [0] and got.engine_active.tolist() == [0.3]
    assert got.memory_used.tolist() == [0.0], "no memory series: nothing known to be used"


def test_no_pod_rows_asks_nothing() -> None:
    asked: list[str] = []
    book = ledger.Ledger(
        ledger.IntervalsBuilder().add(0, 10, H100, 1, {"namespace": "a"}).build(),
        ledger.IntervalsBuilder().add(0, 10, H100, 1).build(),
    )
    with _prometheus({}, asked) as client:
        assert len(dcgm.samples(client, book, allocation.Window(0, 10))) == 0
    assert asked == []


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"status": "error", "errorType": "bad_data", "error": "parse error"}, "parse error"),
        (200, {"status": "success", "data": {"resultType": "vector", "result": []}}, "matrix"),
        (502, "upstream down", "HTTP 502"),
    ],
)
def test_prometheus_errors_name_the_query(status: int, body: Any, message: str) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    transport = httpx.MockTransport(handle)
    client = httpx.Client(base_url="http://prometheus.test", transport=transport)
    with client, pytest.raises(dcgm.PrometheusError, match=message) as err:
        dcgm.samples(client, _book(), allocation.Window(0, 1200))
    assert "DCGM_FI_PROF_GR_ENGINE_ACTIVE" in str(err.value)
