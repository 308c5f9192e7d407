"""Mooncake traces: the loader's checks and messages, the reuse bound, and the generator
fitted from the conversation trace (checked against the file when it is here)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from k8s4ai.traces import csvrows, mooncake

ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "traces"
BLOCK = mooncake.BLOCK_TOKENS


def line(ts: Any = 0, length: Any = 600, output: Any = 5, ids: Any = (0, 1)) -> str:
    ids = list(ids) if isinstance(ids, tuple) else ids
    return json.dumps(
        {"timestamp": ts, "input_length": length, "output_length": output, "hash_ids": ids}
    )


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_returns_requests_in_arrival_order_from_zero(tmp_path: Path) -> None:
    path = write(tmp_path, line(ts=2500), "", line(ts=1000.5, length=10, ids=(7,)))
    assert mooncake.load(path) == [
        mooncake.Request(0.0, 10, 5, (7,)),
        mooncake.Request(1.4995, 600, 5, (0, 1)),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "line 2: column 2: not valid JSON"),
        ("[1, 2]", "line 2: the line is not a JSON object"),
        ('{"timestamp": 0}', "line 2: missing field 'input_length'"),
        (line(ts=-1), "line 2: timestamp: -1: must be finite and not negative"),
        (line(ts="soon"), "line 2: timestamp: 'soon': must be a number of milliseconds"),
        (line(length=0, ids=()), "line 2: input_length: 0: must be at least 1"),
        (line(output=2.5), "line 2: output_length: 2.5: must be a whole number"),
        (line(output=True), "line 2: output_length: True: must be a whole number"),
        (line(ids="0,1"), "line 2: hash_ids: '0,1': must be a list of block ids"),
        (line(ids=(0, -1)), "line 2: hash_ids: [0, -1]: must be at least 0"),
        (line(ids=(0,)), "line 2: hash_ids: 1 ids for 600 tokens (expected 2, one per 512"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "missing-field",
        "negative-time",
        "text-time",
        "empty-prompt",
        "fractional-output",
        "boolean",
        "ids-not-a-list",
        "negative-id",
        "ids-per-block",
    ],
)
def test_malformed_lines_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, line(), text)
    with pytest.raises(csvrows.TraceError) as caught:
        mooncake.load(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_empty_and_missing_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(csvrows.TraceError, match="no requests"):
        mooncake.load(write(tmp_path, ""))
    with pytest.raises(csvrows.TraceError, match="cannot read"):
        mooncake.load(tmp_path / "absent.jsonl")


def test_reusable_fraction_counts_full_blocks_with_their_prefix() -> None:
    requests = [
        mooncake.Request(0, 2 * BLOCK + 100, 1, (0, 1, 2)),
        # Reuses blocks 0 and 1: 1024 of 1124 tokens.
        mooncake.Request(1, 2 * BLOCK + 100, 1, (0, 1, 3)),
        # Block 1 again, but after a different block 0: nothing reusable.
        mooncake.Request(2, 2 * BLOCK, 1, (9, 1)),
        # All of it seen before, but the last token is always computed: one block of two.
        mooncake.Request(3, 2 * BLOCK, 1, (0, 1)),
    ]
    total = 2 * (2 * BLOCK + 100) + 2 * (2 * BLOCK)
    assert mooncake.reusable_fraction(requests) == pytest.approx(3 * BLOCK / total)
    assert mooncake.reusable_fraction([]) == 0.0


def test_generate_makes_valid_conversations() -> None:
    profile = mooncake.PROFILES["conversation"]
    requests = mooncake.generate(profile, 500, np.random.default_rng(1))
    assert len(requests) == 500
    assert requests == sorted(requests, key=lambda r: r.arrival_seconds)
    for r in requests:
        assert len(r.hash_ids) == math.ceil(r.input_length / BLOCK)
        assert r.hash_ids[0] == 0 and r.output_length >= 1
        assert BLOCK < r.input_length <= profile.max_input
    assert requests == mooncake.generate(profile, 500, np.random.default_rng(1))
    assert mooncake.generate(profile, 0, np.random.default_rng(1)) == []


def test_the_generator_reproduces_the_fitted_profile() -> None:
    profile = mooncake.PROFILES["conversation"]
    requests = mooncake.generate(profile, 6000, np.random.default_rng(7))
    fitted = mooncake.fit(requests)
    assert fitted.shared_prefix_blocks == profile.shared_prefix_blocks
    assert fitted.sessions_per_second == pytest.approx(profile.sessions_per_second, rel=0.15)
    assert fitted.turns[0] == pytest.approx(profile.turns[0], abs=0.1)
    for field in ("first_input", "growth", "gap_seconds", "output"):
        median = getattr(profile, field)[3]
        assert getattr(fitted, field)[3] == pytest.approx(median, rel=0.15), field
    # The conversation trace's unlimited-cache reuse is 37.3 % (module docstring).
    assert mooncake.reusable_fraction(requests) == pytest.approx(0.373, rel=0.25)


def test_fit_finds_turns_and_the_shared_prefix() -> None:
    requests = [
        mooncake.Request(0, 700, 3, (0, 1)),
        mooncake.Request(10, 1100, 5, (0, 1, 2)),  # the next turn of the first
        mooncake.Request(20, 1300, 7, (0, 4, 5)),  # only the shared block 0: a new session
        mooncake.Request(30, 900, 1, (0, 7)),
        mooncake.Request(50, 1600, 9, (0, 4, 5, 6)),
    ]
    fitted = mooncake.fit(requests)
    assert fitted.shared_prefix_blocks == 1
    assert fitted.turns[:3] == pytest.approx((1 / 3, 2 / 3, 0.0), abs=1e-3)
    assert fitted.gap_seconds[3] == pytest.approx(20.0)
    assert fitted.growth[3] == pytest.approx(350.0)
    assert fitted.sessions_per_second == pytest.approx(3 / 50)


@pytest.mark.skipif(not (ROOT / "mooncake").is_dir(), reason="no shared Mooncake traces here")
def test_the_conversation_profile_is_what_fit_finds_in_the_trace() -> None:
    trace = mooncake.load_named("conversation", ROOT)
    assert len(trace.requests) == 12031
    assert mooncake.fit(trace.requests) == mooncake.PROFILES["conversation"]
    assert mooncake.reusable_fraction(trace.requests) == pytest.approx(0.373, abs=0.001)


def test_named_traces(tmp_path: Path) -> None:
    synthetic = mooncake.load_named("synthetic-conversation", None, seed=3, count=50)
    assert len(synthetic.requests) == 50 and "seed 3" in synthetic.source
    assert mooncake.available(None) == [] and mooncake.available(tmp_path) == []
    with pytest.raises(LookupError, match="is not here"):
        mooncake.load_named("conversation", tmp_path)
    with pytest.raises(LookupError, match="unknown Mooncake trace"):
        mooncake.load_named("nothing", tmp_path)
    path = write(tmp_path, line())
    assert mooncake.load_named(str(path), None).requests == (mooncake.Request(0, 600, 5, (0, 1)),)
