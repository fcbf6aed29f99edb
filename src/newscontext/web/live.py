"""`newscontext serve` without a folder: every page of the site rendered on request.

A request path is answered as `serve DIR` answers it from a built folder (the same rule picks
the file a path names: `site.serve.candidates`; old event paths answer 301), but the file is
made on the spot, by the build's own parts: `urls.parse_file` names the page a file holds,
the build's `Plan` says whether the build makes it, and `render_job`, `render` and `FeedMaker`
make it. So for the same archive and settings the bytes are the ones `build` writes.

Each worker process reads the archive through one read-only connection that holds a read
transaction open on a finished state of the archive (no writer holding the archive's lock,
every event with its path): pages never show half of an update, and all of a request's
queries see the same state. About once a second the worker looks whether another state was
committed (`PRAGMA data_version`); when one was, and it is finished, it moves to it, and
drops what it kept made (slugs, listings, feed entries, and the answers themselves, up
to `serve_cache_mb`) for the old one.

HTTP: the ETag and Last-Modified name the state (its counters and its newest writes), so a
conditional GET is answered 304 without making the page; Cache-Control lets a CDN keep pages
`serve_max_age` seconds and serve them stale while it revalidates; text is compressed
(zstd, brotli or gzip, as the client accepts: starlette-compress); HEAD
works everywhere. A request whose queries run past `serve_query_timeout` answers 503.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette_compress import CompressMiddleware

from .. import __version__, httpd
from ..lock import archive_lock, held_elsewhere
from ..settings import Settings
from ..site import urls
from ..site.build import STATIC, Job, Plan, render_job
from ..site.notfound import FILE as NOT_FOUND_FILE
from ..site.notfound import not_found_html
from ..site.pages import Pages
from ..site.render import SiteInfo, render
from ..site.render.feeds import EPOCH, FeedMaker, parse_time
from ..site.render.search import SEARCH_PAGE, search_page_html
from ..site.serve import CONTENT_TYPES, EVERY_PATH, candidates, content_type
from ..store import Store, StoreError
from .states import unfinished

log = httpd.log
NOT_FOUND_PAGE = not_found_html()  # the same bytes as the build's /404.html
LOOK_EVERY = 1.0  # seconds between two looks for a newer state of the archive
CITED_KEPT = 5_000  # sources whose citing events a worker keeps read


class LivePlan(Plan):
    """The build's plan, asked one page at a time: a source's citing events are read for
    that source (the build reads every source's at once)."""

    def citing(self, url: str) -> list[tuple[str, str, str]]:
        if url not in self._some_cited:
            if len(self._some_cited) >= CITED_KEPT:
                self._some_cited.clear()
            self._some_cited[url] = self.store.cited_sources([url]).get(url, [])
        return self._some_cited[url]


# What a path is answered with in one state: a page's media type and bytes, a redirect's
# location (the query is added per request), or nothing (404).
Outcome = tuple[str, bytes] | str | None


class Made:
    """The outcomes of paths asked in one state, the most recently asked first, within
    `limit` bytes: a state's pages never change, so a page asked again (a popular event, the
    front page) is sent without its queries and rendering. Dropped with its state."""

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0
        self.kept: OrderedDict[str, tuple[Outcome, int]] = OrderedDict()

    def get(self, path: str) -> tuple[Outcome] | None:
        found = self.kept.get(path)
        if found is None:
            return None
        self.kept.move_to_end(path)
        return (found[0],)

    def put(self, path: str, outcome: Outcome) -> None:
        size = len(path) + 100 + (len(outcome[1]) if isinstance(outcome, tuple)
                                  else len(outcome or ""))
        if size > self.limit // 8:
            return  # one huge page (a long feed) would push out hundreds of others
        old = self.kept.pop(path, None)
        if old is not None:
            self.size -= old[1]
        self.kept[path] = (outcome, size)
        self.size += size
        while self.size > self.limit:
            _, (_, dropped) = self.kept.popitem(last=False)
            self.size -= dropped


@dataclass
class State:
    """One finished state of the archive, held open, and what is kept made for it."""

    store: Store
    pages: Pages
    plan: LivePlan
    feeds: FeedMaker
    site: SiteInfo
    etag: str
    modified: float  # POSIX seconds: Last-Modified
    version: int  # the watching connection's data_version when it was taken
    made: Made  # what paths were answered with in this state

    def close(self) -> None:
        self.store.close()


class Unavailable(Exception):
    """The archive cannot be read now (missing, busy, a query stopped): 503."""


class LiveSite:
    """A worker's view of the archive: the current finished state, moved on when another
    is committed. Used by one thread at a time (`lock`): the connection and the kept pages
    are not for sharing."""

    def __init__(self, db: Path, settings: Settings):
        self.db = Path(db)
        self.settings = settings
        self.lock = threading.Lock()
        self.state: State | None = None
        self.watch: sqlite3.Connection | None = None
        self.looked = 0.0
        self.statics = {f"static/{p.name}" for p in STATIC.glob("*") if p.is_file()}
        self._warned = False

    def current(self) -> State:
        now = time.monotonic()
        if self.state is not None and now - self.looked < LOOK_EVERY:
            return self.state
        self.looked = now
        try:
            if self.watch is None:
                self.watch = Store(self.db, readonly=True).conn
            version = self.watch.execute("PRAGMA data_version").fetchone()[0]
            if self.state is None or version != self.state.version:
                fresh = self._take(version)
                if fresh is not None:
                    if self.state is not None:
                        self.state.close()
                    self.state = fresh
        except (StoreError, sqlite3.Error) as exc:
            if self.state is None:
                raise Unavailable(str(exc)) from None
            log.warning("cannot look for a newer state of the archive: %s", exc)
        assert self.state is not None
        return self.state

    def _take(self, version: int) -> State | None:
        """A read transaction on the archive as it is now, if that is a finished state (or
        if there is no other to serve); None to stay on the current one."""
        lock = archive_lock(self.db)
        if self.state is not None and held_elsewhere(lock):
            return None  # an update is writing: stay on the state before it
        store = Store(self.db, readonly=True)
        try:
            store.conn.execute("BEGIN")
            marks = store.state_marks()  # the first read: the transaction's state from here
            why = unfinished(store, self.db)  # the API's rule too (web/states.py)
            if why is not None:
                if self.state is not None:
                    store.close()
                    return None
                if not self._warned:
                    self._warned = True
                    log.warning("%s: serving a state that is not finished: %s", self.db, why)
            times = [t for t in map(parse_time, store.newest_writes()) if t]
            modified = max(times, default=EPOCH).timestamp()
            settings = self.settings
            tag = repr((__version__, settings.site_url, settings.publish_full_text, marks))
            pages = Pages(store, settings)
            return State(
                store=store, pages=pages, plan=LivePlan(store, pages),
                feeds=FeedMaker(store, settings, pages),
                site=SiteInfo(url=settings.site_url.rstrip("/"),
                              generated=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                      time.gmtime(modified))),
                etag='W/"' + hashlib.sha256(tag.encode()).hexdigest()[:20] + '"',
                modified=modified, version=version,
                made=Made(settings.serve_cache_mb * 1_000_000))
        except BaseException:
            store.close()
            raise

    # -- what a path names ----------------------------------------------------------------

    def moved(self, state: State, path: str) -> str | None:
        """Where an old event path, or the address of a story or entity that is another
        subject's page, (with or without a format) goes now, as `_redirects` says for the
        static site."""
        key = path.rstrip("/") if path != "/" else path
        found = urls.parse_file(key.lstrip("/"))
        named, ext = found if found is not None else (urls.parse_path(key), "")
        if named is not None and named[0] in ("story", "entity") and named[2] is None:
            title = state.store.titled("stories" if named[0] == "story" else "entities",
                                       named[1])
            ref = state.pages.moved(named[0], title) if title is not None else None
            if ref is not None:
                return f"{ref.path}.{ext}" if ext else ref.path
        if named is None or named[0] != "event":
            return None
        at = state.store.event_at(named[1].isoformat(), named[2])
        if at is None or at[1]:
            return None
        page = render_job(state.pages, state.plan, ("redirect", urls.path_of(named), at[0]))
        target = page.target  # type: ignore[attr-defined]
        return f"{target}.{ext}" if ext else target

    def job(self, state: State, named: urls.Named) -> Job | None:
        """The build's job for a parsed path, if the build makes that page."""
        kind, store = named[0], state.store
        job: Job | None
        if kind in ("front", "about"):
            job = (kind,)
        elif kind in ("day", "month", "year"):
            job = named
        elif kind == "event":
            at = store.event_at(named[1].isoformat(), named[2])
            job = ("event", at[0]) if at is not None and at[1] else None
        elif kind in ("story", "entity"):
            title = store.titled("stories" if kind == "story" else "entities", named[1])
            job = (kind, title, named[2]) if title is not None else None
        elif kind == "source":
            url = store.source_url(named[1])
            job = ("source", url) if url is not None else None
        elif named[1] == "root":
            job = named
        else:  # a story's or entity's feed
            title = store.titled("stories" if named[1] == "story" else "entities", named[2])
            job = ("feed", named[1], title) if title is not None else None
        return job if job is not None and state.plan.has(job) else None

    def find(self, state: State, path: str) -> tuple[str, Callable[[], bytes]] | None:
        """The file answering a URL path (as `serve DIR` picks it) and how to make it."""
        for name in candidates(path):
            if name == SEARCH_PAGE:
                return name, lambda: search_page_html(self.settings)
            if name == NOT_FOUND_FILE:
                return name, not_found_html
            if name in self.statics:
                return name, (STATIC / name.split("/", 1)[1]).read_bytes
            found = urls.parse_file(name)
            if found is None:
                continue
            job = self.job(state, found[0])
            if job is not None:
                return name, self._maker(state, job, name, found[1])
        return None

    @staticmethod
    def _maker(state: State, job: Job, name: str, fmt: str) -> Callable[[], bytes]:
        if job[0] == "feed":
            def feed() -> bytes:
                made = (state.feeds.root() if job[1] == "root"
                        else state.feeds.timeline(job[1], job[2]))
                return dict(made)[name]
            return feed
        return lambda: render(render_job(state.pages, state.plan, job), fmt, state.site)

    # -- answering --------------------------------------------------------------------------

    def answer(self, path: str, query: str, headers: dict[str, str]) -> Response:
        """The whole answer to a GET (or HEAD) of `path`; run in a thread."""
        with self.lock:
            state = self.current()
            try:
                with state.store.deadline(self.settings.serve_query_timeout):
                    return self._answer(state, path, query, headers)
            except sqlite3.OperationalError as exc:
                if "interrupt" not in str(exc):
                    raise
                log.warning("stopped %s after %g s (serve_query_timeout)", path[:200],
                            self.settings.serve_query_timeout)
                raise Unavailable("the page took too long to make") from None

    def _answer(self, state: State, path: str, query: str, headers: dict[str, str]
                ) -> Response:
        cache = self.cache_headers(state)
        kept = state.made.get(path)
        if kept is not None:
            outcome = kept[0]
        else:
            located = self.locate(state, path)
            if not isinstance(located, tuple):
                outcome = located
            elif fresh(headers, state):  # answered without making the page
                return Response(status_code=304, headers=cache)
            else:
                name, make = located
                try:
                    outcome = (content_type(name.rsplit("/", 1)[-1]), make())
                except KeyError:  # what the page shows vanished: the build skips it too
                    outcome = None
            state.made.put(path, outcome)
        if outcome is None:
            return not_found(cache["Cache-Control"])
        if isinstance(outcome, str):
            return RedirectResponse(outcome + (f"?{query}" if query else ""), status_code=301,
                                    headers={"Cache-Control": cache["Cache-Control"]})
        if fresh(headers, state):
            return Response(status_code=304, headers=cache)
        return Response(outcome[1], media_type=outcome[0], headers=cache)

    def locate(self, state: State, path: str) -> tuple[str, Callable[[], bytes]] | str | None:
        """What answers `path`: the file (as `serve DIR` picks it) and how to make it, the
        location it moved to (301), or nothing (404)."""
        moved = self.moved(state, path)
        if moved is not None:
            return moved
        found = self.find(state, path)
        if found is None and path.endswith("/") and path.strip("/"):
            # `/stories/<slug>/`: a page's path written as a folder's goes to the page
            # (`serve DIR` does the same; `/about.html/` stays a 404).
            bare = path.rstrip("/")
            page = self.find(state, bare)
            if page is not None and page[0].rsplit("/", 1)[-1] == bare.rsplit("/", 1)[-1] + ".html":
                return quote("/" + page[0])
        return found

    def cache_headers(self, state: State) -> dict[str, str]:
        stale = self.settings.serve_stale_seconds
        return {
            "ETag": state.etag,
            "Last-Modified": http_date(state.modified),
            "Cache-Control": f"public, max-age={self.settings.serve_max_age}, "
                             f"stale-while-revalidate={stale}, stale-if-error={stale}",
        }

    def close(self) -> None:
        with self.lock:
            if self.state is not None:
                self.state.close()
                self.state = None
            if self.watch is not None:
                self.watch.close()
                self.watch = None


