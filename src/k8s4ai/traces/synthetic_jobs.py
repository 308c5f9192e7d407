"""Synthetic job traces shaped like the public ones (Philly, the ITP clusters, Crux), so the
job-admission simulator runs on a machine without `../shared/traces`.

Every number in `PROFILES` was fitted by `bench/fit_job_mix.py` from the trace file named in
the comment above it and is copied from `bench/results/job_mix.json` (4 significant digits);
rerun the script to regenerate them. A profile holds the mean arrival rate (jobs / span), the
hourly arrival profile over a day (normalised to mean 1; Philly's is wall-clock, the others
are `submit_seconds mod 86400`), the GPU-size distribution (sizes under 0.5 % merged into the
nearest kept size) and duration quantiles (p10, p25, p50, p75, p90, p99, seconds) per GPU-size
class ("1", "2-4", "5-8", ">8" GPUs).

`generate` draws arrivals as a non-homogeneous Poisson process whose rate in hour h of the day
is `rate_per_hour * load_scale * hourly[h]` (t = 0 is midnight, hour 0), GPU counts from the
size distribution and durations by inverse-CDF interpolation, linear in log(duration) between
the quantiles; the tails are clamped at p1 = p10 / 3 and p99, and quantiles are floored at one
second (Crux has zero-second jobs) so the logarithm is defined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k8s4ai.traces import jobs as job_traces

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90, 0.99)
CLASSES = ("1", "2-4", "5-8", ">8")
DAY = 86400.0
_FLOOR_SECONDS = 1.0

Quantiles = tuple[float, float, float, float, float, float]


def size_class(gpus: int) -> str:
    """The duration class of a job asking for `gpus` GPUs."""
    if gpus < 1:
        raise ValueError(f"a job asks for at least one GPU, not {gpus}")
    return "1" if gpus == 1 else "2-4" if gpus <= 4 else "5-8" if gpus <= 8 else ">8"


@dataclass(frozen=True, slots=True)
class Profile:
    """A trace's job mix: see the module docstring for what each field means."""

    rate_per_hour: float
    hourly: tuple[float, ...]
    sizes: tuple[tuple[int, float], ...]
    durations: tuple[tuple[str, Quantiles], ...]

    def __post_init__(self) -> None:
        if self.rate_per_hour <= 0:
            raise ValueError(f"rate_per_hour must be positive, not {self.rate_per_hour}")
        if len(self.hourly) != 24 or min(self.hourly) < 0 or sum(self.hourly) <= 0:
            raise ValueError("hourly needs 24 non-negative values, not all zero")
        if not self.sizes or any(g < 1 or p < 0 for g, p in self.sizes):
            raise ValueError("sizes needs (gpus >= 1, probability >= 0) pairs")
        classes = dict(self.durations)
        missing = sorted({size_class(g) for g, _ in self.sizes} - set(classes))
        if missing:
            raise ValueError(f"no duration quantiles for size class(es) {', '.join(missing)}")
        for label, qs in self.durations:
            if len(qs) != len(QUANTILES) or list(qs) != sorted(qs):
                raise ValueError(f"class {label}: needs {len(QUANTILES)} ascending quantiles")

    def quantiles(self, gpus: int) -> Quantiles:
        return dict(self.durations)[size_class(gpus)]


