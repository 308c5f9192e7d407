"""Filter, score and GPU-selection plugins; `k8s4ai.scheduler.registry` names them."""
