"""The FGD authors' own results (`analysis_allo_discrete.csv` from their simulator's
repository), read rather than copied into our code, so a comparison always shows exactly what
they published."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

COLUMNS = ("workload", "sc_policy")


class PublishedError(ValueError):
    """The results file is missing or not in the expected shape; the message names it."""


def policy_name(sc_policy: str) -> str:
    """Their directory names (`06-FGD`, `03-GpuClustering`) → our registry names."""
    return sc_policy.split("-", 1)[-1].lower()


def mean_allocation(path: Path, arrived: int = 130) -> dict[tuple[str, str], float]:
    """(workload, policy) → allocation % at `arrived` % load, averaged over their seeds."""
    column = str(arrived)
    values: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in (*COLUMNS, column) if c not in (reader.fieldnames or [])]
            if missing:
                raise PublishedError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
            for row in reader:
                raw = row[column]
                try:
                    value = float(raw)
                except (TypeError, ValueError):
                    raise PublishedError(
                        f"{path}: line {reader.line_num}: column {column}: {raw!r} is not a number"
                    ) from None
                values[(row["workload"], policy_name(row["sc_policy"]))].append(value)
    except OSError as err:
        raise PublishedError(f"{path}: cannot read: {err.strerror}") from None
    return {key: statistics.fmean(v) for key, v in values.items()}
