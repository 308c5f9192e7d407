"""The dashboard on a living plane (`k8s4ai up` with its simulated workload): every view loads
with no console error while jobs arrive, run, fail and finish, and the page redraws itself from
the watch streams without a reload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .conftest import Plane, Tab, signed_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.integration

VIEWS = ("overview", "cluster", "queues", "jobs", "inference", "storage", "cost")
REDRAW_MS = 30_000
"""The workload writes within seconds at its default speed; a loaded machine adds more."""


@pytest.fixture
def live_tab(browser: Browser, living: Plane) -> Iterator[Tab]:
    yield from signed_in(browser, living)


def test_every_view_loads_on_a_living_plane(live_tab: Tab) -> None:
    for view in VIEWS:
        live_tab.go(f"#/{view}")
        live_tab.ready(view)
    assert live_tab.errors == []


def test_the_overview_redraws_itself_as_the_workload_runs(live_tab: Tab) -> None:
    live_tab.page.evaluate("""() => {
        window.__sameDocument = true;
        window.__first = document.querySelector('main#view section[data-view]');
    }""")
    live_tab.page.wait_for_function(
        """() => {
            const now = document.querySelector('main#view section[data-view="overview"]');
            return now && now !== window.__first && now.dataset.ready === 'true';
        }""",
        timeout=REDRAW_MS,
    )
    assert live_tab.page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert live_tab.errors == []
