"""What users import: `k8s4ai.api` (the kinds) and `k8s4ai.testing` (builders). Changing
these lists is an API change; the rest of the package may move freely."""

import k8s4ai.api
import k8s4ai.testing

API = {
    "GROUP_VERSION", "KINDS", "AcceleratorClass", "AcceleratorClassSpec", "Budget",
    "BudgetSpec", "CheckpointPolicy", "CheckpointPolicySpec", "Condition", "ContentRouter",
    "ContentRouterSpec", "Duration", "Event", "GangSchedulingGroup", "GangSchedulingGroupSpec",
    "GpuGroup", "InferenceService", "InferenceServiceSpec", "MigProfile", "Node", "NodeSpec",
    "ObjectMeta", "PodResources", "PodSet", "Quantity", "Queue", "QueueSpec", "Resource",
    "ResourceQuota", "TopologyDomain", "TopologyDomainSpec", "UnknownKindError", "VRAMPool",
    "VRAMPoolSpec", "lookup",
}

TESTING = {
    "Gang", "accelerator_class", "checkpoint_policy", "content_router", "gang",
    "inference_service", "node", "queue", "topology", "typed",
}


def test_api_exports_are_pinned() -> None:
    assert set(k8s4ai.api.__all__) == API
    assert all(hasattr(k8s4ai.api, name) for name in API)


def test_testing_exports_are_pinned() -> None:
    assert set(k8s4ai.testing.__all__) == TESTING
    assert all(hasattr(k8s4ai.testing, name) for name in TESTING)
