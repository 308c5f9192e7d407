"""Every kind the API serves, found by any name a user might type (kind, plural, singular,
short name), as kubectl resolves `get gangs` or `get GangSchedulingGroup`."""

from __future__ import annotations

from k8s4ai.api import (
    accelerator,
    budget,
    checkpoint,
    event,
    gang,
    inference,
    node,
    queue,
    resource,
    routing,
    topology,
    vram,
)

KINDS: tuple[type[resource.Resource], ...] = (
    accelerator.AcceleratorClass,
    topology.TopologyDomain,
    node.Node,
    queue.Queue,
    budget.Budget,
    vram.VRAMPool,
    checkpoint.CheckpointPolicy,
    gang.GangSchedulingGroup,
    inference.InferenceService,
    routing.ContentRouter,
    event.Event,
)
"""Most referenced first, which is also the order `get all` and `up` print them in."""

_BY_NAME: dict[str, type[resource.Resource]] = {}
for _kind in KINDS:
    for _alias in (_kind.kind_name, _kind.plural, _kind.singular(), *_kind.short_names):
        _BY_NAME[_alias.lower()] = _kind


class UnknownKindError(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        known = ", ".join(sorted(k.plural for k in KINDS))
        super().__init__(f"unknown kind {name!r}; known kinds: {known}")


def lookup(name: str) -> type[resource.Resource]:
    """The kind a user means by `name`; raises UnknownKindError listing the valid ones."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise UnknownKindError(name) from None


def by_kind(kind: str) -> type[resource.Resource]:
    """The model for an exact `kind` field value."""
    for candidate in KINDS:
        if candidate.kind_name == kind:
            return candidate
    raise UnknownKindError(kind)


def by_plural(plural: str) -> type[resource.Resource]:
    for candidate in KINDS:
        if candidate.plural == plural:
            return candidate
    raise UnknownKindError(plural)
