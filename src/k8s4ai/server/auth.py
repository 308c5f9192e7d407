"""Bearer-token authentication with two roles, as kube-apiserver's static token file does it
but with the role in place of RBAC: enough to hand a dashboard a read-only token while the
operator's token can write.

Token file format, one token per line (`#` comments and blank lines ignored):

    token,role[,user]

where role is `read` or `write`.
"""

from __future__ import annotations

import csv
import hmac
import io
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from k8s4ai.server import status

Role = Literal["read", "write"]
ROLES: tuple[Role, ...] = ("read", "write")

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi/v3", "/openapi.json"})
"""Served without a token: probes, scrapers and schema readers carry no credentials."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class GeneratedTokens:
    read: str
    write: str
    path: Path


def parse_token_file(text: str, source: str = "token file") -> dict[str, Role]:
    tokens: dict[str, Role] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in next(csv.reader(io.StringIO(line)))]
        if len(fields) not in (2, 3) or not fields[0]:
            raise ValueError(f"{source}:{number}: expected `token,role[,user]`")
        token, role = fields[0], fields[1]
        if role not in ROLES:
            raise ValueError(f"{source}:{number}: role {role!r} is not one of read, write")
        if token in tokens:
            raise ValueError(f"{source}:{number}: token is listed twice")
        tokens[token] = role
    return tokens


def load_token_file(path: str | os.PathLike[str]) -> dict[str, Role]:
    return parse_token_file(Path(path).read_text(encoding="utf-8"), str(path))


def generate_token_file(path: str | os.PathLike[str]) -> GeneratedTokens:
    """Write a fresh read and write token to `path`, readable by its owner only.

    The file is created with 0600 from the start (not chmod-ed after writing) so the tokens
    are never briefly readable by others."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    generated = GeneratedTokens(
        read=secrets.token_urlsafe(32), write=secrets.token_urlsafe(32), path=target
    )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write("# k8s4ai API tokens: token,role[,user]\n")
        handle.write(f"{generated.read},read,reader\n")
        handle.write(f"{generated.write},write,admin\n")
    return generated


def _role_of(tokens: Mapping[str, Role], presented: str) -> Role | None:
    """Compare against every token in constant time, so timing does not leak a prefix."""
    found: Role | None = None
    for token, role in tokens.items():
        if hmac.compare_digest(token.encode(), presented.encode()):
            found = role
    return found


class AuthMiddleware:
    def __init__(self, app: ASGIApp, tokens: Mapping[str, Role]) -> None:
        self.app = app
        self.tokens = dict(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        error = self._check(scope)
        if error is None:
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Bearer realm="k8s4ai"'} if error.code == 401 else None
        reply = status.response(error)
        if headers:
            reply.headers.update(headers)
        await reply(scope, receive, send)

    def _check(self, scope: Scope) -> status.ApiError | None:
        header = ""
        for key, value in scope["headers"]:
            if key == b"authorization":
                header = value.decode("latin-1")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return status.ApiError(401, "Unauthorized: a bearer token is required")
        role = _role_of(self.tokens, presented.strip())
        if role is None:
            return status.ApiError(401, "Unauthorized: the bearer token is not valid")
        if role == "read" and scope["method"] not in READ_METHODS:
            return status.ApiError(
                403, f"Forbidden: a read-only token may not {scope['method']} {scope['path']}"
            )
        return None
