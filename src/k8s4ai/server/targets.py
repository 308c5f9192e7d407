"""From a request path to the kind, namespace and name it addresses, and from a body to a
validated object for that address, with Kubernetes' rules for what must agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request

from k8s4ai.api import errors as api_errors
from k8s4ai.api import meta, registry, resource
from k8s4ai.server import status

PREFIX = f"/apis/{meta.GROUP_VERSION}"


@dataclass(frozen=True, slots=True)
class Target:
    cls: type[resource.Resource]
    namespace: str | None
    """The path's namespace; None for a cluster-scoped kind, or all namespaces on a list."""
    name: str | None = None

    @property
    def kind(self) -> str:
        return self.cls.kind_name

    @property
    def plural(self) -> str:
        return self.cls.plural

    @property
    def object_name(self) -> str:
        """The name on an item route (routes without `{name}` never ask for it)."""
        if self.name is None:
            raise status.bad_request("this request needs an object name in its path")
        return self.name


def collection_path(cls: type[resource.Resource], namespace: str | None) -> str:
    if cls.namespaced and namespace is not None:
        return f"{PREFIX}/namespaces/{namespace}/{cls.plural}"
    return f"{PREFIX}/{cls.plural}"


def kind_for(plural: str) -> type[resource.Resource]:
    try:
        return registry.by_plural(plural)
    except registry.UnknownKindError:
        known = ", ".join(sorted(kind.plural for kind in registry.KINDS))
        raise status.ApiError(
            404, f"the server has no resource {plural!r} in {meta.GROUP_VERSION}; "
            f"known resources: {known}"
        ) from None


def resolve(request: Request) -> Target:
    """Check the path's scope against the kind's: a cluster-scoped kind under a namespace,
    or one namespaced object addressed without its namespace, is a wrong URL (404)."""
    params = request.path_params
    cls = kind_for(params["plural"])
    namespace: str | None = params.get("namespace")
    name: str | None = params.get("name")
    if namespace is not None and not cls.namespaced:
        raise status.ApiError(
            404, f"{cls.kind_name} is cluster-scoped: use {collection_path(cls, None)}",
            kind=cls.kind_name, name=name,
        )
    if namespace is None and cls.namespaced and name is not None:
        raise status.ApiError(
            404, f"{cls.kind_name} is namespaced: use "
            f"{PREFIX}/namespaces/{{namespace}}/{cls.plural}/{name}",
            kind=cls.kind_name, name=name,
        )
    return Target(cls, namespace, name)


def decode(target: Target, body: dict[str, Any]) -> resource.Resource:
    """Validate a body for `target`, filling namespace and name from the path when the body
    leaves them out; a body that contradicts its path is a BadRequest, as in Kubernetes."""
    data = dict(body)
    kind, name = target.kind, target.name
    if data.get("kind") not in (None, kind):
        raise status.bad_request(
            f"the kind in the body ({data['kind']}) does not match the path ({kind})",
            kind=kind, name=name,
        )
    if data.get("apiVersion") not in (None, meta.GROUP_VERSION):
        raise status.bad_request(
            f"the apiVersion in the body ({data['apiVersion']}) does not match the path "
            f"({meta.GROUP_VERSION})", kind=kind, name=name,
        )
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        data["metadata"] = metadata = dict(metadata)
        _agree(metadata, "namespace", target.namespace, kind, name)
        _agree(metadata, "name", target.name, kind, name)
        if not target.cls.namespaced and metadata.get("namespace"):
            raise status.invalid(
                [api_errors.FieldError("metadata.namespace", f"{kind} is cluster-scoped")],
                kind=kind, name=name,
            )
        name = name or (metadata.get("name") if isinstance(metadata.get("name"), str) else None)
    try:
        return target.cls.model_validate(data)
    except ValidationError as err:
        raise status.from_validation_error(err, kind=kind, name=name) from None


def _agree(
    metadata: dict[str, Any], field: str, from_path: str | None, kind: str, name: str | None
) -> None:
    if from_path is None:
        return
    in_body = metadata.get(field)
    if in_body in (None, ""):
        metadata[field] = from_path
    elif in_body != from_path:
        where = "URL" if field == "name" else "request"
        raise status.bad_request(
            f"the {field} of the object ({in_body}) does not match the {field} on the "
            f"{where} ({from_path})", kind=kind, name=name,
        )
