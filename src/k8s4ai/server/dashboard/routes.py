"""The dashboard at `/ui/`: static files only. The page reads everything through the public
HTTP API with the user's own token, so the files hold no data and are served without one.

Plain ES modules, no framework and no build step: the browser loads the files as they sit
in the package, so what ships is what was reviewed, installing k8s4ai needs no Node
toolchain, and nothing is fetched from a CDN at run time (the plane often runs air-gapped).

Files are answered from an index of the static folder built at start: a request names one
of its entries or gets a 404, so no path (`..`, encoded separators, symlinks) reaches a file
outside the folder. Edits to an existing file show on reload; a new file needs a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/ui"
STATIC_PREFIX = f"{PREFIX}/static/"
STATIC = Path(__file__).parent / "static"

MEDIA_TYPES: Mapping[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
"""Fixed here rather than guessed from the platform's MIME table, which on some systems maps
`.js` to text/plain, and browsers refuse to run a module served so."""

HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""The page may talk to its own origin only: a token typed into it cannot be sent elsewhere."""


def index(root: Path) -> dict[str, Path]:
    """Regular files under `root` with a known type, by their URL path; a symlink, or a file
    reached through a symlinked folder, is left out."""
    real_root = root.resolve()
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in MEDIA_TYPES or not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(root)
        if path.resolve() == real_root / relative:
            found[relative.as_posix()] = path
    return found


class Dashboard:
    """ASGI middleware in front of the API: `/ui` requests are answered here, before
    authentication; every other request goes on to the API unchanged."""

    def __init__(self, app: ASGIApp, root: Path = STATIC) -> None:
        self.app = app
        self.files = index(root)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(f"{PREFIX}/"):
            await self.app(scope, receive, send)
            return
        await self.respond(scope["method"], path)(scope, receive, send)

    def respond(self, method: str, path: str) -> Response:
        if method not in ("GET", "HEAD"):
            return PlainTextResponse(
                f"{method} is not supported on {path}", 405, {**HEADERS, "Allow": "GET, HEAD"}
            )
        if path == PREFIX:
            return RedirectResponse(f"{PREFIX}/", 308)
        name = ""
        if path == f"{PREFIX}/":
            name = "index.html"
        elif path.startswith(STATIC_PREFIX):
            name = path.removeprefix(STATIC_PREFIX)
        found = self.files.get(name)
        if found is None:
            return PlainTextResponse(f"no dashboard file at {path}", 404, dict(HEADERS))
        return FileResponse(found, media_type=MEDIA_TYPES[found.suffix], headers=dict(HEADERS))