PROFILES: dict[str, Profile] = {
    # jobs/philly-2017-sia/philly.csv: 82247 jobs over 108.9 days; fitted by
    # `bench/fit_job_mix.py` (bench/results/job_mix.json).
    "philly": Profile(
        rate_per_hour=31.47,
        hourly=(1.274, 0.9845, 1.119, 1.103, 0.7003, 1.153, 1.673, 2.089, 1.109, 1.006, 1.024,
            0.8693, 0.7491, 0.7047, 0.6376, 0.649, 0.8815, 0.6679, 0.8007, 0.7283, 1.016, 0.9168,
            1.134, 1.01),
        sizes=((1, 0.9317), (2, 0.0221), (4, 0.02274), (8, 0.02349)),
        durations=(
            ("1", (62.0, 122.0, 1117.0, 2716.0, 8512.0, 135400.0)),
            ("2-4", (15.0, 21.0, 367.0, 45390.0, 166100.0, 747300.0)),
            ("5-8", (216.2, 1876.0, 23680.0, 173200.0, 352000.0, 1060000.0)),
            (">8", (72.2, 566.0, 21140.0, 104200.0, 248000.0, 922600.0)),
        ),
    ),
    # jobs/microsoft-itp-2021/cluster01.csv: 1595 jobs over 33.75 days; fitted by
    # `bench/fit_job_mix.py` (bench/results/job_mix.json).
    "itp-cluster01": Profile(
        rate_per_hour=1.969,
        hourly=(0.06019, 0.07524, 0.4665, 0.0, 0.3461, 0.2408, 1.008, 0.01505, 0.1204, 0.6771,
            3.16, 0.647, 1.52, 2.257, 2.558, 2.513, 0.06019, 0.948, 0.4364, 3.039, 2.001, 0.1956,
            0.4665, 1.189),
        sizes=((1, 0.9592), (2, 0.01755), (32, 0.006897), (64, 0.0163)),
        durations=(
            ("1", (3945.0, 5638.0, 8221.0, 14890.0, 19730.0, 47070.0)),
            ("2-4", (21970.0, 25950.0, 52770.0, 60900.0, 130700.0, 143700.0)),
            ("5-8", (7587.0, 8187.0, 9183.0, 17740.0, 31320.0, 39470.0)),
            (">8", (2436.0, 14540.0, 31370.0, 38580.0, 61460.0, 105300.0)),
        ),
    ),
    # jobs/microsoft-itp-2021/cluster02.csv: 5778 jobs over 59.74 days; fitted by
    # `bench/fit_job_mix.py` (bench/results/job_mix.json).
    "itp-cluster02": Profile(
        rate_per_hour=4.03,
        hourly=(1.013, 1.184, 1.209, 1.271, 0.9346, 0.8598, 0.8847, 0.9221, 0.5649, 0.756, 0.839,
            0.8432, 0.9927, 0.6231, 0.7269, 0.4361, 1.043, 2.413, 0.7892, 0.81, 1.828, 1.117,
            0.9304, 1.009),
        sizes=((1, 0.8544), (2, 0.01765), (4, 0.05209), (8, 0.06092), (16, 0.006231),
            (32, 0.008654)),
        durations=(
            ("1", (954.6, 2242.0, 5154.0, 18150.0, 45660.0, 117100.0)),
            ("2-4", (1620.0, 8390.0, 18140.0, 53100.0, 120800.0, 491500.0)),
            ("5-8", (1780.0, 4000.0, 6836.0, 21900.0, 62910.0, 760700.0)),
            (">8", (1571.0, 4298.0, 35670.0, 72260.0, 169200.0, 448500.0)),
        ),
    ),
    # jobs/microsoft-itp-2021/cluster03.csv: 3011 jobs over 49.35 days; fitted by
    # `bench/fit_job_mix.py` (bench/results/job_mix.json).
    "itp-cluster03": Profile(
        rate_per_hour=2.542,
        hourly=(0.5978, 2.208, 0.558, 0.3587, 1.307, 0.5101, 1.172, 0.3348, 1.14, 3.292, 0.7732,
            1.212, 0.821, 0.5978, 1.299, 0.9087, 0.542, 2.168, 0.3427, 1.387, 0.8608, 0.4782,
            0.6536, 0.4782),
        sizes=((1, 0.3368), (2, 0.02823), (8, 0.5902), (16, 0.03122), (32, 0.007971),
            (64, 0.005646)),
        durations=(
            ("1", (2079.0, 4338.0, 8429.0, 19270.0, 27580.0, 80350.0)),
            ("2-4", (2992.0, 3011.0, 3031.0, 3048.0, 3078.0, 9473.0)),
            ("5-8", (1183.0, 2770.0, 12730.0, 30290.0, 62310.0, 187700.0)),
            (">8", (1218.0, 5206.0, 25270.0, 59300.0, 118400.0, 530000.0)),
        ),
    ),
    # jobs/microsoft-itp-2021/cluster04.csv: 15802 jobs over 59.45 days; fitted by
    # `bench/fit_job_mix.py` (bench/results/job_mix.json).
    "itp-cluster04": Profile(
        rate_per_hour=11.07,
        hourly=(0.8247, 0.9325, 0.9827, 1.681, 0.7397, 1.258, 0.8642, 1.13, 1.021, 0.9781, 0.9918,
            0.9675, 0.7472, 0.7275, 1.081, 0.9553, 0.7594, 1.2, 0.9994, 1.066, 1.031, 0.9553,
            0.9143, 1.192),
        sizes=((1, 0.7546), (2, 0.00791), (4, 0.03367), (8, 0.1759), (16, 0.01152), (32, 0.01645)),
        durations=(
            ("1", (1248.0, 5785.0, 7596.0, 10820.0, 18520.0, 56020.0)),
            ("2-4", (801.2, 2632.0, 5889.0, 8858.0, 13170.0, 69270.0)),
            ("5-8", (2991.0, 10600.0, 18450.0, 42310.0, 107300.0, 658300.0)),
            (">8", (1486.0, 11910.0, 82240.0, 136700.0, 264100.0, 577700.0)),
        ),
    ),
    # jobs/microsoft-itp-2021/cluster05.csv: 3629 jobs over 59.26 days; fitted by
    # `bench/fit_job_mix.py` (bench/results/job_mix.json).
    "itp-cluster05": Profile(
        rate_per_hour=2.551,
        hourly=(1.634, 0.6944, 0.4166, 0.4299, 0.41, 0.7076, 1.038, 1.316, 0.7936, 0.9523, 0.8597,
            1.045, 1.356, 1.693, 1.799, 1.395, 2.249, 0.9523, 0.615, 0.3505, 1.25, 0.41, 0.3703,
            1.263),
        sizes=((1, 0.9548), (2, 0.01378), (4, 0.0102), (8, 0.02122)),
        durations=(
            ("1", (1005.0, 6453.0, 7706.0, 10890.0, 16510.0, 59630.0)),
            ("2-4", (726.2, 806.0, 1281.0, 3788.0, 13810.0, 55970.0)),
            ("5-8", (2656.0, 13770.0, 21240.0, 27050.0, 48320.0, 84930.0)),
        ),
    ),
    # jobs/alibaba-crux-2023-rfold/crux.csv: 2498 jobs over 15.92 days; fitted by
    # `bench/fit_job_mix.py` (bench/results/job_mix.json).
    "crux": Profile(
        rate_per_hour=6.539,
        hourly=(0.4323, 1.749, 2.085, 0.9223, 1.297, 2.018, 2.383, 2.354, 2.488, 1.384, 1.489,
            1.547, 1.009, 0.8263, 0.6725, 0.3459, 0.3267, 0.06725, 0.05765, 0.1057, 0.03843,
            0.1153, 0.1441, 0.1441),
        sizes=((1, 0.09327), (2, 0.04764), (3, 0.005204), (4, 0.07046), (6, 0.009608),
            (8, 0.3367), (16, 0.07286), (24, 0.01121), (32, 0.1629), (48, 0.03122), (60, 0.01401),
            (64, 0.04243), (72, 0.007606), (80, 0.006005), (88, 0.008407), (128, 0.008006),
            (256, 0.05564), (400, 0.005604), (512, 0.01121)),
        durations=(
            ("1", (60.0, 60.0, 720.0, 2460.0, 17990.0, 187900.0)),
            ("2-4", (0.0, 60.0, 300.0, 1470.0, 12470.0, 160400.0)),
            ("5-8", (60.0, 120.0, 240.0, 1140.0, 9312.0, 214900.0)),
            (">8", (60.0, 180.0, 540.0, 4230.0, 24880.0, 310800.0)),
        ),
    ),
}


