"""k8s4ai: an orchestration plane for AI and stateful workloads on Kubernetes."""

__version__ = "0.1.0"
