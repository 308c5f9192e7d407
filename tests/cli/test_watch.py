"""`k8s4ai get -w` prints later changes as they happen, from another process's writes."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import EXAMPLES

pytestmark = pytest.mark.integration

K8S4AI = Path(sys.executable).parent / "k8s4ai"


def test_get_watch_prints_changes_made_by_another_process(tmp_path: Path) -> None:
    env = {**os.environ, "K8S4AI_HOME": str(tmp_path)}
    subprocess.run([str(K8S4AI), "apply", "-f", str(EXAMPLES)], env=env, check=True,
                   capture_output=True)
    watcher = subprocess.Popen(
        [str(K8S4AI), "get", "queues", "-w", "-o", "name"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert watcher.stdout is not None and watcher.stderr is not None
    try:
        listed = [watcher.stdout.readline().strip() for _ in range(3)]
        assert sorted(listed) == ["queue/serving", "queue/team-a", "queue/team-b"]
        time.sleep(0.3)
        subprocess.run([str(K8S4AI), "delete", "queue", "serving"], env=env, check=True,
                       capture_output=True)
        assert watcher.stdout.readline().strip() == "queue/serving deleted"
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
        watcher.stdout.close()
        watcher.stderr.close()
