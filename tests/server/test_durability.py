"""The durability promise: a create the server acknowledged (201) is on disk with the
resourceVersion it reported, even when the server process is SIGKILLed mid-burst.

The server runs as a real subprocess (`k8s4ai server`), so nothing in this
process can flush on its behalf; the store file is then reopened directly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from k8s4ai.store import sqlite

from . import manifests

K8S4AI = Path(sys.executable).parent / "k8s4ai"

pytestmark = pytest.mark.integration

WRITERS = 8
ACKS_BEFORE_KILL = 150


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    command = [str(K8S4AI), "--db", str(db), "server", "--port", "0", "--no-auth"]
    with log.open("w") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert proc.stdout is not None
    killer = threading.Timer(30, proc.kill)  # never hang on a server that failed to start
    killer.start()
    try:
        line = proc.stdout.readline()
    finally:
        killer.cancel()
    match = re.match(r"k8s4ai API listening on (\S+)", line)
    assert match, f"server did not start: {log.read_text()}"
    return proc, match.group(1)


def test_acknowledged_creates_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    proc, url = start_server(db, tmp_path / "server.log")
    acknowledged: dict[str, str] = {}
    broken: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def write(worker: int) -> None:
        with httpx.Client(base_url=url, timeout=10.0) as api:
            for i in range(100_000):
                if stop.is_set():
                    return
                name = f"w{worker}-{i}"
                try:
                    response = api.post(manifests.path("queues"), json=manifests.queue(name))
                except httpx.TransportError as err:
                    with lock:
                        broken.append(f"{name}: {err!r}")
                    return
                assert response.status_code == 201, response.text
                with lock:
                    acknowledged[name] = response.json()["metadata"]["resourceVersion"]

    with proc:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        try:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while len(acknowledged) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
            for thread in threads:
                thread.join(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()

    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= ACKS_BEFORE_KILL
    assert broken, "the kill should have interrupted requests in flight"
    with sqlite.SqliteStore(db) as reopened:
        stored = {obj.metadata.name: obj.metadata.resource_version
                  for obj in reopened.list("Queue").items}
    missing = {name: rv for name, rv in acknowledged.items() if stored.get(name) != rv}
    assert missing == {}, f"{len(missing)} acknowledged creates lost or changed"
