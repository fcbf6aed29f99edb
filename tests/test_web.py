"""The live server (`newscontext --db FILE serve`, web/live.py) on the real fixture days:
every file a build writes is answered with the same bytes, every other path as `serve DIR`
answers it; HTTP caching, gzip and HEAD; states of the archive (a finished update shows, half
of one never); the query deadline; the command line with worker processes."""

from __future__ import annotations

import gzip
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT, export_xml, wikitext
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from processes import alive, children
from servers import JIHADI, at_once, reword, running
from starlette.testclient import TestClient
from test_fetch import fixture_bytes

from newscontext import Archive, Settings
from newscontext.site import serve, urls
from newscontext.site.build import Plan
from newscontext.site.pages import Pages
from newscontext.sources.crawl import source_hash
from newscontext.sources.extract import extract
from newscontext.store import Store
from newscontext.web.live import LivePlan, create_app

OLD = "/news/2016/01/19/isil-confirms-the-death-of-militant-jihadi-john-in-an-airstrike-in-november"
NEW = "/news/2016/01/19/isil-says-that-militant-jihadi-john-died-in-a-november-airstrike-in-raqqa"
# Real article pages (tests/fixtures/articles) given to some of the cited sources, as a
# crawl would have archived them: their source pages are part of the site.
PAGES = ["readability/telegraph/source.html", "goose3/data/content/test_businessWeek1.html",
         "readability/ars-1/source.html", "goose3/data/content/test_foxNews.html"]
# Files a build writes that the live server does not make (see test_every_file_...).
NOT_LIVE = re.compile(r"(sitemap[^/]*\.xml|robots\.txt|_redirects|status\.json"
                      r"|\.newscontext/.*|pagefind/.*)")


@dataclass
class Built:
    db: Path
    out: Path
    settings: Settings


def archive_articles(archive: Archive, count: int) -> None:
    """Give the first `count` cited sources an article extracted from a real page."""
    store = archive.store
    with store.transaction():
        wanted = store.new_source_urls()[:count]
        store.add_sources((url, source_hash(url)) for url in wanted)
        for url, page in zip(wanted, PAGES * count, strict=False):
            store.record_fetch(url, status="fetched", at="2026-01-02T03:04:05Z",
                               http_status=200, final_url=url, redirects=[])
            store.save_article(url, extract(fixture_bytes(page), url), "2026-01-02T03:04:05Z")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """The demo's archive (the real sample days, resolved and related), some articles
    archived, built, one event reworded, and built again in full."""
    folder = tmp_path_factory.mktemp("web")
    db, out = folder / "archive.sqlite3", folder / "site"
    settings = Settings(db=db, workers=1)
    with Archive(settings) as archive:
        archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
        archive.resolve()
        archive.relate()
        archive_articles(archive, 8)
        archive.build(out, search=False)
    reword(folder, db)
    with Archive(settings) as archive:
        archive.relate()
        archive.build(out, full=True, search=False)
    return Built(db, out, settings)


@pytest.fixture(scope="module")
def live(built: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built.db, built.settings)) as client:
        yield client


@pytest.fixture(scope="module")
def static(built: Built) -> Iterator[TestClient]:
    with TestClient(serve.create_app(built.out)) as client:
        yield client


def answer(client: TestClient, path: str, **headers: str) -> tuple:
    """What a client sees of an answer: status, type, redirect and body."""
    response = client.get(path, follow_redirects=False, headers=headers)
    return (response.status_code, response.headers.get("content-type"),
            response.headers.get("location"), response.content)


def site_files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


# -- the same bytes as the build ---------------------------------------------------------------

