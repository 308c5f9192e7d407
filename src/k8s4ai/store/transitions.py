"""What a write does to an object, apart from where the object is kept.

These functions decide the next stored state from the stored one and the client's, with the
API server's rules (server-set metadata, generation, which fields each subresource may
change, when a write is a no-op). They take and return wire dicts and models, never a
connection, so every store behaves alike and the rules are tested without a database.
"""

from __future__ import annotations

import contextlib
import gc
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from k8s4ai.api import errors as api_errors
from k8s4ai.api import meta, registry, resource
from k8s4ai.store import errors

Key = tuple[str, str, str]
"""(kind, namespace, name); namespace is "" for cluster-scoped kinds, as in `Resource.key`."""


def model_of(kind: str) -> type[resource.Resource]:
    """The model for a `kind` field value; an unknown kind is NotFound, as the API server
    answers for a resource type it does not serve."""
    try:
        return registry.by_kind(kind)
    except registry.UnknownKindError as err:
        raise errors.NotFound(str(err)) from None


def namespace_of(
    cls: type[resource.Resource], namespace: str | None, name: str, *, strict: bool
) -> str:
    """The namespace part of a key. Namespaced kinds default to "default" like kubectl. A
    namespace on a cluster-scoped kind is an error when writing (`strict`) and ignored when
    reading, as `kubectl get nodes -n x` does."""
    if cls.namespaced:
        return namespace or "default"
    if namespace and strict:
        raise errors.Invalid(
            f'{cls.kind_name} "{name}" is invalid: metadata.namespace: '
            f"{cls.kind_name} is cluster-scoped; remove the namespace",
            [api_errors.FieldError("metadata.namespace", f"{cls.kind_name} is cluster-scoped")],
        )
    return ""


def describe(key: Key) -> str:
    """How messages name an object, like the API server's `queues.k8s4ai.io "a"`."""
    kind, namespace, name = key
    where = f' in namespace "{namespace}"' if namespace else ""
    return f'{model_of(kind).plural}.{meta.API_GROUP} "{name}"{where}'


def validate(cls: type[resource.Resource], wire: Mapping[str, Any]) -> resource.Resource:
    """`wire` as a model, or Invalid with one cause per bad field. Every stored object passes
    through here: models allow assignment without validation, so a client may hand back an
    object it broke after it was built."""
    try:
        return cls.model_validate(wire)
    except ValidationError as err:
        causes = api_errors.from_validation_error(err)
        name = _name_of(wire)
        details = "; ".join(str(cause) for cause in causes)
        raise errors.Invalid(f'{cls.kind_name} "{name}" is invalid: {details}', causes) from None


def decode(kind: str, body: str | bytes) -> resource.Resource:
    """A stored body as its kind's model. Validating the JSON directly gives the same model
    as `model_validate(json.loads(body))`, a quarter faster, which is what a large list or a
    busy watch spends its time on."""
    return model_of(kind).model_validate_json(body)


def decode_all(kind_bodies: Iterable[tuple[str, str]]) -> list[resource.Resource]:
    """Many stored bodies as models, with the cyclic garbage collector paused: a large list
    allocates so many objects that the collector, running again and again over everything
    alive, doubled the time of a 10k-object list. Models hold no reference cycles, so the
    pause leaves nothing behind for the collector to find."""
    with _gc_paused():
        return [decode(kind, body) for kind, body in kind_bodies]


def encode(obj: resource.Resource) -> str:
    """`obj.wire()` as compact JSON, serialized by pydantic in one step (3x `json.dumps`)."""
    return obj.model_dump_json(exclude_none=True)


def encode_labels(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


def check_precondition(key: Key, current_rv: int, given: object) -> None:
    """A write naming a resourceVersion applies only to that version (optimistic locking)."""
    if given is None or str(given) == str(current_rv):
        return
    raise errors.Conflict(
        f"Operation cannot be fulfilled on {describe(key)}: the object has been modified "
        f"(current resourceVersion {current_rv}, the write named {given}); read the latest "
        "version and try again"
    )


def created(
    obj: resource.Resource, namespace: str, *, uid: str, rv: int, now: datetime
) -> dict[str, Any]:
    """The first stored state: server-set metadata replaces whatever the client sent."""
    wire = obj.wire()
    metadata = wire["metadata"]
    for field in ("uid", "resourceVersion", "generation", "creationTimestamp", "namespace"):
        metadata.pop(field, None)
    if namespace:
        metadata["namespace"] = namespace
    metadata["uid"] = uid
    metadata["resourceVersion"] = str(rv)
    metadata["generation"] = 1
    metadata["creationTimestamp"] = now.astimezone(UTC).replace(microsecond=0)
    return wire


def spec_written(current: resource.Resource, incoming: resource.Resource) -> dict[str, Any] | None:
    """The state after a write to the main resource: spec, labels and annotations from the
    client, everything else kept. None when none of those changed, so that re-applying an
    unchanged manifest costs no resourceVersion and wakes no watcher."""
    spec = incoming.spec_wire()
    spec_changed = spec != current.spec_wire()
    labels, annotations = incoming.metadata.labels, incoming.metadata.annotations
    if (
        not spec_changed
        and labels == current.metadata.labels
        and annotations == current.metadata.annotations
    ):
        return None
    wire = current.wire()
    wire["spec"] = spec
    wire["metadata"]["labels"] = dict(labels)
    wire["metadata"]["annotations"] = dict(annotations)
    if spec_changed:
        wire["metadata"]["generation"] = (current.metadata.generation or 0) + 1
    return wire


def status_written(
    current: resource.Resource, incoming: resource.Resource
) -> dict[str, Any] | None:
    """The state after a status write: only status from the client. None when unchanged, so
    controllers that rewrite the same status every loop do not flood watchers."""
    status = incoming.status.model_dump(mode="json", exclude_none=True)
    if status == current.status.model_dump(mode="json", exclude_none=True):
        return None
    wire = current.wire()
    wire["status"] = status
    return wire


def stamped(cls: type[resource.Resource], wire: dict[str, Any], rv: int) -> resource.Resource:
    """The stored model of `wire` at resourceVersion `rv`."""
    wire["metadata"]["resourceVersion"] = str(rv)
    return validate(cls, wire)


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """`gc.disable()` for the block, counted so that overlapping pauses from several threads
    re-enable the collector only when the last one ends, and only if it was on before."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def _name_of(wire: Mapping[str, Any]) -> str:
    metadata = wire.get("metadata")
    return str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""
