"""The dashboard as a user meets it: `k8s4ai up` in a fresh home, serving the example cluster,
and Debian's Chromium driven headless by Playwright (see scripts/install-browser.sh).

One plane per test module (starting it takes seconds); tests that write to it name what they
create uniquely and delete it. Every page records its console errors and uncaught exceptions,
so a view that renders but logs an error still fails."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from k8s4ai import api
from k8s4ai.client import http

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page

K8S4AI = Path(sys.executable).parent / "k8s4ai"
READY_MS = 15_000
"""How long a view may take to render its first data here (a loaded 2-core CI machine);
bench/dashboard.py measures the real figure against the 1 s target."""
T = TypeVar("T")


@dataclass
class Plane:
    url: str
    read_token: str
    write_token: str
    output: list[str]
    """What `k8s4ai up` printed, read continuously so its pipe never fills."""

    def store(self, write: bool = False) -> http.HttpStore:
        return http.HttpStore(self.url, token=self.write_token if write else self.read_token)


def eventually(check: Callable[[], T | None], timeout: float = 20, what: str = "") -> T:
    """`check()` once it returns something other than None, polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.2)


def _llama_admitted(plane: Plane) -> bool | None:
    with plane.store() as store:
        job = store.get("GangSchedulingGroup", "llama-70b-sft", "team-a")
    assert isinstance(job, api.GangSchedulingGroup)
    return True if job.status.phase == "Admitted" else None


@contextlib.contextmanager
def start_plane(home: Path, *options: str) -> Iterator[Plane]:
    """`k8s4ai up` in `home` with `options`, until the context ends."""
    env = {**os.environ, "K8S4AI_HOME": str(home)}
    env.pop("K8S4AI_DB", None)
    env.pop("K8S4AI_SERVER", None)
    proc = subprocess.Popen(
        [str(K8S4AI), "up", "--port", "0", *options],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    output: list[str] = []
    banner_done = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if "Press Ctrl-C to stop" in line:
                banner_done.set()
        banner_done.set()

    reader = threading.Thread(target=drain, name="k8s4ai-up-output", daemon=True)
    reader.start()
    try:
        banner_done.wait(60)
        text = "".join(output)
        found = re.search(r"API server\s+(http://127\.0\.0\.1:\d+)", text)
        assert found is not None and proc.poll() is None, text
        tokens = (home / "tokens.csv").read_text().splitlines()
        read = next(t.split(",")[0] for t in tokens if ",read," in t)
        write = next(t.split(",")[0] for t in tokens if ",write," in t)
        yield Plane(found.group(1), read, write, output)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    """A still plane (`--no-workload`): the example cluster only, so the numbers a test reads
    from the page and from the API hold still long enough to be compared."""
    with start_plane(tmp_path_factory.mktemp("home"), "--no-workload") as started:
        eventually(lambda: _llama_admitted(started), 30, "the example training gang's admission")
        yield started


@pytest.fixture(scope="module")
def living(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    """A plane as a newcomer meets it: the simulated workload arrives, runs, fails and
    finishes while the page is open."""
    with start_plane(tmp_path_factory.mktemp("home")) as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API keeps an event loop running on this thread while
    it is open, which would break every later test that calls `asyncio.run`."""
    executable = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -e '.[test]'")
    if executable is None:
        pytest.fail("chromium is missing: run scripts/install-browser.sh")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """One signed-in page of the dashboard, with what went wrong in it."""

    page: Page
    plane: Plane
    errors: list[str] = field(default_factory=list)

    def section(self, view: str) -> str:
        return f'main#view section[data-view="{view}"]'

    def ready(self, view: str) -> None:
        self.page.wait_for_selector(f'{self.section(view)}[data-ready="true"]', timeout=READY_MS)

    def go(self, route: str) -> None:
        """Follow an in-page route (`#/cluster`), as a typed address would."""
        self.page.goto(f"{self.plane.url}/ui/{route}")

    def metrics(self, view: str) -> dict[str, str]:
        values: dict[str, str] = self.page.eval_on_selector_all(
            f"{self.section(view)} [data-metric]",
            "els => Object.fromEntries(els.map(e => [e.dataset.metric, e.dataset.value]))",
        )
        return values

    def attributes(self, view: str, name: str) -> list[str]:
        values: list[str] = self.page.eval_on_selector_all(
            f"{self.section(view)} [{name}]",
            f"els => els.map(e => e.getAttribute('{name}'))",
        )
        return values

    def route(self) -> str:
        hash_: str = self.page.evaluate("location.hash")
        return hash_


def _console(errors: list[str]) -> Callable[[ConsoleMessage], None]:
    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location})")

    return record


def _page_error(errors: list[str]) -> Callable[[Error], None]:
    def record(error: Error) -> None:
        errors.append(f"page error: {error.message}\n{error.stack}")

    return record


def open_tab(browser: Browser, plane: Plane, **context: Any) -> Tab:
    """A fresh browsing context (its own sessionStorage) on `/ui/`, not yet signed in."""
    page = browser.new_context(**context).new_page()
    tab = Tab(page, plane)
    page.on("console", _console(tab.errors))
    page.on("pageerror", _page_error(tab.errors))
    return tab


def signed_in(browser: Browser, plane: Plane) -> Iterator[Tab]:
    """Signed in the way `k8s4ai up`'s banner link does it: the read token in the fragment."""
    opened = open_tab(browser, plane)
    try:
        opened.page.goto(f"{plane.url}/ui/#token={plane.read_token}")
        opened.ready("overview")
        yield opened
    finally:
        opened.page.context.close()


@pytest.fixture
def tab(browser: Browser, plane: Plane) -> Iterator[Tab]:
    yield from signed_in(browser, plane)
