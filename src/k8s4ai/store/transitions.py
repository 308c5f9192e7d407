"""What a write does to an object, apart from where the object is kept.

These functions decide the next stored state from the stored one and the client's, with the
API server's rules (server-set metadata, generation, which fields each subresource may
change, when a write is a no-op). They take and return wire dicts and models, never a
connection, so every store behaves alike and the rules are tested without a database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    return model_of(kind).model_validate(json.loads(body))


def encode(obj: resource.Resource) -> str:
    return json.dumps(obj.wire(), separators=(",", ":"))


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


def _name_of(wire: Mapping[str, Any]) -> str:
    metadata = wire.get("metadata")
    return str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""
