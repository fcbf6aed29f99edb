"""`newscontext serve`: the built static site over HTTP, as a static host would serve it.

A Starlette app: `/` and folders answer with their `index.html`, a path without extension
with its `.html` page, a page's path with a trailing slash (`/stories/<slug>/`) with a 301 to
the page, old event paths (listed in `_redirects`, which the build writes) with a 301 to
where the event is now, anything else with the site's 404 page. Content types follow the
formats: Markdown as `text/markdown`, feeds as RSS and Atom. The build's own state (hidden
folders) is never served, and no path reaches outside the folder. Connections are handled
by `httpd` (timeouts, a connection bound, NODELAY); put a caching proxy in front to publish.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import httpd
from ..settings import Settings
from .notfound import FILE as NOT_FOUND_FILE
from .notfound import not_found_html
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
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
}
RSS = "application/rss+xml"
DEFAULT_TYPE = "application/octet-stream"  # Pagefind's index parts among others
# The site's 404 page, for a folder built before the build wrote its own /404.html.
NOT_FOUND = not_found_html()



class _AnyPath(Convertor[str]):
    """Every path, newlines included: Starlette's `path` stops at one, and a request for
    `/%0A/` then got a redirect to itself without the slash instead of a 404."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anypath", _AnyPath())
EVERY_PATH = "/{path:anypath}"  # the one route of both servers: every path is a page's

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


def candidates(path: str) -> list[str]:
    """The site files (relative to the site's root) that may answer a URL path, in the order
    tried: `/` and folders their index.html, other paths themselves, then their .html page,
    then their folder's index.html. None of them for paths outside the site: `..` and hidden (dot)
    names such as the build's own folder. The live server answers paths by the same rule."""
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") or "\\" in p or not p.isprintable() for p in parts):
        return []  # (no file of a site has a control character in its name)
    target = "/".join(parts)
    if path.endswith("/") or not parts:
        return [f"{target}/index.html" if parts else "index.html"]
    return [target, f"{target}.html", f"{target}/index.html"]


def find_file(root: Path, path: str) -> tuple[Path, os.stat_result] | None:
    """The file answering a URL path (see `candidates`) and its stat; paths outside the site
    are refused before the file system is asked."""
    for name in candidates(path):
        candidate = root / name
        found = site_file(candidate)
        if found is not None:
            return candidate, found
    return None


def create_app(outdir: Path) -> Starlette:
    """The app serving a built site folder."""
    root = Path(outdir).resolve()
    redirects = Redirects(root / MAP)
    not_found = root / NOT_FOUND_FILE

    async def page(request: Request) -> Response:
        # The path as sent (decoded), not request.url's: URL parsing drops tabs and newlines
        # (WHATWG), and `/%0A/` would answer as `/`.
        path = request.scope["path"]
        moved = redirects.get(path.rstrip("/") if path != "/" else path)
        if moved is not None:
            query = request.url.query
            return RedirectResponse(moved + (f"?{query}" if query else ""), status_code=301)
        found = find_file(root, path)
        if found is None and path.endswith("/") and path.strip("/"):
            # `/stories/<slug>/`: a page's path written as a folder's. Send the reader to
            # the page (one address per page), as its links name it; `/about.html/` names
            # a file as a folder and stays a 404.
            bare = path.rstrip("/")
            page_file = find_file(root, bare)
            if page_file is not None and page_file[0].name == bare.rsplit("/", 1)[-1] + ".html":
                query = request.url.query
                target = quote("/" + page_file[0].relative_to(root).as_posix())
                return RedirectResponse(target + (f"?{query}" if query else ""),
                                        status_code=301)
        if found is None:
            page_404 = site_file(not_found)
            if page_404 is not None:
                return FileResponse(not_found, status_code=404, stat_result=page_404,
                                    media_type=CONTENT_TYPES[".html"])
            return HTMLResponse(NOT_FOUND, status_code=404)
        file, stat_result = found
        return FileResponse(file, stat_result=stat_result, media_type=content_type(file.name))

    return Starlette(routes=[Route(EVERY_PATH, page, methods=["GET", "HEAD"])])


def server(outdir: Path, settings: Settings | None = None,
           log_level: str = "info") -> httpd.HardenedServer:
    """A hardened uvicorn server for the site (call `.run(sockets=[httpd.bind(...)])`)."""
    return httpd.server(create_app(outdir), settings or Settings.from_env(), log_level)


def serve(outdir: Path, host: str = "127.0.0.1", port: int = 8000,
          ready: Callable[[str], None] | None = None, settings: Settings | None = None) -> None:
    """Serve the site until interrupted; `ready` gets the site's URL once the port is bound
    (port 0 picks a free one). Raises OSError when the port cannot be bound."""
    httpd.run(create_app(outdir), settings or Settings.from_env(), host, port, ready=ready)
