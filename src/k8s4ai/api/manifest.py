"""Manifests: multi-document YAML (or JSON) turned into validated objects, with every problem
reported as `file: document N (line L): field.path: reason`, one per line, so a user can fix a
whole batch in one pass. Nothing here touches a store: a batch with any problem is rejected
before anything is applied."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from k8s4ai.api import errors, meta, references, registry, resource


@dataclass(frozen=True, slots=True)
class Document:
    source: str
    index: int
    line: int
    data: Any
    item: int | None = None
    """Position inside a `kind: List` document, whose items are applied one by one."""

    @property
    def where(self) -> str:
        item = f" item {self.item}" if self.item is not None else ""
        return f"{self.source}: document {self.index}{item} (line {self.line})"


@dataclass(frozen=True, slots=True)
class Problem:
    where: str
    error: errors.FieldError

    def __str__(self) -> str:
        return f"{self.where}: {self.error}"


class ManifestError(Exception):
    """Carries every problem found; `str()` is one line per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class Manifest:
    document: Document
    object: resource.Resource


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which PyYAML would otherwise silently merge."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def split(source: str, text: str) -> tuple[list[Document], list[Problem]]:
    """The non-empty documents of a YAML stream; a syntax error stops at that document."""
    docs: list[Document] = []
    loader = _Loader(text)
    index = current = 0
    try:
        while True:
            current = index + 1
            if not loader.check_node():
                break
            node = loader.get_node()
            data = loader.construct_document(node) if node is not None else None
            index = current
            if data is not None and node is not None:
                docs.append(Document(source, index, node.start_mark.line + 1, data))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(err, "problem", None) or str(err)
        where = f"{source}: document {current}{line}"
        return docs, [Problem(where, errors.FieldError("", f"invalid YAML: {reason}"))]
    finally:
        loader.dispose()
    return _expand_lists(docs)


def _expand_lists(docs: list[Document]) -> tuple[list[Document], list[Problem]]:
    out: list[Document] = []
    problems: list[Problem] = []
    for doc in docs:
        data = doc.data
        if isinstance(data, dict) and data.get("kind") == "List" and "items" in data:
            items = data["items"]
            if not isinstance(items, list):
                problems.append(Problem(doc.where, errors.FieldError("items", "must be a list")))
                continue
            out.extend(
                Document(doc.source, doc.index, doc.line, item, item=i)
                for i, item in enumerate(items)
            )
        else:
            out.append(doc)
    return out, problems


def validate(
    doc: Document, default_namespace: str = "default"
) -> resource.Resource | list[Problem]:
    """The typed object for one document, or every problem with it."""
    data = doc.data
    if not isinstance(data, dict):
        reason = f"expected an object with apiVersion and kind, got {type(data).__name__}"
        return [Problem(doc.where, errors.FieldError("", reason))]
    problems = []
    api_version, kind_name = data.get("apiVersion"), data.get("kind")
    if api_version != meta.GROUP_VERSION:
        reason = (
            "required field is missing"
            if api_version is None
            else f"{api_version!r} is not served; use {meta.GROUP_VERSION}"
        )
        problems.append(Problem(doc.where, errors.FieldError("apiVersion", reason)))
    if kind_name is None:
        problems.append(Problem(doc.where, errors.FieldError("kind", "required field is missing")))
        return problems
    try:
        kind = registry.by_kind(str(kind_name))
    except registry.UnknownKindError:
        known = ", ".join(k.kind_name for k in registry.KINDS)
        reason = f"unknown kind {kind_name!r}; known: {known}"
        problems.append(Problem(doc.where, errors.FieldError("kind", reason)))
        return problems
    if problems:
        return problems
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and kind.namespaced:
        data = {**data, "metadata": {"namespace": default_namespace, **metadata}}
    elif isinstance(metadata, dict) and metadata.get("namespace") is not None:
        reason = f"{kind.kind_name} is cluster-scoped; remove it"
        return [Problem(doc.where, errors.FieldError("metadata.namespace", reason))]
    try:
        return kind.model_validate(data)
    except ValidationError as err:
        return [Problem(doc.where, e) for e in errors.from_validation_error(err)]


def load(
    sources: Sequence[tuple[str, str]],
    lookup: references.Lookup | None = None,
    default_namespace: str = "default",
) -> list[Manifest]:
    """Parse and validate `(source name, text)` pairs; raise ManifestError with every problem.

    `lookup` (see `references.Lookup`) resolves references to stored objects; without it,
    references must be satisfied inside the batch.
    """
    problems: list[Problem] = []
    manifests: list[Manifest] = []
    for source, text in sources:
        docs, split_problems = split(source, text)
        problems.extend(split_problems)
        for doc in docs:
            result = validate(doc, default_namespace)
            if isinstance(result, list):
                problems.extend(result)
            else:
                manifests.append(Manifest(doc, result))
    seen: dict[tuple[str, str, str], Document] = {}
    for m in manifests:
        if (first := seen.setdefault(m.object.key, m.document)) is not m.document:
            problems.append(
                Problem(
                    m.document.where,
                    errors.FieldError(
                        "metadata.name",
                        f"{m.object.kind} {m.object.metadata.name!r} is also defined at "
                        f"{first.where}",
                    ),
                )
            )
    objs = [m.object for m in manifests]
    for i, error in references.check(objs, lookup or (lambda kind, ns, name: None)):
        problems.append(Problem(manifests[i].document.where, error))
    if problems:
        raise ManifestError(problems)
    return manifests
