"""A local stand-in for the MediaWiki Action API, serving the real fixture day pages.

A real HTTP server on 127.0.0.1 (port chosen by the OS) in a background thread, so the
client under test goes through its whole network stack. It answers `action=query` with
`prop=info`, `prop=pageprops` and `prop=revisions` in the shape of `formatversion=2`, logs
every request, and has knobs to misbehave the way Wikimedia's servers do (overload,
replication lag, requests that hang, outages). Besides the day pages it knows articles and
redirects (fixtures/titles/articles.tsv and redirects.tsv): titles are normalised, interwiki
titles listed apart, and with `redirects` set, redirect chains are followed as the API does.
Use the `fake_wiki` fixture (import `fake_wiki_fixture`, or list this module in a conftest's
`pytest_plugins`), or `with FakeWiki() as wiki:`. A page is answered as `history(title)`
shows it: scripted_wiki.py narrows that to a simulated clock.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "wikitext"
TITLE_FIXTURES = Path(__file__).parent / "fixtures" / "titles"
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
PORTAL_NS = 100
TITLE_LIMIT = 50  # the real API's limit for clients without the apihighlimits right
# The fixtures have no page ids, and some lack revision ids and all lack timestamps:
# stable invented ones, the revision ids above every real one so far.
INVENTED_REVID_BASE = 2_000_000_000
PAGEID_BASE = 40_000_000
DOCREF = "See http://127.0.0.1/w/api.php for API usage."
# Articles whose page id the fixture does not give get one from here: no real page's id.
ARTICLE_PAGEID_BASE = 900_000_000
# Some of English Wikipedia's interwiki prefixes (not "en" or "w": those lead back home).
# fmt: off
INTERWIKI = frozenset({
    "commons", "d", "de", "es", "fr", "it", "ja", "m", "meta", "mw", "pl", "pt", "q", "ru",
    "s", "species", "voy", "wikidata", "wikiquote", "wikisource", "wikt", "wiktionary", "zh",
})
# fmt: on
# Characters MediaWiki never allows in a title (besides "|", the separator, and "#").
INVALID_TITLE = re.compile(r"[<>\[\]{}]")


@dataclass(frozen=True)
class Revision:
    """One stored revision of a page."""

    revid: int
    parentid: int
    timestamp: str
    content: str


@dataclass(frozen=True)
class Article:
    """A page in the main namespace that is not a redirect."""

    title: str
    pageid: int | None = None
    wikidata: str | None = None
    disambiguation: bool = False


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it, with its arrival time (time.monotonic), the HTTP
    status it was answered with and, if a knob made it misbehave, which one."""

    method: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float
    status: int = 200
    fault: str | None = None  # "fail", "maxlag", "broken", "hang" or "outage"

    @property
    def titles(self) -> list[str]:
        return self.params["titles"].split("|") if self.params.get("titles") else []


@dataclass
class _Faults:
    """Misbehaviour still to come; each counter is used up one request at a time."""

    fail_next: int = 0
    fail_status: int = 503
    fail_retry_after: str | None = "1"
    maxlag_next: int = 0
    maxlag_retry_after: str = "1"
    broken_titles: set[str] = field(default_factory=set)
    hang_next: int = 0
    hang_seconds: float = 0.0
    outage_status: int | None = None


def fixture_title(day: date) -> str:
    """Written out here rather than imported, so a bug in the client's version shows."""
    return f"Portal:Current events/{day.year} {MONTHS[day.month - 1]} {day.day}"


def normalize(raw: str) -> str:
    """MediaWiki's basic normalisation: underscores are spaces, first letter upper case.

    An interwiki title gets its prefix lower-cased and the rest left alone: the other wiki
    decides about case.
    """
    title = " ".join(raw.replace("_", " ").split())
    prefix, colon, rest = title.partition(":")
    if colon and prefix.strip().lower() in INTERWIKI:
        return f"{prefix.strip().lower()}:{rest.strip()}"
    return title[:1].upper() + title[1:]


def interwiki_prefix(title: str) -> str | None:
    prefix, colon, _ = title.partition(":")
    return prefix if colon and prefix in INTERWIKI else None


def _table_rows(path: Path) -> Iterator[list[str]]:
    """The rows of a TSV fixture below its header; `#` lines are comments."""
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


