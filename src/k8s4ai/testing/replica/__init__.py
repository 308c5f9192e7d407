"""A mock OpenAI-compatible inference replica, standing in for vLLM on machines without
GPUs: an LRU prefix cache of 512-token blocks with a capacity like a GPU's
(`prefix_cache`), a latency model (`latency`), and the HTTP endpoints clients and routers
use (`server`). Start one in this process with `start`, or as a process with
``python -m k8s4ai.testing.replica --port P --model NAME --cache-blocks N``; read its
`/metrics` with `metrics.read`.
"""

from k8s4ai.testing.replica.latency import LatencyModel
from k8s4ai.testing.replica.run import RunningReplica, main, start
from k8s4ai.testing.replica.server import ReplicaConfig, create_app

__all__ = ["LatencyModel", "ReplicaConfig", "RunningReplica", "create_app", "main", "start"]
