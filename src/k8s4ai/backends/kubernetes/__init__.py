"""The Kubernetes backend: k8s4ai as an operator and secondary scheduler on a real cluster.

Only this package talks to Kubernetes, through kr8s (`pip install 'k8s4ai[kubernetes]'`).
kr8s was chosen over the official `kubernetes` client, `kubernetes-asyncio` and kopf because
it is built on httpx, which k8s4ai already uses for its own client; it is async-first with
a thin, typed surface (objects as dicts, `api.call_api` for subresources such as Binding);
it reads kubeconfig and in-cluster config; and, being plain HTTP, it runs against a mock API
server on 127.0.0.1 (kmock) without patching. kopf is a framework for handler-per-object
operators with its own peering instead of Lease-based leader election; a secondary scheduler
needs watch streams and one decision loop, not handlers. The generated official clients are
large and sync (`kubernetes`) or aiohttp-based (`kubernetes-asyncio`).

Modules that do not call the API (discovery, the RBAC declaration) import no client, so they
are tested, and used by the CLI, without the extra installed.
"""
