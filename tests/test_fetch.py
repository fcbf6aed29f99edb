"""fetch.py against a real HTTP server on 127.0.0.1 that serves the real fixture article pages
and misbehaves on demand (redirects, errors, rate limits, slowness, huge or non-HTML bodies).

`NewsServer` (and the `news` fixture) is shared with test_crawl.py, which also uses its fake
Wayback Machine (a CDX endpoint and raw captures).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest

from newscontext.settings import Settings
from newscontext.sources.fetch import Fetcher, FetchResult, Outcome, address_problem

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
BBC = "readability/bbc-1/source.html"
NYT = "readability/nytimes-1/source.html"
ZYTE_GZ = "zyte/html/14cc2a0ca59c62a8c9f205a171e9ccf4ef4cf69b0c642f51c8c65c051b39024f.html.gz"
ROBOTS = (
    "User-agent: *\nDisallow: /private/\n\n"
    # A group for our product token replaces the `*` group for us.
    "User-agent: newscontext\nDisallow: /private/\nDisallow: /not-for-newscontext/\n"
)


@dataclass
class Route:
    """One canned answer. `body` may name a fixture file with `fixture` instead; `.gz`
    fixtures are sent gzip-encoded, as servers do. `stream` sends that many bytes chunked,
    without a length; `delay` waits before answering."""

    status: int = 200
    body: bytes = b"<html><head><title>t</title></head><body><p>Hello</p></body></html>"
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    fixture: str | None = None
    delay: float = 0.0
    stream: int = 0
    drop: bool = False  # close the connection without answering

    def payload(self) -> tuple[bytes, dict[str, str]]:
        if self.fixture is None:
            return self.body, {}
        raw = (ARTICLES / self.fixture).read_bytes()
        return raw, ({"Content-Encoding": "gzip"} if self.fixture.endswith(".gz") else {})


def fixture_bytes(name: str) -> bytes:
    """A fixture page as a client sees it (gzip undone)."""
    raw = (ARTICLES / name).read_bytes()
    return gzip.decompress(raw) if name.endswith(".gz") else raw


@dataclass(frozen=True)
class Hit:
    path: str
    host: str
    user_agent: str
    start: float
    end: float


class NewsServer:
    """News sites, a robots.txt and a Wayback Machine in one local server.

    `routes` maps a path (without query) to a Route, or to a list of Routes answered in turn
    (the last one repeats). `captures` maps a URL to its Wayback captures
    [(timestamp, original)] for the CDX endpoint `/cdx`; `capture_pages` maps (timestamp,
    original) to the Route of the raw capture under `/web/`. Every request is logged in
    `hits`; the most requests in flight at once, per Host header and over all, in
    `max_per_host` and `max_total`.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route | list[Route]] = {}
        self.robots: Route = Route(body=ROBOTS.encode(), content_type="text/plain")
        self.captures: dict[str, list[tuple[str, str]]] = {}
        self.capture_pages: dict[tuple[str, str], Route] = {}
        self.cdx_queries: list[dict[str, list[str]]] = []
        self.cdx_sorts = True  # False: answer in index order, as if `sort` were unknown
        self.hits: list[Hit] = []  # logged when answered
        self.requested: list[str] = []  # paths, logged when asked
        self.max_per_host: Counter[str] = Counter()
        self.max_total = 0
        self._served: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self._lock:
            return list(self.requested)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # -- called by the handler threads -----------------------------------------------------

    def begin(self, host: str, path: str) -> float:
        with self._lock:
            self.requested.append(path)
            self._in_flight[host] += 1
            self.max_per_host[host] = max(self.max_per_host[host], self._in_flight[host])
            self.max_total = max(self.max_total, sum(self._in_flight.values()))
        return time.monotonic()

    def end(self, hit: Hit) -> None:
        with self._lock:
            self._in_flight[hit.host] -= 1
            self.hits.append(hit)

    def answer(self, path: str, query: dict[str, list[str]]) -> Route:
        if path == "/robots.txt":
            return self.robots
        if path == "/cdx":
            return self._cdx(query)
        if path.startswith("/web/"):
            stamp, _, original = path[len("/web/"):].partition("id_/")
            return self.capture_pages.get((stamp, original), Route(404))
        with self._lock:
            route = self.routes.get(path, Route(404))
            if isinstance(route, list):
                route = route[min(self._served[path], len(route) - 1)]
            self._served[path] += 1
        return route

    def _cdx(self, query: dict[str, list[str]]) -> Route:
        """Like the CDX API: `fl` columns, `closest`+`sort=closest` order, `limit`."""
        with self._lock:
            self.cdx_queries.append(query)
        url = query["url"][0]
        rows = list(self.captures.get(url, []))
        if self.cdx_sorts and query.get("sort") == ["closest"]:
            target = int(query["closest"][0].ljust(14, "0"))
            rows.sort(key=lambda row: abs(int(row[0]) - target))
        rows = rows[: int(query.get("limit", ["1000"])[0])]
        fields = query.get("fl", ["urlkey,timestamp,original,mimetype,statuscode"])[0].split(",")
        record = lambda stamp, original: {  # noqa: E731
            "urlkey": "x", "timestamp": stamp, "original": original,
            "mimetype": "text/html", "statuscode": "200"}
        table = [fields] + [[record(*row)[name] for name in fields] for row in rows]
        return Route(body=json.dumps(table if rows else []).encode(),
                     content_type="application/json")


