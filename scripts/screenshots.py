"""Screenshots of the dashboard's main views for the README: starts `k8s4ai up` on the example
cluster in a throwaway home, lets admission and the cost ledger make their first passes, opens
each view in headless Chromium (Debian's `chromium`, see scripts/install-browser.sh) and
writes `dashboard-<view>.png` to `--out`.

    .venv/bin/python scripts/screenshots.py [--out docs/images] [--views overview,cost]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
K8S4AI = Path(sys.executable).parent / "k8s4ai"
VIEWS = ("overview", "cluster", "queues", "jobs", "inference", "storage", "cost")
READY_MS = 30_000


@contextmanager
def plane(home: Path) -> Iterator[tuple[str, str]]:
    """`k8s4ai up` on a free port: its URL and the read-only token."""
    env = {**os.environ, "K8S4AI_HOME": str(home)}
    for name in ("K8S4AI_DB", "K8S4AI_SERVER"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [str(K8S4AI), "up", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    up = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop" in line:
                up.set()
        up.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        up.wait(60)
        found = re.search(r"API server\s+(http://\S+?:\d+)", "".join(lines))
        if found is None or proc.poll() is not None:
            sys.exit("k8s4ai up did not start:\n" + "".join(lines))
        tokens = (home / "tokens.csv").read_text().splitlines()
        yield found.group(1), next(t.split(",")[0] for t in tokens if ",read," in t)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--views", default=",".join(VIEWS), help="comma-separated")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument(
        "--settle", type=float, default=12.0, help="seconds for the controllers' first passes"
    )
    args = parser.parse_args(argv)
    executable = shutil.which("chromium")
    if executable is None:
        sys.exit("chromium is missing: run scripts/install-browser.sh")
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="k8s4ai-shots-") as home,
        plane(Path(home)) as (url, token),
        sync_playwright() as playwright,
    ):
        time.sleep(args.settle)
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"{url}/ui/#token={token}")
            for view in args.views.split(","):
                page.goto(f"{url}/ui/#/{view}")
                page.wait_for_selector(
                    f'main#view section[data-view="{view}"][data-ready="true"]', timeout=READY_MS
                )
                page.wait_for_timeout(500)  # let charts finish their layout
                path = args.out / f"dashboard-{view}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
