"""Reading the cluster: the Kubernetes Nodes, through the declared calls, into an inventory."""

from __future__ import annotations

from collections.abc import Sequence

import kr8s.asyncio

from k8s4ai.api import accelerator
from k8s4ai.backends.kubernetes import calls, discovery, transport


async def read_inventory(
    api: kr8s.asyncio.Api,
    known_classes: Sequence[accelerator.AcceleratorClass] = (),
    config: discovery.DiscoveryConfig | None = None,
) -> discovery.Inventory:
    """One list of all Nodes, discovered: a look at a cluster without running the loop
    (the loop keeps its own copy current by list and watch, see `reflector`)."""
    listed = await transport.request(api, calls.LIST_NODES, "GET", "nodes")
    return discovery.discover(listed.get("items") or [], known_classes, config)