def _make_handler(server: NewsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            host = self.headers.get("Host", "")
            parts = urlsplit(self.path)
            start = server.begin(host, parts.path)
            try:
                self._send(server.answer(parts.path, parse_qs(parts.query)))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout, too large): as real servers see it
            finally:
                server.end(Hit(parts.path, host, self.headers.get("User-Agent", ""), start,
                               time.monotonic()))

        def _send(self, route: Route) -> None:
            if route.delay:
                time.sleep(route.delay)
            if route.drop:
                self.close_connection = True
                return
            body, extra = route.payload()
            self.send_response(route.status)
            if route.content_type:
                self.send_header("Content-Type", route.content_type)
            for name, value in {**extra, **route.headers}.items():
                self.send_header(name, value)
            if route.stream:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<p>" + b"x" * 8185 + b"</p>"
                for _ in range(route.stream // len(chunk) + 1):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
                return
            if "Content-Length" not in route.headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


def settings(**overrides: Any) -> Settings:
    """Settings for the local server: loopback allowed, tiny delays so tests stay fast."""
    values: dict[str, Any] = {
        "fetch_allow_loopback": True,
        "fetch_host_delay": 0.0,
        "fetch_timeout": 2.0,
        "fetch_retries": 2,
        "fetch_backoff_base": 0.01,
        "fetch_max_backoff": 5.0,
    }
    return Settings(**(values | overrides))


def fetch_all(config: Settings, urls: list[str], **kwargs: Any) -> list[FetchResult]:
    """Fetch URLs concurrently with one Fetcher, as a crawl does."""

    async def run() -> list[FetchResult]:
        async with Fetcher(config) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(url, **kwargs) for url in urls))

    return asyncio.run(run())


