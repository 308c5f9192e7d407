"""Cross-object reference checks on the server's writes, so a client that skips them (curl,
an old CLI) cannot store a job pointing at a queue that does not exist."""

from __future__ import annotations

from collections.abc import Sequence

from k8s4ai.api import errors as api_errors
from k8s4ai.api import references, resource
from k8s4ai.store import interface, lookup


def problems(
    store: interface.Store, objs: Sequence[resource.Resource]
) -> list[tuple[int, api_errors.FieldError]]:
    """Blocking (it reads the store): run it in a worker thread."""
    return references.check(objs, lookup.lookup_in(store))
