"""LLM request traces from Mooncake (Qin et al., "Mooncake: A KVCache-centric Disaggregated
Architecture for LLM Serving", USENIX FAST'25; kvcache-ai/Mooncake, `FAST25-release/`), and
a generator shaped like them for machines without the files.

Each line is one request: ``{"timestamp": ms, "input_length": tokens, "output_length":
tokens, "hash_ids": [...]}``; `hash_ids` name the prompt's 512-token blocks (the last one
may be partial), equal ids meaning equal, reusable prefixes. `load` checks every field, and
that there is one id per started block, and raises `csvrows.TraceError` naming the file, line
and field; requests come back in arrival order, the first arriving at 0 s.

`generate` makes conversations: sessions arrive as a Poisson process; each has a number of
turns; a session's first prompt is the shared prefix (blocks every request starts with) and
new blocks; each later turn arrives some seconds after the one before and keeps its full
blocks, adding tokens. Sizes, gaps and output lengths are drawn by inverse CDF, linear in
log(1 + x) between the quantiles `QUANTILES`, tails clamped at the outer ones. Prompts the
traces truncate (a turn reusing only part of the one before) are not modelled.
`PROFILES["conversation"]` was fitted by `fit` from ``mooncake/conversation_trace.jsonl``
(12,031 requests over 59 min): rerun ``fit(load(path))`` to check it. There, with an
unlimited cache, 37.3 % of prompt tokens are reusable (`reusable_fraction`).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from k8s4ai.traces import csvrows

BLOCK_TOKENS = 512
FOLDER = Path("mooncake")
SHARED = {
    "conversation": "conversation_trace.jsonl",
    "toolagent": "toolagent_trace.jsonl",
    "fast25-synthetic": "synthetic_trace.jsonl",
    "arxiv": "mooncake_trace.jsonl",
}
"""Trace name → file under ``<traces root>/mooncake/`` (upstream's file names)."""
CITE = "Qin et al., Mooncake, USENIX FAST'25 (kvcache-ai/Mooncake)"
QUANTILES = (0.01, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99)

Quantiles = tuple[float, float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class Request:
    arrival_seconds: float
    input_length: int
    output_length: int
    hash_ids: tuple[int, ...]


def _ms(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError("must be a number of milliseconds")
    if not math.isfinite(raw) or raw < 0:
        raise ValueError("must be finite and not negative")
    return float(raw)


def _count(raw: Any, least: int = 0) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise ValueError("must be a whole number")
    if raw < least:
        raise ValueError(f"must be at least {least}")
    return raw


def _ids(raw: Any) -> tuple[int, ...]:
    if not isinstance(raw, list):
        raise ValueError("must be a list of block ids")
    return tuple(_count(i) for i in raw)


_FIELDS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("timestamp", _ms),
    ("input_length", functools.partial(_count, least=1)),
    ("output_length", _count),
    ("hash_ids", _ids),
)


def _request(data: Any) -> Request:
    if not isinstance(data, dict):
        raise ValueError("the line is not a JSON object")
    values = []
    for field, check in _FIELDS:
        if field not in data:
            raise ValueError(f"missing field {field!r}")
        try:
            values.append(check(data[field]))
        except ValueError as err:
            raise ValueError(f"{field}: {data[field]!r}: {err}") from None
    ms, length, output, ids = values
    if len(ids) != math.ceil(length / BLOCK_TOKENS):
        raise ValueError(
            f"hash_ids: {len(ids)} ids for {length} tokens (expected "
            f"{math.ceil(length / BLOCK_TOKENS)}, one per {BLOCK_TOKENS}-token block)"
        )
    return Request(ms / 1000.0, length, output, ids)


def load(path: Path) -> list[Request]:
    requests = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise csvrows.TraceError(f"{path}: cannot read: {err.strerror}") from None
    with handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                requests.append(_request(json.loads(text)))
            except json.JSONDecodeError as err:
                raise csvrows.TraceError(
                    f"{path}: line {line}: column {err.colno}: not valid JSON: {err.msg}"
                ) from None
            except ValueError as err:
                raise csvrows.TraceError(f"{path}: line {line}: {err}") from None
    if not requests:
        raise csvrows.TraceError(f"{path}: no requests")
    requests.sort(key=lambda r: r.arrival_seconds)
    start = requests[0].arrival_seconds
    return [
        Request(r.arrival_seconds - start, r.input_length, r.output_length, r.hash_ids)
        for r in requests
    ]


def available(root: Path | None) -> list[str]:
    """The shared Mooncake traces present under `root`."""
    if root is None:
        return []
    return [name for name, file in SHARED.items() if (root / FOLDER / file).is_file()]


def reusable_fraction(requests: Sequence[Request]) -> float:
    """The share of prompt tokens an unlimited prefix cache could serve: full blocks whose
    whole prefix an earlier request had (a prompt's last token is always computed)."""
    seen: set[int] = set()
    reused = total = 0
    for request in requests:
        total += request.input_length
        reusable = (request.input_length - 1) // BLOCK_TOKENS
        key, hit = 0, True
        full = request.hash_ids[: request.input_length // BLOCK_TOKENS]
        for position, block in enumerate(full):
            key = hash((key, block))
            hit = hit and position < reusable and key in seen
            reused += BLOCK_TOKENS if hit else 0
            seen.add(key)
    return reused / total if total else 0.0


@dataclass(frozen=True, slots=True)
class Profile:
    """A conversation workload; see the module docstring for how it is used."""

    sessions_per_second: float
    turns: tuple[float, ...]
    """P(a session has 1, 2, ... turns); the last entry holds the tail."""
    shared_prefix_blocks: int
    max_input: int
    """Prompts stop growing here (the longest prompt of the trace)."""
    first_input: Quantiles
    growth: Quantiles
    """Tokens a turn adds to the prompt of the turn before."""
    gap_seconds: Quantiles
    """From a turn's arrival to the next turn's."""
    output: Quantiles

    def __post_init__(self) -> None:
        if self.shared_prefix_blocks < 0 or self.max_input <= self.shared_prefix_blocks * 512:
            raise ValueError("max_input must exceed the shared prefix")
        if not self.sessions_per_second > 0:
            raise ValueError("sessions_per_second must be positive")
        if not self.turns or min(self.turns) < 0 or sum(self.turns) <= 0:
            raise ValueError("turns needs non-negative probabilities, not all zero")
        for name in ("first_input", "growth", "gap_seconds", "output"):
            values = getattr(self, name)
            if len(values) != len(QUANTILES) or list(values) != sorted(values) or values[0] < 0:
                raise ValueError(f"{name} needs {len(QUANTILES)} ascending non-negative values")


PROFILES: dict[str, Profile] = {
    # mooncake/conversation_trace.jsonl, fitted by `fit` (4 significant digits).
    "conversation": Profile(
        sessions_per_second=2.085,
        turns=(
            0.6936,
            0.1778,
            0.06293,
            0.02713,
            0.01587,
            0.00746,
            0.003662,
            0.003526,
            0.001356,
            0.00217,
            0.0006782,
            0.0002713,
            0.0005425,
            0.0002713,
            0.0006782,
            0.002034,
        ),
        shared_prefix_blocks=1,
        max_input=126195,
        first_input=(894.0, 905.0, 1336.0, 5264.0, 13060.0, 25560.0, 89870.0),
        growth=(0.0, 0.0, 187.0, 454.0, 899.8, 4621.0, 17220.0),
        gap_seconds=(12.0, 42.0, 66.0, 123.0, 264.0, 483.0, 1477.0),
        output=(3.0, 24.0, 156.5, 350.0, 472.0, 597.0, 1119.0),
    ),
}


def inverse_cdf(quantiles: Sequence[float], u: np.ndarray) -> np.ndarray:
    """Values at cumulative probabilities `u`, linear in log(1 + x) between `QUANTILES`."""
    knots = np.log1p(np.asarray(quantiles, dtype=float))
    result: np.ndarray = np.expm1(np.interp(u, QUANTILES, knots))
    return result


def _quantiles(values: Sequence[float]) -> Quantiles:
    found = np.quantile(np.asarray(values, dtype=float), QUANTILES) if values else np.zeros(7)
    q = tuple(float(f"{v:.4g}") for v in found)
    return (q[0], q[1], q[2], q[3], q[4], q[5], q[6])


def _shared_prefix(requests: Sequence[Request]) -> int:
    first = requests[0].hash_ids
    length = len(first)
    for request in requests[1:]:
        length = min(length, len(request.hash_ids))
        length = next((i for i in range(length) if first[i] != request.hash_ids[i]), length)
    return length


def fit(requests: Sequence[Request], max_turns: int = 16) -> Profile:
    """The `Profile` of a trace: a request whose prompt starts with more than the shared
    prefix of an earlier one is that request's next turn (the latest such request)."""
    if not requests:
        raise ValueError("cannot fit a profile to no requests")
    shared = _shared_prefix(requests)
    owner: dict[int, int] = {}
    parent: list[int] = []
    for index, request in enumerate(requests):
        keys, key = [], 0
        for block in request.hash_ids:
            key = hash((key, block))
            keys.append(key)
        matched = next((i for i, k in enumerate(keys) if k not in owner), len(keys))
        parent.append(owner[keys[matched - 1]] if matched > shared else -1)
        owner.update(dict.fromkeys(keys, index))
    root = list(range(len(requests)))
    sizes = [0] * len(requests)
    for index, up in enumerate(parent):
        root[index] = index if up < 0 else root[up]
        sizes[root[index]] += 1
    turns = np.bincount(
        [min(size, max_turns) for i, size in enumerate(sizes) if parent[i] < 0],
        minlength=max_turns + 1,
    )[1:]
    children = [(i, up) for i, up in enumerate(parent) if up >= 0]
    span = requests[-1].arrival_seconds - requests[0].arrival_seconds
    return Profile(
        sessions_per_second=float(f"{int(turns.sum()) / max(span, 1.0):.4g}"),
        turns=tuple(float(f"{t / turns.sum():.4g}") for t in turns),
        shared_prefix_blocks=shared,
        max_input=max(r.input_length for r in requests),
        first_input=_quantiles([requests[i].input_length for i, up in enumerate(parent) if up < 0]),
        growth=_quantiles(
            [max(0, requests[i].input_length - requests[up].input_length) for i, up in children]
        ),
        gap_seconds=_quantiles(
            [requests[i].arrival_seconds - requests[up].arrival_seconds for i, up in children]
        ),
        output=_quantiles([r.output_length for r in requests]),
    )


def generate(profile: Profile, count: int, rng: np.random.Generator) -> list[Request]:
    """`count` requests of conversations shaped by `profile`, in arrival order from 0 s."""
    if count < 0:
        raise ValueError(f"count cannot be negative, not {count}")
    weights = np.asarray(profile.turns) / sum(profile.turns)
    mean_turns = float(np.dot(np.arange(1, len(weights) + 1), weights))
    horizon = 1.2 * max(count, 1) / (profile.sessions_per_second * mean_turns)
    while True:
        requests = _sessions(profile, horizon, rng)
        if len(requests) >= count:
            return requests[:count]
        horizon *= 1.5


def _sessions(profile: Profile, horizon: float, rng: np.random.Generator) -> list[Request]:
    weights = np.asarray(profile.turns) / sum(profile.turns)
    shared = tuple(range(profile.shared_prefix_blocks))
    least = profile.shared_prefix_blocks * BLOCK_TOKENS + 1
    next_id = len(shared)
    requests: list[Request] = []
    start = rng.exponential(1.0 / profile.sessions_per_second)
    while start < horizon:
        turns = int(rng.choice(len(weights), p=weights)) + 1
        u = rng.random((turns, 3))
        arrival, length, ids = start, 0, shared
        for turn in range(turns):
            if turn:
                arrival += float(inverse_cdf(profile.gap_seconds, u[turn, 0]))
                grown = length + round(float(inverse_cdf(profile.growth, u[turn, 1])))
            else:
                grown = round(float(inverse_cdf(profile.first_input, u[turn, 1])))
            if arrival >= horizon:
                break
            kept = ids[: length // BLOCK_TOKENS] if turn else shared
            length = min(max(grown, least), profile.max_input)
            fresh = math.ceil(length / BLOCK_TOKENS) - len(kept)
            ids = (*kept, *range(next_id, next_id + fresh))
            next_id += fresh
            output = max(1, round(float(inverse_cdf(profile.output, u[turn, 2]))))
            requests.append(Request(arrival, length, output, ids))
        start += rng.exponential(1.0 / profile.sessions_per_second)
    requests.sort(key=lambda r: r.arrival_seconds)
    return requests


@dataclass(frozen=True, slots=True)
class Trace:
    name: str
    source: str
    """The file read, or the generator and its seed."""
    cite: str
    requests: tuple[Request, ...]


SYNTHETIC = tuple(f"synthetic-{name}" for name in PROFILES)
SYNTHETIC_REQUESTS = 2000


def load_named(
    spec: str, root: Path | None, seed: int = 0, count: int = SYNTHETIC_REQUESTS
) -> Trace:
    """A shared trace by name (from `root`), a built-in ``synthetic-<profile>``, or a file."""
    if spec in SYNTHETIC:
        profile = spec.removeprefix("synthetic-")
        requests = generate(PROFILES[profile], count, np.random.default_rng(seed))
        source = f"built-in generator (k8s4ai.traces.mooncake, profile {profile}, seed {seed})"
        return Trace(spec, source, "", tuple(requests))
    if spec in SHARED:
        path = (root or Path()) / FOLDER / SHARED[spec]
        if root is None or not path.is_file():
            raise LookupError(
                f"trace {spec!r} is not here (looked for {path}); give the traces folder, "
                f"or use one of {', '.join(SYNTHETIC)}"
            )
        return Trace(spec, str(path), CITE, tuple(load(path)))
    if Path(spec).is_file():
        return Trace(Path(spec).stem, spec, "", tuple(load(Path(spec))))
    raise LookupError(
        f"unknown Mooncake trace {spec!r}: not a file; known: {', '.join([*SHARED, *SYNTHETIC])}"
    )
