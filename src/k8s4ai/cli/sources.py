"""Where manifests come from: files, directories (their *.yaml, *.yml and *.json, sorted,
recursively) and `-` for standard input."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class SourceError(Exception):
    pass


def read(paths: Sequence[str], stdin: TextIO | None = None) -> list[tuple[str, str]]:
    """(name, text) for every manifest file the paths name, in a stable order."""
    out: list[tuple[str, str]] = []
    for raw in paths:
        if raw == "-":
            if stdin is None:
                raise SourceError("-: standard input is not available here")
            out.append(("<stdin>", stdin.read()))
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES
            )
            if not files:
                raise SourceError(f"{raw}: no {', '.join(MANIFEST_SUFFIXES)} files in directory")
        elif path.is_file():
            files = [path]
        else:
            raise SourceError(f"{raw}: no such file or directory")
        for file in files:
            try:
                out.append((str(file), file.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as err:
                raise SourceError(f"{file}: cannot read: {err}") from err
    return out
