"""The dashboard's files at /ui/: served without a token beside an API that needs one, with
content types browsers accept for modules, nothing outside the static folder reachable by
any path, and no URL to another host (the page must work with no network)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from k8s4ai.server import run
from k8s4ai.server.dashboard import routes

from .conftest import TOKENS

pytestmark = pytest.mark.integration

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
"""An XML namespace name: an identifier the browser never fetches."""


@pytest.fixture
def secured(serve: Callable[..., run.RunningServer]) -> run.RunningServer:
    return serve(tokens=TOKENS)


@pytest.fixture
def ui(secured: run.RunningServer, client: Callable[..., httpx.Client]) -> httpx.Client:
    return client(secured)


def shipped() -> list[Path]:
    return sorted(p for p in routes.STATIC.rglob("*") if p.is_file())


def raw_get(server: run.RunningServer, path: str) -> tuple[int, bytes]:
    """A request with the path exactly as written: httpx would resolve `..` before sending."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_the_page_needs_no_token_while_the_api_does(ui: httpx.Client) -> None:
    page = ui.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<main id="view"' in page.text
    assert ui.get("/apis/k8s4ai.io/v1alpha1/nodes").status_code == 401


def test_ui_without_a_slash_redirects_to_the_page(ui: httpx.Client) -> None:
    answer = ui.get("/ui")
    assert (answer.status_code, answer.headers["location"]) == (308, "/ui/")


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/ui/static/index.html", "text/html"),
        ("/ui/static/style.css", "text/css"),
        ("/ui/static/js/app.js", "text/javascript"),
        ("/ui/static/js/views/overview.js", "text/javascript"),
        ("/ui/static/favicon.svg", "image/svg+xml"),
    ],
)
def test_static_files_carry_their_content_type(
    ui: httpx.Client, path: str, media_type: str
) -> None:
    answer = ui.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == media_type
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.content == (routes.STATIC / path.removeprefix(routes.STATIC_PREFIX)).read_bytes()


def test_every_shipped_file_has_a_known_type_and_is_served(ui: httpx.Client) -> None:
    """A file with another suffix would silently never be served."""
    for path in shipped():
        assert path.suffix in routes.MEDIA_TYPES, path
        relative = path.relative_to(routes.STATIC).as_posix()
        assert ui.get(f"/ui/static/{relative}").status_code == 200, relative


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/../routes.py",
        "/ui/static/%2e%2e/routes.py",
        "/ui/static/..%2froutes.py",
        "/ui/static/js/../../routes.py",
        "/ui/static/js/%2e%2e/%2e%2e/__init__.py",
        "/ui/static/..%5croutes.py",
        "/ui/static//etc/passwd",
        "/ui/static/%2fetc%2fpasswd",
        "/ui/../pyproject.toml",
        "/ui/static/",
        "/ui/static/js",
        "/ui/routes.py",
    ],
)
def test_no_path_reaches_a_file_outside_the_static_folder(
    secured: run.RunningServer, path: str
) -> None:
    status, data = raw_get(secured, path)
    assert status in (400, 401, 404)
    assert b"class Dashboard" not in data
    assert b"root:" not in data
    assert b'"""The web dashboard' not in data


def test_a_symlink_in_the_static_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.js"
    secret.write_text("secret")
    static = tmp_path / "static"
    static.mkdir()
    (static / "app.js").write_text("ok")
    (static / "link.js").symlink_to(secret)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.js").write_text("secret")
    (static / "linked").symlink_to(outside, target_is_directory=True)
    dashboard = routes.Dashboard(app=_unreachable, root=static)
    assert dashboard.respond("GET", "/ui/static/app.js").status_code == 200
    assert dashboard.respond("GET", "/ui/static/link.js").status_code == 404
    assert dashboard.respond("GET", "/ui/static/linked/leak.js").status_code == 404


async def _unreachable(scope: object, receive: object, send: object) -> None:
    raise AssertionError("the dashboard answers /ui itself")


def test_the_page_references_no_other_host(ui: httpx.Client) -> None:
    page = ui.get("/ui/").text
    assert re.findall(r"https?://", page) == []
    references = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert references, "the page loads its script and style"
    assert all(not ref.startswith("//") and ":" not in ref for ref in references), references
    for path in shipped():
        if path.suffix in (".js", ".css"):
            urls = set(re.findall(r"https?://[^\s'\"`)]+", path.read_text(encoding="utf-8")))
            assert urls <= {SVG_NAMESPACE}, (path, urls)


def test_every_module_import_resolves_to_a_shipped_file(ui: httpx.Client) -> None:
    """A wrong relative import would only show in a browser; resolve each one here."""
    files = {p.relative_to(routes.STATIC).as_posix() for p in shipped()}
    page = ui.get("/ui/").text
    for ref in re.findall(r'(?:src|href)="static/([^"]+)"', page):
        assert ref in files, ref
    for path in shipped():
        if path.suffix != ".js":
            continue
        for target in re.findall(r"""from\s+'(\.{1,2}/[^']+)'""", path.read_text("utf-8")):
            resolved = (path.parent / target).resolve()
            assert resolved.is_file(), (path.name, target)
            assert resolved.is_relative_to(routes.STATIC.resolve()), (path.name, target)


def test_the_page_may_only_talk_to_its_own_origin(ui: httpx.Client) -> None:
    policy = ui.get("/ui/").headers["content-security-policy"]
    assert "connect-src 'self'" in policy
    assert "script-src 'self'" in policy


def test_only_reads_are_answered(ui: httpx.Client) -> None:
    assert ui.post("/ui/").status_code == 405
    assert ui.head("/ui/static/style.css").status_code == 200


def test_paths_that_only_start_like_ui_stay_with_the_api(ui: httpx.Client) -> None:
    answer = ui.get("/uix")
    assert answer.status_code == 401  # the API's authentication, not the dashboard's 404
    assert answer.json()["kind"] == "Status"
