"""`k8s4ai cost --model`: one model's total cost of ownership from a ledger and price file."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Invoke

LEDGER = """record,start,end,resource,amount,model,experiment,job,inference-service,volume,purpose
asset,2025-01-01T00:00:00Z,2025-01-31T00:00:00Z,gpu/h100,16,,,,,,
asset,2025-01-01T00:00:00Z,2025-01-31T00:00:00Z,gpu/l4,4,,,,,,
allocation,2025-01-02T00:00:00Z,2025-01-02T10:00:00Z,gpu/h100,8,llama,sft-a,train-1,,,
allocation,2025-01-03T00:00:00Z,2025-01-03T05:00:00Z,gpu/h100,4,llama,sft-b,train-2,,,
asset,2025-01-01T00:00:00Z,2025-01-31T00:00:00Z,storage/ssd,500,llama,,,,llama-ckpt,checkpoints
allocation,2025-01-02T00:00:00Z,2025-01-02T10:00:00Z,storage/ssd,500,llama,,,,llama-ckpt,
allocation,2025-01-01T00:00:00Z,2025-01-31T00:00:00Z,gpu/l4,1,llama,,,llama-chat,,
allocation,2025-01-01T00:00:00Z,2025-01-31T00:00:00Z,gpu/l4,1,llama,,,llama-chat,,
allocation,2025-01-01T00:00:00Z,2025-01-31T00:00:00Z,gpu/h100,8,mistral,pretrain,big,,,
"""
HEADER = ("EndTimestamp,InstanceID,Region,AssetClass,InstanceIDField,InstanceType,"
          "MarketPriceHourly,Version")
# OpenCost's CSV prices storage per GB-hour: $0.10 per GB-month of 730 h.
PRICES = "\n".join([
    HEADER,
    ",h100,,gpu,,,4.0,",
    ",l4,,gpu,,,0.8,",
    f",ssd,,pv,spec.storageClassName,,{0.10 / 730!r},",
])
WINDOW = ("--window", "30d", "--end", "2025-01-31T00:00:00Z")


def files(tmp_path: Path) -> list[str]:
    (tmp_path / "ledger.csv").write_text(LEDGER)
    (tmp_path / "prices.csv").write_text(PRICES)
    return ["--ledger", str(tmp_path / "ledger.csv"), "--prices", str(tmp_path / "prices.csv")]


def test_model_tco_table_and_cost_per_million_tokens(k8s4ai: Invoke, tmp_path: Path) -> None:
    # Training 8 H100 × 10 h × $4 = $320 and 4 × 5 h × $4 = $80; checkpoints 500 GB × $0.10 ×
    # 720/730 = $49.32 (the mount is the same disk); serving 2 L4 × 720 h × $0.80 = $1,152.
    # 1.2 billion tokens: $1,152 / 1,200 = $0.96 and $1,601.32 / 1,200 = $1.3344 per million.
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--model", "llama",
                    "--tokens", "1200000000")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Model llama, 2025-01-01T00:00:00Z to 2025-01-31T00:00:00Z"
    rows = {" ".join(line.split()[:3]): line.split() for line in lines[3:-2]}
    assert lines[2].split() == ["PART", "NAME", "DETAIL", "USAGE", "UNIT", "GPU", "CPU",
                                "MEMORY", "STORAGE", "TOTAL"]
    assert rows["training sft-a train-1"][3:] == [
        "80.0", "GPU-h", "$320.00", "$0.00", "$0.00", "$0.00", "$320.00"]
    assert rows["training sft-b train-2"][-1] == "$80.00"
    assert rows["training total 100.0"][-1] == "$400.00"
    assert rows["storage llama-ckpt checkpoints"][3:5] == ["493.2", "GB-month"]
    assert rows["storage llama-ckpt checkpoints"][-2:] == ["$49.32", "$49.32"]
    assert rows["serving llama-chat 1,440.0"][-1] == "$1,152.00"
    assert lines[-3].split() == ["TOTAL", "$1,552.00", "$0.00", "$0.00", "$49.32", "$1,601.32"]
    assert lines[-1] == ("1,200,000,000 tokens served: $0.9600 per million tokens for serving, "
                         "$1.3344 for the whole cost of ownership.")
    assert "mistral" not in result.output


def test_without_tokens_the_table_says_how_to_get_them(k8s4ai: Invoke, tmp_path: Path) -> None:
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--model", "mistral")
    assert result.exit_code == 0, result.output
    # 8 H100 × 720 h × $4 = $23,040, no storage, no serving.
    assert result.output.splitlines()[-3].split()[-1] == "$23,040.00"
    assert result.output.splitlines()[-1] == "Cost per million tokens: give --tokens to see it."


def test_an_unknown_model_names_the_models_there_are(k8s4ai: Invoke, tmp_path: Path) -> None:
    result = k8s4ai("cost", *files(tmp_path), *WINDOW, "--model", "gpt")
    assert result.exit_code == 1
    assert "error: no ledger row names model 'gpt' (models: llama, mistral)" in result.output


def test_flags_of_the_other_report_are_refused(k8s4ai: Invoke, tmp_path: Path) -> None:
    args = files(tmp_path)
    result = k8s4ai("cost", *args, *WINDOW, "--model", "llama", "--aggregate", "team")
    assert result.exit_code == 1 and "--aggregate and --share-idle apply" in result.output
    result = k8s4ai("cost", *args, *WINDOW, "--tokens", "5")
    assert result.exit_code == 1 and "--tokens counts what a --model served" in result.output
