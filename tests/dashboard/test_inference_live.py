"""The inference view on a living plane: each ContentRouter's measured traffic (written into
its status by the router `k8s4ai up` runs, under the demo load) is what the page shows, read
from the API at the same moment; a figure the status lacks reads "not measured"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from k8s4ai import api

from .conftest import Plane, Tab, eventually, open_tab

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.integration

FIELDS = ("requestsPerSecond", "ttftP50Ms", "ttftP95Ms", "prefixHitRate", "tokensPerSecond",
          "observedWindowSeconds")  # fmt: skip


@pytest.fixture
def inference_tab(browser: Browser, living: Plane) -> Iterator[Tab]:
    opened = open_tab(browser, living)
    try:
        opened.page.goto(f"{living.url}/ui/#token={living.read_token}")
        opened.go("#/inference")
        opened.ready("inference")
        yield opened
    finally:
        opened.page.context.close()


def _api(plane: Plane) -> dict[str, dict[str, float | None]]:
    with plane.store() as store:
        routers = store.list("ContentRouter").items
    found = {}
    for router in routers:
        assert isinstance(router, api.ContentRouter)
        status = router.status.model_dump(by_alias=True)
        key = f"{router.metadata.namespace}/{router.metadata.name}"
        found[key] = {field: status[field] for field in FIELDS}
    return found


def _page(tab: Tab) -> dict[str, dict[str, float | None]]:
    rows: dict[str, dict[str, str]] = tab.page.eval_on_selector_all(
        f"{tab.section('inference')} tr[data-traffic]",
        """rows => Object.fromEntries(rows.map(r => [r.dataset.traffic, Object.fromEntries(
            [...r.querySelectorAll('td[data-field]')]
                .map(c => [c.dataset.field, c.dataset.value]))]))""",
    )
    return {
        key: {field: float(value) if value else None for field, value in cells.items()}
        for key, cells in rows.items()
    }


def _measured(plane: Plane) -> bool | None:
    routers = _api(plane)
    busy = routers and all((r["requestsPerSecond"] or 0) > 0 and r["ttftP95Ms"] for r in
                           routers.values())  # fmt: skip
    return True if busy else None


def test_router_traffic_on_the_page_is_the_apis(inference_tab: Tab, living: Plane) -> None:
    eventually(lambda: _measured(living), 60, "the routers to measure the demo load")

    def same_moment() -> dict[str, dict[str, float | None]] | None:
        before = _api(living)
        shown = _page(inference_tab)
        after = _api(living)
        if before != after:
            return None  # a router wrote meanwhile: look again
        shown = {key: {f: cells.get(f) for f in FIELDS} for key, cells in shown.items()}
        return before if shown == before else None

    routers = eventually(same_moment, 30, "the page to show the API's router status")
    assert routers, "the example ContentRouter is listed"
    cost = inference_tab.page.eval_on_selector_all(
        f"{inference_tab.section('inference')} td[data-field='costPerMillionTokens']",
        "cells => cells.map(c => c.dataset.value)",
    )
    assert all(value == "" or float(value) > 0 for value in cost), cost
    assert inference_tab.errors == []


def test_a_router_without_streamed_answers_reads_not_measured(
    browser: Browser, plane: Plane
) -> None:
    """On a still plane (no demo load) the router measures zero requests/s but no TTFT."""

    def idle() -> dict[str, float | None] | None:
        routers = _api(plane)
        status = routers.get("serving/chat-router")
        return status if status and status["requestsPerSecond"] is not None else None

    status = eventually(idle, 30, "the idle router to publish its zero load")
    assert status["requestsPerSecond"] == 0 and status["ttftP95Ms"] is None
    tab = open_tab(browser, plane)
    try:
        tab.page.goto(f"{plane.url}/ui/#token={plane.read_token}")
        tab.go("#/inference")
        tab.ready("inference")
        cell = f"{tab.section('inference')} tr[data-traffic='serving/chat-router'] td"
        assert tab.page.inner_text(f"{cell}[data-field='ttftP95Ms']") == "not measured"
        assert tab.page.inner_text(f"{cell}[data-field='requestsPerSecond']") == "0"
        assert tab.errors == []
    finally:
        tab.page.context.close()
