"""A model's total cost of ownership: what it took to train it, to keep it and to serve it.

Which ledger rows are the model's is decided by labels the ledger already carries:

- A row is the model's if its `model` label names it, or if it has no `model` label and its
  `experiment` label names an experiment that some row of the model has: a sweep's rows that
  were never told which model they train are still part of training it. An experiment naming
  several models charges such rows to each, so the TCOs of models sharing an experiment overlap
  (a TCO is what one model took, not a share of the bill).
- Storage (rows of a storage class) is counted per volume (its `volume` label). A volume is
  the model's if any row naming it, asset or mount, is; it costs what its asset rows cost in
  the window, since a checkpoint costs while it is on disk, mounted or not, or what its mounts
  cost when the ledger has no asset for it. A storage allocation of the model with no `volume`
  label costs what it held; other assets (nodes, unnamed storage pools) are the bill, not the
  model's. Lines are per volume and its `purpose` label (checkpoints, dataset).
- Serving is the model's other allocations with an `inference-service` label (the
  InferenceService whose replicas held them), per service; a replica's GPUs are one row, so
  the hours of the GPU rows are replica-hours.
- Training is the model's remaining allocations, per `experiment` and `job`, with their
  GPU-hours.

Pricing, clipping to the window and rounding are `allocation.allocate`'s: the model's rows are
allocated against themselves as assets, one line each, so every line is rounded once, per
resource kind, by the largest remainder (`money`), and the lines sum to the total exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from k8s4ai.finops import allocation, ledger, pricing

MODEL = "model"
EXPERIMENT = "experiment"
JOB = "job"
SERVICE = "inference-service"
VOLUME = "volume"
PURPOSE = "purpose"
_LINE = "tco-line"
_SECONDS_PER_MONTH = pricing.HOURS_PER_MONTH * pricing.SECONDS_PER_HOUR


_Rows = tuple[ledger.Intervals, NDArray[np.bool_], NDArray[np.int64]]
"""A table, the rows of it chosen, and the line of each chosen row."""


class Part(StrEnum):
    TRAINING = "training"
    STORAGE = "storage"
    SERVING = "serving"


KEYS: Mapping[Part, tuple[str, ...]] = {
    Part.TRAINING: (EXPERIMENT, JOB),
    Part.STORAGE: (VOLUME, PURPOSE),
    Part.SERVING: (SERVICE,),
}
"""The labels each part's lines are keyed by; a missing one reads `__unallocated__`."""
USAGE: Mapping[Part, str] = {
    Part.TRAINING: "GPU-h",
    Part.STORAGE: "GB-month",
    Part.SERVING: "replica-h",
}


@dataclass(frozen=True, slots=True)
class Line:
    part: Part
    key: tuple[str, ...]
    cents: tuple[int, ...]
    """Per resource kind, in the order of `allocation.KINDS`."""
    usage: float
    """Inside the window, in the part's `USAGE` unit."""

    @property
    def total(self) -> int:
        return sum(self.cents)


@dataclass(frozen=True, slots=True)
class Report:
    model: str
    window: allocation.Window
    lines: tuple[Line, ...]
    """Training, storage, serving; most expensive first within each."""
    tokens: int | None = None
    """Tokens the model served in the window, where known."""

    def part(self, part: Part) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.part is part)

    def cost(self, part: Part) -> int:
        return sum(line.total for line in self.part(part))

    def by_kind(self, part: Part | None = None) -> tuple[int, ...]:
        """Cents per resource kind (`allocation.KINDS`) of one part, or of everything."""
        chosen = self.lines if part is None else self.part(part)
        return tuple(sum(column) for column in zip(*(line.cents for line in chosen),
                                                    strict=True)) or (0,) * len(allocation.KINDS)

    def usage(self, part: Part) -> float:
        return sum(line.usage for line in self.part(part))

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    def experiments(self) -> dict[str, int]:
        """Training cents per experiment, summed over its jobs."""
        found: dict[str, int] = {}
        for line in self.part(Part.TRAINING):
            found[line.key[0]] = found.get(line.key[0], 0) + line.total
        return found

    @property
    def serving_per_million(self) -> float | None:
        """Dollars of serving per million tokens served, from the rounded cents."""
        return self._per_million(self.cost(Part.SERVING))

    @property
    def total_per_million(self) -> float | None:
        """Dollars of the whole TCO per million tokens served, from the rounded cents."""
        return self._per_million(self.total)

    def _per_million(self, cents: int) -> float | None:
        """None also when the ledger has no serving for the model: the tokens were served by
        something it does not cost, and dividing by them would understate the cost."""
        if not self.tokens or not self.part(Part.SERVING):
            return None
        return cents / 100 / self.tokens * 1e6


