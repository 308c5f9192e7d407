"""Validation problems as (field path, reason) pairs, the one form every entry point reports:
manifests print them per line, the server returns them as Status causes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

_LEADING_FIELD = re.compile(r"^(?P<field>[a-z][A-Za-z0-9]*): (?P<reason>.+)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


def field_path(loc: Sequence[int | str]) -> str:
    """`('spec', 'podSets', 0, 'gpus')` → `spec.podSets[0].gpus`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _reason(error: Any) -> tuple[str, str]:
    """Pydantic prefixes our validators' messages with "Value error, "; a message that starts
    with `field: ` names a field below the model that raised it, so move it into the path."""
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    extra = ""
    if match := _LEADING_FIELD.match(message):
        extra, message = match.group("field"), match.group("reason")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "literal_error":
        message = message.replace("Input should be", "must be")
    return extra, message


def from_validation_error(
    err: ValidationError, prefix: Sequence[int | str] = ()
) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for error in err.errors():
        loc = [*prefix, *(part for part in error["loc"] if not _is_union_tag(part))]
        extra, reason = _reason(error)
        if extra:
            loc.append(extra)
        path = field_path(loc)
        if path not in seen:
            seen.add(path)
            errors.append(FieldError(path, reason))
    return errors


def _is_union_tag(part: int | str) -> bool:
    """Pydantic names union members in locations (`function-plain[...]`, `literal['auto']`);
    users never wrote those, so they are dropped from paths."""
    return isinstance(part, str) and ("[" in part or part in {"int", "float", "str"})
