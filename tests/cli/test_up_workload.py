"""`k8s4ai up` on a fresh store opens on a living cluster: the banner within 10 seconds, gangs
already running with progress, and soon some finishing or new ones arriving — read through
the HTTP API, as the dashboard reads it."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from k8s4ai import api
from k8s4ai.backends.sim import live_driver
from k8s4ai.cli import up, up_workload
from k8s4ai.client import http
from k8s4ai.controllers import admission, runner
from k8s4ai.store import sqlite

K8S4AI = Path(sys.executable).parent / "k8s4ai"
BANNER_SECONDS = 10.0


def gangs(store: http.HttpStore) -> list[api.GangSchedulingGroup]:
    items = store.list("GangSchedulingGroup").items
    return [g for g in items if isinstance(g, api.GangSchedulingGroup)]


def test_the_warm_up_replays_the_last_hours_and_hands_back_the_wall_clock(
    tmp_path: Path,
) -> None:
    clock = up_workload.Clock()
    store = sqlite.SqliteStore(tmp_path / "s.db", clock=clock, synchronous="OFF")
    try:
        assert up_workload.Live.rewind(store, clock, speed=60.0)
        up._load_examples(store, up.packaged_examples())
        live = up_workload.Live(store, clock, speed=60.0, seed=3)
        assert live.fresh and {t.queue for t in live.targets} == {"serving", "team-a", "team-b"}
        admit = admission.AdmissionController(store, clock=clock)
        steps = live.warm_up((admit.run_once,), lambda: None)
        assert steps > 10 and clock.fixed is None
        wall = runner.wall_clock()
        span = up_workload.WARM_HOURS * 3600 / 60.0
        all_gangs = [g for g in store.list("GangSchedulingGroup").items
                     if isinstance(g, api.GangSchedulingGroup)]
        ours = [g for g in all_gangs if live_driver.SOURCE in g.metadata.labels]
        phases = {g.status.phase for g in ours}
        assert {"Running", "Succeeded"} <= phases, phases
        assert any(g.status.phase == "Running" and g.status.progress > 0 for g in ours)
        llama = store.get("GangSchedulingGroup", "llama-70b-sft", "team-a")
        created = llama.metadata.creation_timestamp
        assert created is not None and (wall - created).total_seconds() >= span - 5
        assert all(g.status.start_time is None or g.status.start_time <= wall for g in all_gangs)
        assert not up_workload.Live.rewind(store, clock, speed=60.0), "warm only once"
        assert up_workload.Live(store, clock, 60.0).warm_up((), lambda: None) == 0
    finally:
        store.close()


@pytest.mark.integration
def test_up_opens_on_a_living_cluster_within_ten_seconds(tmp_path: Path) -> None:
    env = {**os.environ, "K8S4AI_HOME": str(tmp_path)}
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(K8S4AI), "--db", str(tmp_path / "x.db"), "up", "--host", "127.0.0.1", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    try:
        url, lines = None, []
        while True:
            line = proc.stdout.readline()
            lines.append(line)
            if match := re.search(r"API server\s+(http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
            if "Press Ctrl-C to stop" in line or not line:
                break
        took = time.monotonic() - started
        assert url is not None, "".join(lines)
        assert took < BANNER_SECONDS, f"banner after {took:.1f}s"
        assert any("dashboard" in line for line in lines)
        tokens = (tmp_path / "tokens.csv").read_text().splitlines()
        token = next(t.split(",")[0] for t in tokens if ",read," in t or ",write," in t)
        store = http.HttpStore(url, token=token)
        try:
            first = gangs(store)
            running = [g for g in first if g.status.phase == "Running"]
            assert any(g.status.progress > 0 for g in running), [
                (g.metadata.name, g.status.phase, g.status.progress) for g in first]
            generated = {g.metadata.name for g in first if live_driver.SOURCE in g.metadata.labels}
            assert generated, "the warm-up submitted jobs"
            finished = {g.metadata.name for g in first if g.status.phase == "Succeeded"}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                now = gangs(store)
                newly_done = {g.metadata.name for g in now if g.status.phase == "Succeeded"}
                arrived = {
                    g.metadata.name for g in now if live_driver.SOURCE in g.metadata.labels
                } - generated
                moved = [
                    g for g in now for old in running
                    if g.key == old.key and g.status.progress > old.status.progress
                ]
                if (newly_done - finished or arrived) and moved:
                    break
                time.sleep(1.0)
            else:
                pytest.fail("nothing finished or arrived, or no progress moved, in 30 s")
        finally:
            store.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_a_slow_warm_up_skips_to_the_present(tmp_path: Path) -> None:
    clock = up_workload.Clock()
    store = sqlite.SqliteStore(tmp_path / "s.db", clock=clock, synchronous="OFF")
    ticks = iter(range(1000))
    try:
        assert up_workload.Live.rewind(store, clock, speed=60.0)
        up._load_examples(store, up.packaged_examples())
        live = up_workload.Live(store, clock, speed=60.0, seed=3)
        steps = live.warm_up((), lambda: None, budget_seconds=2.5, elapsed=lambda: next(ticks))
        assert steps <= 5 and clock.fixed is None
    finally:
        store.close()