def fetch_one(config: Settings, url: str, **kwargs: Any) -> FetchResult:
    return fetch_all(config, [url], **kwargs)[0]


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address a TCP connection was attempted to (the guard's connects go here)."""
    made: list[str] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def spy(self: httpcore.AnyIOBackend, host: str, port: int, **kwargs: Any
                  ) -> httpcore.AsyncNetworkStream:
        made.append(host)
        return await original(self, host, port, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", spy)
    return made


# -- pages --------------------------------------------------------------------------------


def test_fetches_a_real_article_with_our_user_agent(news: NewsServer) -> None:
    news.routes["/a"] = Route(fixture=BBC)
    config = settings()
    result = fetch_one(config, news.url("/a"))
    assert result.outcome is Outcome.FETCHED and result.ok
    assert result.content == fixture_bytes(BBC)
    assert result.status == 200 and result.final_url == news.url("/a")
    assert result.content_type == "text/html; charset=utf-8"
    assert result.redirects == () and result.fetched_at.endswith("Z")
    assert {hit.user_agent for hit in news.hits} == {config.user_agent}
    assert news.paths() == ["/robots.txt", "/a"]


def test_gzip_encoded_page_is_decoded(news: NewsServer) -> None:
    news.routes["/z"] = Route(fixture=ZYTE_GZ)
    result = fetch_one(settings(), news.url("/z"))
    assert result.ok and result.content == fixture_bytes(ZYTE_GZ)
    assert result.content.startswith(b"<html")  # sent gzip-encoded, kept decoded


def test_redirect_chain_is_followed_and_recorded(news: NewsServer) -> None:
    news.routes["/r1"] = Route(301, headers={"Location": "/r2"})
    news.routes["/r2"] = Route(302, headers={"Location": news.url("/r3", host="localhost")})
    news.routes["/r3"] = Route(307, headers={"Location": "/final?x=1"})
    news.routes["/final"] = Route(fixture=NYT)
    result = fetch_one(settings(), news.url("/r1"))
    assert result.ok and result.content == fixture_bytes(NYT)
    assert result.redirects == (news.url("/r1"), news.url("/r2"),
                                news.url("/r3", host="localhost"))
    assert result.final_url == news.url("/final?x=1", host="localhost")
    # robots.txt is asked of each origin the chain visits, once
    assert news.paths().count("/robots.txt") == 2


def test_too_many_redirects_is_an_error(news: NewsServer) -> None:
    for n in range(5):
        news.routes[f"/loop{n}"] = Route(302, headers={"Location": f"/loop{n + 1}"})
    result = fetch_one(settings(fetch_max_redirects=3), news.url("/loop0"))
    assert result.outcome is Outcome.ERROR and "more than 3 redirects" in (result.message or "")
    assert len(result.redirects) == 3 and result.status == 302
    assert "/loop4" not in news.paths()


@pytest.mark.parametrize(("status", "outcome"), [
    (404, Outcome.NOT_FOUND), (410, Outcome.NOT_FOUND), (401, Outcome.BLOCKED),
    (403, Outcome.BLOCKED), (451, Outcome.BLOCKED), (402, Outcome.PAYWALLED),
    (500, Outcome.ERROR), (418, Outcome.ERROR),
])
def test_status_codes_are_classified(news: NewsServer, status: int, outcome: Outcome) -> None:
    news.routes["/s"] = Route(status)
    result = fetch_one(settings(), news.url("/s"))
    assert result.outcome is outcome and result.status == status
    assert result.content is None and f"HTTP {status}" in (result.message or "")
    assert news.paths().count("/s") == 1  # none of these is retried


def test_pdf_is_not_html_and_its_body_is_not_read(news: NewsServer) -> None:
    news.routes["/doc.pdf"] = Route(body=b"%PDF-1.4 " + b"0" * 1000,
                                    content_type="application/pdf")
    result = fetch_one(settings(), news.url("/doc.pdf"))
    assert result.outcome is Outcome.NOT_HTML and result.content is None
    assert "application/pdf" in (result.message or "")


def test_xhtml_is_html(news: NewsServer) -> None:
    news.routes["/x"] = Route(content_type="application/xhtml+xml; charset=utf-8")
    assert fetch_one(settings(), news.url("/x")).ok


def test_oversized_bodies_are_refused_announced_or_streamed(news: NewsServer) -> None:
    news.routes["/announced"] = Route(headers={"Content-Length": "50000000"})
    news.routes["/chunked"] = Route(stream=400_000)
    news.routes["/fits"] = Route(fixture=NYT)  # about 300 kB
    config = settings(fetch_max_bytes=len(fixture_bytes(NYT)))
    announced, chunked, fits = fetch_all(
        config, [news.url("/announced"), news.url("/chunked"), news.url("/fits")])
    assert announced.outcome is Outcome.TOO_LARGE and "announced" in (announced.message or "")
    assert chunked.outcome is Outcome.TOO_LARGE and announced.content is None
    assert fits.ok
    small = fetch_one(settings(fetch_max_bytes=50_000), news.url("/chunked"))
    assert small.outcome is Outcome.TOO_LARGE and "more than 50000 bytes" in small.message


# -- retries ------------------------------------------------------------------------------


def test_429_retry_after_is_obeyed_then_success(news: NewsServer) -> None:
    news.routes["/busy"] = [Route(429, headers={"Retry-After": "1"}), Route(fixture=BBC)]
    result = fetch_one(settings(), news.url("/busy"))
    assert result.ok and result.content == fixture_bytes(BBC)
    first, second = [hit for hit in news.hits if hit.path == "/busy"]
    assert second.start - first.end >= 0.9  # the server's 1 s, not our 0.01 s backoff


def test_503_without_retry_after_backs_off_and_recovers(news: NewsServer) -> None:
    news.routes["/down"] = [Route(503), Route(503), Route(fixture=BBC)]
    result = fetch_one(settings(fetch_retries=2), news.url("/down"))
    assert result.ok and news.paths().count("/down") == 3


def test_rate_limit_that_never_ends_is_an_error(news: NewsServer) -> None:
    news.routes["/limited"] = Route(429, headers={"Retry-After": "0"})
    result = fetch_one(settings(fetch_retries=2), news.url("/limited"))
    assert result.outcome is Outcome.ERROR and result.status == 429
    assert news.paths().count("/limited") == 3


def test_retry_after_longer_than_we_wait_is_not_waited(news: NewsServer) -> None:
    news.routes["/later"] = Route(503, headers={"Retry-After": "3600"})
    started = time.monotonic()
    result = fetch_one(settings(fetch_max_backoff=5.0), news.url("/later"))
    assert time.monotonic() - started < 2
    assert result.outcome is Outcome.ERROR and "3600" in (result.message or "")
    assert news.paths().count("/later") == 1


def test_slow_server_times_out_after_retries(news: NewsServer) -> None:
    news.routes["/slow"] = Route(delay=1.5)
    result = fetch_one(settings(fetch_timeout=0.3, fetch_retries=1), news.url("/slow"))
    assert result.outcome is Outcome.TIMEOUT and result.status is None
    assert news.paths().count("/slow") == 2


# -- robots.txt ---------------------------------------------------------------------------


def test_robots_txt_is_honoured_for_our_user_agent(news: NewsServer) -> None:
    for path in ("/private/a", "/not-for-newscontext/b", "/public/c"):
        news.routes[path] = Route(fixture=BBC)
    private, ours, public = fetch_all(settings(), [
        news.url("/private/a"), news.url("/not-for-newscontext/b"), news.url("/public/c")])
    assert private.outcome is Outcome.BLOCKED and "robots.txt" in (private.message or "")
    assert ours.outcome is Outcome.BLOCKED
    assert public.ok
    assert sorted(news.paths()) == ["/public/c", "/robots.txt"]  # asked once, then obeyed


def test_redirect_into_a_disallowed_path_is_blocked(news: NewsServer) -> None:
    news.routes["/moved"] = Route(301, headers={"Location": "/private/x"})
    news.routes["/private/x"] = Route(fixture=BBC)
    result = fetch_one(settings(), news.url("/moved"))
    assert result.outcome is Outcome.BLOCKED and result.redirects == (news.url("/moved"),)
    assert "/private/x" not in news.paths()


@pytest.mark.parametrize(("robots", "allowed"), [
    (Route(404), True),  # no robots.txt: everything allowed
    (Route(403), True),  # 4xx: allowed, as RFC 9309 says
    (Route(500), False),  # server trouble: nothing this crawl
    (Route(503), False),
    (Route(drop=True), True),  # could not be fetched at all: allowed
])
def test_robots_txt_failures(news: NewsServer, robots: Route, allowed: bool) -> None:
    news.robots = robots
    news.routes["/page"] = Route(fixture=BBC)
    first, second = fetch_all(settings(fetch_retries=0), [news.url("/page"), news.url("/page")])
    assert first.ok is allowed and second.ok is allowed
    if not allowed:
        assert first.outcome is Outcome.BLOCKED and "/page" not in news.paths()
    assert news.paths().count("/robots.txt") == 1  # cached for the crawl


# -- politeness ---------------------------------------------------------------------------


def test_one_request_at_a_time_per_host_with_a_delay(news: NewsServer) -> None:
    news.robots = Route(404)
    for n in range(6):
        news.routes[f"/p{n}"] = Route(fixture=NYT, delay=0.05)
    fetch_all(settings(fetch_host_delay=0.1, fetch_concurrency=8),
              [news.url(f"/p{n}") for n in range(6)])
    assert news.max_per_host == {f"127.0.0.1:{news.port}": 1}
    hits = sorted(news.hits, key=lambda hit: hit.start)
    assert len(hits) == 7  # robots.txt and the pages
    assert all(b.start - a.end >= 0.09 for a, b in pairwise(hits))  # a pause after each


def test_per_host_limit_is_a_limit_not_a_serialisation(news: NewsServer) -> None:
    news.robots = Route(404)
    for n in range(8):
        news.routes[f"/p{n}"] = Route(fixture=NYT, delay=0.2)
    fetch_all(settings(fetch_per_host=3, fetch_concurrency=8),
              [news.url(f"/p{n}") for n in range(8)])
    assert news.max_per_host[f"127.0.0.1:{news.port}"] == 3


def test_global_limit_spans_hosts(news: NewsServer) -> None:
    news.robots = Route(404)
    for n in range(4):
        news.routes[f"/p{n}"] = Route(delay=0.2)
    urls = [news.url(f"/p{n}", host) for n in range(4) for host in ("127.0.0.1", "localhost")]
    fetch_all(settings(fetch_per_host=4, fetch_concurrency=2), urls)
    assert news.max_total == 2
    assert len(news.max_per_host) == 2  # both hosts were served


# -- SSRF guard ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin",
    "http://[::ffff:10.0.0.1]/", "http://0.0.0.0/",
])
def test_redirect_to_a_private_address_is_refused_without_connecting(
        news: NewsServer, connections: list[str], target: str) -> None:
    news.routes["/evil"] = Route(302, headers={"Location": target})
    result = fetch_one(settings(), news.url("/evil"))
    assert result.outcome is Outcome.REFUSED
    assert result.redirects == (news.url("/evil"),) and result.final_url == target
    assert "address" in (result.message or "")
    assert connections and set(connections) == {"127.0.0.1"}  # only the local server


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://ftp.example.org/x.html"])
def test_other_schemes_are_refused_direct_or_redirected(
        news: NewsServer, connections: list[str], target: str) -> None:
    direct = fetch_one(settings(), target)
    assert direct.outcome is Outcome.REFUSED and "not an http(s) URL" in (direct.message or "")
    assert connections == []
    news.routes["/away"] = Route(302, headers={"Location": target})
    redirected = fetch_one(settings(), news.url("/away"))
    assert redirected.outcome is Outcome.REFUSED
    assert redirected.final_url.split(":")[0] == target.split(":")[0]
    assert redirected.redirects == (news.url("/away"),)