@pytest.mark.slow
def test_every_file_the_build_wrote_is_answered_the_same(built: Built, live: TestClient,
                                                         static: TestClient):
    """Every file of the built demo site, in every format, with the feeds, the redirects
    of old paths and the static files: the live answer is what `serve DIR` answers from
    the build's folder (the file's bytes, or a 301 where the build wrote a redirect page).
    Left out, because the live server does not make them: the sitemap and robots.txt (their
    lastmod times are those of the builds that wrote the files), the Pagefind index, the
    build's own state (.newscontext/), _redirects (the live server answers its 301s)."""
    files = site_files(built.out)
    compared: dict[str, int] = {}
    for name in files:
        if NOT_LIVE.fullmatch(name):
            continue
        expected = answer(static, "/" + name)
        assert answer(live, "/" + name) == expected, name
        kind = "redirect" if expected[0] == 301 else name.split("/")[0].split(".")[0]
        compared[kind] = compared.get(kind, 0) + 1
    assert set(compared) >= {"index", "about", "news", "stories", "entities", "sources",
                             "feed", "static", "search", "404", "redirect"}, compared
    formats = {name.rsplit(".", 1)[1] for name in files if name.startswith("news/")}
    assert formats == set(urls.FORMATS)
    assert sum(compared.values()) > 2_000  # 4,503 files when written


@pytest.mark.parametrize("path", [
    "/", "/index", "/about", "/news/2016/01/19", "/news/2016/01/19/", "/news/2016/01/",
    "/news/2016/01", NEW, NEW + "/", OLD, OLD + "/", OLD + ".md", OLD + ".json?from=feed",
    "/stories/syrian-civil-war", "/stories/syrian-civil-war/", "/404", "/search",
    "/static/style.css", "/feed.xml", "/feed.atom", "/about.html/", "/index.html/x",
])
def test_paths_are_answered_as_serve_dir_answers_them(live: TestClient, static: TestClient,
                                                      path: str):
    expected = answer(static, path)
    assert expected[0] in (200, 301, 404)
    assert answer(live, path) == expected


def test_plan_has_every_page_the_full_plan_makes(built: Built):
    """`Plan.has` (one page, the live server's question) says yes to every job of
    `Plan.everything` (the full build's list)."""
    with Store(built.db, readonly=True) as store:
        plan = Plan(store, Pages(store, built.settings))
        jobs = list(plan.everything())
        single = Plan(store, Pages(store, built.settings))
        assert all(single.has(job) for job in jobs if job[0] != "redirect")
        assert not single.has(("day", date(1999, 1, 1)))
        assert not single.has(("entity", "No such entity", None))
        assert not single.has(("story", "Syrian Civil War", 99))


# -- any path: a file of the build, a 301, or the 404 page; never a 500 -------------------------

@dataclass
class Servers:
    live: int
    static: int


@pytest.fixture(scope="module")
def servers(built: Built) -> Iterator[Servers]:
    with running(create_app(built.db, built.settings), built.settings) as live_port, \
            running(serve.create_app(built.out), built.settings) as static_port:
        yield Servers(live_port, static_port)


def raw(port: int, target: str, method: str = "GET") -> tuple[int, str | None, bytes]:
    """One request with the target sent exactly as given (httpx would normalise `..`)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(method, target)
        response = connection.getresponse()
        return response.status, response.getheader("location"), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("target", [
    "/" + "a" * 251, "/" + "a" * 300 + ".html", "/news/2016/" + "%C3%A9" * 200 + "/",
    "/" + "ab/" * 1500, "/a%00b", "/%00", "/index.html%00.md", "/%ff%fe", "/%e2%80%ae",
    "/%zz", "/%", "/..", "/../../../../etc/passwd", "/news/../../secret.txt",
    "/%2e%2e/secret.txt", "/news/..%2f..%2fsecret.txt", "/..\\secret.txt",
    "/.newscontext/manifest.sqlite3", "/news/2016/02/30/index.html", "/news/2016/1/19/index",
    "/news/2016/13/index.html", "/news/99999/01/01/index.html", "/stories/syrian-civil-war/page/0",
    "/stories/syrian-civil-war/page/02.html", "/stories/syrian-civil-war/page/99999999999",
    "/entities/%C3%A9t%C3%A9.html", "/sources/" + "f" * 64 + ".json", "/feed.md",
    "/stories/x/feed.xml", "/news/2016/01/19/index/x.html", "/static/../index.html",
])
def test_odd_paths_answer_as_serve_dir_answers_them(servers: Servers, target: str):
    expected = raw(servers.static, target)
    assert expected[0] in (200, 301, 404), target
    assert raw(servers.live, target) == expected, target


@pytest.fixture(scope="module")
def segments(built: Built) -> list[str]:
    """The path segments of the site's real files (with and without their extension)."""
    found: set[str] = set()
    for name in site_files(built.out):
        if NOT_LIVE.fullmatch(name):
            continue
        for part in name.split("/"):
            found.update((part, part.rsplit(".", 1)[0]))
    return sorted(found)


