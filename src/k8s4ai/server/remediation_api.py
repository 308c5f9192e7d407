"""`/api/v1/remediation`: what the remediation rules find in the live store and the plans
waiting for approval, decided over HTTP the way `k8s4ai remediation` decides them from the
CLI — the same ids, the same guardrails and dry-run check, the same audit log.

    GET  /api/v1/remediation                          findings and pending plans
    POST /api/v1/remediation/proposals/{id}/approve   apply a plan
    POST /api/v1/remediation/proposals/{id}/reject    never propose it again while the fault lasts
    POST /api/v1/remediation/actions/{id}/undo        write back every field it changed
    GET  /api/v1/remediation/audit?tail=N             the audit trail, oldest first

Reads need a token (any role), decisions a write token; the auth middleware enforces both.
The audit records the decision's actor as the server knows it, by the token's role
(`api:write`), or `api:anonymous` when authentication is off. Every call runs one pass of
the rules off the event loop, as the CLI does, so what it answers is the store as it is now.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from k8s4ai.controllers import remediation as store_remediation
from k8s4ai.remediation import audit, engine, explain, finding
from k8s4ai.server import auth, metrics, status
from k8s4ai.store import interface

PATH = "/api/v1/remediation"
MAX_TAIL = 10_000

Clock = Callable[[], datetime]


class Api:
    """The routes' shared state: the store, where the audit log is, the tokens (to name
    the actor) and the clock."""

    def __init__(
        self,
        store: interface.Store,
        log_path: Path | None,
        tokens: Mapping[str, auth.Role] | None,
        clock: Clock,
    ) -> None:
        self.store = store
        self.log_path = log_path
        self.tokens = tokens
        self.clock = clock

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.overview, methods=["GET"]),
            Route(f"{PATH}/proposals/{{id}}/approve", self.approve, methods=["POST"]),
            Route(f"{PATH}/proposals/{{id}}/reject", self.reject, methods=["POST"]),
            Route(f"{PATH}/actions/{{id}}/undo", self.undo, methods=["POST"]),
            Route(f"{PATH}/audit", self.trail, methods=["GET"]),
        ]

    def _log(self) -> audit.AuditLog:
        if self.log_path is None:
            raise status.ApiError(
                404, "remediation is not configured on this server (no audit log path)"
            )
        return audit.AuditLog(self.log_path)

    async def overview(self, request: Request) -> Response:
        metrics.label(request, "GET", "remediation")
        log = self._log()

        def look() -> dict[str, Any]:
            loop = store_remediation.session(self.store, self.clock, log)
            return {
                "findings": [_finding(f) for f in loop.findings.values()],
                "proposals": [_proposal(p) for p in loop.pending()],
            }

        return JSONResponse(await run_in_threadpool(look))

    async def approve(self, request: Request) -> Response:
        metrics.label(request, "POST", "remediation")
        return await self._decide(request, approve=True)

    async def reject(self, request: Request) -> Response:
        metrics.label(request, "POST", "remediation")
        return await self._decide(request, approve=False)

    async def _decide(self, request: Request, approve: bool) -> Response:
        proposal_id = str(request.path_params["id"])
        actor = self.actor(request)
        log = self._log()

        def decide() -> engine.Outcome | None:
            loop = store_remediation.session(self.store, self.clock, log)
            if proposal_id not in loop.proposals:
                return None
            verb = loop.approve if approve else loop.reject
            return verb(proposal_id, actor)

        outcome = await run_in_threadpool(decide)
        if outcome is None:
            raise status.ApiError(404, f"no pending plan {proposal_id}")
        if not outcome.ok:
            raise status.ApiError(409, outcome.message)
        return JSONResponse({"id": proposal_id, "actor": actor, "message": outcome.message})

    async def undo(self, request: Request) -> Response:
        metrics.label(request, "POST", "remediation")
        action_id = str(request.path_params["id"])
        actor = self.actor(request)
        log = self._log()

        def back() -> str:
            world = store_remediation.StoreWorld(self.store, self.clock)
            return store_remediation.undo(world, log, action_id, actor)

        try:
            message = await run_in_threadpool(back)
        except ValueError as err:
            code = 404 if str(err).startswith("no applied action") else 409
            raise status.ApiError(code, str(err)) from err
        return JSONResponse({"id": action_id, "actor": actor, "message": message})

    async def trail(self, request: Request) -> Response:
        metrics.label(request, "GET", "remediation")
        raw = request.query_params.get("tail")
        tail: int | None = None
        if raw is not None:
            if not raw.isdigit() or not 0 < int(raw) <= MAX_TAIL:
                raise status.bad_request(f"tail: {raw!r} is not a whole number 1–{MAX_TAIL}")
            tail = int(raw)
        records = await run_in_threadpool(self._log().records)
        shown = records[-tail:] if tail else records
        return JSONResponse(
            {"records": [{**r, "line": explain.record_line(r)} for r in shown]}
        )

    def actor(self, request: Request) -> str:
        """Who decides, as the server knows them: the presented token's role."""
        if self.tokens is None:
            return "api:anonymous"
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise status.ApiError(401, "Unauthorized: a bearer token is required")
        role: str | None = None
        for token, known in self.tokens.items():
            if hmac.compare_digest(token.encode(), presented.strip().encode()):
                role = known
        if role is None:
            raise status.ApiError(401, "Unauthorized: the bearer token is not valid")
        return f"api:{role}"


