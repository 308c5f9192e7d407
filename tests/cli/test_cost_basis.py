"""`k8s4ai cost --basis usage`: a GPU allocation charged for the share of it its engine
activity says was used, from a samples file or a Prometheus that scrapes dcgm-exporter, the
rest going to idle; the bill is the same on both bases."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from k8s4ai.backends.kubernetes import dcgm
from tests.cli.conftest import Invoke

LEDGER = """record,start,end,resource,amount,namespace,pod,team
asset,2025-01-06T00:00:00Z,2025-01-06T10:00:00Z,gpu/h100,2,,,
allocation,2025-01-06T00:00:00Z,2025-01-06T10:00:00Z,gpu/h100,1,ml,train-0,a
allocation,2025-01-06T00:00:00Z,2025-01-06T05:00:00Z,gpu/h100,1,ml,eval-0,b
"""
PRICES = {"CPU": "0.05", "RAM": "0.004", "GPU": "4.0"}
START = 1736121600.0  # 2025-01-06T00:00:00Z
WINDOW = ["--window", "2025-01-06T00:00:00Z,2025-01-06T10:00:00Z", "--aggregate", "team"]


def files(tmp_path: Path) -> list[str]:
    (tmp_path / "ledger.csv").write_text(LEDGER)
    (tmp_path / "prices.json").write_text(json.dumps(PRICES))
    return ["--ledger", str(tmp_path / "ledger.csv"), "--prices", str(tmp_path / "prices.json"),
            "--gpu-class", "h100"]


def totals(output: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[-1] for line in output.splitlines()[1:] if line}


def test_the_allocation_basis_charges_what_was_held(k8s4ai: Invoke, tmp_path: Path) -> None:
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--basis", "allocation")
    assert result.exit_code == 0, result.output
    assert totals(result.output) == {"a": "$40.00", "b": "$20.00", "__idle__": "$20.00",
                                     "TOTAL": "$80.00"}


def test_the_usage_basis_charges_what_the_samples_say_was_used(
    k8s4ai: Invoke, tmp_path: Path
) -> None:
    # team a's GPU was busy a quarter of the time; team b has no samples: charged as held
    rows = [f"{START + 600 * i},{0.5 if i % 2 else 0.0},30,train-0" for i in range(60)]
    (tmp_path / "samples.csv").write_text("time,engine_active,memory_used,pod\n"
                                          + "\n".join(rows) + "\n")
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--basis", "usage",
                    "--samples", str(tmp_path / "samples.csv"))
    assert result.exit_code == 0, result.output
    assert totals(result.output) == {"b": "$20.00", "a": "$10.00", "__idle__": "$50.00",
                                     "TOTAL": "$80.00"}


def test_the_usage_basis_without_samples_says_gpus_are_charged_as_held(
    k8s4ai: Invoke, tmp_path: Path
) -> None:
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--basis", "usage")
    assert result.exit_code == 0, result.output
    assert "note: no --samples or --prometheus: GPUs are charged as held" in result.output
    assert totals(result.output)["a"] == "$40.00"


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--samples", "SAMPLES"], "--samples and --prometheus measure use: give --basis usage"),
        (["--basis", "usage", "--samples", "SAMPLES", "--prometheus", "http://x"],
         "give --samples or --prometheus, not both"),
        (["--basis", "usage", "--model", "llama"],
         "--model reports cost of ownership on the allocation basis"),
    ],
    ids=["samples-need-usage", "one-source", "tco-is-allocation"],
)
def test_flags_that_do_not_go_together(
    k8s4ai: Invoke, tmp_path: Path, flags: list[str], error: str
) -> None:
    (tmp_path / "samples.csv").write_text("time,engine_active\n")
    given = [str(tmp_path / "samples.csv") if f == "SAMPLES" else f for f in flags]
    result = k8s4ai("cost", *files(tmp_path), "--window", "7d", *given)
    assert result.exit_code != 0
    assert error in result.output


def test_a_bad_sample_is_named(k8s4ai: Invoke, tmp_path: Path) -> None:
    (tmp_path / "samples.csv").write_text(f"time,engine_active,pod\n{START},1.5,train-0\n")
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--basis", "usage",
                    "--samples", str(tmp_path / "samples.csv"))
    assert result.exit_code == 1
    assert "samples.csv: line 2" in result.output and "engine_active is a share" in result.output


@pytest.fixture
def prometheus() -> Iterator[tuple[str, list[str]]]:
    """A Prometheus on 127.0.0.1 whose dcgm-exporter saw train-0 busy 25% of the time."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)["query"][0]
            asked.append(query)
            result = []
            if url.path == "/api/v1/query_range" and query == dcgm.ENGINE_ACTIVE:
                values = [[START + 600 * i, "0.25"] for i in range(60)]
                result = [{"metric": {"namespace": "ml", "pod": "train-0"}, "values": values}]
            body = json.dumps({"status": "success",
                               "data": {"resultType": "matrix", "result": result}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_usage_basis_reads_dcgm_from_prometheus(
    k8s4ai: Invoke, tmp_path: Path, prometheus: tuple[str, list[str]]
) -> None:
    url, asked = prometheus
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--basis", "usage",
                    "--prometheus", url, "--step", "10m")
    assert result.exit_code == 0, result.output
    assert asked[0] == dcgm.ENGINE_ACTIVE
    assert totals(result.output) == {"b": "$20.00", "a": "$10.00", "__idle__": "$50.00",
                                     "TOTAL": "$80.00"}
