"""Builders for manifests, shared by k8s4ai's tests, its benchmarks and users' own tests.

They return plain manifest dicts (what a user writes), so tests exercise validation too:
`gang("train").queue("team-a").gpus(8).count(2).build()`.
"""

from k8s4ai.testing.builders import (
    Gang,
    accelerator_class,
    checkpoint_policy,
    content_router,
    gang,
    inference_service,
    node,
    queue,
    topology,
    typed,
)

__all__ = [
    "Gang",
    "accelerator_class",
    "checkpoint_policy",
    "content_router",
    "gang",
    "inference_service",
    "node",
    "queue",
    "topology",
    "typed",
]