def models(book: ledger.Ledger) -> tuple[str, ...]:
    """Every model some row of the ledger names."""
    return tuple(sorted({*book.allocations.label_values(MODEL),
                         *book.assets.label_values(MODEL)}))


def tco(
    book: ledger.Ledger,
    prices: pricing.PriceBook,
    window: allocation.Window,
    model: str,
    tokens: int | None = None,
) -> Report:
    """The model's training, storage and serving cost over the window (module docstring)."""
    if tokens is not None and tokens < 0:
        raise ValueError(f"tokens served cannot be negative: {tokens}")
    held, assets = book.allocations, book.assets
    experiments = _values(held, EXPERIMENT, _is(held, MODEL, model)) | _values(
        assets, EXPERIMENT, _is(assets, MODEL, model)
    )
    mine_held = _owned(held, model, experiments)
    mine_assets = _owned(assets, model, experiments)
    storage_held, storage_assets = _storage(held), _storage(assets)
    volumes = _values(held, VOLUME, mine_held & storage_held) | _values(
        assets, VOLUME, mine_assets & storage_assets
    )
    on_disk = _values(assets, VOLUME, storage_assets)
    unnamed = held.label_codes(VOLUME) < 0
    serving = mine_held & ~storage_held & (held.label_codes(SERVICE) >= 0)
    chosen = (
        (Part.TRAINING, held, mine_held & ~storage_held & ~serving),
        (Part.SERVING, held, serving),
        (Part.STORAGE, assets, storage_assets & _is_any(assets, VOLUME, volumes)),
        (Part.STORAGE, held, storage_held & (
            _is_any(held, VOLUME, volumes - on_disk) | (mine_held & unnamed))),
    )
    keys: dict[tuple[Part, tuple[str, ...]], int] = {}
    rows = [(table, mask, _line_ids(table, mask, part, keys)) for part, table, mask in chosen]
    return Report(model, window, _priced_lines(rows, keys, prices, window), tokens)


def _priced_lines(
    rows: list[_Rows],
    keys: dict[tuple[Part, tuple[str, ...]], int],
    prices: pricing.PriceBook,
    window: allocation.Window,
) -> tuple[Line, ...]:
    """Each line's cents and usage; a line none of whose rows overlaps the window is left
    out, as `allocate` leaves it out. Idle is shared back so that float noise between the rows
    as allocations and as assets cannot take a cent from the lines."""
    rates = tuple(dict.fromkeys(r for table, _, _ in rows for r in table.rates))
    line = np.concatenate([ids for _, _, ids in rows])
    subset = ledger.Intervals(
        start=np.concatenate([t.start[m] for t, m, _ in rows]),
        end=np.concatenate([t.end[m] for t, m, _ in rows]),
        rate=np.concatenate([_recoded(t, rates)[t.rate[m]] for t, m, _ in rows]),
        amount=np.concatenate([t.amount[m] for t, m, _ in rows]),
        rates=rates,
        codes={_LINE: line.astype(np.int32)},
        values={_LINE: tuple(str(i) for i in range(len(keys)))},
    )
    report = allocation.allocate(
        ledger.Ledger(subset, subset), prices, window, (_LINE,), share_idle=True
    )
    usage = _usage(subset, line, rates, keys, window)
    priced = {int(x.key[0]): x.cents for x in report.lines if x.key[0] != allocation.IDLE}
    found = [
        Line(part, key, priced[i], float(usage[i]))
        for (part, key), i in keys.items()
        if i in priced
    ]
    order = list(Part)
    return tuple(sorted(found, key=lambda x: (order.index(x.part), -x.total, x.key)))


