"""Benchmark: the dashboard's first render per view, and the latency of the API calls each view
makes, on a large store (issue 9: 1,000 nodes, 8,000 GPUs, 10,000 jobs; first render < 1 s,
API p95 < 100 ms).

Store: `--nodes` nodes of 8 H100 in racks of 8, `--queues` queues in one cohort whose nominal
GPU quotas (lognormal shares, seeded) sum to the cluster, and `--jobs` gangs whose GPU counts
come from the built-in job generator (`--profile`): a job of N ≤ 8 GPUs is one pod of N, a
larger one ⌈N/8⌉ pods of 8. Each job's queue is drawn in proportion to the queues' quotas.
The objects go into the store by batched `apply`; then one pass of the real admission
controller and one of the inventory controller write the statuses (admitted gangs with their
nodes, pending ones with a reason, queue usage, node and class allocation) and their Events,
as `k8s4ai up` would. The controllers are not running while we measure.

Server: the API server with the cost ledger as `k8s4ai up` runs it, in its own process (so the
client here does not share its interpreter), with bearer tokens.

Browser (headless Chromium through Playwright): for each view, `--renders` times, a fresh
browsing context (cold cache, signed in by restoring the sessionStorage a first sign-in left)
opens the view's address; first render is from navigation start to the view's root section
getting `data-ready="true"` (the dashboard contract). The API requests the page sent before
that moment are the view's calls; each distinct one is then replayed `--repeats` times
(sequentially, one keep-alive client, at most `--budget` seconds per call) to get its p95.
Watch streams are counted, not timed.

The store holds still while the calls above are replayed, so answers a server keeps per
version of the store are reused. A living cluster writes all the time, so each call is also
timed right after a write: `--after-writes` times, a label of one admitted job is changed
through the API, then the call is made once (its p95 is "after a write").

Writes `dashboard.json` and `dashboard.md` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import TimeoutError as NotReady

from k8s4ai.api import gang, registry
from k8s4ai.backends.sim import report
from k8s4ai.controllers import admission, cost_controller, runner
from k8s4ai.server import auth, run, watch_cache
from k8s4ai.store import interface, sqlite
from k8s4ai.testing import builders
from k8s4ai.traces import synthetic_jobs

ROOT = Path(__file__).resolve().parents[1]
GPUS_PER_NODE = 8
NODES_PER_RACK = 8
RENDER_TARGET_MS = 1000.0
API_P95_TARGET_MS = 100.0
RENDER_TIMEOUT_MS = 60_000
BATCH = 1000
READY = 'main#view section[data-view="%s"][data-ready="true"]'

READY_SCRIPT = """(([view, saved]) => {
  for (const [k, v] of Object.entries(saved)) {
    if (sessionStorage.getItem(k) === null) sessionStorage.setItem(k, v);
  }
  window.__readyAt = null;
  const ready = `main#view section[data-view="${view}"][data-ready="true"]`;
  const check = () => {
    if (window.__readyAt === null && document.querySelector(ready)) {
      window.__readyAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-ready"],
  });
})(%s);"""


def manifests(args: argparse.Namespace, rng: np.random.Generator) -> list[dict[str, Any]]:
    gpus = args.nodes * GPUS_PER_NODE
    out = [
        builders.accelerator_class("h100", pricePerHour=2.99),
        builders.topology(),
    ]
    out += [
        builders.node(f"node-{i:05d}", "h100", GPUS_PER_NODE, f"r{i // NODES_PER_RACK:03d}")
        for i in range(args.nodes)
    ]
    shares = rng.lognormal(0.0, 0.5, args.queues)
    nominal = np.floor(shares / shares.sum() * gpus / GPUS_PER_NODE) * GPUS_PER_NODE
    nominal[-1] += gpus - nominal.sum()
    names = [f"team-{q:02d}" for q in range(args.queues)]
    out += [builders.queue(n, int(g), "h100", "all") for n, g in zip(names, nominal, strict=True)]
    records = [r for r in synthetic_jobs.generate(args.profile, args.jobs, rng) if r.gpus <= gpus]
    queue_of = rng.choice(args.queues, size=len(records), p=nominal / nominal.sum())
    project_of = rng.integers(0, 50, size=len(records))
    for i, (r, q, p) in enumerate(zip(records, queue_of, project_of, strict=True)):
        pods = math.ceil(r.gpus / GPUS_PER_NODE)
        per_pod = r.gpus if pods == 1 else GPUS_PER_NODE
        job = builders.gang(f"job-{i:05d}", names[q]).queue(names[q]).count(pods)
        out.append(job.gpus(per_pod, "h100").labels(team=names[q], project=f"p{p:02d}").build())
    return out


def fill(db: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The store the server will serve, and what is in it."""
    rng = np.random.default_rng(args.seed)
    objs = [registry.by_kind(m["kind"]).model_validate(m) for m in manifests(args, rng)]
    started = time.perf_counter()
    with sqlite.SqliteStore(db, synchronous="NORMAL") as store:
        for start in range(0, len(objs), BATCH):
            store.apply(objs[start : start + BATCH])
        admission.AdmissionController(store, seed=args.seed).run_once()
        runner.InventoryController(store, admission=True).run_once()
        jobs = [j for j in store.list("GangSchedulingGroup").items
                if isinstance(j, gang.GangSchedulingGroup)]  # fmt: skip
        holding = [j for j in jobs if j.status.phase in ("Admitted", "Running")]
        events = len(store.list("Event").items)
    return {
        "nodes": args.nodes,
        "gpus": args.nodes * GPUS_PER_NODE,
        "queues": args.queues,
        "jobs": len(jobs),
        "jobs_admitted": len(holding),
        "gpus_allocated": sum(j.spec.total_gpus() for j in holding),
        "events": events,
        "fill_seconds": round(time.perf_counter() - started, 1),
        "first": {"queue": "team-00", "job": min((j.key[1:] for j in holding), default=None)},
    }


