"""A model's total cost of ownership: each figure worked out by hand in its test."""

from __future__ import annotations

from typing import Self

import pytest

from k8s4ai.finops import allocation, ledger, pricing, tco
from tests.finops.builders import CPU, H100, HOUR, SSD

L4 = pricing.RateKey(pricing.ResourceKind.GPU, "l4")
UNALLOCATED = allocation.UNALLOCATED
PRICES = (
    pricing.PriceBook()
    .with_price(H100, 4.0)
    .with_price(L4, 0.80)
    .with_price(CPU, 0.05)
    .with_price(SSD, pricing.storage_hourly(0.10))
)
MONTH = (0.0, 720.0)


class Month:
    """A ledger in hours from t=0: the cluster's nodes are assets the TCO never counts."""

    def __init__(self) -> None:
        self.held = ledger.IntervalsBuilder()
        self.assets = ledger.IntervalsBuilder().add(-HOUR * 100, HOUR * 1000, H100, 64)

    def hold(self, rate: pricing.RateKey, amount: float, hours: tuple[float, float],
             **labels: str) -> Self:
        self.held.add(hours[0] * HOUR, hours[1] * HOUR, rate, amount, labels)
        return self

    def serve(self, service: str, replica: int, hours: tuple[float, float], model: str,
              gpus: float = 1) -> Self:
        return self.hold(L4, gpus, hours, model=model, replica=f"{service}-{replica}",
                         **{"inference-service": service})

    def volume(self, name: str, gb: float, hours: tuple[float, float], **labels: str) -> Self:
        self.assets.add(hours[0] * HOUR, hours[1] * HOUR, SSD, gb, {"volume": name, **labels})
        return self

    def report(self, model: str, hours: tuple[float, float] = MONTH, tokens: int | None = None
               ) -> tco.Report:
        book = ledger.Ledger(self.held.build(), self.assets.build())
        window = allocation.Window(hours[0] * HOUR, hours[1] * HOUR)
        return tco.tco(book, PRICES, window, model, tokens)


def llama() -> Month:
    """Two experiments, a checkpoint volume (mounted while training), two serving replicas,
    and another model's rows around them."""
    return (
        Month()
        .hold(H100, 8, (0, 10), model="llama", experiment="sft-a", job="train-1")
        .hold(H100, 4, (20, 25), model="llama", experiment="sft-b", job="train-2")
        .volume("llama-ckpt", 500, MONTH, model="llama", purpose="checkpoints")
        .hold(SSD, 500, (0, 25), model="llama", volume="llama-ckpt")
        .serve("llama-chat", 0, MONTH, "llama")
        .serve("llama-chat", 1, MONTH, "llama")
        .hold(H100, 8, (0, 100), model="mistral", experiment="pretrain", job="big")
        .volume("mistral-data", 9000, MONTH, model="mistral", purpose="dataset")
        .serve("mistral-chat", 0, MONTH, "mistral")
    )


