"""The dashboard in headless Chromium against a live `k8s4ai up`: every view renders without
an error, the overview's numbers are the API's, queues drill down to jobs and their nodes by
clicks, and an object applied through the API shows up without a reload.

Written against the dashboard's contract with its tests: each view marks its root
`<section data-view=...>` in `<main id="view">` with `data-ready="true"` once its first data
is drawn, numbers compared with the API carry their raw value in `data-value`, and drill links
carry `data-queue`, `data-job`, `data-node` and `data-gpu`."""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from k8s4ai import api, testing
from k8s4ai.store import errors

from .conftest import Plane, Tab, eventually, open_tab

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.integration

VIEWS = ("overview", "cluster", "queues", "jobs", "inference", "storage", "cost")
OVERVIEW = ("gpus-total", "gpus-allocated", "jobs-pending", "jobs-running", "queues")
HOLDING = ("Admitted", "Running")
"""Phases in which a gang holds its GPUs: what `jobs-running` counts."""
WAITING = ("Pending", "Preempted")
"""Phases in which a gang waits to be admitted (again): what `jobs-pending` counts."""
MIG_SLICES = 7
SETTLE_SECONDS = 15.0
"""The page re-renders at most every 500 ms after a watch event; a loaded machine adds more."""

Figures = dict[str, float]


def held_gpus(g: api.GangSchedulingGroup, classes: dict[str, api.AcceleratorClass]) -> float:
    """GPUs a holding gang's assignments hold: a MIG pod as its compute slices out of 7."""
    sets = {s.name: s.resources for s in g.spec.pod_sets}
    total = 0.0
    for assignment in g.status.assignments:
        res = sets[assignment.name]
        share = res.gpus
        if res.mig_profile is not None:
            profile = classes[res.accelerator_class or ""].spec.mig_profile(res.mig_profile)
            assert profile is not None
            share = profile.compute_slices / MIG_SLICES
        total += len(assignment.nodes) * share
    return total


def raw_figures(plane: Plane) -> tuple[Figures, set[float]]:
    """The overview's numbers counted here from the raw object lists, and the readings of GPUs
    allocated the contract allows: the gangs' assignments (MIG pods as slices of 7) or the
    queues' charged usage (admission's milli-GPU per slice). AcceleratorClass
    `status.allocatedGpus` is left out: nothing writes it yet, so its 0 would pass for any
    cluster."""
    with plane.store() as store:
        nodes = [n for n in store.list("Node").items if isinstance(n, api.Node)]
        classes = {c.metadata.name: c for c in store.list("AcceleratorClass").items
                   if isinstance(c, api.AcceleratorClass)}  # fmt: skip
        gangs = [g for g in store.list("GangSchedulingGroup").items
                 if isinstance(g, api.GangSchedulingGroup)]  # fmt: skip
        queues = [q for q in store.list("Queue").items if isinstance(q, api.Queue)]
    phases = Counter(g.status.phase for g in gangs)
    figures = {
        "gpus-total": float(sum(group.count for n in nodes for group in n.spec.gpus)),
        "jobs-pending": float(sum(phases[p] for p in WAITING)),
        "jobs-running": float(sum(phases[p] for p in HOLDING)),
        "queues": float(len(queues)),
    }
    allocated = {
        round(sum(held_gpus(g, classes) for g in gangs if g.status.phase in HOLDING), 6),
        round(sum(float(u.used.value) for q in queues for u in q.status.usage
                  if u.resource == "gpu"), 6),
    }  # fmt: skip
    return figures, allocated


