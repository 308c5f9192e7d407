"""Kubernetes label selectors (`team=a,tier!=batch,env in (prod,dev),gpu,!spot`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Operator = Literal["=", "!=", "in", "notin", "exists", "!exists"]

_SET = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        match self.operator:
            case "=" | "in":
                return labels.get(self.key) in self.values
            case "!=" | "notin":
                return labels.get(self.key) not in self.values
            case "exists":
                return self.key in labels
            case "!exists":
                return self.key not in labels


@dataclass(frozen=True, slots=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)

    def __str__(self) -> str:
        parts = []
        for r in self.requirements:
            values = ",".join(sorted(r.values))
            match r.operator:
                case "=" | "!=":
                    parts.append(f"{r.key}{r.operator}{values}")
                case "in" | "notin":
                    parts.append(f"{r.key} {r.operator} ({values})")
                case "exists":
                    parts.append(r.key)
                case "!exists":
                    parts.append(f"!{r.key}")
        return ",".join(parts)


def _split(text: str) -> list[str]:
    """Split on commas that are not inside a `( ... )` value set."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse(text: str | None) -> Selector:
    """Parse a selector string; raises ValueError naming the part it could not read."""
    if not text or not text.strip():
        return Selector()
    requirements: list[Requirement] = []
    for part in _split(text):
        if match := _SET.match(part):
            values = frozenset(v.strip() for v in match.group(3).split(",") if v.strip())
            op: Operator = "in" if match.group(2) == "in" else "notin"
            requirements.append(Requirement(match.group(1), op, values))
        elif match := _EQ.match(part):
            op = "!=" if match.group(2) == "!=" else "="
            requirements.append(Requirement(match.group(1), op, frozenset({match.group(3)})))
        elif match := _EXISTS.match(part):
            op = "!exists" if match.group(1) else "exists"
            requirements.append(Requirement(match.group(2), op))
        else:
            raise ValueError(
                f"cannot read label selector part {part.strip()!r}: use key=value, key!=value, "
                "key in (a,b), key notin (a,b), key or !key"
            )
    return Selector(tuple(requirements))