def _usage(
    rows: ledger.Intervals,
    line: NDArray[np.int64],
    rates: tuple[pricing.RateKey, ...],
    keys: dict[tuple[Part, tuple[str, ...]], int],
    window: allocation.Window,
) -> NDArray[np.float64]:
    """GPU-hours, GB-months or replica-hours per line, inside the window."""
    seconds = np.clip(rows.end, window.start, window.end) - np.clip(
        rows.start, window.start, window.end
    )
    gpu = np.array([r.kind is pricing.ResourceKind.GPU for r in rates], dtype=bool)[rows.rate]
    disk = np.array([r.kind is pricing.ResourceKind.STORAGE for r in rates], dtype=bool)[
        rows.rate
    ]
    number = {p: i for i, p in enumerate(Part)}
    part = np.array([number[p] for p, _ in keys], dtype=np.int64)[line]
    per_part = {
        Part.TRAINING: gpu * rows.amount * seconds / pricing.SECONDS_PER_HOUR,
        Part.STORAGE: disk * rows.amount * seconds / _SECONDS_PER_MONTH,
        Part.SERVING: gpu * seconds / pricing.SECONDS_PER_HOUR,
    }
    weight = np.select([part == i for i in range(len(Part))], [per_part[p] for p in Part])
    return np.bincount(line, weights=weight, minlength=len(keys)).astype(np.float64)


def _line_ids(
    table: ledger.Intervals,
    chosen: NDArray[np.bool_],
    part: Part,
    keys: dict[tuple[Part, tuple[str, ...]], int],
) -> NDArray[np.int64]:
    """The line of each chosen row, registering new (part, key) lines in `keys`."""
    names = KEYS[part]
    vocabularies = [(*table.label_values(n), allocation.UNALLOCATED) for n in names]
    number = np.zeros(int(chosen.sum()), dtype=np.int64)
    for name, vocabulary in zip(names, vocabularies, strict=True):
        codes = table.label_codes(name)[chosen].astype(np.int64)
        number = number * len(vocabulary) + np.where(codes < 0, len(vocabulary) - 1, codes)
    distinct, inverse = np.unique(number, return_inverse=True)
    ids = np.empty(len(distinct), dtype=np.int64)
    for i, parts in enumerate(zip(*np.unravel_index(distinct, [len(v) for v in vocabularies]),
                                  strict=True)):
        key = tuple(v[int(c)] for v, c in zip(vocabularies, parts, strict=True))
        ids[i] = keys.setdefault((part, key), len(keys))
    return ids[inverse.reshape(-1)]


def _recoded(table: ledger.Intervals, rates: tuple[pricing.RateKey, ...]) -> NDArray[np.int32]:
    """The table's rate codes as indices into `rates`."""
    return np.array([rates.index(r) for r in table.rates], dtype=np.int32)


def _owned(table: ledger.Intervals, model: str, experiments: set[str]) -> NDArray[np.bool_]:
    untagged = table.label_codes(MODEL) < 0
    return _is(table, MODEL, model) | (untagged & _is_any(table, EXPERIMENT, experiments))


def _is(table: ledger.Intervals, label: str, value: str) -> NDArray[np.bool_]:
    return _is_any(table, label, {value})


def _is_any(table: ledger.Intervals, label: str, values: set[str]) -> NDArray[np.bool_]:
    wanted = [i for i, v in enumerate(table.label_values(label)) if v in values]
    return np.isin(table.label_codes(label), wanted)


def _values(table: ledger.Intervals, label: str, chosen: NDArray[np.bool_]) -> set[str]:
    vocabulary = table.label_values(label)
    codes = np.unique(table.label_codes(label)[chosen])
    return {vocabulary[c] for c in codes if c >= 0}


def _storage(table: ledger.Intervals) -> NDArray[np.bool_]:
    kinds = [i for i, r in enumerate(table.rates) if r.kind is pricing.ResourceKind.STORAGE]
    return np.isin(table.rate, kinds)
