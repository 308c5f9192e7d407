"""`/api/v1/remediation` on a real server: an OOMKilled gang's plan is listed under the
CLI's id, refused to a read token, approved with a write token (the gang is patched and the
audit names the API actor), and undone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from k8s4ai.api import gang as k8s4ai_gang
from k8s4ai.controllers import remediation as store_remediation
from k8s4ai.server import openapi, run
from k8s4ai.store import sqlite
from k8s4ai.testing import builders

from .conftest import READ_TOKEN, TOKENS, WRITE_TOKEN

pytestmark = pytest.mark.integration

PATH = "/api/v1/remediation"
Start = Callable[..., run.RunningServer]
Client = Callable[..., httpx.Client]


def _oom_killed(store: sqlite.SqliteStore) -> None:
    store.apply([builders.typed(builders.node("n0"))])
    manifest = builders.gang("llm", "team-a").gpus(8).build()
    manifest["spec"]["podSets"][0]["resources"]["memory"] = "64Gi"
    store.apply([builders.typed(manifest)])
    status = {"phase": "Failed", "reason": "OOMKilled", "exitCode": 137, "peakMemory": "64Gi"}
    store.patch("GangSchedulingGroup", "llm", "team-a", {"status": status}, "status")


def _memory(store: sqlite.SqliteStore) -> float:
    """The pod set's memory request in MiB."""
    gang = store.get("GangSchedulingGroup", "llm", "team-a")
    assert isinstance(gang, k8s4ai_gang.GangSchedulingGroup)
    return gang.spec.pod_sets[0].resources.memory.bytes / 2**20


def test_approve_over_http_is_audited_and_undoable(
    store: sqlite.SqliteStore, db_path: Path, serve: Start, client: Client
) -> None:
    _oom_killed(store)
    audit = store_remediation.audit_path(db_path)
    server = serve(tokens=TOKENS, remediation_audit=audit)
    reader, writer = client(server, READ_TOKEN), client(server, WRITE_TOKEN)

    listed = reader.get(PATH)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [f["rule"] for f in body["findings"]] == ["oom-killed"]
    (proposal,) = body["proposals"]
    assert proposal["subject"] == "GangSchedulingGroup/team-a/llm"
    assert (proposal["certainty"], proposal["doubt"]) == ("certain", None)
    assert {"object": "GangSchedulingGroup/team-a/llm", "field": "memory_mib",
            "before": 65536.0, "after": 78644.0} in proposal["changes"]  # fmt: skip
    plan_id = proposal["id"]

    refused = reader.post(f"{PATH}/proposals/{plan_id}/approve")
    assert refused.status_code == 403
    assert _memory(store) == 65536
    assert client(server).get(PATH).status_code == 401

    approved = writer.post(f"{PATH}/proposals/{plan_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["actor"] == "api:write"
    assert _memory(store) == 78644
    assert reader.get(PATH).json()["proposals"] == []

    trail = reader.get(f"{PATH}/audit", params={"tail": 2}).json()["records"]
    assert [r["event"] for r in trail] == ["dry-run", "applied"]
    assert trail[1]["actor"] == "api:write" and trail[1]["id"] == plan_id
    assert "memory_mib 65536 → 78644" in trail[1]["line"]

    again = writer.post(f"{PATH}/proposals/{plan_id}/approve")
    assert again.status_code == 404
    assert reader.post(f"{PATH}/actions/{plan_id}/undo").status_code == 403
    undone = writer.post(f"{PATH}/actions/{plan_id}/undo")
    assert undone.status_code == 200, undone.text
    assert _memory(store) == 65536
    assert writer.post(f"{PATH}/actions/{plan_id}/undo").status_code == 409
    last = reader.get(f"{PATH}/audit", params={"tail": 1}).json()["records"]
    assert last[0]["event"] == "undone" and last[0]["actor"] == "api:write"


def test_reject_and_bad_requests(
    store: sqlite.SqliteStore, db_path: Path, serve: Start, client: Client
) -> None:
    _oom_killed(store)
    server = serve(tokens=TOKENS, remediation_audit=store_remediation.audit_path(db_path))
    writer = client(server, WRITE_TOKEN)
    (proposal,) = writer.get(PATH).json()["proposals"]
    rejected = writer.post(f"{PATH}/proposals/{proposal['id']}/reject")
    assert rejected.status_code == 200, rejected.text
    assert writer.get(PATH).json()["proposals"] == []
    assert writer.post(f"{PATH}/proposals/nope/approve").status_code == 404
    assert writer.post(f"{PATH}/actions/nope/undo").status_code == 404
    assert writer.get(f"{PATH}/audit", params={"tail": "x"}).status_code == 400
    assert _memory(store) == 65536


def test_not_configured_without_an_audit_path(serve: Start, client: Client) -> None:
    server = serve()
    assert client(server).get(PATH).status_code == 404


def test_documented_in_openapi() -> None:
    paths = openapi.document()["paths"]
    assert set(paths[f"{PATH}/proposals/{{id}}/approve"]) == {"post"}
    assert set(paths[f"{PATH}/audit"]) == {"get"}
