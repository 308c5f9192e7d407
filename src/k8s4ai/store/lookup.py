"""A store as the `references.Lookup` that cross-object checks take: a missing object is
None, not an error."""

from __future__ import annotations

from k8s4ai.api import references, resource
from k8s4ai.store import errors, interface


def lookup_in(store: interface.Store) -> references.Lookup:
    def lookup(kind: str, namespace: str | None, name: str) -> resource.Resource | None:
        try:
            return store.get(kind, name, namespace)
        except errors.NotFound:
            return None

    return lookup
