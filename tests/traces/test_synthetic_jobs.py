"""The built-in job-trace generator: determinism, fidelity to its fitted profiles, and the
fitting script that produced them (run here on a tiny trace folder, never on ../shared)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from k8s4ai.traces import jobs, synthetic_jobs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = 20_000


def sample(profile: str, seed: int = 7, load_scale: float = 1.0) -> list[jobs.JobRecord]:
    return synthetic_jobs.generate(profile, SAMPLE, np.random.default_rng(seed), load_scale)


def test_same_seed_same_jobs_and_another_seed_other_jobs() -> None:
    first = synthetic_jobs.generate("philly", 500, np.random.default_rng(3))
    assert first == synthetic_jobs.generate("philly", 500, np.random.default_rng(3))
    assert first != synthetic_jobs.generate("philly", 500, np.random.default_rng(4))
    assert [j.name for j in first[:2]] == ["philly-0", "philly-1"]
    assert all(j.queue is None for j in first)
    assert [j.submit_seconds for j in first] == sorted(j.submit_seconds for j in first)


@pytest.mark.parametrize("profile", list(synthetic_jobs.PROFILES))
def test_sizes_follow_the_profile(profile: str) -> None:
    counts = Counter(j.gpus for j in sample(profile))
    sizes = synthetic_jobs.PROFILES[profile].sizes
    total = sum(p for _, p in sizes)
    assert set(counts) <= {g for g, _ in sizes}
    for gpus, share in sizes:
        p = share / total
        sigma = math.sqrt(p * (1 - p) / SAMPLE)
        assert abs(counts[gpus] / SAMPLE - p) < 5 * sigma + 1e-9, gpus


@pytest.mark.parametrize("profile", list(synthetic_jobs.PROFILES))
def test_duration_median_per_class_is_the_fitted_p50(profile: str) -> None:
    mix = synthetic_jobs.PROFILES[profile]
    by_class: dict[str, list[float]] = {}
    for job in sample(profile):
        assert job.duration_seconds is not None
        by_class.setdefault(synthetic_jobs.size_class(job.gpus), []).append(job.duration_seconds)
    for label, durations in by_class.items():
        if len(durations) < 100:
            continue
        quantiles = dict(mix.durations)[label]
        # The sample median lies within 5 standard errors of u = 0.5 on the fitted CDF.
        delta = 5 * 0.5 / math.sqrt(len(durations))
        low, high = synthetic_jobs.inverse_cdf(quantiles, np.array([0.5 - delta, 0.5 + delta]))
        assert low <= float(np.median(durations)) <= high, label
        assert max(durations) <= max(quantiles[-1], 1.0) * (1 + 1e-9)


def test_inverse_cdf_hits_the_quantiles_and_clamps_the_tails() -> None:
    quantiles = (30.0, 60.0, 120.0, 600.0, 3600.0, 86400.0)
    at = synthetic_jobs.inverse_cdf(quantiles, np.array([0.0, 0.01, 0.1, 0.5, 0.99, 1.0]))
    assert at.tolist() == pytest.approx([10.0, 10.0, 30.0, 120.0, 86400.0, 86400.0])
    between = synthetic_jobs.inverse_cdf(quantiles, np.array([0.375]))
    assert between[0] == pytest.approx(math.sqrt(60.0 * 120.0))


@pytest.mark.parametrize(
    ("profile", "load_scale"), [("philly", 1.0), ("itp-cluster04", 2.5), ("crux", 0.5)]
)
def test_arrival_rate_is_rate_times_load_scale(profile: str, load_scale: float) -> None:
    submits = np.array([j.submit_seconds for j in sample(profile, load_scale=load_scale)])
    days = math.floor(submits[-1] / 86400)  # whole days, so the daily profile averages out
    expected = synthetic_jobs.PROFILES[profile].rate_per_hour * load_scale * 24 * days
    assert np.count_nonzero(submits < days * 86400) == pytest.approx(expected, rel=0.03)


def test_arrivals_follow_the_hourly_profile() -> None:
    hourly = np.array(synthetic_jobs.PROFILES["crux"].hourly)
    submits = np.array([j.submit_seconds for j in sample("crux")])
    counts = np.bincount(((submits % 86400) // 3600).astype(int), minlength=24)
    assert counts / counts.sum() == pytest.approx(hourly / hourly.sum(), abs=0.01)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown job profile 'helios'.*philly.*cluster03.*crux"):
        synthetic_jobs.generate("helios", 10, np.random.default_rng(0))


def test_profiles_equal_the_published_fit() -> None:
    document = json.loads((ROOT / "bench" / "results" / "job_mix.json").read_text())
    fitted = {t["name"]: t for t in document["traces"]}
    assert set(fitted) == set(synthetic_jobs.PROFILES)
    for name, mix in synthetic_jobs.PROFILES.items():
        t = fitted[name]
        assert mix.rate_per_hour == t["rate_per_hour"], name
        assert list(mix.hourly) == t["hourly_profile"], name
        assert [list(s) for s in mix.sizes] == t["sizes"], name
        assert {k: list(v) for k, v in mix.durations} == t["duration_quantiles"], name


PHILLY = (
    "timestamp,duration,num_gpus,gpu_time,cluster\n"
    "2017-10-09 07:01:55,66.0,1,66.0,a\n"
    "2017-10-09 06:13:03,2951.0,2,5902.0,b\n"
    "2017-10-10 09:13:03,10.5,8,84.0,a\n"
    "2017-10-11 23:00:00,700.0,1,700.0,a\n"
)
ITP = "job_id,submission_time,duration,num_gpu\nx,5010,1265,1\ny,9000,600,64\nz,90000,700,1\n"
CRUX = (
    "#job id,arrival time (sec),topology,shape,size,duration (sec)\n"
    "0,0.0,CLOS,48,48,720.0\n1,5040.0,CLOS,8,8,120.0\n2,100000.0,CLOS,1,1,0.0\n"
)


@pytest.mark.integration
def test_fit_script_writes_json_and_markdown(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    for relative, text in (
        ("jobs/philly-2017-sia/philly.csv", PHILLY),
        ("jobs/microsoft-itp-2021/cluster01.csv", ITP),
        ("jobs/alibaba-crux-2023-rfold/crux.csv", CRUX),
    ):
        (traces / relative).parent.mkdir(parents=True, exist_ok=True)
        (traces / relative).write_text(text, encoding="utf-8")
    out = tmp_path / "results"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fit_job_mix.py"), "--traces", str(traces),
         "--out", str(out)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    document = json.loads((out / "job_mix.json").read_text())
    fitted = {t["name"]: t for t in document["traces"]}
    assert list(fitted) == ["philly", "itp-cluster01", "crux"]
    philly = fitted["philly"]
    assert philly["jobs"] == 4
    assert philly["span_seconds"] == 2 * 86400 + (23 * 3600 - (6 * 3600 + 13 * 60 + 3))
    assert sum(philly["hourly_profile"]) == pytest.approx(24)
    # One job in each of hours 6, 7, 9 and 23 of the wall clock (mean 1 over 24 hours).
    assert [h for h, v in enumerate(philly["hourly_profile"]) if v] == [6, 7, 9, 23]
    assert philly["hourly_profile"][6] == pytest.approx(6)
    assert [g for g, _ in philly["sizes"]] == [1, 2, 8]
    assert set(philly["duration_quantiles"]) == {"1", "2-4", "5-8"}
    assert fitted["crux"]["duration_quantiles"]["1"][0] == 0.0
    itp_rate = 3 / ((90000 - 5010) / 3600)
    assert fitted["itp-cluster01"]["rate_per_hour"] == pytest.approx(itp_rate, rel=1e-3)
    text = (out / "job_mix.md").read_text()
    assert text.startswith("# Job mix of the public job traces")
    assert "Machine:" in text and "Command:" in text and "## crux" in text