def serve(db: Path, token_file: Path, cost_lists: str) -> None:
    """The child process: the API server and cost ledger over `db`, as `k8s4ai up` has them
    (with `cost_lists="cache"`, the cost controller lists objects from a watch cache)."""
    store = sqlite.SqliteStore(db)
    source: interface.Store = store
    cache = watch_cache.WatchCache(store)
    if cost_lists == "cache":
        source = watch_cache.CachedLists(store, cache)
    costs = cost_controller.CostController(source, db.parent, db.stem)
    try:
        run.serve(
            store, port=0, tokens=auth.load_token_file(token_file), log_level="warning",
            cost=costs.view, on_ready=lambda url: print(f"serving {url}", flush=True),
            cache=cache,
        )  # fmt: skip
    finally:
        store.close()


@contextmanager
def server(db: Path, cost_lists: str) -> Iterator[tuple[str, str, str]]:
    tokens = auth.generate_token_file(db.parent / "tokens.csv")
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(db), str(tokens.path), cost_lists],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("serving "):
            raise RuntimeError(f"the server did not start: {line!r}")
        yield line.split()[1], tokens.read, tokens.write
    finally:
        child.terminate()
        child.wait(timeout=30)


def routes(first: dict[str, Any]) -> list[tuple[str, str]]:
    """(view, address) for every view, the drill-down ones on the first queue and job."""
    out = [("overview", "#/overview"), ("cluster", "#/cluster"), ("queues", "#/queues"),
           ("queue", f"#/queues/{first['queue']}"), ("jobs", "#/jobs")]  # fmt: skip
    if first["job"] is not None:
        namespace, name = first["job"]
        out.append(("job", f"#/jobs/{namespace}/{name}"))
    return [*out, ("inference", "#/inference"), ("storage", "#/storage"), ("cost", "#/cost")]


