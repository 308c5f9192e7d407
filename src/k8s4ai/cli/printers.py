"""How objects are shown: kubectl-style tables, YAML and JSON that can be applied again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from k8s4ai.api import resource
from k8s4ai.cli import jsonpath

OUTPUTS = ("table", "wide", "yaml", "json", "name")


def age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "<unknown>"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "d" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def as_yaml(objs: Sequence[resource.Resource], single: bool) -> str:
    if single and len(objs) == 1:
        return _dump_yaml(objs[0].wire())
    return _dump_yaml({"apiVersion": "v1", "kind": "List", "items": [o.wire() for o in objs]})


def as_json(objs: Sequence[resource.Resource], single: bool) -> str:
    if single and len(objs) == 1:
        return json.dumps(objs[0].wire(), indent=2)
    return json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": [o.wire() for o in objs]}, indent=2
    )


def header(kind: type[resource.Resource], wide: bool, all_namespaces: bool) -> list[str]:
    cols = ["NAMESPACE"] if all_namespaces and kind.namespaced else []
    cols.append("NAME")
    cols += [c.name.upper() for c in kind.printer_columns if wide or not c.wide_only]
    return [*cols, "AGE"]


def row(
    obj: resource.Resource, wide: bool, all_namespaces: bool, now: datetime | None = None
) -> list[str]:
    data = obj.wire()
    cells = [obj.metadata.namespace or ""] if all_namespaces and obj.namespaced else []
    cells.append(obj.metadata.name)
    cells += [
        jsonpath.render(c.json_path, data) for c in obj.printer_columns if wide or not c.wide_only
    ]
    cells.append(age(obj.metadata.creation_timestamp, now or datetime.now(UTC)))
    return cells


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    return [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]


def table(rows: Sequence[Sequence[str]], widths: Sequence[int] = ()) -> str:
    """Aligned columns; `widths` keeps later rows (a watch) in line with an earlier table."""
    fitted = column_widths(rows)
    widths = [max(w, widths[i] if i < len(widths) else 0) for i, w in enumerate(fitted)]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=False)).rstrip()
        for r in rows
    )


def names(objs: Sequence[resource.Resource]) -> str:
    return "\n".join(f"{o.singular()}/{o.metadata.name}" for o in objs)
