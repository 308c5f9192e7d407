"""ContentRouter: an OpenAI-compatible, prefix-cache-aware router in front of inference replicas."""
