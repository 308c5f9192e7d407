"""Lists in pages and by field, as the Kubernetes list API offers them: `limit` and
`continue`, and `fieldSelector` on a fixed set of fields per kind, so a client that shows 50
jobs out of 10,000 reads 50. Pages are cut from the watch cache, in Kubernetes' list order
(namespace, then name).

    GET .../gangschedulinggroups?fieldSelector=status.phase=Pending,spec.queue=team-a&limit=100

The answer's `metadata.continue` is set while more objects match; passing it back returns the
next page. A continued page reads the objects as they are when it is asked for, starting after
the last one the previous page returned (Kubernetes does the same once the first page's
version has been compacted), so a list walked page by page sees each object at most once but
not one moment; `remainingItemCount` says how many objects follow the page at its moment
(only on a list that no selector narrows, as in Kubernetes).
Field selectors take `=`, `==` and `!=`, as in Kubernetes, and also `in` and `notin`
(`status.phase in (Pending,Preempted)`), which Kubernetes keeps to labels.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from k8s4ai.api import event, gang, meta, node, resource, selector
from k8s4ai.server import status, watch_cache

MAX_LIMIT = 5000
Fields = Callable[[resource.Resource], Mapping[str, str]]


def _gang_fields(obj: resource.Resource) -> Mapping[str, str]:
    assert isinstance(obj, gang.GangSchedulingGroup)
    return {"spec.queue": obj.spec.queue, "status.phase": obj.status.phase}


def _event_fields(obj: resource.Resource) -> Mapping[str, str]:
    assert isinstance(obj, event.Event)
    involved = obj.spec.involved_object
    return {
        "spec.involvedObject.kind": involved.kind,
        "spec.involvedObject.name": involved.name,
        "spec.involvedObject.namespace": involved.namespace or "",
        "spec.type": obj.spec.type,
        "spec.reason": obj.spec.reason,
    }


def _node_fields(obj: resource.Resource) -> Mapping[str, str]:
    assert isinstance(obj, node.Node)
    return {"spec.unschedulable": str(obj.spec.unschedulable).lower()}


KIND_FIELDS: Mapping[str, Fields] = {
    "GangSchedulingGroup": _gang_fields,
    "Event": _event_fields,
    "Node": _node_fields,
}
"""Fields beyond metadata.name and metadata.namespace (which every kind has)."""
_KIND_FIELD_NAMES: Mapping[str, tuple[str, ...]] = {
    "GangSchedulingGroup": ("spec.queue", "status.phase"),
    "Event": ("spec.involvedObject.kind", "spec.involvedObject.name",
              "spec.involvedObject.namespace", "spec.type", "spec.reason"),
    "Node": ("spec.unschedulable",),
}  # fmt: skip
_METADATA = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class Request:
    limit: int | None
    after: watch_cache.Key | None
    fields: selector.Selector


def wanted(params: Mapping[str, str]) -> bool:
    """Whether a list request asks for a page or a field selection (else the store lists)."""
    return any(params.get(p) for p in ("limit", "continue", "fieldSelector"))


def supported_fields(kind: str) -> tuple[str, ...]:
    return (*_METADATA, *_KIND_FIELD_NAMES.get(kind, ()))


def parse(kind: str, params: Mapping[str, str]) -> Request:
    limit: int | None = None
    if params.get("limit"):
        try:
            limit = int(params["limit"])
        except ValueError:
            raise status.bad_request(f"limit: {params['limit']!r} is not a number") from None
        if limit < 0:
            raise status.bad_request("limit: must not be negative")
        limit = min(limit, MAX_LIMIT) or None  # Kubernetes: 0 means no limit
    try:
        fields = selector.parse(params.get("fieldSelector"))
    except ValueError as err:
        raise status.bad_request(f"fieldSelector: {err}") from None
    known = supported_fields(kind)
    for requirement in fields.requirements:
        if requirement.key not in known or requirement.operator in ("exists", "!exists"):
            raise status.bad_request(
                f"fieldSelector: {requirement.key!r} is not a supported field selector for "
                f"{kind} (supported: {', '.join(known)}; operators =, ==, !=, in, notin)"
            )
    return Request(limit, _decode(params["continue"]) if params.get("continue") else None, fields)


def page(
    snapshot: watch_cache.Snapshot,
    namespace: str | None,
    labels: selector.Selector,
    chosen: Request,
    encode: Callable[[resource.Resource], bytes],
) -> bytes:
    """The list document (JSON) for one page of `snapshot`, its items encoded by `encode`.
    As in Kubernetes, `remainingItemCount` is given only when no selector narrows the list
    (counting it would mean matching every object after the page)."""
    keys = snapshot.keys
    if namespace is not None:
        keys = keys[bisect.bisect_left(keys, (namespace, "")):
                    bisect.bisect_left(keys, (namespace + "\x00", ""))]  # fmt: skip
    start = 0 if chosen.after is None else bisect.bisect_right(keys, chosen.after)
    extra = KIND_FIELDS.get(snapshot.kind)
    items: list[bytes] = []
    more, last, remaining = False, None, None
    selected = bool(labels) or bool(chosen.fields)
    for index in range(start, len(keys)):
        key = keys[index]
        obj = snapshot.items[key]
        if selected and not _matches(obj, labels, chosen.fields, extra):
            continue
        if chosen.limit is not None and len(items) >= chosen.limit:
            more = True
            remaining = None if selected else len(keys) - index
            break
        items.append(encode(obj))
        last = key
    metadata: dict[str, Any] = {"resourceVersion": str(snapshot.resource_version)}
    if more and last is not None:
        metadata["continue"] = _encode(last, snapshot.resource_version)
        if remaining is not None:
            metadata["remainingItemCount"] = remaining
    head = json.dumps({"apiVersion": meta.GROUP_VERSION, "kind": f"{snapshot.kind}List",
                       "metadata": metadata}, separators=(",", ":"))  # fmt: skip
    return head[:-1].encode() + b',"items":[' + b",".join(items) + b"]}"


def _matches(
    obj: resource.Resource,
    labels: selector.Selector,
    fields: selector.Selector,
    extra: Fields | None,
) -> bool:
    if labels and not labels.matches(obj.metadata.labels):
        return False
    if not fields:
        return True
    values = {"metadata.name": obj.metadata.name,
              "metadata.namespace": obj.metadata.namespace or ""}  # fmt: skip
    if extra is not None:
        values.update(extra(obj))
    return fields.matches(values)


def _encode(key: watch_cache.Key, rv: int) -> str:
    raw = json.dumps({"rv": rv, "start": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> watch_cache.Key:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        namespace, name = data["start"]
        if not (isinstance(namespace, str) and isinstance(name, str)):
            raise TypeError
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise status.bad_request(f"continue: {token!r} is not a continue token this server "
                                 "gave") from None  # fmt: skip
    return (namespace, name)
