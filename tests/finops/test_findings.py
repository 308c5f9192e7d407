"""Findings on a month of a small cluster: with known waste each is reported with its monthly
savings (worked out by hand below), and without it nothing is reported."""

from __future__ import annotations

import pytest

from k8s4ai import api, testing
from k8s4ai.finops import allocation, findings, ledger, pricing, utilisation

from .builders import H100, HOUR

DAY = 24 * HOUR
NOW = 30 * DAY
SSD = pricing.RateKey(pricing.ResourceKind.STORAGE, "ssd")
HDD = pricing.RateKey(pricing.ResourceKind.STORAGE, "hdd")
PRICES = (
    pricing.PriceBook()
    .with_price(H100, 3.00)
    .with_price(SSD, pricing.storage_hourly(0.20))
    .with_price(HDD, pricing.storage_hourly(0.04))
)
MIG = [
    {"name": "1g.10gb", "computeSlices": 1, "vram": "10Gi", "maxPerGpu": 7},
    {"name": "3g.40gb", "computeSlices": 3, "vram": "40Gi", "maxPerGpu": 2},
    {"name": "7g.80gb", "computeSlices": 7, "vram": "80Gi", "maxPerGpu": 1},
]
H100_CLASS = api.AcceleratorClass.model_validate(testing.accelerator_class("h100", mig=MIG))
POLICY = api.CheckpointPolicy.model_validate(
    {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "CheckpointPolicy",
        "metadata": {"name": "ckpt"},
        "spec": {"storage": {"uri": "pvc://ckpt"}, "retention": 3},
    }
)


def scene(waste: bool) -> findings.Scene:
    """Allocations held all month, sampled hourly over the last day (the window)."""
    held = ledger.IntervalsBuilder()
    peaks: list[tuple[float, float]] = []

    def gpu(job: str, gpus: float, active: float, memory: float) -> None:
        held.add(0, NOW, H100, gpus, {"job": job, "team": "ml"})
        peaks.append((active, memory))

    gpu("idle-infer", 2, 0.02 if waste else 0.5, 30)
    gpu("small-infer", 1, 0.20 if waste else 0.7, 8)
    gpu("big-train", 8, 0.30 if waste else 0.85, 100)
    gpu("busy", 4, 0.90, 300)
    held.add(0, (20 if waste else 30) * DAY, SSD, 500, {"volume": "old-data"})
    held.add(0, NOW, SSD, 1000, {"volume": "datasets"})
    held.add(0, NOW, SSD, 2000, {"volume": "archive"})
    assets = ledger.IntervalsBuilder().add(0, NOW, H100, 16, {"node": "pool"})
    for name, size in (("old-data", 500), ("datasets", 1000), ("archive", 2000)):
        assets.add(0, NOW, SSD, size, {"volume": name})
    samples = utilisation.SamplesBuilder()
    for row, (active, memory) in enumerate(peaks):
        for hour in range(24):
            wave = 1.0 if hour == 12 else 0.5
            samples.add(row, NOW - DAY + hour * HOUR, active * wave, memory * wave)
    kept = 5 if waste else 3
    return findings.Scene(
        book=ledger.Ledger(held.build(), assets.build()),
        prices=PRICES,
        window=allocation.Window(NOW - DAY, NOW),
        samples=samples.build(),
        classes={"h100": H100_CLASS},
        endpoints=[
            findings.Endpoint(
                "llama-chat", H100, 1, 6 if waste else 3, peak_rps=90,
                curve=(findings.LoadPoint(20, 0.3), findings.LoadPoint(40, 0.45),
                       findings.LoadPoint(60, 0.9)),
                p95_target=0.5,
            )
        ],
        checkpoints=[
            findings.Checkpoint("big-train", "ckpt", i * DAY, 200, "ssd") for i in range(kept)
        ],
        policies={"ckpt": POLICY},
        last_read={
            "old-data": 0 if waste else NOW,
            "datasets": NOW - DAY / 2,
            "archive": 0 if waste else NOW,
        },
        cheaper={"ssd": "hdd"},
    )


def test_every_kind_of_waste_is_found_with_its_monthly_savings() -> None:
    got = {
        (f.kind.value, f.subject, f.action.value): f"{f.monthly_savings / 100:,.2f}"
        for f in findings.find(scene(waste=True))
    }
    assert got == {
        # 8 GPUs peaking at 30 %: 0.3 × 8 / 0.8 target = 3 GPUs; 5 × $3 × 730 h.
        ("idle-gpu", "job big-train", "shrink"): "10,950.00",
        # 6 replicas, one takes 40 req/s within p95 0.5 s: 90 / 40 → 3; 3 × $3 × 730 h.
        ("overprovisioned-endpoint", "llama-chat", "scale-down"): "6,570.00",
        # 2 GPUs at 2 % peak activity: 2 × $3 × 730 h.
        ("idle-gpu", "job idle-infer", "remove"): "4,380.00",
        # 1 GPU at 20 %: 0.25 of a GPU and 8 GiB fit the 3g.40gb slice (3/7);
        # (1 − 3/7) × $3 × 730 h = $1,251.428…
        ("idle-gpu", "job small-infer", "share"): "1,251.43",
        # 2,000 GB unread for 30 days on ssd ($0.20/GB-month) rather than hdd ($0.04).
        ("cold-premium-storage", "archive", "move"): "320.00",
        # 500 GB unmounted since day 20: 500 × $0.20.
        ("orphaned-volume", "old-data", "delete"): "100.00",
        # 5 checkpoints of 200 GB, retention 3: 400 GB × $0.20.
        ("checkpoint-bloat", "big-train", "delete"): "80.00",
    }


def test_a_clean_cluster_has_no_findings() -> None:
    assert findings.find(scene(waste=False)) == []


@pytest.mark.parametrize(
    ("gpus", "active", "memory", "keep"),
    [
        pytest.param(1, 0.05, 5, 1 / 7, id="1g-slice"),
        pytest.param(1, 0.05, 20, 3 / 7, id="memory-needs-3g"),
        pytest.param(3 / 7, 0.2, 5, 1 / 7, id="mig-slice-shrinks"),
        pytest.param(8, 0.5, 10, 5, id="whole-gpus"),
        pytest.param(2, 0.2, 120, 2, id="memory-keeps-both"),
    ],
)
def test_right_size_is_mig_aware(gpus: float, active: float, memory: float, keep: float) -> None:
    sized = findings._right_size(gpus, active, memory, H100_CLASS, findings.Thresholds())
    assert sized == pytest.approx(keep)
