"""Why a pod waits, where `kubectl describe pod` shows it: the pod's `PodScheduled`
condition (False, reason `Unschedulable`, as kube-scheduler sets it) and a Warning Event
`FailedScheduling` naming the same cause.

A pod whose condition already says the same thing is left alone, so a pass that decides
nothing new writes nothing, and a restarted controller does not repeat its Events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kr8s.asyncio

from k8s4ai.backends.kubernetes import calls, transport, workloads

REASON = "Unschedulable"
EVENT_REASON = "FailedScheduling"
COMPONENT = "k8s4ai"
STRATEGIC = "application/strategic-merge-patch+json"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def said(pod: Mapping[str, Any]) -> str | None:
    """The message of the pod's PodScheduled=False condition, if it has one."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return str(cond.get("message", ""))
    return None


async def explain(
    api: kr8s.asyncio.Api,
    pod: Mapping[str, Any],
    message: str,
    now: datetime,
) -> bool:
    """Set the condition and record the Event, unless the pod says so already; whether it
    wrote."""
    if said(pod) == message:
        return False
    member = workloads.member(pod)
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": REASON,
        "message": message,
        "lastTransitionTime": _stamp(now),
    }
    await transport.request(
        api,
        calls.PATCH_POD_STATUS,
        "PATCH",
        f"pods/{member.name}/status",
        member.namespace,
        {"status": {"conditions": [condition]}},
        content_type=STRATEGIC,
    )
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{member.name}.{int(now.timestamp() * 1e6):x}",
            "namespace": member.namespace,
        },
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": member.name,
            "namespace": member.namespace,
            "uid": member.uid,
        },
        "reason": EVENT_REASON,
        "message": message,
        "type": "Warning",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": _stamp(now),
        "lastTimestamp": _stamp(now),
        "count": 1,
    }
    await transport.request(api, calls.CREATE_EVENT, "POST", "events", member.namespace, event)
    return True
