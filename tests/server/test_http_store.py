"""HttpStore keeps the Store contract over HTTP: same results as the embedded store, and the
server's Status errors raised as the store's error classes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from k8s4ai.api import CheckpointPolicy, Queue, errors, resource, selector
from k8s4ai.client import errors as client_errors
from k8s4ai.client import http
from k8s4ai.server import run
from k8s4ai.store import errors as store_errors
from k8s4ai.store import sqlite

from . import manifests
from .conftest import READ_TOKEN, TOKENS

pytestmark = pytest.mark.integration


def queue(name: str, **kwargs: object) -> resource.Resource:
    return Queue.model_validate(manifests.queue(name, **kwargs))  # type: ignore[arg-type]


def test_round_trip(http_store: http.HttpStore, store: sqlite.SqliteStore) -> None:
    created = http_store.create(queue("a", labels={"team": "nlp"}))
    assert created == store.get("Queue", "a")
    assert http_store.get("Queue", "a") == created

    listed = http_store.list("Queue", label_selector=selector.parse("team=nlp"))
    assert listed.items == [created]
    assert listed.resource_version == store.resource_version()

    changed = created.model_copy(deep=True)
    changed.spec.weight = 2
    replaced = http_store.replace(changed)
    assert replaced.spec.weight == 2

    patched = http_store.patch("Queue", "a", None, {"status": {"pending": 1}}, "status")
    assert patched.status.pending == 1  # type: ignore[attr-defined]

    deleted = http_store.delete("Queue", "a", resource_version=patched.metadata.resource_version)
    assert deleted.metadata.name == "a"
    assert http_store.list("Queue").items == []
    assert http_store.resource_version() == store.resource_version()


def test_namespaced_objects_default_to_the_default_namespace(http_store: http.HttpStore) -> None:
    policy = CheckpointPolicy.model_validate(manifests.policy("p", namespace=None))
    created = http_store.create(policy)
    assert created.metadata.namespace == "default"
    assert http_store.get("CheckpointPolicy", "p").metadata.name == "p"
    assert len(http_store.list("CheckpointPolicy").items) == 1


def test_apply_reports_outcomes(http_store: http.HttpStore) -> None:
    first = http_store.apply([queue("a"), queue("b")])
    assert [r.outcome for r in first] == ["created", "created"]
    second = http_store.apply([queue("a"), queue("b", weight=3)])
    assert [r.outcome for r in second] == ["unchanged", "configured"]


def test_errors_map_to_store_error_classes(http_store: http.HttpStore) -> None:
    with pytest.raises(store_errors.NotFound, match='"ghost" not found'):
        http_store.get("Queue", "ghost")
    created = http_store.create(queue("a"))
    with pytest.raises(store_errors.AlreadyExists):
        http_store.create(queue("a"))
    http_store.patch("Queue", "a", None, {"spec": {"weight": 2}})
    with pytest.raises(store_errors.Conflict):
        http_store.replace(created)
    with pytest.raises(store_errors.Conflict):
        http_store.delete("Queue", "a", resource_version=created.metadata.resource_version)
    with pytest.raises(store_errors.Invalid) as invalid:
        http_store.patch("Queue", "a", None, {"spec": {"weight": -1}})
    assert invalid.value.causes == [
        errors.FieldError("spec.weight", "Input should be greater than 0")
    ]
    with pytest.raises(store_errors.NotFound, match="unknown kind"):
        http_store.get("Gpu", "x")


def test_gone_when_events_were_compacted(
    tmp_path: Path, serve: Callable[..., run.RunningServer]
) -> None:
    with sqlite.SqliteStore(tmp_path / "small.db", event_retention=2) as small:
        server = serve(small)
        with http.HttpStore(server.url) as remote:
            for name in "abcde":
                remote.create(queue(name))
            with pytest.raises(store_errors.Gone):
                remote.events(0)
        server.stop()


def test_forbidden_and_unauthorized_keep_code_and_reason(
    serve: Callable[..., run.RunningServer],
) -> None:
    server = serve(tokens=TOKENS)
    with http.HttpStore(server.url, token=READ_TOKEN) as reader:
        assert reader.list("Queue").items == []
        with pytest.raises(client_errors.ApiError) as forbidden:
            reader.create(queue("a"))
        assert (forbidden.value.code, forbidden.value.reason) == (403, "Forbidden")
    with http.HttpStore(server.url) as anonymous, pytest.raises(client_errors.ApiError) as denied:
        anonymous.list("Queue")
    assert (denied.value.code, denied.value.reason) == (401, "Unauthorized")


def test_unreachable_server_is_unavailable() -> None:
    sock = run.bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    remote = http.HttpStore(f"http://127.0.0.1:{port}", timeout=2)
    with remote, pytest.raises(client_errors.UnavailableError) as caught:
        remote.resource_version()
    assert isinstance(caught.value, store_errors.StoreError)
    assert caught.value.code == 503
