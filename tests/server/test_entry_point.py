"""`python -m k8s4ai.server.run`: serves a store file without the CLI, refuses to start
without an explicit auth choice, and exits cleanly on SIGTERM even with a watch open."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from k8s4ai.server import auth

from . import manifests
from .test_durability import start_server

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


def test_token_file_is_enforced(tmp_path: Path) -> None:
    tokens = auth.generate_token_file(tmp_path / "tokens.csv")
    command = [sys.executable, "-m", "k8s4ai.server.run", "--db", str(tmp_path / "db"),
               "--port", "0", "--token-file", str(tokens.path)]
    log = tmp_path / "server.log"
    with log.open("w") as stderr, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True
    ) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().removeprefix("listening on ").strip()
        try:
            with httpx.Client(base_url=url, timeout=10.0) as api:
                assert api.get(manifests.path("queues")).status_code == 401
                reader = {"Authorization": f"Bearer {tokens.read}"}
                assert api.get(manifests.path("queues"), headers=reader).status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            proc.stdout.close()
    assert proc.returncode == 0, log.read_text()


def test_an_auth_choice_is_required(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "k8s4ai.server.run", "--db", str(tmp_path / "db")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "--no-auth" in result.stderr
