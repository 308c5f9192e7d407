"""The k8s4ai resource API (`k8s4ai.io/v1alpha1`): typed models for every kind.

This is public: import kinds from here (`from k8s4ai.api import GangSchedulingGroup`).
"""

from k8s4ai.api.accelerator import AcceleratorClass, AcceleratorClassSpec, MigProfile
from k8s4ai.api.budget import Budget, BudgetSpec
from k8s4ai.api.checkpoint import CheckpointPolicy, CheckpointPolicySpec
from k8s4ai.api.event import Event
from k8s4ai.api.gang import GangSchedulingGroup, GangSchedulingGroupSpec, PodSet
from k8s4ai.api.inference import InferenceService, InferenceServiceSpec
from k8s4ai.api.meta import GROUP_VERSION, Condition, ObjectMeta
from k8s4ai.api.node import GpuGroup, Node, NodeSpec
from k8s4ai.api.queue import Queue, QueueSpec, ResourceQuota
from k8s4ai.api.registry import KINDS, UnknownKindError, lookup
from k8s4ai.api.resource import Resource
from k8s4ai.api.routing import ContentRouter, ContentRouterSpec
from k8s4ai.api.topology import TopologyDomain, TopologyDomainSpec
from k8s4ai.api.units import Duration, Quantity
from k8s4ai.api.vram import VRAMPool, VRAMPoolSpec
from k8s4ai.api.workload import PodResources

__all__ = [
    "GROUP_VERSION",
    "KINDS",
    "AcceleratorClass",
    "AcceleratorClassSpec",
    "Budget",
    "BudgetSpec",
    "CheckpointPolicy",
    "CheckpointPolicySpec",
    "Condition",
    "ContentRouter",
    "ContentRouterSpec",
    "Duration",
    "Event",
    "GangSchedulingGroup",
    "GangSchedulingGroupSpec",
    "GpuGroup",
    "InferenceService",
    "InferenceServiceSpec",
    "MigProfile",
    "Node",
    "NodeSpec",
    "ObjectMeta",
    "PodResources",
    "PodSet",
    "Quantity",
    "Queue",
    "QueueSpec",
    "Resource",
    "ResourceQuota",
    "TopologyDomain",
    "TopologyDomainSpec",
    "UnknownKindError",
    "VRAMPool",
    "VRAMPoolSpec",
    "lookup",
]
