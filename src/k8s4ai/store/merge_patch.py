"""JSON merge patch (RFC 7386), the patch kind `kubectl patch --type merge` sends.

Kept apart from the store so it is tested against the RFC's examples on its own, and so the
HTTP client can build the same patches the store applies.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def apply(target: Any, patch: Any) -> Any:
    """`target` with `patch` merged in, as RFC 7386 §2 defines it: objects merge key by key,
    `null` removes a key, anything else (lists included) replaces the value whole. Neither
    argument is modified, so a failed validation leaves the caller's data intact."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply(result.get(key), value)
    return result