def api_figures(plane: Plane) -> tuple[Figures, set[float]]:
    """The overview's numbers as the endpoint the page reads (`/api/v1/summary`) gives them."""
    answer = httpx.get(f"{plane.url}/api/v1/summary", timeout=10,
                       headers={"Authorization": f"Bearer {plane.read_token}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    got = answer.json()
    figures = {
        "gpus-total": float(got["gpus"]["total"]),
        "jobs-pending": float(got["jobs"]["waiting"]),
        "jobs-running": float(got["jobs"]["holding"]),
        "queues": float(got["queues"]["total"]),
    }
    return figures, {round(float(got["gpus"]["allocated"]), 6)}


def shown_figures(tab: Tab) -> Figures:
    shown = tab.metrics("overview")
    missing = [name for name in OVERVIEW if name not in shown]
    assert not missing, f"overview lacks data-metric {missing}; it has {sorted(shown)}"
    return {name: float(value) for name, value in shown.items()}


def matches(shown: Figures, figures: Figures, allocated: set[float]) -> bool:
    return all(shown[k] == v for k, v in figures.items()) and any(
        math.isclose(shown["gpus-allocated"], a, abs_tol=1e-6) for a in allocated
    )


def settled(tab: Tab, plane: Plane) -> tuple[Figures, Figures]:
    """The page's figures and the API's once they agree while the API holds still (read
    before and after the page): the same moment, allowing for the page's debounce."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        before = api_figures(plane)
        shown = shown_figures(tab)
        after = api_figures(plane)
        if before == after and matches(shown, *before):
            return shown, before[0]
        if time.monotonic() > deadline:
            pytest.fail(f"overview shows {shown}; the API says {after[0]} "
                        f"with GPUs allocated one of {sorted(after[1])}")  # fmt: skip
        time.sleep(0.25)


@pytest.fixture
def live_gang(plane: Plane) -> Iterator[api.GangSchedulingGroup]:
    """A gang no queue can admit (200 H100 in team-b), so it stays pending; deleted after."""
    name = f"dash-live-{time.monotonic_ns() % 10**9}"
    manifest = testing.gang(name, "team-b").queue("team-b").count(25).gpus(8, "h100-sxm")
    gang = api.GangSchedulingGroup.model_validate(manifest.build())
    yield gang
    with plane.store(write=True) as store, contextlib.suppress(errors.NotFound):
        store.delete("GangSchedulingGroup", name, "team-b")


def test_ui_and_assets_need_no_token(plane: Plane) -> None:
    page = httpx.get(f"{plane.url}/ui/", timeout=10)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert '<main id="view"' in page.text
    assert httpx.get(f"{plane.url}/apis/k8s4ai.io/v1alpha1/nodes").status_code == 401


def test_up_prints_a_dashboard_link_that_signs_in(browser: Browser, plane: Plane) -> None:
    found = [line for line in plane.output if "/ui/" in line]
    assert found, "".join(plane.output)
    link = next(word for word in found[0].split() if "/ui/" in word)
    assert link == f"{plane.url}/ui/#token={plane.read_token}", link
    tab = open_tab(browser, plane)
    try:
        tab.page.goto(link)
        tab.ready("overview")
        assert plane.read_token not in tab.page.url, "the token stays in the address bar"
        tab.go("#/queues")
        tab.ready("queues")
        assert tab.errors == []
    finally:
        tab.page.context.close()


def test_without_a_token_a_sign_in_form_takes_one(browser: Browser, plane: Plane) -> None:
    tab = open_tab(browser, plane)
    try:
        tab.page.goto(f"{plane.url}/ui/#/overview")
        field = tab.page.locator("form input:not([type=hidden])").first
        field.wait_for(timeout=10_000)
        field.fill(plane.read_token)
        field.press("Enter")
        tab.ready("overview")
        assert [e for e in tab.errors if "401" not in e] == []
    finally:
        tab.page.context.close()


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_without_errors(tab: Tab, view: str) -> None:
    tab.go(f"#/{view}")
    tab.ready(view)
    assert tab.page.locator("main#view section[data-view]").count() == 1
    assert tab.errors == []


def test_views_are_reachable_by_keyboard_from_the_nav(tab: Tab) -> None:
    reached = set()
    for _ in range(40):
        tab.page.keyboard.press("Tab")
        href = tab.page.evaluate("document.activeElement?.closest('nav a')?.getAttribute('href')")
        if href:
            reached.add(href)
    assert {f"#/{view}" for view in VIEWS} <= reached, reached
    tab.page.locator('nav a[href="#/cost"]').focus()
    tab.page.keyboard.press("Enter")
    tab.ready("cost")
    assert tab.errors == []


def test_overview_numbers_are_the_apis(tab: Tab, plane: Plane) -> None:
    _, figures = settled(tab, plane)
    assert figures["gpus-total"] == 80 and figures["queues"] == 3  # the example cluster
    for _ in range(50):  # the summary against the raw objects, at a moment neither moves
        before, raw, after = api_figures(plane), raw_figures(plane), api_figures(plane)
        if before == after:
            break
    assert before == after, "the plane kept changing"
    assert before[0] == raw[0]
    assert next(iter(before[1])) in raw[1], (before[1], raw[1])
    cost = tab.metrics("overview").get("cost-rate")
    if cost is not None:
        assert math.isfinite(float(cost)) and float(cost) > 0, cost
    assert tab.errors == []


def test_queue_to_job_to_nodes_by_clicks(tab: Tab, plane: Plane) -> None:
    with plane.store() as store:
        job = store.get("GangSchedulingGroup", "llama-70b-sft", "team-a")
    assert isinstance(job, api.GangSchedulingGroup)
    held = {n for a in job.status.assignments for n in a.nodes}
    assert len(held) == 2, job.status

    tab.go("#/queues")
    tab.ready("queues")
    tab.page.click('a[data-queue="team-a"]')
    tab.ready("queue")
    assert tab.route() == "#/queues/team-a"
    tab.page.click('a[data-job="team-a/llama-70b-sft"]')
    tab.ready("job")
    assert tab.route() == "#/jobs/team-a/llama-70b-sft"
    assert set(tab.attributes("job", "data-node")) == held
    gpus = tab.attributes("job", "data-gpu")
    assert {g.split("/")[0] for g in gpus} <= held, gpus
    node = sorted(held)[0]
    tab.page.click(f'{tab.section("job")} a[data-node="{node}"]')
    tab.ready("cluster")
    assert tab.route() == f"#/cluster?node={node}"
    assert node in tab.page.inner_text(tab.section("cluster"))
    assert tab.errors == []


def test_a_gang_applied_through_the_api_shows_up_without_reload(
    tab: Tab, browser: Browser, plane: Plane, live_gang: api.GangSchedulingGroup
) -> None:
    jobs = open_tab(browser, plane)
    try:
        jobs.page.goto(f"{plane.url}/ui/#token={plane.read_token}")
        jobs.ready("overview")
        jobs.go("#/jobs")
        jobs.ready("jobs")
        before, _ = settled(tab, plane)
        for page in (tab.page, jobs.page):
            page.evaluate("window.__sameDocument = true")
        with plane.store(write=True) as store:
            store.create(live_gang)
        key = f"team-b/{live_gang.metadata.name}"
        jobs.page.wait_for_selector(f'a[data-job="{key}"]', timeout=SETTLE_SECONDS * 1000)
        eventually(
            lambda: True if shown_figures(tab)["jobs-pending"] > before["jobs-pending"] else None,
            SETTLE_SECONDS, "jobs-pending to grow on the overview",
        )  # fmt: skip
        shown, figures = settled(tab, plane)
        assert shown["jobs-pending"] == figures["jobs-pending"]
        for page in (tab.page, jobs.page):
            assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
        assert tab.errors == [] and jobs.errors == []
    finally:
        jobs.page.context.close()


def api_json(plane: Plane, path: str) -> dict[str, Any]:
    answer = httpx.get(f"{plane.url}{path}", timeout=30,
                       headers={"Authorization": f"Bearer {plane.read_token}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def reopen(tab: Tab, view: str) -> None:
    """Leave the view and come back: it is drawn anew from fresh answers."""
    tab.go("#/inference")
    tab.ready("inference")
    tab.go(f"#/{view}")
    tab.ready(view)


def agreed(tab: Tab, view: str, expected: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The view's figures once they equal the API's (read before and after the page). Cost
    figures move with time even on a still plane (the ledger's `now`), and a page redraws on
    writes only, so after a miss the view is opened again."""
    deadline = time.monotonic() + SETTLE_SECONDS
    first = True
    while True:
        if not first:
            reopen(tab, view)
        first = False
        before = expected()
        shown = {k: float(v) for k, v in tab.metrics(view).items() if k in before}
        if shown == before == expected():
            return shown
        if time.monotonic() > deadline:
            pytest.fail(f"{view} shows {shown}; the API says {before}")
        time.sleep(0.25)


def test_storage_numbers_are_the_apis(tab: Tab, plane: Plane) -> None:
    tab.go("#/storage")
    tab.ready("storage")

    def expected() -> dict[str, float]:
        found = api_json(plane, "/api/v1/storage")
        volumes = found["volumes"]
        return {
            "checkpointed-jobs": float(found["checkpoints"]["checkpointedJobs"]),
            "volumes-bound": float(volumes["bound"]),
            "volumes-orphaned": float(volumes["orphaned"]),
        }

    agreed(tab, "storage", expected)
    policies = tab.attributes("storage", "data-policy")
    assert policies == ["team-a/llm-pretrain"]  # the example cluster's one policy
    assert tab.errors == []


def test_open_findings_and_busy_gpus_are_the_apis(tab: Tab, plane: Plane) -> None:
    def overview() -> dict[str, float]:
        findings = api_json(plane, "/api/v1/findings")
        gpus = api_json(plane, "/api/v1/cost")["gpus"]
        return {"findings-open": float(findings["total"]), "gpus-busy": float(gpus["busy"])}

    agreed(tab, "overview", overview)
    tab.go("#/cost")
    tab.ready("cost")
    agreed(tab, "cost", lambda: {"findings-open": overview()["findings-open"]})
    assert tab.errors == []
