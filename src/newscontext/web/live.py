"""`newscontext serve` without a folder: every page of the site rendered on request.

A request path is answered as `serve DIR` answers it from a built folder (the same rule picks
the file a path names: `site.serve.candidates`; old event paths answer 301), but the file is
made on the spot, by the build's own parts: `urls.parse_file` names the page a file holds,
the build's `Plan` says whether the build makes it, and `render_job`, `render` and `FeedMaker`
make it. So for the same archive and settings the bytes are the ones `build` writes.

Each worker process reads the archive through read-only connections that hold a read
transaction open on a finished state of the archive (no writer holding the archive's lock,
every event with its path): pages never show half of an update, and all of a request's
queries see the same state. Which state, and when to move to a newer one, is web/states.py's
(one watcher per worker, shared with the API). Several pages are made at once, each on a
connection of its own with its own page model (slugs, listings, feed entries); the answers
made (up to `serve_cache_mb`) are kept for the state, shared by its connections. What is
kept is dropped with its state.

HTTP: the ETag and Last-Modified name the state (its counters and its newest writes), so a
conditional GET is answered 304 without making the page; Cache-Control lets a CDN keep pages
`serve_max_age` seconds and serve them stale while it revalidates; text is compressed
(zstd, brotli or gzip, as the client accepts: starlette-compress); HEAD
works everywhere. A request whose queries run past `serve_query_timeout` answers 503.
"""

from __future__ import annotations

import sqlite3
import time
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

from .. import httpd
from ..settings import Settings
from ..site import urls
from ..site.build import STATIC, Job, Plan, render_job
from ..site.notfound import FILE as NOT_FOUND_FILE
from ..site.notfound import not_found_html
from ..site.pages import Pages
from ..site.render import SiteInfo, render
from ..site.render.feeds import FeedMaker
from ..site.render.search import SEARCH_PAGE, search_page_html
from ..site.serve import CONTENT_TYPES, EVERY_PATH, candidates, content_type
from ..store import Store, StoreError
from .states import WAIT, Made, Makers, Outcome, Reading, State, States, Unavailable

log = httpd.log
NOT_FOUND_PAGE = not_found_html()  # the same bytes as the build's /404.html
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


@dataclass
class Making:
    """What a thread makes a state's pages with: its connection, the connection's page model
    (kept with it for the state: `Reading.kept`), and the state."""

    store: Store
    pages: Pages
    plan: LivePlan
    feeds: FeedMaker
    site: SiteInfo
    state: State