def test_loopback_is_refused_unless_allowed(news: NewsServer, connections: list[str]) -> None:
    news.routes["/a"] = Route(fixture=BBC)
    closed = settings(fetch_allow_loopback=False)
    by_name = fetch_one(closed, news.url("/a", host="localhost"))
    by_address = fetch_one(closed, news.url("/a"))
    assert by_name.outcome is Outcome.REFUSED and by_address.outcome is Outcome.REFUSED
    assert "localhost resolves to 127.0.0.1, a loopback address" in (by_name.message or "")
    assert connections == [] and news.hits == []
    assert fetch_one(settings(), news.url("/a", host="localhost")).ok


def test_unknown_host_and_closed_port_are_refused() -> None:
    unknown = fetch_one(settings(), "http://no-such-host.invalid/news")
    assert unknown.outcome is Outcome.REFUSED and "cannot resolve" in (unknown.message or "")
    with NewsServer() as gone:
        url = gone.url("/a")
    closed = fetch_one(settings(fetch_retries=0), url)  # nothing listens there any more
    assert closed.outcome is Outcome.REFUSED and "cannot connect" in (closed.message or "")


@pytest.mark.parametrize(("address", "problem"), [
    ("93.184.216.34", None), ("2606:4700::6810:85e5", None),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("100.64.0.1", "non-public"),
    ("::ffff:10.0.0.1", "private"), ("::ffff:8.8.8.8", None), ("2002:a00:1::", "private"),
    ("64:ff9b::a9fe:a9fe", "link-local"), ("64:ff9b::808:808", None),
])
def test_address_problems(address: str, problem: str | None) -> None:
    assert address_problem(address) == problem


def test_loopback_allowance_opens_loopback_only() -> None:
    assert address_problem("127.0.0.1", allow_loopback=True) is None
    assert address_problem("10.0.0.1", allow_loopback=True) == "private"
    assert address_problem("169.254.169.254", allow_loopback=True) == "link-local"


@pytest.mark.parametrize(("url", "message"), [
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    ("http://[::]/", ":: is an unspecified address"),
    ("http://10.1.2.3/", "10.1.2.3 is a private address"),
    ("http://169.254.169.254/", "169.254.169.254 is a link-local address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://[4000::1]/", "4000::1 is a reserved address"),
    ("http://100.64.0.1/", "100.64.0.1 is a non-public address"),
])
def test_refusals_read_as_english(connections: list[str], url: str, message: str) -> None:
    result = fetch_one(settings(fetch_retries=0), url)
    assert result.outcome is Outcome.REFUSED
    assert result.message == message
    assert connections == []
