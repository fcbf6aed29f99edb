"""A local stand-in for the MediaWiki Action API, serving the real fixture day pages.

A real HTTP server on 127.0.0.1 (port chosen by the OS) in a background thread, so the
client under test goes through its whole network stack. It answers `action=query` with
`prop=info` and `prop=revisions` in the shape of `formatversion=2`, logs every request,
and has knobs to misbehave the way Wikimedia's servers do (overload, replication lag).
Use the `fake_wiki` fixture (import `fake_wiki_fixture`, or list this module in a conftest's
`pytest_plugins`), or `with FakeWiki() as wiki:`.
"""

from __future__ import annotations

import json
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


@dataclass(frozen=True)
class Revision:
    """One stored revision of a page."""

    revid: int
    parentid: int
    timestamp: str
    content: str


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it, with its arrival time (time.monotonic)."""

    method: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float

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


def fixture_title(day: date) -> str:
    """Written out here rather than imported, so a bug in the client's version shows."""
    return f"Portal:Current events/{day.year} {MONTHS[day.month - 1]} {day.day}"


def normalize(raw: str) -> str:
    """MediaWiki's basic normalisation: underscores are spaces, first letter upper case."""
    title = " ".join(raw.replace("_", " ").split())
    return title[:1].upper() + title[1:]


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

    def __init__(self, pages: dict[str, list[Revision]] | None = None) -> None:
        self.pages: dict[str, list[Revision]] = load_fixture_pages() if pages is None else pages
        self.requests: list[LoggedRequest] = []
        # Continuation: at most this many pages get content per prop=revisions response.
        self.revisions_per_response: int | None = None
        self._faults = _Faults()
        self._lock = threading.Lock()
        self._pageids = {title: PAGEID_BASE + n for n, title in enumerate(sorted(self.pages))}
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

    def always_fail(self, title: str) -> None:
        """Answer HTTP 500 (without Retry-After) to every request that names `title`."""
        with self._lock:
            self._faults.broken_titles.add(title)

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

    # --- what the tests look at --------------------------------------------------------

    def latest(self, title: str) -> Revision:
        return self.pages[title][-1]

    def requests_for(self, prop: str) -> list[LoggedRequest]:
        """Logged requests with `prop=<prop>`."""
        with self._lock:
            return [request for request in self.requests if request.params.get("prop") == prop]

    # --- answering ---------------------------------------------------------------------

    def answer(
        self, method: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """(status, extra headers, JSON body) for one request."""
        with self._lock:
            self.requests.append(LoggedRequest(method, params, headers, time.monotonic()))
            faults = self._faults
            if faults.fail_next > 0:
                faults.fail_next -= 1
                extra = {"Retry-After": faults.fail_retry_after} if faults.fail_retry_after else {}
                return faults.fail_status, extra, {"fake": "injected failure"}
            if "maxlag" in params and faults.maxlag_next > 0:
                faults.maxlag_next -= 1
                lag = {"Retry-After": faults.maxlag_retry_after, "X-Database-Lag": "7"}
                return (
                    200,
                    lag,
                    _error("maxlag", "Waiting for 10.64.48.35: 7 seconds lagged.", lag=7),
                )
            titles = [normalize(raw) for raw in params.get("titles", "").split("|") if raw]
            if faults.broken_titles.intersection(titles):
                return 500, {}, {"fake": "this title always fails"}
            return 200, {}, self._query(params, titles)

    def _query(self, params: dict[str, str], titles: list[str]) -> dict[str, Any]:
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
        normalized = [
            {"fromencoded": False, "from": before, "to": after}
            for before, after in dict(zip(raw, titles, strict=True)).items()
            if before != after
        ]
        if normalized:
            query["normalized"] = normalized
        unique = list(dict.fromkeys(titles))
        prop = params.get("prop")
        if prop == "info":
            query["pages"] = [self._info(title) for title in self._in_page_order(unique)]
            return {"batchcomplete": True, "query": query}
        if prop == "revisions":
            if params.get("rvslots") != "main":
                return _error("fake-unsupported", "The fake only answers with rvslots=main.")
            return self._revisions(params, self._in_page_order(unique), query)
        return _error("fake-unsupported", f"The fake does not know prop={prop!r}.")

    def _in_page_order(self, titles: list[str]) -> list[str]:
        """Existing pages by page id, then missing ones: the real API's order, not ours."""
        present = sorted((t for t in titles if t in self.pages), key=self._pageids.__getitem__)
        return present + [t for t in titles if t not in self.pages]

    def _page(self, title: str) -> dict[str, Any]:
        if title not in self.pages:
            return {"ns": PORTAL_NS, "title": title, "missing": True}
        return {"pageid": self._pageids[title], "ns": PORTAL_NS, "title": title}

    def _info(self, title: str) -> dict[str, Any]:
        page = self._page(title)
        if title in self.pages:
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
        return page

    def _revisions(
        self, params: dict[str, str], titles: list[str], query: dict[str, Any]
    ) -> dict[str, Any]:
        """Latest revision per page; with `revisions_per_response`, spread over continuations."""
        rvprop = set(params.get("rvprop", "ids|timestamp|flags|comment|user").split("|"))
        existing = [title for title in titles if title in self.pages]
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
            status, extra, answer = self.server.wiki.answer(self.command, params, headers)
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if isinstance(answer, dict) and "error" in answer:
            self.send_header("MediaWiki-API-Error", answer["error"]["code"])
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `FakeWiki.requests` instead."""


@pytest.fixture(name="fake_wiki")
def fake_wiki_fixture() -> Iterator[FakeWiki]:
    """A running FakeWiki with the fixture pages, stopped after the test."""
    with FakeWiki() as wiki:
        yield wiki