def load_articles(folder: Path = TITLE_FIXTURES) -> dict[str, Article]:
    """Title -> Article from `articles.tsv` (title, pageid, wikidata, disambiguation)."""
    articles: dict[str, Article] = {}
    for title, pageid, wikidata, disambiguation in _table_rows(folder / "articles.tsv"):
        assert not wikidata or re.fullmatch(r"Q[1-9]\d*", wikidata), wikidata
        articles[title] = Article(
            title, int(pageid) if pageid else None, wikidata or None, disambiguation == "yes"
        )
    return articles


def load_redirects(folder: Path = TITLE_FIXTURES) -> dict[str, str]:
    """Redirect title -> target (`Title` or `Title#fragment`) from `redirects.tsv`."""
    return {source: target for source, target in _table_rows(folder / "redirects.tsv")}


def load_fixture_pages(folder: Path = FIXTURES) -> dict[str, list[Revision]]:
    """Title -> [its one revision] for every `YYYY-MM-DD.wiki` in the fixtures."""
    revids: dict[date, int] = {}
    for line in (folder / "revid_map.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        day, revid = line.split("\t")[:2]
        if revid.isdigit():
            revids[date.fromisoformat(day)] = int(revid)
    pages: dict[str, list[Revision]] = {}
    for path in sorted(folder.glob("*.wiki")):
        day = date.fromisoformat(path.stem)
        # newline="" keeps the bytes exact: the API returns the text as stored.
        with path.open(encoding="utf-8", newline="") as file:
            content = file.read()
        revid = revids.get(day, INVENTED_REVID_BASE + day.toordinal())
        stamp = f"{day.isoformat()}T23:59:00Z"
        pages[fixture_title(day)] = [Revision(revid, 0, stamp, content)]
    return pages


class FakeWiki:
    """The fake API server: `.url`, `.pages`, `.requests` and the failure knobs."""

    def __init__(
        self,
        pages: dict[str, list[Revision]] | None = None,
        articles: dict[str, Article] | None = None,
        redirects: dict[str, str] | None = None,
    ) -> None:
        self.pages: dict[str, list[Revision]] = load_fixture_pages() if pages is None else pages
        self.articles: dict[str, Article] = load_articles() if articles is None else articles
        self.redirects: dict[str, str] = load_redirects() if redirects is None else redirects
        self.requests: list[LoggedRequest] = []
        # Continuation: at most this many pages get content per prop=revisions response,
        # and at most this many get their properties per prop=pageprops response.
        self.revisions_per_response: int | None = None
        self.pageprops_per_response: int | None = None
        self._faults = _Faults()
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # ends the wait of hanging requests at stop()
        self._pageids = {title: PAGEID_BASE + n for n, title in enumerate(sorted(self.pages))}
        self._next_invented_pageid = ARTICLE_PAGEID_BASE
        for title in sorted(self.articles.keys() | self.redirects.keys()):
            self._give_pageid(title)
        self._server = _Server(self)
        # A short poll interval so stop() (run after every test) returns quickly.
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/w/api.php"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- knobs -------------------------------------------------------------------------

    def fail_requests(self, count: int, status: int = 503, retry_after: str | None = "1") -> None:
        """Answer the next `count` requests with an HTTP error, as an overloaded server does."""
        with self._lock:
            self._faults.fail_next = count
            self._faults.fail_status = status
            self._faults.fail_retry_after = retry_after

    def answer_maxlag(self, count: int, retry_after: str = "1") -> None:
        """Answer the next `count` requests that carry `maxlag` with a maxlag error."""
        with self._lock:
            self._faults.maxlag_next = count
            self._faults.maxlag_retry_after = retry_after

    def hang_requests(self, count: int, seconds: float) -> None:
        """Answer the next `count` requests only after `seconds`: longer than the client's
        timeout, that is a request that timed out."""
        with self._lock:
            self._faults.hang_next = count
            self._faults.hang_seconds = seconds

    def outage(self, status: int | None = 503) -> None:
        """Answer every request with `status` (no Retry-After) until called with None."""
        with self._lock:
            self._faults.outage_status = status

    def always_fail(self, title: str) -> None:
        """Answer HTTP 500 (without Retry-After) to every request that names `title`."""
        with self._lock:
            self._faults.broken_titles.add(title)

    def add_article(
        self, title: str, *, wikidata: str | None = None, disambiguation: bool = False
    ) -> Article:
        """A new article (not a redirect) in the main namespace."""
        with self._lock:
            self.redirects.pop(title, None)
            article = Article(title, None, wikidata, disambiguation)
            self.articles[title] = article
            self._give_pageid(title)
            return article

    def add_redirect(self, source: str, target: str) -> None:
        """Make `source` a redirect to `target` (`Title` or `Title#fragment`)."""
        with self._lock:
            self.articles.pop(source, None)
            self.redirects[source] = target
            self._give_pageid(source)

    def add_revision(self, title: str, content: str) -> Revision:
        """A new latest revision of `title` (creating the page), as an editor's save."""
        with self._lock:
            history = self.pages.setdefault(title, [])
            self._pageids.setdefault(title, PAGEID_BASE + len(self._pageids))
            newest = max((rev.revid for revs in self.pages.values() for rev in revs), default=0)
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            revision = Revision(newest + 1, history[-1].revid if history else 0, stamp, content)
            history.append(revision)
            return revision

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` (a hanging request); True if the server stops meanwhile."""
        return self._stopping.wait(seconds)

    # --- what the tests look at --------------------------------------------------------

    def history(self, title: str) -> list[Revision]:
        """The revisions of `title` the API shows, oldest first; empty if there is no such
        day page. Every answer goes through here, so a subclass can narrow it (a clock)."""
        return self.pages.get(title, [])

    def latest(self, title: str) -> Revision:
        return self.history(title)[-1]

    def pageid(self, title: str) -> int:
        """The page id the fake gives `title` (a day page, article or redirect)."""
        return self._pageids[title]

    def requests_for(self, prop: str) -> list[LoggedRequest]:
        """Logged requests with `prop=<prop>`."""
        with self._lock:
            return [request for request in self.requests if request.params.get("prop") == prop]

    # --- answering ---------------------------------------------------------------------

    def answer(
        self, method: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """(status, extra headers, JSON body) for one request."""
        return self.respond(method, params, headers)[1:]

    def respond(
        self, method: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[float, int, dict[str, str], Any]:
        """(seconds to wait before answering, status, extra headers, JSON body), logged."""
        with self._lock:
            arrived = time.monotonic()
            delay, fault, answer = self._misbehave(params)
            status, extra, body = answer if answer else (200, {}, self._query(params))
            self.requests.append(LoggedRequest(method, params, headers, arrived, status, fault))
            return delay, status, extra, body

    def _misbehave(
        self, params: dict[str, str]
    ) -> tuple[float, str | None, tuple[int, dict[str, str], Any] | None]:
        """What the knobs make of this request: (delay, fault name, answer); an answer of
        None means: answer the query properly (after the delay)."""
        faults = self._faults
        if faults.outage_status is not None:
            return 0.0, "outage", (faults.outage_status, {}, {"fake": "the server is down"})
        if faults.fail_next > 0:
            faults.fail_next -= 1
            extra = {"Retry-After": faults.fail_retry_after} if faults.fail_retry_after else {}
            return 0.0, "fail", (faults.fail_status, extra, {"fake": "injected failure"})
        if "maxlag" in params and faults.maxlag_next > 0:
            faults.maxlag_next -= 1
            lag = {"Retry-After": faults.maxlag_retry_after, "X-Database-Lag": "7"}
            error = _error("maxlag", "Waiting for 10.64.48.35: 7 seconds lagged.", lag=7)
            return 0.0, "maxlag", (200, lag, error)
        titles = [normalize(raw) for raw in params.get("titles", "").split("|") if raw]
        if faults.broken_titles.intersection(titles):
            return 0.0, "broken", (500, {}, {"fake": "this title always fails"})
        if faults.hang_next > 0:
            faults.hang_next -= 1
            # Answered properly, but too late: the client has given up by then.
            return faults.hang_seconds, "hang", None
        return 0.0, None, None

    def _query(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("action") != "query":
            return _error("badvalue", 'The fake only answers "action=query".')
        if params.get("format") != "json" or params.get("formatversion") != "2":
            return _error("fake-unsupported", "The fake only speaks format=json formatversion=2.")
        if len(params.get("titles", "").split("|")) > TITLE_LIMIT:
            return _error(
                "toomanyvalues",
                f'Too many values supplied for parameter "titles". The limit is {TITLE_LIMIT}.',
                parameter="titles",
                limit=TITLE_LIMIT,
            )
        raw = [title for title in params.get("titles", "").split("|") if title]
        query: dict[str, Any] = {}
        normalized: dict[str, str] = {}
        invalid: dict[str, dict[str, Any]] = {}
        interwiki: dict[str, str] = {}
        hops: dict[str, dict[str, Any]] = {}
        unique: list[str] = []  # the pages to list, in request order
        for before in raw:
            bad = INVALID_TITLE.search(before)
            if bad:
                invalid[before] = {
                    "title": before,
                    "invalidreason": "The requested page title contains invalid characters: "
                    f'"{bad.group()}".',
                    "invalid": True,
                }
                continue
            after = normalize(before)
            if before != after:
                normalized.setdefault(before, after)
            prefix = interwiki_prefix(after)
            if prefix is not None:
                interwiki[after] = prefix
                continue
            final = self._follow(after, hops) if "redirects" in params else after
            if final is not None and final not in unique:
                unique.append(final)
        if normalized:
            query["normalized"] = [
                {"fromencoded": False, "from": before, "to": after}
                for before, after in normalized.items()
            ]
        if hops:
            query["redirects"] = list(hops.values())
        if interwiki:
            query["interwiki"] = [{"title": title, "iw": iw} for title, iw in interwiki.items()]
        props = set(params["prop"].split("|")) if params.get("prop") else set()
        if props == {"revisions"}:
            if params.get("rvslots") != "main":
                return _error("fake-unsupported", "The fake only answers with rvslots=main.")
            answer = self._revisions(params, self._in_page_order(unique), query)
        elif props and props <= {"info", "pageprops"}:
            answer = self._properties(params, props, self._in_page_order(unique), query)
        else:
            prop = params.get("prop")
            return _error("fake-unsupported", f"The fake does not know prop={prop!r}.")
        if invalid:
            query["pages"] = list(invalid.values()) + query.get("pages", [])
        return answer

    def _follow(self, title: str, hops: dict[str, dict[str, Any]]) -> str | None:
        """Where `title` ends after its redirects, noting each hop as the API lists it;
        None for a loop (the API then lists the hops but no page)."""
        chain = [title]
        while title in self.redirects:
            target, _, fragment = self.redirects[title].partition("#")
            hop: dict[str, Any] = {"from": title, "to": target}
            if fragment:
                hop["tofragment"] = fragment
            hops.setdefault(title, hop)
            if target in chain:
                return None
            chain.append(target)
            title = target
        return title

    def _exists(self, title: str) -> bool:
        return bool(self.history(title)) or title in self.articles or title in self.redirects

    def _in_page_order(self, titles: list[str]) -> list[str]:
        """Existing pages by page id, then missing ones: the real API's order, not ours."""
        present = sorted((t for t in titles if self._exists(t)), key=self._pageids.__getitem__)
        return present + [t for t in titles if not self._exists(t)]

    def _give_pageid(self, title: str) -> None:
        article = self.articles.get(title)
        if article is not None and article.pageid is not None:
            self._pageids[title] = article.pageid
        elif title not in self._pageids:
            self._pageids[title] = self._next_invented_pageid
            self._next_invented_pageid += 1

    def _page(self, title: str) -> dict[str, Any]:
        namespace = PORTAL_NS if title.startswith("Portal:") else 0
        if not self._exists(title):
            return {"ns": namespace, "title": title, "missing": True}
        page = {"pageid": self._pageids[title], "ns": namespace, "title": title}
        if title in self.redirects:  # only listed when redirects are not followed
            page["redirect"] = True
        return page

    def _info(self, title: str) -> dict[str, Any]:
        page = self._page(title)
        if self.history(title):
            latest = self.latest(title)
            page |= {
                "contentmodel": "wikitext",
                "pagelanguage": "en",
                "pagelanguagehtmlcode": "en",
                "pagelanguagedir": "ltr",
                "touched": latest.timestamp,
                "lastrevid": latest.revid,
                "length": len(latest.content.encode("utf-8")),
            }
        elif self._exists(title):
            # Articles have no revisions here: no touched, lastrevid or length.
            page |= {
                "contentmodel": "wikitext",
                "pagelanguage": "en",
                "pagelanguagehtmlcode": "en",
                "pagelanguagedir": "ltr",
            }
        return page

    def _pageprops(self, title: str, wanted: set[str] | None) -> dict[str, str]:
        article = self.articles.get(title)
        props: dict[str, str] = {}
        if article is not None and article.wikidata:
            props["wikibase_item"] = article.wikidata
        if article is not None and article.disambiguation:
            props["disambiguation"] = ""
        return {name: value for name, value in props.items() if wanted is None or name in wanted}

    def _properties(
        self, params: dict[str, str], props: set[str], titles: list[str], query: dict[str, Any]
    ) -> dict[str, Any]:
        """prop=info and/or pageprops; with `pageprops_per_response`, the page properties
        are spread over continuations (`ppcontinue`), and info, done in the first
        response, is not repeated."""
        wanted = set(params["ppprop"].split("|")) if params.get("ppprop") else None
        with_props = [t for t in titles if self._exists(t) and self._pageprops(t, wanted)]
        start = int(params.get("ppcontinue", "0"))
        todo = [t for t in with_props if self._pageids[t] >= start]
        now = todo[: self.pageprops_per_response] if self.pageprops_per_response else todo
        first = "ppcontinue" not in params
        pages = []
        for title in titles:
            page = self._info(title) if "info" in props and first else self._page(title)
            if "pageprops" in props and title in now:
                page["pageprops"] = self._pageprops(title, wanted)
            pages.append(page)
        query["pages"] = pages
        rest = todo[len(now) :] if "pageprops" in props else []
        if rest:
            cont = {"ppcontinue": str(self._pageids[rest[0]]), "continue": "||"}
            return {"continue": cont, "query": query}
        return {"batchcomplete": True, "query": query}

    def _revisions(
        self, params: dict[str, str], titles: list[str], query: dict[str, Any]
    ) -> dict[str, Any]:
        """Latest revision per page; with `revisions_per_response`, spread over continuations."""
        rvprop = set(params.get("rvprop", "ids|timestamp|flags|comment|user").split("|"))
        existing = [title for title in titles if self.history(title)]
        start = int(params.get("rvcontinue", "0"))
        todo = [title for title in existing if self._pageids[title] >= start]
        now = todo[: self.revisions_per_response] if self.revisions_per_response else todo
        pages = []
        for title in titles:
            page = self._page(title)
            if title in now:
                page["revisions"] = [self._revision(self.latest(title), rvprop)]
            pages.append(page)
        query["pages"] = pages
        rest = todo[len(now) :]
        if rest:
            cont = {"rvcontinue": str(self._pageids[rest[0]]), "continue": "||"}
            return {"continue": cont, "query": query}
        return {"batchcomplete": True, "query": query}

    @staticmethod
    def _revision(revision: Revision, rvprop: set[str]) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        if "ids" in rvprop:
            answer |= {"revid": revision.revid, "parentid": revision.parentid}
        if "timestamp" in rvprop:
            answer["timestamp"] = revision.timestamp
        if "content" in rvprop:
            answer["slots"] = {
                "main": {
                    "contentmodel": "wikitext",
                    "contentformat": "text/x-wiki",
                    "content": revision.content,
                }
            }
        return answer


def _error(code: str, info: str, **more: Any) -> dict[str, Any]:
    return {"error": {"code": code, "info": info, **more, "docref": DOCREF}, "servedby": "fake"}


class _Server(ThreadingHTTPServer):
    """The HTTP server, knowing which FakeWiki it serves."""

    def __init__(self, wiki: FakeWiki) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.wiki = wiki


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

    def do_GET(self) -> None:
        self._respond(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        self._respond(dict(parse_qsl(body, keep_blank_values=True)))

    def _respond(self, params: dict[str, str]) -> None:
        assert isinstance(self.server, _Server)
        if urlsplit(self.path).path != "/w/api.php":
            status, extra, answer = 404, {}, {"fake": "not the API"}
        else:
            headers = {name.lower(): value for name, value in self.headers.items()}
            delay, status, extra, answer = self.server.wiki.respond(self.command, params, headers)
            if delay and self.server.wiki.wait(delay):
                self.close_connection = True  # the server stops: no answer
                return
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if isinstance(answer, dict) and "error" in answer:
            self.send_header("MediaWiki-API-Error", answer["error"]["code"])
        for name, value in extra.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # a client that timed out has hung up

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `FakeWiki.requests` instead."""


@pytest.fixture(name="fake_wiki")
def fake_wiki_fixture() -> Iterator[FakeWiki]:
    """A running FakeWiki with the fixture pages, stopped after the test."""
    with FakeWiki() as wiki:
        yield wiki
