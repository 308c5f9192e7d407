"""Reading CSV traces so that every problem names the file, line and column.

Public traces are large files written by others, so a bad cell far down must be reported where
it is (`path: line 12: column gpu_milli: '1.5': ...`), not as a bare `ValueError` from `int()`.
The loaders (`openb`, `jobs`, `dlrm`) share this module rather than each keeping a copy.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class TraceError(ValueError):
    """A malformed trace file; the message names the file, line and column."""


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its 1-based number among the data rows, its line in the file, its cells."""

    path: Path
    number: int
    line: int
    cells: dict[str, str]

    def field(self, column: str, parse: Callable[[str], T]) -> T:
        """The cell parsed by `parse`, whose `ValueError` becomes a `TraceError` saying where."""
        raw = self.cells.get(column)
        try:
            if raw is None:
                raise ValueError("the row has too few columns")
            return parse(raw)
        except ValueError as err:
            raise TraceError(
                f"{self.path}: line {self.line}: column {column}: {raw!r}: {err}"
            ) from None

    def error(self, column: str, message: str) -> TraceError:
        """A problem that spans cells (e.g. a deletion before its creation), placed at `column`."""
        return TraceError(f"{self.path}: line {self.line}: column {column}: {message}")


@contextlib.contextmanager
def reader(path: Path) -> Iterator[csv.DictReader[str]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise TraceError(f"{path}: cannot read: {err.strerror}") from None
    with handle:
        yield csv.DictReader(handle)


def header(path: Path) -> list[str]:
    with reader(path) as rows:
        return list(rows.fieldnames or [])


def rows(path: Path, required: tuple[str, ...], expected: str | None = None) -> Iterator[Row]:
    """The data rows of `path`, once its header is known to have the `required` columns;
    `expected` says what a right header looks like (default: the required columns)."""
    with reader(path) as table:
        found = table.fieldnames or []
        missing = [c for c in required if c not in found]
        if missing:
            raise TraceError(
                f"{path}: line 1: missing column(s) {', '.join(missing)} "
                f"({expected or 'expected ' + ','.join(required)})"
            )
        for number, cells in enumerate(table, start=1):
            yield Row(path, number, table.line_num, cells)


def count(raw: str) -> int:
    """A whole number of things (GPUs, milli-CPUs, MiB): an integer, not negative."""
    value = int(raw)
    if value < 0:
        raise ValueError("cannot be negative")
    return value
