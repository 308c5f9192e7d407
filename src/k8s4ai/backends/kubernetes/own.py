"""k8s4ai's own kinds as listed from the cluster (the CRDs in `deploy/crds.yaml`), validated
into the same models the embedded plane stores; an object that does not validate is logged
and left out, so one bad manifest never stops the loop."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import kr8s.asyncio
import pydantic

from k8s4ai.api import meta, resource
from k8s4ai.backends.kubernetes import calls, transport

log = logging.getLogger(__name__)

VERSION = f"{meta.API_GROUP}/{meta.API_VERSION}"
Kind = TypeVar("Kind", bound=resource.Resource)
KEPT = ("name", "namespace", "labels", "annotations")
STATUS_KEPT = (*KEPT, "uid", "generation")
"""Budgets keep what their status write names (`observedGeneration`)."""


def parse(kind: type[Kind], raw: dict[str, Any], with_status: bool = False) -> Kind:
    """The object with the server's metadata left out (and its status, unless asked)."""
    meta_in = raw.get("metadata") or {}
    kept = {k: meta_in[k] for k in (STATUS_KEPT if with_status else KEPT) if k in meta_in}
    body: dict[str, Any] = {"metadata": kept, "spec": raw.get("spec") or {}}
    if with_status and raw.get("status"):
        body["status"] = raw["status"]
    return kind.model_validate(body)


async def list_own(
    api: kr8s.asyncio.Api, call: calls.ApiCall, kind: type[Kind], with_status: bool = False
) -> list[Kind]:
    listed = await transport.request(api, call, "GET", kind.plural, version=VERSION)
    out = []
    for raw in listed.get("items") or []:
        try:
            out.append(parse(kind, raw, with_status))
        except pydantic.ValidationError as err:
            name = (raw.get("metadata") or {}).get("name")
            log.warning("%s %s is invalid: %s", kind.kind_name, name, err)
    return out
