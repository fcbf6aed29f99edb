"""`newscontext serve`: the built static site over HTTP, as a static host would serve it.

A Starlette app: `/` and folders answer with their `index.html`, a path without extension
with its `.html` page, old event paths (listed in `_redirects`, which the build writes) with
a 301 to where the event is now, anything else with a 404 page. Content types follow the
formats: Markdown as `text/markdown`, feeds as RSS and Atom. The build's own state (hidden
folders) is never served. Meant for 127.0.0.1; put a real web server in front to publish.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .redirects import MAP, read_map

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".atom": "application/atom+xml",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
}
RSS = "application/rss+xml"
DEFAULT_TYPE = "application/octet-stream"  # Pagefind's index parts among others
NOT_FOUND = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Not found · newscontext</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/style.css"></head>
<body><main><h1>Not found</h1>
<p>There is no page at this address. Try the <a href="/index.html">newest days</a> or
<a href="/search.html">search</a>.</p></main></body>
</html>
"""


def content_type(name: str) -> str:
    """The Content-Type of a site file by its name (feed.xml files are RSS)."""
    if name == "feed.xml":
        return RSS
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return CONTENT_TYPES.get(suffix, DEFAULT_TYPE)


class Redirects:
    """The `_redirects` map, read again when the build rewrites it."""

    def __init__(self, path: Path):
        self.path = path
        self.stamp: int | None = None
        self.map: dict[str, str] = {}

    def get(self, path: str) -> str | None:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp != self.stamp:
            self.map, self.stamp = read_map(self.path), stamp
        return self.map.get(path)


def find_file(root: Path, path: str) -> Path | None:
    """The file answering a URL path: itself, its folder's index.html, or its .html page.
    None for paths outside the site or through hidden (dot) folders such as the build's."""
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    target = root.joinpath(*parts)
    candidates = [target / "index.html"] if path.endswith("/") or not parts else [
        target, target.with_name(target.name + ".html"), target / "index.html"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def create_app(outdir: Path) -> Starlette:
    """The app serving a built site folder."""
    root = Path(outdir).resolve()
    redirects = Redirects(root / MAP)
    not_found = root / "404.html"

    async def page(request: Request) -> Response:
        path = request.url.path
        moved = redirects.get(path.rstrip("/") if path != "/" else path)
        if moved is not None:
            query = request.url.query
            return RedirectResponse(moved + (f"?{query}" if query else ""), status_code=301)
        found = find_file(root, path)
        if found is None:
            if not_found.is_file():
                return FileResponse(not_found, status_code=404,
                                    media_type=CONTENT_TYPES[".html"])
            return HTMLResponse(NOT_FOUND, status_code=404)
        return FileResponse(found, media_type=content_type(found.name))

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "HEAD"])])


def server(outdir: Path, host: str = "127.0.0.1", port: int = 8000,
           log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for the site (call `.run()`, or `.run(sockets=[...])`)."""
    config = uvicorn.Config(create_app(outdir), host=host, port=port, log_level=log_level,
                            access_log=log_level in ("info", "debug"), lifespan="off")
    return uvicorn.Server(config)


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(outdir: Path, host: str = "127.0.0.1", port: int = 8000,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve the site until interrupted; `ready` gets the site's URL once the port is bound
    (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    port = sock.getsockname()[1]
    if ready is not None:
        ready(url_for(host, port))
    server(outdir, host, port).run(sockets=[sock])