def inverse_cdf(quantiles: Quantiles, u: np.ndarray) -> np.ndarray:
    """Durations at cumulative probabilities `u`: log-linear between (0.01, p10 / 3), the six
    quantiles and nothing past p99 (both tails clamped)."""
    seconds = np.maximum(np.array(quantiles, dtype=float), _FLOOR_SECONDS)
    knots_u = np.array((0.01, *QUANTILES))
    knots_log = np.log(np.concatenate(((max(seconds[0] / 3, _FLOOR_SECONDS),), seconds)))
    result: np.ndarray = np.exp(np.interp(u, knots_u, knots_log))
    return result


def arrivals(
    profile: Profile, count: int, rng: np.random.Generator, load_scale: float
) -> np.ndarray:
    """`count` arrival times of the non-homogeneous Poisson process, by time rescaling: unit
    exponential gaps in expected-arrivals space, mapped back through the cumulative rate."""
    shape = np.array(profile.hourly) / np.mean(profile.hourly)
    per_hour = profile.rate_per_hour * load_scale * shape
    cumulative = np.concatenate(((0.0,), np.cumsum(per_hour)))
    per_day = cumulative[-1]
    expected = np.cumsum(rng.exponential(size=count))
    days, within = np.divmod(expected, per_day)
    hour = np.clip(np.searchsorted(cumulative, within, side="right") - 1, 0, 23)
    rate = per_hour[hour]
    fraction = np.divide(within - cumulative[hour], rate, out=np.zeros_like(within), where=rate > 0)
    result: np.ndarray = days * DAY + (hour + np.clip(fraction, 0.0, 1.0)) * 3600.0
    return result


def generate(
    profile: str, jobs: int, rng: np.random.Generator, load_scale: float = 1.0
) -> list[job_traces.JobRecord]:
    """`jobs` jobs named `<profile>-<i>` in submission order, shaped like the named trace, with
    its arrival rate multiplied by `load_scale`. Queues are None."""
    if profile not in PROFILES:
        raise ValueError(f"unknown job profile {profile!r}; known: {', '.join(PROFILES)}")
    if jobs < 0:
        raise ValueError(f"jobs cannot be negative, not {jobs}")
    if not load_scale > 0:
        raise ValueError(f"load_scale must be positive, not {load_scale}")
    mix = PROFILES[profile]
    submits = arrivals(mix, jobs, rng, load_scale)
    sizes = np.array([g for g, _ in mix.sizes])
    weights = np.array([p for _, p in mix.sizes])
    gpus = rng.choice(sizes, size=jobs, p=weights / weights.sum())
    u = rng.random(jobs)
    durations = np.empty(jobs)
    for label, quantiles in mix.durations:
        chosen = np.array([size_class(int(g)) == label for g in gpus], dtype=bool)
        durations[chosen] = inverse_cdf(quantiles, u[chosen])
    return [
        job_traces.JobRecord(f"{profile}-{i}", float(t), float(d), int(g), None)
        for i, (t, d, g) in enumerate(zip(submits, durations, gpus, strict=True))
    ]
