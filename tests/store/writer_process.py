"""A second process writing to a store, for the cross-process and crash tests.

Usage: python writer_process.py DB PREFIX COUNT [SYNCHRONOUS]
Creates queues PREFIX-0 .. PREFIX-{COUNT-1} one by one and prints `name rv` after each
commit, so every printed line is an acknowledged write.
"""

from __future__ import annotations

import sys

from k8s4ai.api import Queue
from k8s4ai.store import sqlite


def main(db: str, prefix: str, count: int, synchronous: str = "FULL") -> None:
    assert synchronous in ("FULL", "NORMAL")
    with sqlite.SqliteStore(db, synchronous=synchronous) as store:  # type: ignore[arg-type]
        print("ready", flush=True)
        for i in range(count):
            name = f"{prefix}-{i}"
            created = store.create(
                Queue.model_validate({"kind": "Queue", "metadata": {"name": name}, "spec": {}})
            )
            print(name, created.metadata.resource_version, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