@examples(max_examples=150, deadline=None)
@given(data=st.data(), trailing=st.booleans(), encode=st.booleans())
def test_any_path_answers_as_serve_dir_answers_it(servers: Servers, segments: list[str],
                                                  data, trailing: bool, encode: bool):
    """Paths made of the site's own segments (so many name pages), odd ones and any text:
    the live answer is the static one, and never a 500."""
    parts = data.draw(st.lists(st.one_of(
        st.sampled_from(segments), st.sampled_from(["page", "feed.xml", "..", ".", ""]),
        st.integers(0, 120).map(str), st.text(max_size=40)), min_size=1, max_size=7))
    target = "/" + "/".join(quote(p, safe="" if encode else "/.%") for p in parts)
    target += "/" if trailing else ""
    expected = raw(servers.static, target)
    assert expected[0] in (200, 301, 404), target
    assert raw(servers.live, target) == expected, target


# -- HTTP ----------------------------------------------------------------------------------------

def test_etag_last_modified_and_conditional_gets(live: TestClient):
    first = live.get(NEW + ".html")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"') and modified.endswith(" GMT")
    cache = first.headers["cache-control"]
    assert "public" in cache and "max-age=60" in cache and "stale-while-revalidate" in cache
    again = live.get(NEW + ".html", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert live.get(NEW + ".html", headers={"If-None-Match": '"other"'}).status_code == 200
    assert live.get(NEW + ".md", headers={"If-Modified-Since": modified}).status_code == 304
    earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert live.get(NEW + ".md", headers={"If-Modified-Since": earlier}).status_code == 200
    assert live.get("/feed.xml", headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_text_is_gzipped(live: TestClient, built: Built):
    response = live.get("/index.html", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == (built.out / "index.html").read_bytes()  # httpx decodes it
    plain = live.get("/index.html", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == (built.out / "index.html").read_bytes()


def test_head_everywhere(servers: Servers, built: Built):
    for path in ("/feed.atom", NEW + ".json", "/news/2016/01/19/", "/static/style.css"):
        status, _, body = raw(servers.live, path, method="HEAD")
        assert (status, body) == (200, b""), path
    connection = http.client.HTTPConnection("127.0.0.1", servers.live, timeout=20)
    connection.request("HEAD", "/feed.atom", headers={"Accept-Encoding": "identity"})
    response = connection.getresponse()
    assert int(response.getheader("content-length")) == (built.out / "feed.atom").stat().st_size
    connection.close()
    assert raw(servers.live, "/no-such-page", method="HEAD")[0] == 404


def test_gzip_over_a_real_connection(servers: Servers, built: Built):
    connection = http.client.HTTPConnection("127.0.0.1", servers.live, timeout=20)
    connection.request("GET", "/about.md", headers={"Accept-Encoding": "gzip"})
    response = connection.getresponse()
    assert response.getheader("content-encoding") == "gzip"
    assert response.getheader("content-type") == "text/markdown; charset=utf-8"
    assert gzip.decompress(response.read()) == (built.out / "about.md").read_bytes()
    connection.close()


def test_a_query_past_the_deadline_answers_503_and_the_next_is_served(built: Built):
    settings = Settings(db=built.db, workers=1, serve_query_timeout=0.0)
    app = create_app(built.db, settings)
    with TestClient(app) as client:
        # A source page reads every event's sources for those citing it: 10,000s of steps.
        page = next(name for name in site_files(built.out) if name.startswith("sources/"))
        stopped = client.get("/" + page)
        assert stopped.status_code == 503 and stopped.headers["retry-after"]
        assert stopped.headers["cache-control"] == "no-store"
        settings.serve_query_timeout = 5.0
        served = client.get("/" + page)
        assert served.status_code == 200
        assert served.content == (built.out / page).read_bytes()


def slow_sources(monkeypatch, seconds: float) -> list[str]:
    """Source pages made `seconds` slower (a pause before their citing events are read);
    returns the list of the URLs read, as they are."""
    made: list[str] = []
    citing = LivePlan.citing

    def slow(plan: LivePlan, url: str) -> list[tuple[str, str, str]]:
        made.append(url)
        time.sleep(seconds)
        return citing(plan, url)

    monkeypatch.setattr(LivePlan, "citing", slow)
    return made


def test_a_page_asked_again_is_sent_without_queries_within_the_cache_bound(built: Built):
    """A worker keeps what it answered for the current state: asked again, a page, a
    redirect and a 404 are answered alike without a query; the kept answers stay within
    `serve_cache_mb`, the least recently asked dropped first."""
    settings = Settings(db=built.db, workers=1, serve_cache_mb=1)
    app = create_app(built.db, settings)
    pages = [name for name in site_files(built.out) if name.endswith(".html")][:400]
    entity = next(p for p in pages if p.startswith("entities/"))
    with TestClient(app) as client:
        asked = ["/" + pages[0], "/" + entity.removesuffix(".html") + "/", "/no/such/page.html"]
        first = [answer(client, path) for path in asked]
        queries: list[str] = []
        for reading in app.state.site.states.state.idle:
            reading.store.conn.set_trace_callback(queries.append)
        assert [answer(client, path) for path in asked] == first
        assert queries == []
        assert first[0][3] == (built.out / pages[0]).read_bytes()
        assert first[1][0] == 301 and first[2][0] == 404
        etag = client.get(asked[0]).headers["etag"]
        assert client.get(asked[0], headers={"If-None-Match": etag}).status_code == 304
        for name in pages:
            client.get("/" + name)
        made = app.state.site.made(app.state.site.states.state)
        assert 0 < made.size <= 1_000_000
        assert len(made.kept) < len(pages)  # the bound dropped the first asked
        assert "/" + pages[-1] in made.kept and asked[0] not in made.kept


def test_made_up_paths_do_not_push_the_kept_pages_out(built: Built):
    """404s are kept apart from the pages, in a sixteenth of the bound: a crawler asking
    for thousands of made-up paths leaves the pages kept (and its 404s within their own)."""
    settings = Settings(db=built.db, workers=1, serve_cache_mb=1)
    app = create_app(built.db, settings)
    page = "/" + next(name for name in site_files(built.out)
                      if name.startswith("news/") and name.endswith(".html"))
    with TestClient(app) as client:
        assert client.get(page).status_code == 200
        for n in range(600):  # 1.2 MB of paths: more than the whole bound
            assert client.get(f"/no/such/{n:04d}-" + "x" * 2000).status_code == 404
        site = app.state.site
        assert page in site.made(site.states.state).kept
        assert 0 < site.missing(site.states.state).size <= 62_500


def test_a_page_asked_by_many_at_once_is_made_once(built: Built, monkeypatch):
    """After an update every kept answer is gone, and a popular page is asked by many at
    once: one thread makes it, the others wait for its answer (the build's bytes for all)."""
    made = slow_sources(monkeypatch, 0.5)
    source = next(name for name in site_files(built.out) if name.startswith("sources/"))
    with TestClient(create_app(built.db, built.settings)) as alone:
        assert alone.get("/" + source).status_code == 200
    once = len(made)  # what making the page once reads
    made.clear()
    app = create_app(built.db, built.settings)
    with TestClient(app) as client:
        assert client.get("/about.html").status_code == 200  # the state is taken
        answers = at_once(lambda: client.get("/" + source))
    assert len(answers) == 4 and once > 0 and len(made) == once
    assert {a.content for a in answers} == {(built.out / source).read_bytes()}


def test_a_page_too_slow_for_one_is_too_slow_for_all_asking_at_once(built: Built,
                                                                     monkeypatch):
    """The page's maker is stopped (503): the others asking meanwhile get its error rather
    than each making the page again, past the deadline again."""
    made = slow_sources(monkeypatch, 0.5)
    settings = Settings(db=built.db, workers=1)
    app = create_app(built.db, settings)
    source = next(name for name in site_files(built.out) if name.startswith("sources/"))
    with TestClient(app) as client:
        assert client.get("/about.html").status_code == 200  # the state is taken
        settings.serve_query_timeout = 0.0  # a source page's queries are stopped at once
        answers = at_once(lambda: client.get("/" + source))
    assert [a.status_code for a in answers] == [503] * 4
    assert len(made) == 1


def test_a_worker_makes_several_pages_at_once(built: Built, monkeypatch):
    """A slow page (here a source page made to take a second) does not hold up the others:
    each is made on a connection of its own, with its own page model, all on one state; both
    are the build's bytes."""
    slow_sources(monkeypatch, 1.0)
    app = create_app(built.db, built.settings)
    source = next(name for name in site_files(built.out) if name.startswith("sources/"))
    with TestClient(app) as client:
        assert client.get("/about.html").status_code == 200  # the state is taken
        slow: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: slow.append(client.get("/" + source)))
        thread.start()
        time.sleep(0.2)  # the slow page holds its connection now
        started = time.monotonic()
        page = client.get(NEW + ".html")
        took = time.monotonic() - started
        assert thread.is_alive() and took < 0.6, took
        assert page.content == (built.out / (NEW.lstrip("/") + ".html")).read_bytes()
        thread.join(20)
        assert slow[0].content == (built.out / source).read_bytes()
        state = app.state.site.states.state
        assert len(state.idle) == 2  # two connections on the one state
        assert state.idle[0].kept["pages"] is not state.idle[1].kept["pages"]
    app.state.site.close()


# -- states of the archive: a finished update shows, half of one never ----------------------------

def test_pages_show_finished_updates_only(built: Built, tmp_path: Path, monkeypatch):
    """An update holds the archive's lock: while it writes, the server stays on the state
    before it; events ingested but not yet given their path (no build since) wait too; once
    the update is finished, the next request shows it, with a new ETag."""
    monkeypatch.setattr("newscontext.web.states.LOOK_EVERY", 0.0)
    db = tmp_path / "archive.sqlite3"
    with Store(built.db) as source:
        source.conn.execute(f"VACUUM INTO '{db}'")
    Store(db).close()  # WAL mode, as every archive newscontext writes
    settings = Settings(db=db, workers=1)
    day = "/news/2016/01/19/index.html"
    with TestClient(create_app(db, settings)) as client:
        before = client.get(day)
        assert b"Raqqa" in before.content
        with Archive(settings) as archive, archive.writing:  # an update runs
            export = tmp_path / "changed.xml"
            text = wikitext("2016-01-19").replace(JIHADI, "says that Jihadi John is gone.")
            export.write_text(export_xml({date(2016, 1, 19): [
                (900_000_002, "2026-01-01T00:00:00Z", text)]}), encoding="utf-8")
            assert archive.ingest_paths([export]).changed == 1
            mid = client.get(day, headers={"If-None-Match": before.headers["etag"]})
            assert mid.status_code == 304  # the state before the update
            archive.build(tmp_path / "site", search=False)
            assert client.get(day).content == before.content
        after = client.get(day)
        assert b"Jihadi John is gone" in after.content and b"Raqqa" not in after.content
        assert after.headers["etag"] != before.headers["etag"]
        assert after.content == (tmp_path / "site" / day.lstrip("/")).read_bytes()


def test_events_without_their_path_wait_for_the_build(built: Built, tmp_path: Path,
                                                      monkeypatch):
    monkeypatch.setattr("newscontext.web.states.LOOK_EVERY", 0.0)
    db = tmp_path / "archive.sqlite3"
    with Store(built.db) as source:
        source.conn.execute(f"VACUUM INTO '{db}'")
    Store(db).close()  # WAL mode, as every archive newscontext writes
    settings = Settings(db=db, workers=1)
    with TestClient(create_app(db, settings)) as client:
        before = client.get("/index.html")
        with Archive(settings) as archive:
            text = wikitext("2016-01-19")
            export = tmp_path / "changed.xml"
            export.write_text(export_xml({date(2016, 1, 20): [
                (900_000_003, "2026-01-01T00:00:00Z", text)]}), encoding="utf-8")
            assert archive.ingest_paths([export]).added > 0  # a new day, no build yet
        assert client.get("/index.html").content == before.content
        assert client.get("/news/2016/01/20/index.html").status_code == 404
        with Archive(settings) as archive:
            archive.build(tmp_path / "site", search=False)
        day = client.get("/news/2016/01/20/index.html")
        assert day.status_code == 200
        assert day.content == (tmp_path / "site/news/2016/01/20/index.html").read_bytes()


# -- the command line ------------------------------------------------------------------------------

def test_cli_serves_the_archive_live_in_worker_processes(built: Built):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen(
        [sys.executable, "-m", "newscontext", "--db", str(built.db), "serve", "--port", "0",
         "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"Serving the archive {built.db} live at http://127.0.0.1:"), \
            line + process.stderr.read() if process.poll() is not None else line
        url = line.split(" at ", 1)[1].split()[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url + "index.html", timeout=10)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.content == (built.out / "index.html").read_bytes()
        for path in (NEW + ".json", "feed.atom", "news/2016/01/19/"):
            got = httpx.get(url + path.lstrip("/"), timeout=10)
            file = path.lstrip("/") + ("index.html" if path.endswith("/") else "")
            assert got.content == (built.out / file).read_bytes(), path
        moved = httpx.get(url + OLD.lstrip("/"), timeout=10)
        assert moved.status_code == 301 and moved.headers["location"] == NEW
        workers = children(process.pid)
        assert len(workers) == 2 and all(alive(pid) for pid in workers)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    assert not any(alive(pid) for pid in workers)


def test_cli_live_serve_without_an_archive_says_so(tmp_path: Path):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [sys.executable, "-m", "newscontext", "--db", str(tmp_path / "none.sqlite3"), "serve",
         "--port", "0"], capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 2
    assert "no archive there" in done.stderr and "Traceback" not in done.stderr


def test_the_api_is_mounted(live: TestClient):
    response = live.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.1")


def test_a_worker_that_dies_is_replaced(built: Built):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen(
        [sys.executable, "-m", "newscontext", "--db", str(built.db), "serve", "--port", "0",
         "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment)
    try:
        url = process.stdout.readline().split(" at ", 1)[1].split()[0]
        deadline = time.monotonic() + 30
        while len(children(process.pid)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first = children(process.pid)
        os.kill(first[0], signal.SIGKILL)
        while True:
            now = children(process.pid)
            if len(now) == 2 and first[0] not in now:
                break
            assert time.monotonic() < deadline + 10
            time.sleep(0.05)
        assert httpx.get(url + "about.html", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
