"""The shape every k8s4ai object shares, and the facts about a kind that the store, server,
CLI and CRD generator need (plural, scope, printer columns) kept on the kind itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from pydantic import Field

from k8s4ai.api import meta


@dataclass(frozen=True, slots=True)
class PrinterColumn:
    """A column of `k8s4ai get` and of the CRD's additionalPrinterColumns."""

    name: str
    json_path: str
    type: Literal["string", "integer", "number", "boolean", "date"] = "string"
    wide_only: bool = False


class Resource(meta.Model):
    """An API object: apiVersion, kind, metadata, spec and status, as in Kubernetes."""

    kind_name: ClassVar[str]
    plural: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]] = ()
    namespaced: ClassVar[bool] = True
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = ()

    api_version: Literal["k8s4ai.io/v1alpha1"] = "k8s4ai.io/v1alpha1"
    kind: str
    metadata: meta.ObjectMeta
    spec: Any
    status: meta.Status = Field(default_factory=meta.Status)

    @property
    def key(self) -> tuple[str, str, str]:
        """(kind, namespace, name): unique within a store; namespace is "" when cluster-scoped."""
        return (self.kind, self.metadata.namespace or "", self.metadata.name)

    def wire(self) -> dict[str, Any]:
        """The object as JSON-ready data, in manifest field order."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return data

    def spec_wire(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.wire().get("spec", {})
        return spec

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)

    @classmethod
    def singular(cls) -> str:
        return cls.kind_name.lower()
