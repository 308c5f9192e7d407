"""The cost loop's sampler: DCGM utilisation from Prometheus for a whole ledger, at a step
coarse enough for Prometheus to answer, and no samples (not no report) when it fails."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from k8s4ai.backends.kubernetes import dcgm
from k8s4ai.finops import ledger, pricing

H100 = pricing.RateKey(pricing.ResourceKind.GPU, "h100")
MONTH = 30 * 86400.0
POD = {"namespace": "a", "pod": "train-0"}


def book(end: float) -> ledger.Ledger:
    allocations = ledger.IntervalsBuilder().add(0, end, H100, 1, POD).build()
    return ledger.Ledger(allocations, ledger.IntervalsBuilder().add(0, end, H100, 8).build())


def prometheus(asked: list[dict[str, str]], status: int = 200) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        if status != 200:
            return httpx.Response(status, json={"status": "error", "error": "overloaded"})
        result: list[dict[str, Any]] = []
        if params["query"] == dcgm.ENGINE_ACTIVE:
            result = [{"metric": POD, "values": [[0, "0.5"], [float(params["step"]), "0.25"]]}]
        data = {"resultType": "matrix", "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})

    return httpx.Client(base_url="http://prometheus.test", transport=httpx.MockTransport(handle))


@pytest.mark.parametrize(
    ("end", "step"),
    [pytest.param(3600.0, 60.0, id="an-hour-at-a-minute"),
     pytest.param(MONTH, MONTH / dcgm.MAX_POINTS, id="a-month-coarser")],
)
def test_the_whole_ledger_is_sampled_at_a_step_prometheus_accepts(end: float, step: float
                                                                  ) -> None:
    asked: list[dict[str, str]] = []
    with prometheus(asked) as client:
        got = dcgm.sampler(client, step=60.0)(book(end))
    first = asked[0]
    assert (first["start"], first["end"], float(first["step"])) == ("0.0", str(end), step)
    assert end / float(first["step"]) <= dcgm.MAX_POINTS
    assert got.row.tolist() == [0, 0] and got.engine_active.tolist() == [0.5, 0.25]


def test_prometheus_failing_leaves_the_ledger_unsampled(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    asked: list[dict[str, str]] = []
    with prometheus(asked, status=503) as client:
        got = dcgm.sampler(client)(book(3600.0))
    assert len(got) == 0 and asked
    assert "no GPU utilisation" in caplog.text and "overloaded" in caplog.text