class LiveSite:
    """A worker's pages of the archive: those of the finished state `states` serves (shared
    with the API), made by several threads at once, each on a connection of its own."""

    def __init__(self, db: Path, settings: Settings, states: States | None = None):
        self.db = Path(db)
        self.settings = settings
        self.states = states if states is not None else States(db, settings)
        self.statics = {f"static/{p.name}" for p in STATIC.glob("*") if p.is_file()}

    def made(self, state: State) -> Made:
        """The answers kept for `state`, within `serve_cache_mb`."""
        return state.keep("pages", lambda: Made(self.settings.serve_cache_mb * 1_000_000))

    def missing(self, state: State) -> Made:
        """The paths found to be nothing (404) in `state`, within a sixteenth of the bound:
        apart from the pages, so that a crawler asking for endless made-up paths cannot push
        the pages out."""
        return state.keep("missing", lambda: Made(self.settings.serve_cache_mb * 62_500))

    def kept(self, state: State, path: str) -> tuple[Outcome] | None:
        return self.made(state).get(path) or self.missing(state).get(path)

    def making(self, reading: Reading, state: State) -> Making:
        """What `reading`'s thread makes pages with (its page model kept with it, shared
        with the API's answers on the same connection)."""
        settings = self.settings

        def kit() -> tuple[LivePlan, FeedMaker, SiteInfo]:
            pages = reading.keep("pages", lambda: Pages(reading.store, settings))
            generated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.modified))
            return (LivePlan(reading.store, pages), FeedMaker(reading.store, settings, pages),
                    SiteInfo(url=settings.site_url.rstrip("/"), generated=generated))

        plan, feeds, site = reading.keep("page makers", kit)
        return Making(reading.store, plan.pages, plan, feeds, site, state)

    # -- what a path names ----------------------------------------------------------------

    def moved(self, making: Making, path: str) -> str | None:
        """Where an old event path, or the address of a story or entity that is another
        subject's page, (with or without a format) goes now, as `_redirects` says for the
        static site."""
        key = path.rstrip("/") if path != "/" else path
        found = urls.parse_file(key.lstrip("/"))
        named, ext = found if found is not None else (urls.parse_path(key), "")
        if named is not None and named[0] in ("story", "entity") and named[2] is None:
            title = making.store.titled("stories" if named[0] == "story" else "entities",
                                        named[1])
            ref = making.pages.moved(named[0], title) if title is not None else None
            if ref is not None:
                return f"{ref.path}.{ext}" if ext else ref.path
        if named is None or named[0] != "event":
            return None
        at = making.store.event_at(named[1].isoformat(), named[2])
        if at is None or at[1]:
            return None
        page = render_job(making.pages, making.plan, ("redirect", urls.path_of(named), at[0]))
        target = page.target  # type: ignore[attr-defined]
        return f"{target}.{ext}" if ext else target

    def job(self, making: Making, named: urls.Named) -> Job | None:
        """The build's job for a parsed path, if the build makes that page."""
        kind, store = named[0], making.store
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
        return job if job is not None and making.plan.has(job) else None

    def find(self, making: Making, path: str) -> tuple[str, Callable[[], bytes]] | None:
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
            job = self.job(making, found[0])
            if job is not None:
                return name, self._maker(making, job, name, found[1])
        return None

    @staticmethod
    def _maker(making: Making, job: Job, name: str, fmt: str) -> Callable[[], bytes]:
        if job[0] == "feed":
            def feed() -> bytes:
                made = (making.feeds.root() if job[1] == "root"
                        else making.feeds.timeline(job[1], job[2]))
                return dict(made)[name]
            return feed
        return lambda: render(render_job(making.pages, making.plan, job), fmt, making.site)

    # -- answering --------------------------------------------------------------------------

    def answer(self, path: str, query: str, headers: dict[str, str]) -> Response:
        """The whole answer to a GET (or HEAD) of `path`; run in a thread. An answer kept
        for the current state is sent without taking a connection."""
        state = self.states.current()
        kept = self.kept(state, path)
        if kept is not None:
            return self.send(state, kept[0], query, headers)
        # made by one thread at a time: the others asking meanwhile get its answer or 503
        # (a 304 is its own client's alone)
        made = state.keep("makers", Makers).once(
            path, WAIT + self.settings.serve_query_timeout,
            lambda: self._made_now(path, headers),
            shared=lambda made: not isinstance(made, Response), errors=(Unavailable,))
        if isinstance(made, Response):
            return made
        return self.send(made[0], made[1], query, headers)

    def _made_now(self, path: str, headers: dict[str, str]) -> tuple[State, Outcome] | Response:
        """The answer made on a connection of the current state, and kept for it (or 304
        when the client's copy is current)."""
        with self.states.reading() as (reading, state):
            try:
                with reading.store.deadline(self.settings.serve_query_timeout):
                    outcome = self.make(self.making(reading, state), path, headers)
            except sqlite3.OperationalError as exc:
                if "interrupt" not in str(exc):
                    raise
                log.warning("stopped %s after %g s (serve_query_timeout)", path[:200],
                            self.settings.serve_query_timeout)
                raise Unavailable("the page took too long to make") from None
        if isinstance(outcome, Response):
            return outcome
        (self.made if outcome is not None else self.missing)(state).put(path, outcome)
        return state, outcome

    def make(self, making: Making, path: str, headers: dict[str, str]) -> Outcome | Response:
        """What `path` is answered with in the state, or 304 when the client's copy is
        current and the answer is a page (not made then)."""
        located = self.locate(making, path)
        if not isinstance(located, tuple):
            return located
        if fresh(headers, making.state):
            return Response(status_code=304, headers=self.cache_headers(making.state))
        name, make = located
        try:
            return content_type(name.rsplit("/", 1)[-1]), make()
        except KeyError:  # what the page shows vanished: the build skips it too
            return None

    def send(self, state: State, outcome: Outcome, query: str, headers: dict[str, str]
             ) -> Response:
        cache = self.cache_headers(state)
        if outcome is None:
            return not_found(cache["Cache-Control"])
        if isinstance(outcome, str):
            return RedirectResponse(outcome + (f"?{query}" if query else ""), status_code=301,
                                    headers={"Cache-Control": cache["Cache-Control"]})
        if fresh(headers, state):
            return Response(status_code=304, headers=cache)
        return Response(outcome[1], media_type=outcome[0], headers=cache)

    def locate(self, making: Making, path: str
               ) -> tuple[str, Callable[[], bytes]] | str | None:
        """What answers `path`: the file (as `serve DIR` picks it) and how to make it, the
        location it moved to (301), or nothing (404)."""
        moved = self.moved(making, path)
        if moved is not None:
            return moved
        found = self.find(making, path)
        if found is None and path.endswith("/") and path.strip("/"):
            # `/stories/<slug>/`: a page's path written as a folder's goes to the page
            # (`serve DIR` does the same; `/about.html/` stays a 404).
            bare = path.rstrip("/")
            page = self.find(making, bare)
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
        self.states.close()


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


def api_routes(db: Path, settings: Settings, states: States) -> list[BaseRoute]:
    """The JSON API under /api/v1 (web/api.py), when this newscontext has it, on the
    pages' states."""
    try:
        from .api import create_api  # type: ignore[attr-defined]
    except ImportError:
        return []
    return [Mount("/api/v1", app=create_api(db, settings, states))]


def create_app(db: Path, settings: Settings) -> Starlette:
    """The live site of the archive `db`. Nothing is opened until the first request, so the
    app can be made before worker processes are forked. The pages and the API read the
    archive through one `States`: one watcher, one state served, one pool of connections."""
    states = States(db, settings)
    site = LiveSite(db, settings, states)

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

    routes = [*api_routes(db, settings, states),
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

