"""`k8s4ai cost --ledger FOLDER` reads a live ledger's journal, as the embedded plane and the
Kubernetes operator keep it: what closed, and what was open up to when it was last written."""

from __future__ import annotations

import json
from pathlib import Path

from k8s4ai.controllers import cost_journal, cost_ledger, cost_tracker
from k8s4ai.finops import pricing
from tests.cli.conftest import Invoke

T0 = 1736121600.0  # 2025-01-06T00:00:00Z
HOUR = 3600.0
GPU = pricing.RateKey(pricing.ResourceKind.GPU, "h100")


def record(key: str, kind: cost_ledger.Kind, amount: float, **labels: str
           ) -> cost_ledger.Record:
    return cost_ledger.Record(key, kind, GPU, amount, T0, None, labels, key)


def test_a_journal_folder_is_costed_up_to_when_it_was_last_written(
    k8s4ai: Invoke, tmp_path: Path
) -> None:
    node = record("node", "asset", 4)
    done = record("done", "allocation", 1, pod="done")
    running = record("running", "allocation", 2, pod="running")
    tracker = cost_tracker.Tracker(cost_journal.Journal(tmp_path / "ledger", "k8s4ai"))
    tracker.advance([node, done, running], T0 + HOUR)
    tracker.advance([node, running], T0 + 2 * HOUR)  # `done` went: closed at +2 h
    tracker.advance([node, running], T0 + 3 * HOUR, final=True)  # the last write
    with (tmp_path / "ledger" / "k8s4ai.ledger.jsonl").open("a") as f:
        f.write('{"record": "allocation", "sta')  # being written as we read
    (tmp_path / "prices.json").write_text(json.dumps({"CPU": "0", "RAM": "0", "GPU": "4.0"}))
    result = k8s4ai("cost", "--ledger", str(tmp_path / "ledger"), "--prices",
                    str(tmp_path / "prices.json"), "--gpu-class", "h100", "--window",
                    "2025-01-06T00:00:00Z,2025-01-06T04:00:00Z", "--aggregate", "pod")
    assert result.exit_code == 0, result.output
    totals = {line.split()[0]: line.split()[-1] for line in result.output.splitlines()[1:]}
    # 4 GPUs for 3 h at $4 is the bill: `running` held 2 for 3 h, `done` 1 for 2 h
    assert totals == {"running": "$24.00", "done": "$8.00", "__idle__": "$16.00",
                      "TOTAL": "$48.00"}
    assert (tmp_path / "ledger" / "k8s4ai.ledger.jsonl").read_text().endswith('"sta'), (
        "a reader never cuts the writer's file"
    )


def test_a_folder_without_a_journal_is_an_error(k8s4ai: Invoke, tmp_path: Path) -> None:
    (tmp_path / "prices.json").write_text(json.dumps({"GPU": "4.0"}))
    result = k8s4ai("cost", "--ledger", str(tmp_path), "--prices", str(tmp_path / "prices.json"))
    assert result.exit_code == 1
    assert "no k8s4ai.ledger.jsonl in it" in result.output