def http_date(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(seconds), UTC), usegmt=True)


def fresh(headers: dict[str, str], state: State) -> bool:
    """Whether the client's copy is current (RFC 9110: If-None-Match, when sent, decides;
    ETags compare weakly)."""
    match = headers.get("if-none-match")
    if match is not None:
        tags = [t.strip() for t in match.split(",")]
        bare = state.etag.removeprefix("W/")
        return "*" in tags or any(t.removeprefix("W/") == bare for t in tags)
    since = headers.get("if-modified-since")
    if since is not None:
        try:
            return int(state.modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def not_found(cache_control: str) -> Response:
    """The site's 404 page, as `serve DIR` answers it."""
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404, media_type=CONTENT_TYPES[".html"],
                        headers={"Cache-Control": cache_control})


def unavailable(reason: str) -> Response:
    return PlainTextResponse(f"Service unavailable: {reason}; try again shortly.\n",
                             status_code=503,
                             headers={"Retry-After": "5", "Cache-Control": "no-store"})


def api_routes(db: Path, settings: Settings) -> list[BaseRoute]:
    """The JSON API under /api/v1 (web/api.py), when this newscontext has it."""
    try:
        from .api import create_api  # type: ignore[attr-defined]
    except ImportError:
        return []
    return [Mount("/api/v1", app=create_api(db, settings))]


