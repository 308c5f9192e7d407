"""`HttpStore`: the Store contract over a k8s4ai API server, so the CLI and controllers run
unchanged against a remote server or the embedded file.

Each method is one request. `events` and `wait` use the server's `eventlog` and `wait`
extensions (one page of the event log; a long poll), which keep the store's semantics
exactly; `watch` is the streaming form for callers that want a live feed. Limits: `wait`
blocks at most the server's long-poll cap per request and re-polls until `timeout`; a
`timeout` of several minutes therefore costs a request per minute, not one per event.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

import httpx

from k8s4ai.api import meta, registry, resource, selector
from k8s4ai.client import errors
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface

PREFIX = f"/apis/{meta.GROUP_VERSION}"
MERGE_PATCH = "application/merge-patch+json"
_NO_SELECTOR = selector.Selector()
_EVENT_PAGE = 5000
"""The most events the server returns per `eventlog` request."""
_WAIT_MARGIN = 10.0
"""Extra seconds to let a long poll's answer arrive before calling the request stuck."""


def _model(kind: str) -> type[resource.Resource]:
    try:
        return registry.by_kind(kind)
    except registry.UnknownKindError as err:
        raise store_errors.NotFound(str(err)) from None


def _decode(data: Any) -> resource.Resource:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise errors.ApiError(f"server sent something that is not an object: {str(data)[:200]}")
    return _model(data["kind"]).model_validate(data)


def _event(data: Any) -> interface.WatchEvent:
    obj = _decode(data["object"])
    kind = cast(interface.EventType, data["type"])
    return interface.WatchEvent(kind, obj, int(obj.metadata.resource_version or 0))


