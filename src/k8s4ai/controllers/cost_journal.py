"""The cost ledger's two files, whichever backend feeds it: `<name>.ledger.jsonl`, append-only,
one closed segment per line in the `finops.records` JSON record format (plus the series key),
each batch one `write` on an append-mode descriptor and fsynced; and `<name>.ledger-open.json`,
the segments open at the last pass, when that pass ran and since when this journal has
watched, replaced atomically. A crash costs at most a half-written last line (dropped on the
next read) and the time since the open segments were last written."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from k8s4ai.controllers import cost_ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OpenState:
    segments: tuple[cost_ledger.Record, ...] = ()
    seen: float = 0.0
    """When the process that wrote them last saw them open (0: never)."""
    since: float | None = None
    """When this journal first watched (None: unknown, a journal older than the field)."""


class Journal:
    def __init__(self, folder: Path, name: str) -> None:
        """Nothing is created until something is written (a report only reads)."""
        self.folder = folder
        self.closed_path = folder / f"{name}.ledger.jsonl"
        self.open_path = folder / f"{name}.ledger-open.json"

    def read_closed(self, repair: bool = False) -> list[cost_ledger.Record]:
        """Every closed segment; a last line cut short (by a crash, or being written now) is
        dropped, and with `repair` (only the writer may) cut from the file, so the next
        append starts on a fresh line."""
        try:
            data = self.closed_path.read_bytes()
        except FileNotFoundError:
            return []
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data) and repair:
            log.warning("%s: dropping a half-written last line", self.closed_path)
            with self.closed_path.open("r+b") as f:
                f.truncate(len(whole))
        out = []
        for number, line in enumerate(whole.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(cost_ledger.Record.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as err:
                log.warning("%s line %d is not a segment (%s); skipped", self.closed_path,
                            number, err)
        return out

    def append(self, segments: Sequence[cost_ledger.Record]) -> None:
        if not segments:
            return
        text = "".join(json.dumps(s.to_json(), sort_keys=True) + "\n" for s in segments)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.closed_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_open(self) -> OpenState:
        try:
            data = json.loads(self.open_path.read_text(encoding="utf-8"))
            segments = tuple(cost_ledger.Record.from_json(r) for r in data["open"])
            since = data.get("since")
            return OpenState(segments, float(data["seen"]), None if since is None else float(since))
        except FileNotFoundError:
            return OpenState()
        except (ValueError, KeyError, TypeError) as err:
            log.warning("%s is unreadable (%s); open segments start afresh", self.open_path, err)
            return OpenState()

    def write_open(
        self, segments: Sequence[cost_ledger.Record], seen: float, since: float | None = None
    ) -> None:
        state = {"seen": seen, "open": [s.to_json() for s in segments]}
        if since is not None:
            state["since"] = since
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.open_path.with_suffix(".json.partial")
        with partial.open("w", encoding="utf-8") as f:
            f.write(json.dumps(state))
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.open_path)
