"""Talking to a k8s4ai API server: `k8s4ai.client.http.HttpStore` keeps the same Store
contract as the embedded store, so callers choose a backend by configuration alone."""