def test_training_storage_and_serving_by_hand() -> None:
    """Training: sft-a 8 H100 × 10 h × $4 = $320.00; sft-b 4 × 5 h × $4 = $80.00.
    Storage: 500 GB × $0.10/GB-month over 720 of a month's 730 h = $49.3150… → $49.32; the
    volume's mount while training is the same disk, not counted again.
    Serving: 2 replicas × 1 L4 × 720 h × $0.80 = $1,152.00 (1,440 replica-hours).
    Total: $320 + $80 + $49.32 + $1,152 = $1,601.32.
    1.2 billion tokens = 1,200 million: serving $1,152.00 / 1,200 = $0.96 per million tokens,
    everything $1,601.32 / 1,200 = $1.33443… per million tokens.
    Mistral's rows (same cluster, month and storage class) are in none of it."""
    report = llama().report("llama", tokens=1_200_000_000)
    assert report.cost(tco.Part.TRAINING) == 40_000
    assert report.experiments() == {"sft-a": 32_000, "sft-b": 8_000}
    assert report.cost(tco.Part.STORAGE) == 4_932
    assert report.cost(tco.Part.SERVING) == 115_200
    assert report.total == 160_132
    assert [(line.part, line.key, line.total) for line in report.lines] == [
        (tco.Part.TRAINING, ("sft-a", "train-1"), 32_000),
        (tco.Part.TRAINING, ("sft-b", "train-2"), 8_000),
        (tco.Part.STORAGE, ("llama-ckpt", "checkpoints"), 4_932),
        (tco.Part.SERVING, ("llama-chat",), 115_200),
    ]
    assert report.usage(tco.Part.TRAINING) == pytest.approx(100.0)
    assert report.usage(tco.Part.STORAGE) == pytest.approx(500 * 720 / 730)
    assert report.usage(tco.Part.SERVING) == pytest.approx(1_440.0)
    assert report.serving_per_million == pytest.approx(0.96)
    assert report.total_per_million == pytest.approx(1_601.32 / 1_200)


def test_without_tokens_or_without_serving_there_is_no_cost_per_token() -> None:
    # Mistral: 8 H100 × 100 h × $4 = $3,200; 9,000 GB × $0.10 × 720/730 = $887.67; one L4
    # replica for 720 h × $0.80 = $576. Without a token count, nothing per token.
    served = llama().report("mistral")
    assert (served.cost(tco.Part.TRAINING), served.cost(tco.Part.STORAGE),
            served.cost(tco.Part.SERVING)) == (320_000, 88_767, 57_600)
    assert served.serving_per_million is None and served.total_per_million is None
    # A model the ledger never serves: tokens served elsewhere say nothing of its cost here.
    unserved = Month().hold(H100, 1, (0, 2), model="tiny", experiment="e", job="j")
    report = unserved.report("tiny", tokens=1_000_000)
    assert report.total == 800 and report.part(tco.Part.SERVING) == ()
    assert report.serving_per_million is None and report.total_per_million is None
    # Served, but not in the window: no serving line, so nothing per token either.
    ended = Month().serve("old", 0, (0, 10), "tiny").report("tiny", (20, 30), tokens=10**6)
    assert ended.lines == () and ended.serving_per_million is None


def test_missing_labels_read_unallocated_and_unlabelled_rows_are_not_the_models() -> None:
    # A model row without experiment or job: 1 H100 × 3 h × $4 = $12, keyed unallocated.
    # A storage allocation of the model with no volume label: 730 GB × 1 h at $0.10/GB-month
    # = 730 × $0.10/730 = $0.10. A row with neither model nor experiment is nobody's here.
    report = (
        Month()
        .hold(H100, 1, (0, 3), model="llama")
        .hold(SSD, 730, (0, 1), model="llama", purpose="scratch")
        .hold(H100, 8, (0, 3), team="a")
        .report("llama")
    )
    assert [(line.part, line.key, line.total) for line in report.lines] == [
        (tco.Part.TRAINING, (UNALLOCATED, UNALLOCATED), 1_200),
        (tco.Part.STORAGE, (UNALLOCATED, "scratch"), 10),
    ]
    assert report.total == 1_210


def test_an_untagged_row_of_the_models_experiment_is_training() -> None:
    # sft's data preparation (16 cores × 10 h × $0.05 = $8) has no model label but is in
    # experiment sft, which trains llama; pretrain's untagged CPU row belongs to mistral's
    # experiment, and a row of sft tagged with another model stays that model's.
    report = (
        Month()
        .hold(H100, 1, (0, 10), model="llama", experiment="sft", job="train")
        .hold(CPU, 16, (0, 10), experiment="sft", job="prep")
        .hold(CPU, 16, (0, 10), experiment="pretrain", job="prep")
        .hold(H100, 1, (0, 10), model="other", experiment="sft", job="eval")
        .hold(H100, 1, (0, 10), model="other", experiment="pretrain", job="eval")
        .report("llama")
    )
    lines = {line.key: line.total for line in report.part(tco.Part.TRAINING)}
    assert lines == {("sft", "train"): 4_000, ("sft", "prep"): 800}
    assert report.experiments() == {"sft": 4_800}


