"""Benchmark of the embedded SQLite store: write throughput, list latency and watch latency.

For each store size and each `synchronous` mode it builds a fresh store on disk and measures
  - batched apply: loading all objects through `apply` in batches (objects/s);
  - single creates and single updates (`patch` of one spec field), one transaction each;
    fewer of them than objects, so a run stays within minutes (each one costs an fsync);
  - list latency: the whole kind, and label-selected lists of different selectivity;
  - watch latency: from the start of a write in one thread to its event returned by
    `wait` + `events` in another (p50/p99).
Label selectors are also timed the other way the store could answer them (scan the kind's
labels column in Python, decode only matches), to show why the store uses the label index.

Writes `store.json` (all numbers) and `store.md` (a table) to `--out`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from k8s4ai.api import GangSchedulingGroup, selector
from k8s4ai.backends.sim import report
from k8s4ai.store import sqlite as sqlite_store
from k8s4ai.store import transitions

KIND = "GangSchedulingGroup"
NAMESPACES = 100
SELECTORS = {
    "team=t7": "5% match, label index",
    "app=a124,tier=batch": "0.1% match, label index",
    "tier!=batch": "50% match, no index (Python filter)",
}


def manifest(i: int, prefix: str = "job") -> GangSchedulingGroup:
    return GangSchedulingGroup.model_validate(
        {
            "kind": KIND,
            "metadata": {
                "name": f"{prefix}-{i}",
                "namespace": f"ns-{i % NAMESPACES}",
                "labels": {
                    "team": f"t{i % 20}",
                    "tier": "batch" if i % 2 == 0 else "serve",
                    "app": f"a{i % 1000}",
                },
            },
            "spec": {
                "queue": f"team-{i % 20}",
                "priority": i % 10,
                "podSets": [
                    {"name": "worker", "count": 1 + i % 8, "resources": {"gpus": 8, "cpu": "32"}}
                ],
            },
        }
    )


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    return round(statistics.median(timed(fn) for _ in range(repeats)) * 1000, 2)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def load(store: sqlite_store.SqliteStore, size: int, batch: int) -> float:
    """Objects/s loading `size` objects by batched apply."""
    elapsed = 0.0
    for start in range(0, size, batch):
        objs = [manifest(i) for i in range(start, min(size, start + batch))]
        elapsed += timed(lambda objs=objs: store.apply(objs))  # type: ignore[misc]
    return size / elapsed


def single_creates(store: sqlite_store.SqliteStore, count: int) -> float:
    objs = [manifest(i, prefix="single") for i in range(count)]
    elapsed = timed(lambda: [store.create(obj) for obj in objs])
    return count / elapsed


def single_updates(store: sqlite_store.SqliteStore, size: int, count: int) -> float:
    def run() -> None:
        for n in range(count):
            i = (n * 7919) % size
            store.patch(KIND, f"job-{i}", f"ns-{i % NAMESPACES}", {"spec": {"priority": 100 + n}})

    return count / timed(run)


def python_filtered_list(path: Path, text: str) -> list[Any]:
    """The alternative to the label index: read every labels column of the kind, filter in
    Python with the reference `Selector.matches`, decode only the matches."""
    sel = selector.parse(text)
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT labels, body FROM objects WHERE kind = ? ORDER BY namespace, name", (KIND,)
        ).fetchall()
    finally:
        conn.close()
    matching = (body for labels, body in rows if sel.matches(json.loads(labels)))
    return transitions.decode_all((KIND, body) for body in matching)


def watch_latency(store: sqlite_store.SqliteStore, size: int, writes: int) -> list[float]:
    """Seconds from the start of each write to its event in a watcher thread."""
    cursor = store.resource_version()
    seen: dict[int, float] = {}
    stop = threading.Event()

    def watcher() -> None:
        nonlocal cursor
        while not stop.is_set():
            store.wait(cursor, timeout=0.5)
            for event in store.events(cursor, kind=KIND):
                seen[event.resource_version] = time.perf_counter()
                cursor = event.resource_version

    thread = threading.Thread(target=watcher)
    thread.start()
    started: dict[int, float] = {}
    try:
        for n in range(writes):
            i = (n * 104_729) % size
            t0 = time.perf_counter()
            obj = store.patch(KIND, f"job-{i}", f"ns-{i % NAMESPACES}", {"spec": {"priority": -n}})
            assert obj.metadata.resource_version is not None
            started[int(obj.metadata.resource_version)] = t0
            time.sleep(0.002)  # measure one write's latency, not a backlog
        deadline = time.perf_counter() + 30
        while len(seen.keys() & started.keys()) < writes and time.perf_counter() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    return [seen[rv] - t0 for rv, t0 in started.items()]


def run_case(
    workdir: Path, size: int, synchronous: str, args: argparse.Namespace
) -> dict[str, Any]:
    path = workdir / f"store-{synchronous.lower()}-{size}.db"
    result: dict[str, Any] = {"objects": size, "synchronous": synchronous}
    print(f"-- {size} objects, synchronous={synchronous}", flush=True)
    with sqlite_store.SqliteStore(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
        result["apply_objects_per_s"] = round(load(store, size, args.batch))
        result["single_creates"] = args.single_writes
        result["create_objects_per_s"] = round(single_creates(store, args.single_writes))
        result["single_updates"] = args.single_writes
        result["update_objects_per_s"] = round(single_updates(store, size, args.single_writes))
        total = size + args.single_writes
        repeats = args.list_repeats
        listed = store.list(KIND)
        assert len(listed.items) == total, (len(listed.items), total)
        result["list_all_ms"] = median_ms(lambda: store.list(KIND), repeats)
        result["list_selected_ms"] = {}
        result["list_selected_items"] = {}
        result["list_selected_python_filter_ms"] = {}
        for text in SELECTORS:
            sel = selector.parse(text)
            count = len(store.list(KIND, label_selector=sel).items)
            assert count == len(python_filtered_list(path, text))
            result["list_selected_items"][text] = count
            result["list_selected_ms"][text] = median_ms(
                lambda sel=sel: store.list(KIND, label_selector=sel), repeats  # type: ignore[misc]
            )
            result["list_selected_python_filter_ms"][text] = median_ms(
                lambda text=text: python_filtered_list(path, text), repeats  # type: ignore[misc]
            )
        result["list_one_namespace_ms"] = median_ms(lambda: store.list(KIND, "ns-7"), repeats)
        latencies = watch_latency(store, size, args.watch_writes)
        result["watch_writes"] = len(latencies)
        result["watch_p50_ms"] = round(percentile(latencies, 50) * 1000, 2)
        result["watch_p99_ms"] = round(percentile(latencies, 99) * 1000, 2)
    result["db_bytes"] = sum(f.stat().st_size for f in workdir.glob(f"{path.name}*"))
    for f in workdir.glob(f"{path.name}*"):
        f.unlink()
    print(json.dumps(result), flush=True)
    return result


def machine() -> dict[str, Any]:
    return {**report.machine(), "sqlite": sqlite3.sqlite_version}


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Embedded store benchmark",
        "",
        f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu_model']}; Python {m['python']}, "
        f"SQLite {m['sqlite']}; {m['date']}.",
        "",
        f"Command: `{m['command']}`",
        "",
        "Writes: *apply* loads all objects by batched `apply` (batches of "
        f"{report['settings']['batch']}); *create* and *update* are single-object writes, one "
        f"transaction each, {report['settings']['single_writes']} of each on top of the loaded "
        "store (not one per object, to keep the run short). Lists are medians of "
        f"{report['settings']['list_repeats']} runs. Watch latency runs from the start of a "
        "`patch` in one thread to its event returned by `wait` + `events` in another, so it "
        "includes the commit (and, with FULL, its fsync).",
        "",
        "| sync | objects | apply obj/s | create obj/s | update obj/s | list all ms | "
        + " | ".join(f"`{s}` ms" for s in SELECTORS)
        + " | list 1 ns ms | watch p50 ms | watch p99 ms |",
        "|" + "---|" * (9 + len(SELECTORS)),
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['synchronous']} | {r['objects']:,} | {r['apply_objects_per_s']:,} | "
            f"{r['create_objects_per_s']:,} | {r['update_objects_per_s']:,} | "
            f"{r['list_all_ms']} | "
            + " | ".join(
                f"{r['list_selected_ms'][s]} ({r['list_selected_items'][s]:,})" for s in SELECTORS
            )
            + f" | {r['list_one_namespace_ms']} | {r['watch_p50_ms']} | {r['watch_p99_ms']} |"
        )
    lines += [
        "",
        "Selectors (matching items in brackets): "
        + "; ".join(f"`{s}`: {why}" for s, why in SELECTORS.items())
        + ".",
        "",
        "Label-selected list answered by a Python scan of the labels column instead of the "
        "label index (ms):",
        "",
        "| sync | objects | " + " | ".join(f"`{s}`" for s in SELECTORS) + " |",
        "|" + "---|" * (2 + len(SELECTORS)),
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['synchronous']} | {r['objects']:,} | "
            + " | ".join(str(r["list_selected_python_filter_ms"][s]) for s in SELECTORS)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="store sizes, comma-separated")
    parser.add_argument("--modes", default="FULL,NORMAL", help="synchronous modes to compare")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--workdir", type=Path, default=None, help="where the stores are built")
    parser.add_argument("--batch", type=int, default=1000, help="objects per apply")
    parser.add_argument("--single-writes", type=int, default=1000)
    parser.add_argument("--watch-writes", type=int, default=300)
    parser.add_argument("--list-repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a tiny run to check the script")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.single_writes, args.watch_writes, args.list_repeats = "1000", 50, 30, 2
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = [m.strip().upper() for m in args.modes.split(",")]

    results = []
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="k8s4ai-bench-") as tmp:
        for size in sizes:
            for mode in modes:
                results.append(run_case(Path(tmp), size, mode, args))
    report = {
        "machine": machine(),
        "settings": {
            "batch": args.batch,
            "single_writes": args.single_writes,
            "watch_writes": args.watch_writes,
            "list_repeats": args.list_repeats,
        },
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "store.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "store.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
