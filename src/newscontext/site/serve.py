"""`newscontext serve`: the built static site over HTTP, as a static host would serve it.

A Starlette app: `/` and folders answer with their `index.html`, a path without extension
with its `.html` page, old event paths (listed in `_redirects`, which the build writes) with
a 301 to where the event is now, anything else with a 404 page. Content types follow the
formats: Markdown as `text/markdown`, feeds as RSS and Atom. The build's own state (hidden
folders) is never served, and no path reaches outside the folder. Connections are handled
by `httpd` (timeouts, a connection bound, NODELAY); put a caching proxy in front to publish.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import httpd
from ..settings import Settings
from .redirects import MAP, read_map

log = httpd.log  # the server's log, where repeats are logged once a minute

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
            stamp: int | None = self.path.stat().st_mtime_ns
        except OSError:
            stamp = None
        if stamp != self.stamp:
            try:
                self.map, self.stamp = read_map(self.path), stamp
            except (OSError, UnicodeDecodeError) as exc:  # keep the last good map
                log.warning("cannot read %s: %s", self.path, exc)
        return self.map.get(path)


def site_file(path: Path) -> os.stat_result | None:
    """The stat of `path` if it is a regular file we may read, else None, whatever the
    system answers: a name too long (a 251-byte segment), a symlink loop, no permission, a
    file in place of a folder all mean there is no page there."""
    try:
        found = os.stat(path)
        readable = os.access(path, os.R_OK)
    except (OSError, ValueError):
        return None
    return found if readable and stat.S_ISREG(found.st_mode) else None


def find_file(root: Path, path: str) -> tuple[Path, os.stat_result] | None:
    """The file answering a URL path (itself, its folder's index.html, or its .html page) and
    its stat. None for paths outside the site: `..` and hidden (dot) names such as the build's
    own folder are refused before the file system is asked."""
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    target = root.joinpath(*parts)
    candidates = [target / "index.html"] if path.endswith("/") or not parts else [
        target, target.with_name(target.name + ".html"), target / "index.html"]
    for candidate in candidates:
        found = site_file(candidate)
        if found is not None:
            return candidate, found
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
            page_404 = site_file(not_found)
            if page_404 is not None:
                return FileResponse(not_found, status_code=404, stat_result=page_404,
                                    media_type=CONTENT_TYPES[".html"])
            return HTMLResponse(NOT_FOUND, status_code=404)
        file, stat_result = found
        return FileResponse(file, stat_result=stat_result, media_type=content_type(file.name))

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "HEAD"])])


def server(outdir: Path, settings: Settings | None = None,
           log_level: str = "info") -> httpd.HardenedServer:
    """A hardened uvicorn server for the site (call `.run(sockets=[httpd.bind(...)])`)."""
    return httpd.server(create_app(outdir), settings or Settings.from_env(), log_level)


def serve(outdir: Path, host: str = "127.0.0.1", port: int = 8000,
          ready: Callable[[str], None] | None = None, settings: Settings | None = None) -> None:
    """Serve the site until interrupted; `ready` gets the site's URL once the port is bound
    (port 0 picks a free one). Raises OSError when the port cannot be bound."""
    httpd.run(create_app(outdir), settings or Settings.from_env(), host, port, ready=ready)
