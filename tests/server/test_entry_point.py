"""`k8s4ai server`: authentication on by default with generated tokens, a clean exit on
SIGTERM even with a watch open, and a clear error when the port is taken."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from . import manifests
from .test_durability import K8S4AI, start_server

pytestmark = pytest.mark.integration


def test_sigterm_shuts_down_cleanly_with_a_watch_open(tmp_path: Path) -> None:
    proc, url = start_server(tmp_path / "db", tmp_path / "server.log")
    with proc, httpx.Client(base_url=url, timeout=10.0) as api:
        assert api.post(manifests.path("queues"), json=manifests.queue("a")).status_code == 201
        with api.stream("GET", manifests.path("queues"), params={"watch": "1"}) as watch:
            lines = watch.iter_lines()
            assert '"ADDED"' in next(lines)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0, (tmp_path / "server.log").read_text()
            assert list(lines) == [], "the stream ends without more events"
        assert proc.stdout is not None
        proc.stdout.close()


def test_auth_is_on_by_default_with_generated_tokens(tmp_path: Path) -> None:
    env = {**os.environ, "K8S4AI_HOME": str(tmp_path)}
    command = [str(K8S4AI), "server", "--port", "0"]
    log = tmp_path / "server.log"
    with log.open("w") as stderr, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        match = re.match(r"k8s4ai API listening on (\S+)", proc.stdout.readline())
        assert match, log.read_text()
        token_file = tmp_path / "tokens.csv"
        assert token_file.stat().st_mode & 0o777 == 0o600
        rows = [line.split(",") for line in token_file.read_text().splitlines()[1:]]
        read = next(token for token, role, *_ in rows if role == "read")
        try:
            with httpx.Client(base_url=match.group(1), timeout=10.0) as api:
                assert api.get(manifests.path("queues")).status_code == 401
                reader = {"Authorization": f"Bearer {read}"}
                assert api.get(manifests.path("queues"), headers=reader).status_code == 200
                denied = api.post(manifests.path("queues"), json=manifests.queue("a"),
                                  headers=reader)
                assert denied.status_code == 403
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            proc.stdout.close()
    assert proc.returncode == 0, log.read_text()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    proc, url = start_server(tmp_path / "db", tmp_path / "server.log")
    port = url.rsplit(":", 1)[1]
    try:
        second = subprocess.run(
            [str(K8S4AI), "--db", str(tmp_path / "db2"), "server", "--no-auth", "--port", port],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert second.returncode == 1
        assert f"error: cannot listen on 127.0.0.1:{port}" in second.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        assert proc.stdout is not None
        proc.stdout.close()