def _finding(found: finding.Finding) -> dict[str, Any]:
    return {
        "rule": found.rule,
        "subject": str(found.subject),
        "severity": found.severity.name.lower(),
        "explanation": found.explanation,
        "evidence": dict(found.evidence),
        "line": explain.finding_line(found),
    }


def _proposal(proposal: engine.Proposal) -> dict[str, Any]:
    made = proposal.plan
    return {
        "id": proposal.id,
        "rule": made.finding.rule,
        "subject": str(made.finding.subject),
        "action": made.action,
        "explanation": made.finding.explanation,
        "effect": made.effect,
        "certainty": made.certainty.value,
        "doubt": made.doubt or None,
        "changes": [
            {"object": str(c.ref), "field": c.field, "before": c.before, "after": c.after}
            for c in made.changes
        ],
        "diff": made.diff(),
        "heldBack": proposal.blocked,
    }


def openapi_paths(errors: Mapping[str, Any]) -> dict[str, Any]:
    """This module's operations for the OpenAPI document; `errors` is its Status response."""
    anything = {"type": "object"}

    def op(operation: str, summary: str, answer: str, *params: str) -> dict[str, Any]:
        return {
            "operationId": operation,
            "summary": summary,
            "tags": ["remediation"],
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                if p == "id"
                else {"name": p, "in": "query", "schema": {"type": "integer"}}
                for p in params
            ],
            "responses": {
                "200": {"description": answer, "content": {"application/json": {
                    "schema": anything}}},
                **errors,
            },
        }  # fmt: skip

    decided = "{id, actor, message}; 404 no such plan, 409 refused (guardrail, stale)"
    return {
        PATH: {"get": op("listRemediation", "Findings and the plans waiting for approval",
                         "{findings [{rule, subject, severity, explanation, evidence, line}], "
                         "proposals [{id, rule, subject, action, explanation, effect, "
                         "certainty, doubt, changes, diff, heldBack}]}")},
        f"{PATH}/proposals/{{id}}/approve": {"post": op(
            "approveRemediation", "Apply a plan after the guardrails and a dry-run check",
            decided, "id")},
        f"{PATH}/proposals/{{id}}/reject": {"post": op(
            "rejectRemediation", "Reject a plan; not proposed again while the fault lasts",
            decided, "id")},
        f"{PATH}/actions/{{id}}/undo": {"post": op(
            "undoRemediation", "Write back every field an applied action changed",
            "{id, actor, message}; 404 no such action, 409 fields changed since", "id")},
        f"{PATH}/audit": {"get": op(
            "readRemediationAudit", "The audit trail, oldest first",
            "{records [audit record + line]}", "tail")},
    }  # fmt: skip