class HttpStore:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "k8s4ai-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    # -- paths ---------------------------------------------------------------------------

    def _collection(self, cls: type[resource.Resource], namespace: str | None) -> str:
        if cls.namespaced and namespace:
            return f"{PREFIX}/namespaces/{namespace}/{cls.plural}"
        return f"{PREFIX}/{cls.plural}"

    def _item(self, cls: type[resource.Resource], name: str, namespace: str | None) -> str:
        scope = (namespace or "default") if cls.namespaced else None
        return f"{self._collection(cls, scope)}/{name}"

    # -- requests ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as err:
            raise errors.UnavailableError(
                f"cannot reach the k8s4ai server at {self.base_url}: {err}"
            ) from err
        if response.is_error:
            raise errors.from_response(response)
        return response.json()

    # -- Store ---------------------------------------------------------------------------

    def create(self, obj: resource.Resource) -> resource.Resource:
        cls = _model(obj.kind)
        namespace = (obj.metadata.namespace or "default") if cls.namespaced else None
        return _decode(self._request("POST", self._collection(cls, namespace), json=obj.wire()))

    def get(self, kind: str, name: str, namespace: str | None = None) -> resource.Resource:
        return _decode(self._request("GET", self._item(_model(kind), name, namespace)))

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: selector.Selector = _NO_SELECTOR,
    ) -> interface.ListResult:
        cls = _model(kind)
        params = {"labelSelector": str(label_selector)} if label_selector else {}
        data = self._request("GET", self._collection(cls, namespace), params=params)
        items = [_decode(item) for item in data.get("items") or []]
        return interface.ListResult(items, int(data["metadata"]["resourceVersion"]))

    def replace(
        self, obj: resource.Resource, subresource: interface.Subresource = "spec"
    ) -> resource.Resource:
        path = self._item(_model(obj.kind), obj.metadata.name, obj.metadata.namespace)
        if subresource == "status":
            path += "/status"
        return _decode(self._request("PUT", path, json=obj.wire()))

    def patch(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        subresource: interface.Subresource = "spec",
    ) -> resource.Resource:
        path = self._item(_model(kind), name, namespace)
        if subresource == "status":
            path += "/status"
        content = json.dumps(dict(patch)).encode()
        headers = {"Content-Type": MERGE_PATCH}
        return _decode(self._request("PATCH", path, content=content, headers=headers))

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> resource.Resource:
        path = self._item(_model(kind), name, namespace)
        options = None
        if resource_version is not None:
            options = {
                "apiVersion": "v1",
                "kind": "DeleteOptions",
                "preconditions": {"resourceVersion": resource_version},
            }
        return _decode(self._request("DELETE", path, json=options))

    def apply(self, objs: Sequence[resource.Resource]) -> builtins.list[interface.ApplyResult]:
        batch = {"apiVersion": "v1", "kind": "List", "items": [obj.wire() for obj in objs]}
        data = self._request("POST", f"{PREFIX}/apply", json=batch)
        return [
            interface.ApplyResult(item["outcome"], _decode(item["object"]))
            for item in data.get("items") or []
        ]

    def events(
        self,
        since: int,
        kind: str | None = None,
        namespace: str | None = None,
        label_selector: selector.Selector = _NO_SELECTOR,
        limit: int = 1000,
    ) -> builtins.list[interface.WatchEvent]:
        params: dict[str, str | int] = {}
        if kind is not None:
            params["kind"] = kind
        if namespace is not None:
            params["namespace"] = namespace
        if label_selector:
            params["labelSelector"] = str(label_selector)
        found: builtins.list[interface.WatchEvent] = []
        while len(found) < limit:
            # The server caps a page; fewer events than asked for means no more match.
            asked = limit - len(found)
            page = {**params, "resourceVersion": since, "limit": asked}
            data = self._request("GET", f"{PREFIX}/eventlog", params=page)
            events = [_event(item) for item in data.get("items") or []]
            found += events
            if not events or len(events) < min(asked, _EVENT_PAGE):
                break
            since = events[-1].resource_version
        return found

    def wait(self, after: int, timeout: float) -> int:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            remaining = max(deadline - time.monotonic(), 0.0)
            data = self._request(
                "GET",
                f"{PREFIX}/wait",
                params={"resourceVersion": after, "timeoutSeconds": round(remaining, 3)},
                timeout=httpx.Timeout(self._timeout, read=remaining + _WAIT_MARGIN),
            )
            latest = int(data["resourceVersion"])
            if latest > after or time.monotonic() >= deadline:
                return latest

    def resource_version(self) -> int:
        return int(self._request("GET", f"{PREFIX}/wait")["resourceVersion"])

    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        resource_version: int | None = None,
        label_selector: selector.Selector = _NO_SELECTOR,
        timeout_seconds: int | None = None,
    ) -> Iterator[interface.WatchEvent]:
        """Events as they happen: without `resource_version` (or with 0, as in Kubernetes),
        first an ADDED event for each current object, then every later change; with it,
        every change after it, in order. Raises Gone when that version was compacted (list
        again). Close the iterator (or let it go out of scope) to end the stream."""
        params: dict[str, str | int] = {"watch": "1"}
        if resource_version is not None:
            params["resourceVersion"] = resource_version
        if label_selector:
            params["labelSelector"] = str(label_selector)
        if timeout_seconds is not None:
            params["timeoutSeconds"] = timeout_seconds
        path = self._collection(_model(kind), namespace)
        timeout = httpx.Timeout(self._timeout, read=None)
        try:
            with self._client.stream("GET", path, params=params, timeout=timeout) as response:
                if response.is_error:
                    response.read()
                    raise errors.from_response(response)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    data = json.loads(line)
                    if data.get("type") == "ERROR":
                        raise errors.from_status(data.get("object"))
                    yield _event(data)
        except httpx.TransportError as err:
            raise errors.UnavailableError(f"watch on {self.base_url}{path} broke: {err}") from err

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpStore({self.base_url!r})"


if TYPE_CHECKING:

    def _implements_store(store: HttpStore) -> interface.Store:
        """Never called: mypy proves here that HttpStore keeps the Store contract."""
        return store