def create_app(db: Path, settings: Settings) -> Starlette:
    """The live site of the archive `db`. Nothing is opened until the first request, so the
    app can be made before worker processes are forked."""
    site = LiveSite(db, settings)

    async def page(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items()
                   if k in ("if-none-match", "if-modified-since")}
        try:
            return await anyio.to_thread.run_sync(
                site.answer, request.scope["path"], request.url.query, headers)
        except Unavailable as exc:
            return unavailable(str(exc))
        except Exception:  # a fault of the archive's or ours, never of the request's
            log.exception("cannot answer %r", request.scope["path"][:200])
            return PlainTextResponse("Internal error; it is logged.\n", status_code=500,
                                     headers={"Cache-Control": "no-store"})

    routes = [*api_routes(db, settings),
              Route(EVERY_PATH, page, methods=["GET", "HEAD"])]
    # zstd, brotli or gzip, as the client accepts; text only (pictures are compressed)
    app = Starlette(routes=routes, middleware=[Middleware(CompressMiddleware, minimum_size=500)])
    app.state.site = site
    return app


def check(db: Path) -> None:
    """Raise StoreError naming the file when `db` is no archive this server can read. A
    worker holds a read transaction open: outside WAL mode (which every newscontext command
    that writes sets) that would keep writers out."""
    with Store(db, readonly=True) as store:
        mode = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        raise StoreError(f"{db}: the archive is in {mode} journal mode, not WAL; run any "
                         "newscontext command that writes to it (`resolve`) once first")


def serve(db: Path, settings: Settings, host: str = "127.0.0.1", port: int = 8000,
          ready: Callable[[str], None] | None = None, log_level: str = "info") -> None:
    """Serve the archive live until interrupted, in `settings.serve_workers` processes;
    `ready` gets the URL once the port is bound. Raises StoreError (no archive there) or
    OSError (the port cannot be bound)."""
    check(db)
    httpd.run_workers(lambda: create_app(db, settings), settings, host, port,
                      workers=settings.serve_workers, ready=ready, log_level=log_level)

