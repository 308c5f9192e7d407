"""A watch resumed from a resourceVersion sees every later event of its kind exactly once,
in order: the guarantee controllers rely on to never miss or double-handle a change."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from k8s4ai.server import run

from . import manifests

pytestmark = pytest.mark.integration


def test_resume_sees_each_later_event_once_in_order(api: httpx.Client) -> None:
    queues = manifests.path("queues")
    for name in ("a", "b", "c"):
        api.post(queues, json=manifests.queue(name))
    mark = manifests.rv(api.get(manifests.path("queues", "c")).json())

    def after(event: str, name: str, response: httpx.Response) -> tuple[str, str, int]:
        assert response.is_success, response.text
        return (event, name, manifests.rv(response.json()))

    expected = [after("ADDED", "d", api.post(queues, json=manifests.queue("d")))]
    patch = {"spec": {"weight": 2}}
    expected.append(
        after("MODIFIED", "a", manifests.merge_patch(api, manifests.path("queues", "a"), patch))
    )
    policies = manifests.path("checkpointpolicies", namespace="ml")
    assert api.post(policies, json=manifests.policy("p", "ml")).status_code == 201
    expected.append(after("DELETED", "b", api.delete(manifests.path("queues", "b"))))
    status_url = manifests.path("queues", "c", sub="status")
    status = {"status": {"pending": 3}}
    expected.append(after("MODIFIED", "c", manifests.merge_patch(api, status_url, status)))

    seen = manifests.watch_lines(api, queues, resourceVersion=mark, timeoutSeconds=1)
    assert manifests.summary(seen) == expected

    middle = expected[1][2]
    resumed = manifests.watch_lines(api, queues, resourceVersion=middle, timeoutSeconds=1)
    assert manifests.summary(resumed) == expected[2:]


def test_concurrent_writers_are_seen_exactly_once(
    server: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    watcher = client(server)
    start = int(watcher.get(manifests.path("queues")).json()["metadata"]["resourceVersion"])
    acknowledged: list[tuple[str, str, int]] = []
    lock = threading.Lock()

    def write(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10.0) as api:
            for i in range(15):
                name = f"w{worker}-{i}"
                created = api.post(manifests.path("queues"), json=manifests.queue(name))
                assert created.status_code == 201
                with lock:
                    acknowledged.append(("ADDED", name, manifests.rv(created.json())))

    total = 4 * 15
    events: list[dict[str, object]] = []
    done = threading.Event()

    def watch() -> None:
        events.extend(
            manifests.watch_lines(watcher, manifests.path("queues"), total, resourceVersion=start)
        )
        done.set()

    reader = threading.Thread(target=watch)
    reader.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    reader.join(timeout=20)
    assert done.is_set()

    seen = manifests.summary(events)  # type: ignore[arg-type]
    assert [rv for _, _, rv in seen] == sorted(rv for _, _, rv in seen)
    assert sorted(seen, key=lambda e: e[2]) == sorted(acknowledged, key=lambda e: e[2])