def test_a_volume_is_costed_once_from_its_asset_else_from_its_mounts() -> None:
    # "ckpt": the asset has no model label but a mount of the model names it, so it is the
    # model's: 1,460 GB for the whole 730 h month at $0.10 = $146.00 (its mounts not again).
    # "cache": no asset, so its mount is what it cost: 730 GB × 73 h at $0.10/730 = $7.30.
    report = (
        Month()
        .volume("ckpt", 1_460, (0, 730), purpose="checkpoints")
        .hold(SSD, 1_460, (0, 10), model="llama", volume="ckpt")
        .hold(SSD, 1_460, (10, 20), experiment="sft", volume="ckpt")
        .hold(H100, 1, (0, 1), model="llama", experiment="sft", job="j")
        .hold(SSD, 730, (0, 73), model="llama", volume="cache", purpose="dataset")
        .report("llama", hours=(0, 730))
    )
    storage = {line.key: line.total for line in report.part(tco.Part.STORAGE)}
    assert storage == {("ckpt", "checkpoints"): 14_600, ("cache", "dataset"): 730}


def test_rows_are_clipped_to_the_window() -> None:
    """Window [100 h, 200 h). A run from 90 h to 110 h: 10 h in it × 2 H100 × $4 = $80. A
    volume created at 150 h: 730 GB × 50 h × $0.10/730 = $5.00 and 730 × 50 / 730 = 50
    GB-months. A replica of 2 L4s from 0 h to 1,000 h: 100 h × 2 × $0.80 = $160.00 and 100
    replica-hours (not 200: a replica's GPUs are one row). A run that ended at 100 h has no
    line."""
    report = (
        Month()
        .hold(H100, 2, (90, 110), model="m", experiment="e", job="late")
        .hold(H100, 2, (0, 100), model="m", experiment="e", job="before")
        .volume("v", 730, (150, 1_000), model="m")
        .serve("svc", 0, (0, 1_000), "m", gpus=2)
        .report("m", hours=(100, 200))
    )
    assert [(line.key, line.total, round(line.usage, 6)) for line in report.lines] == [
        (("e", "late"), 8_000, 20.0),
        (("v", UNALLOCATED), 500, 50.0),
        (("svc",), 16_000, 100.0),
    ]
    assert report.total == 24_500


def test_lines_are_rounded_once_and_add_up_to_the_total() -> None:
    # Three jobs of a 1/7 MIG slice for 1 h at $0.042/h: $0.006 each, $0.018 together. Rounded
    # alone each would be 1 cent, 3 cents in all; rounded once, the total is 2 cents and two
    # of the lines carry them (largest remainder; ties go to the first lines).
    month = Month()
    for job in ("a", "b", "c"):
        month.hold(pricing.RateKey(pricing.ResourceKind.GPU, "mig"), 1 / 7, (0, 1),
                   model="m", experiment="e", job=job)
    book = ledger.Ledger(month.held.build(), month.assets.build())
    prices = PRICES.with_price(pricing.RateKey(pricing.ResourceKind.GPU, "mig"), 0.042)
    report = tco.tco(book, prices, allocation.Window(0, HOUR), "m")
    assert sorted(line.total for line in report.lines) == [0, 1, 1]
    assert report.total == 2


def test_an_empty_model_costs_nothing_and_tokens_cannot_be_negative() -> None:
    report = llama().report("nobody")
    assert report.lines == () and report.total == 0
    assert tco.models(ledger.Ledger(llama().held.build(), llama().assets.build())) == (
        "llama", "mistral"
    )
    with pytest.raises(ValueError, match="cannot be negative"):
        llama().report("llama", tokens=-1)