def sign_in(browser: Browser, url: str, token: str) -> dict[str, str]:
    """What the dashboard keeps in sessionStorage once signed in by its link."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{url}/ui/#token={token}")
        page.wait_for_selector(READY % "overview", timeout=RENDER_TIMEOUT_MS)
        saved: dict[str, str] = page.evaluate(
            "() => Object.fromEntries(Object.entries(sessionStorage))"
        )
    finally:
        context.close()
    if not saved:
        raise RuntimeError("the dashboard kept nothing in sessionStorage after signing in")
    return saved


def is_api(address: str) -> bool:
    return urlsplit(address).path.startswith(("/api/", "/apis/", "/metrics"))


def render(
    browser: Browser, url: str, view: str, route: str, saved: dict[str, str]
) -> dict[str, Any]:
    """One cold first render: milliseconds to ready, the API calls sent before, errors."""
    context = browser.new_context()
    context.add_init_script(READY_SCRIPT % json.dumps([view, saved]))
    calls: list[str] = []
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda r: calls.append(r.url) if is_api(r.url) else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(e.message))
        page.goto(f"{url}/ui/{route}", wait_until="commit")
        try:
            page.wait_for_selector(READY % view, timeout=RENDER_TIMEOUT_MS)
            ms: float | None = page.evaluate("() => window.__readyAt")
        except NotReady as err:  # a view that never renders is a result too
            ms, errors = None, [*errors, f"not ready: {str(err).splitlines()[0]}"]
        sent = list(calls)
    finally:
        context.close()
    return {"ms": ms, "calls": sent, "errors": errors}


def replay(client: httpx.Client, address: str, repeats: int, budget: float) -> dict[str, Any]:
    seconds: list[float] = []
    size = 0
    began = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = client.get(address)
        seconds.append(time.perf_counter() - t0)
        size = len(response.content)
        if response.status_code >= 400 or time.perf_counter() - began > budget:
            break
    ms = np.array(seconds) * 1000
    return {
        "samples": len(seconds), "status": response.status_code, "bytes": size,
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "max_ms": round(float(ms.max()), 1),
    }  # fmt: skip


def after_writes(
    reader: httpx.Client, writer: httpx.Client, address: str, job: str, args: argparse.Namespace
) -> dict[str, Any]:
    """The call timed right after each of `args.after_writes` writes to one job."""
    seconds: list[float] = []
    began = time.perf_counter()
    for i in range(args.after_writes):
        patched = writer.patch(job, content=json.dumps({"metadata": {"labels": {
            "bench-touch": str(i)}}}), headers={"Content-Type": "application/merge-patch+json"})
        patched.raise_for_status()
        t0 = time.perf_counter()
        reader.get(address)
        seconds.append(time.perf_counter() - t0)
        if time.perf_counter() - began > args.budget:
            break
    ms = np.array(seconds) * 1000
    return {"after_write_samples": len(seconds),
            "after_write_p95_ms": round(float(np.percentile(ms, 95)), 1)}  # fmt: skip


def measure(
    args: argparse.Namespace, url: str, token: str, write_token: str, first: dict[str, Any]
) -> list[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        sys.exit("error: chromium is missing; run scripts/install-browser.sh")
    views = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            saved = sign_in(browser, url, token)
            for view, route in routes(first):
                renders = [render(browser, url, view, route, saved) for _ in range(args.renders)]
                print(f"{view}: {[r['ms'] for r in renders]} ms", file=sys.stderr, flush=True)
                views.append({"view": view, "route": route, "renders": renders})
        finally:
            browser.close()
    headers = {"Authorization": f"Bearer {token}"}
    timed: dict[str, dict[str, Any]] = {}
    job = None
    if first["job"] is not None:
        namespace, name = first["job"]
        job = f"{url}/apis/k8s4ai.io/v1alpha1/namespaces/{namespace}/gangschedulinggroups/{name}"
    with (
        httpx.Client(headers=headers, timeout=120) as client,
        httpx.Client(headers={"Authorization": f"Bearer {write_token}"}, timeout=120) as writer,
    ):
        for v in views:
            v["api"] = sorted({c for r in v["renders"] for c in r["calls"] if "watch=" not in c})
            v["watches"] = max(sum("watch=" in c for c in r["calls"]) for r in v["renders"])
            for address in v["api"]:
                if address not in timed:
                    timed[address] = replay(client, address, args.repeats, args.budget)
                    print(f"  {address}: {timed[address]}", file=sys.stderr, flush=True)
        for address, found in timed.items():
            if job is not None and args.after_writes:
                found.update(after_writes(client, writer, address, job, args))
                print(f"  after writes {address}: {found}", file=sys.stderr, flush=True)
    for v in views:
        v["calls"] = {a: timed[a] for a in v["api"]}
        done = [r["ms"] for r in v["renders"] if r["ms"] is not None]
        v["render_median_ms"] = round(float(np.median(done)), 1) if done else None
        v["render_max_ms"] = round(max(done), 1) if len(done) == len(v["renders"]) else None
        v["api_p95_ms"] = max((c["p95_ms"] for c in v["calls"].values()), default=None)
        v["after_write_p95_ms"] = max(
            (c.get("after_write_p95_ms", 0.0) for c in v["calls"].values()), default=None
        )
        v["errors"] = sorted({e for r in v["renders"] for e in r["errors"]})
        for r in v["renders"]:
            del r["calls"]
    return views


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "NOT met (did not render)"
    return "met" if value < target else "**NOT met**"


def markdown(document: dict[str, Any]) -> str:
    m, s, store = document["machine"], document["settings"], document["store"]
    lines = [
        "# Dashboard: first render and API latency per view",
        "",
        report.machine_line(m) + f" {m['chromium']}.",
        "",
        f"Command: `{m['command']}` at revision {m['revision']}. The cost controller lists "
        f"objects from the {'watch cache' if s['cost_lists'] == 'cache' else 'store'}.",
        "",
        f"Store: {store['nodes']:,} nodes × {GPUS_PER_NODE} H100 = {store['gpus']:,} GPUs, "
        f"{store['queues']} queues, {store['jobs']:,} jobs from the `{s['profile']}` generator "
        f"(seed {s['seed']}), of which {store['jobs_admitted']:,} admitted holding "
        f"{store['gpus_allocated']:,.0f} GPUs after one admission pass; {store['events']:,} "
        f"Events. Filled in {store['fill_seconds']} s. Load average {m['load_average_before']} "
        f"before the run, {m['load_average_after']} after.",
        "",
        f"First render: median (worst) of {s['renders']} cold loads, navigation start → "
        f'`data-ready="true"`; target < {RENDER_TARGET_MS:.0f} ms. API p95: the slowest of '
        f"the view's calls, each replayed up to {s['repeats']} times (at most {s['budget']} s "
        f"per call); target < {API_P95_TARGET_MS:.0f} ms. After a write: the slowest of the "
        f"view's calls made right after a write to a job, {s['after_writes']} times each "
        "(what a living cluster sees; the target is not applied to it).",
        "",
        "| view | first render ms | target | API calls (+ watches) | API p95 ms | target "
        "| after a write p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in document["views"]:
        worst = v["render_max_ms"]
        lines.append(
            f"| {v['view']} | {v['render_median_ms']} ({worst}) | "
            f"{verdict(worst, RENDER_TARGET_MS)} | {len(v['api'])} (+{v['watches']}) | "
            f"{v['api_p95_ms']} | {verdict(v['api_p95_ms'], API_P95_TARGET_MS)} | "
            f"{v.get('after_write_p95_ms', '—')} |"
        )
    lines += ["", "Calls (samples, response size, p50 / p95 / max ms, p95 after a write):", ""]
    lines += ["| call | samples | bytes | p50 | p95 | max | after a write |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for address, c in document["calls"].items():
        path = urlsplit(address)
        shown = path.path + (f"?{path.query}" if path.query else "")
        after = c.get("after_write_p95_ms", "—")
        lines.append(f"| `{shown}` | {c['samples']} | {c['bytes']:,} | {c['p50_ms']} | "
                     f"{c['p95_ms']} | {c['max_ms']} | {after} |")  # fmt: skip
    errors = [f"- {v['view']}: {e}" for v in document["views"] for e in v["errors"]]
    if errors:
        lines += ["", "Errors in the browser:", "", *errors]
    return "\n".join(lines) + "\n"


def chromium_version() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        return "missing"
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    if argv is None and sys.argv[1:2] == ["--serve"]:
        serve(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--profile", default="itp-cluster04",
                        choices=sorted(synthetic_jobs.PROFILES))  # fmt: skip
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--renders", type=int, default=3, help="cold first renders per view")
    parser.add_argument("--repeats", type=int, default=50, help="replays of each API call")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds of replay per call")
    parser.add_argument(
        "--cost-lists", choices=("store", "cache"), default="cache",
        help="where the cost controller lists objects from: the API server's watch cache (as "
        "`k8s4ai up` does) or the store",
    )
    parser.add_argument("--after-writes", type=int, default=5,
                        help="times each call is made right after a write (0: skip)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small run: 100 nodes, 5 queues, 1,000 jobs, 1 render, 10 replays, 3 after writes",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.nodes, args.queues, args.jobs, args.renders, args.repeats = 100, 5, 1000, 1, 10
        args.after_writes = 3
    machine = {
        **report.machine(), "revision": report.revision(ROOT), "chromium": chromium_version(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="k8s4ai-dashboard-") as tmp:
        db = Path(tmp) / "k8s4ai.db"
        store = fill(db, args)
        print(f"store: {store}", file=sys.stderr, flush=True)
        with server(db, args.cost_lists) as (url, token, write_token):
            views = measure(args, url, token, write_token, store["first"])
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    calls = {a: c for v in views for a, c in v.pop("calls").items()}
    settings = {k: getattr(args, k) for k in ("nodes", "queues", "jobs", "profile", "seed",
                                              "renders", "repeats", "budget", "after_writes",
                                              "cost_lists", "quick")}  # fmt: skip
    document = {"machine": machine, "settings": settings, "store": store, "views": views,
                "calls": calls}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dashboard.json").write_text(json.dumps(document, indent=1) + "\n")
    text = markdown(document)
    (args.out / "dashboard.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
