"""One error shape for the files FinOps reads: which file, where in it, and what is wrong."""

from __future__ import annotations

from pathlib import Path


class FileError(ValueError):
    def __init__(self, path: Path, where: str, reason: str) -> None:
        super().__init__(f"{path}: {where}: {reason}")
        self.path, self.where, self.reason = path, where, reason
