"""The names `k8s4ai.store` exports; changing them is an API change for the CLI and server."""

from __future__ import annotations

import k8s4ai.store


def test_public_names() -> None:
    assert sorted(k8s4ai.store.__all__) == sorted(
        [
            "DEFAULT_EVENT_RETENTION",
            "AlreadyExists",
            "ApplyResult",
            "Conflict",
            "Gone",
            "Invalid",
            "ListResult",
            "NotFound",
            "SqliteStore",
            "Store",
            "StoreError",
            "Synchronous",
            "WatchEvent",
            "open_store",
        ]
    )
    assert all(hasattr(k8s4ai.store, name) for name in k8s4ai.store.__all__)
