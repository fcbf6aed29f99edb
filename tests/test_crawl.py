"""The crawl stage on a real day of the portal (2016-01-19, its 15 sources pointed at a local
server that serves real article pages, fails in every way a news site does, and plays the
Wayback Machine), the `crawl`, `export articles` and `extract` commands, and event media."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from conftest import WIKITEXT
from test_fetch import BBC, NYT, ZYTE_GZ, NewsServer, Route, fixture_bytes, settings

from newscontext import Archive
from newscontext.cli import main
from newscontext.model import ArchivedEvent
from newscontext.sources.crawl import CrawlReport, source_hash
from newscontext.sources.extract import extract
from newscontext.sources.fetch import Fetcher
from newscontext.sources.wayback import Capture, find_capture

DAY = "2016-01-19"
BUSINESSWEEK = "goose3/data/content/test_businessWeek1.html"
TELEGRAPH = "readability/telegraph/source.html"
FOXNEWS = "goose3/data/content/test_foxNews.html"
ARS = "readability/ars-1/source.html"
HERALD = "readability/herald-sun-1/source.html"
# robots.txt of the local "news sites": the UN's pages are off limits to us.
ROBOTS = "User-agent: newscontext\nDisallow: /news/www.ohchr.org/\n"
ISO = "%Y-%m-%dT%H:%M:%SZ"


def local(news: NewsServer, url: str) -> str:
    """A cited URL as the local day page cites it: the same site, on the local server."""
    return re.sub(r"^https?://", f"http://127.0.0.1:{news.port}/news/", url)


def path(news: NewsServer, url: str) -> str:
    return urlsplit(local(news, url)).path


def write_day(news: NewsServer, folder: Path, day: str = DAY) -> Path:
    """The real day page with every source pointed at the local server."""
    text = (WIKITEXT / f"{day}.wiki").read_text(encoding="utf-8")
    out = folder / f"{day}.wiki"
    out.write_text(re.sub(r"\[https?://", f"[http://127.0.0.1:{news.port}/news/", text),
                   encoding="utf-8")
    return out


def crawl_settings(news: NewsServer, db: Path, **overrides: Any):
    # The fixture pages' pictures are on their publishers' hosts, which no test may reach:
    # test_images.py crawls pictures served by the local server.
    values = {"db": db, "wayback_cdx_url": news.url("/cdx"),
              "wayback_web_url": news.url("/web"), "fetch_per_host": 4,
              "fetch_timeout": 0.5, "fetch_retries": 1, "crawl_images": False}
    return settings(**(values | overrides))


# The day's sources, each answering as a real site might.
GEO = "http://www.geo.tv/latest/100406-Five-killed-several-injured-in-blast-near-Peshawar-checkpost"
RTE = "http://www.rte.ie/news/2016/0119/761199-pakistan/"
JPOST = ("http://www.jpost.com/Breaking-News/"
         "Fighting-between-Syrian-army-Islamic-State-kills-scores-442009")
BBC_COM = "https://www.bbc.com/news/uk-35358101"
OHCHR = ("http://www.ohchr.org/EN/NewsEvents/Pages/DisplayNews.aspx?NewsID=16964&LangID=E")
YAHOO = "http://finance.yahoo.com/news/pakistan-lifts-ban-youtube-launch-050557383.html"
MSN = ("https://web.archive.org/web/20160121202309/http://www.msn.com/en-us/money/markets/"
       "gas-selling-for-47-cents-a-gallon-as-oil-prices-drop-sharply/ar-BBonBNb"
       "?li=BBnb7Kz&ocid=iehp")
BBC_UK = "https://www.bbc.co.uk/news/world-europe-35351013"
REUTERS = "https://www.reuters.com/article/us-france-fire-ritz-idUSKCN0UX18S"
IRIB = ("http://english.irib.ir/news/world/west-asia/item/"
        "221643-iran-deputy-fm-to-attend-oic-meeting-in-saudi-arabia")
OIC = "http://www.oic-oci.org/oicv2/topic/?t_id=10815&t_ref=4253&lan=en"
BLOOMBERG = ("http://www.bloombergview.com/articles/2016-01-19/"
             "justices-will-know-insider-trading-when-they-see-it")
CNN = "http://edition.cnn.com/2016/01/19/politics/donald-trump-endorsement-sarah-palin/"
GUARDIAN = ("https://www.theguardian.com/science/alexs-adventures-in-numberland/2016/jan/19/"
            "largest-prime-number-yet-discovered-has-22-million-digits")
JAPANTIMES = ("http://www.japantimes.co.jp/sports/2016/01/19/baseball/mlb/"
              "mlb-confirms-probe-darvish-gambling-case/#.Vp8PB1MrK1v")

EXPECTED = {
    GEO: "not_found", RTE: "fetched", JPOST: "archived", BBC_COM: "fetched",
    OHCHR: "blocked", YAHOO: "blocked", MSN: "fetched", BBC_UK: "fetched",
    REUTERS: "fetched", IRIB: "refused", OIC: "timeout", BLOOMBERG: "not_html",
    CNN: "fetched", GUARDIAN: "fetched", JAPANTIMES: "fetched",
}
DEAD = {GEO, JPOST, IRIB, OIC}


def stage_the_web(news: NewsServer) -> None:
    news.robots = Route(body=ROBOTS.encode(), content_type="text/plain")
    routes = {
        GEO: Route(410),
        RTE: Route(fixture=BBC),
        JPOST: Route(404),
        BBC_COM: Route(fixture=ZYTE_GZ),
        OHCHR: Route(fixture=BBC),
        YAHOO: Route(403),
        MSN: Route(fixture=FOXNEWS),
        BBC_UK: Route(fixture=BUSINESSWEEK),  # a description, no image
        REUTERS: Route(fixture=TELEGRAPH),
        IRIB: Route(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
        OIC: Route(delay=1.2),
        BLOOMBERG: Route(body=b"%PDF-1.5", content_type="application/pdf"),
        CNN: Route(fixture=BBC),  # the same page as RTE: kept once
        GUARDIAN: [Route(429, headers={"Retry-After": "0"}), Route(fixture=ARS)],
        JAPANTIMES: Route(301, headers={"Location": "/landing/japantimes"}),
    }
    for url, route in routes.items():
        news.routes[path(news, url)] = route
    news.routes["/landing/japantimes"] = Route(fixture=HERALD)
    # The Post is gone, but archived: the closest capture is broken, the next one good.
    jpost = local(news, JPOST)
    news.captures[jpost] = [("20150101000000", jpost), ("20160120000000", jpost),
                            ("20160125093000", jpost)]
    news.capture_pages[("20160125093000", jpost)] = Route(fixture=NYT)
    news.capture_pages[("20150101000000", jpost)] = Route(fixture=ARS)


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Archive, NewsServer, CrawlReport, list[tuple]]]:
    """The day ingested and crawled once (read-only for the tests that use it)."""
    folder = tmp_path_factory.mktemp("crawl")
    with NewsServer() as news:
        stage_the_web(news)
        with Archive(crawl_settings(news, folder / "a.sqlite3")) as archive:
            archive.ingest_paths([write_day(news, folder)])
            calls: list[tuple] = []
            report = archive.crawl(progress=lambda *args: calls.append(args))
            yield archive, news, report, calls


def event_with(archive: Archive, words: str) -> ArchivedEvent:
    return next(a for a in archive.events() if words in a.event.text)


def test_every_outcome_is_recorded(crawled) -> None:
    archive, news, report, calls = crawled
    states = {url: archive.store.source_state(local(news, url)) for url in EXPECTED}
    assert {url: state.status for url, state in states.items()} == EXPECTED
    assert report.registered == report.due == 15
    assert report.statuses == {"fetched": 8, "archived": 1, "blocked": 2, "not_found": 1,
                               "refused": 1, "timeout": 1, "not_html": 1}
    assert all(state.attempts == 1 for state in states.values())
    assert states[GEO].http_status == 410 and states[YAHOO].http_status == 403
    assert "robots.txt" in states[OHCHR].message
    assert path(news, OHCHR) not in news.paths()
    assert "169.254.169.254" in states[IRIB].message
    assert states[IRIB].redirects == (local(news, IRIB),)
    assert "application/pdf" in states[BLOOMBERG].message
    japan = states[JAPANTIMES]
    assert japan.redirects == (local(news, JAPANTIMES),)
    assert japan.final_url == news.url("/landing/japantimes")
    assert states[GUARDIAN].http_status == 200
    assert news.paths().count(path(news, GUARDIAN)) == 2  # the 429, then the page
    assert states[RTE].hash == source_hash(local(news, RTE)) and len(states[RTE].hash) == 16
    # progress: once per source, counting up to the total
    assert [call[:2] for call in calls] == [(n, 15) for n in range(1, 16)]
    assert {call[2]: call[3] for call in calls} == {
        local(news, url): status for url, status in EXPECTED.items()}


def test_failures_wait_for_their_backoff(crawled) -> None:
    archive, news, _, _ = crawled
    for url, status in EXPECTED.items():
        state = archive.store.source_state(local(news, url))
        if status in ("fetched", "archived"):
            assert state.next_attempt is None
            continue
        waited = (datetime.strptime(state.next_attempt, ISO)
                  - datetime.strptime(state.fetched_at, ISO))
        assert timedelta(hours=23, minutes=59) <= waited <= timedelta(days=1, seconds=1)


def test_dead_sources_are_looked_up_in_the_wayback_machine(crawled) -> None:
    archive, news, _, _ = crawled
    asked = [query["url"][0] for query in news.cdx_queries]
    assert sorted(asked) == sorted(local(news, url) for url in DEAD)
    for query in news.cdx_queries:
        assert query["closest"] == ["20160119"] and query["sort"] == ["closest"]
        assert query["filter"] == ["statuscode:200"] and query["output"] == ["json"]
        assert query["limit"] == ["3"]
    jpost = archive.store.source_state(local(news, JPOST))
    capture = news.url(f"/web/20160125093000id_/{local(news, JPOST)}")
    assert jpost.status == "archived" and jpost.archived_from == capture
    assert jpost.http_status == 404 and "not_found" in jpost.message
    # the closest capture was tried first, and the good one after it was enough
    tried = [p for p in news.paths() if p.startswith("/web/")]
    assert tried == [f"/web/20160120000000id_/{local(news, JPOST)}",
                     f"/web/20160125093000id_/{local(news, JPOST)}"]
    article = archive.article_for(local(news, JPOST))
    assert article.archived_from == capture
    assert article.title == extract(fixture_bytes(NYT), "x").article.title
    assert "no Wayback capture" in archive.store.source_state(local(news, GEO)).message


def test_bodies_are_stored_compressed_and_once(crawled) -> None:
    archive, news, _, _ = crawled
    conn = archive.store.conn
    shas = {url: archive.store.source_state(local(news, url)).content_sha256 for url in EXPECTED}
    kept = {url: sha for url, sha in shas.items() if sha}
    assert set(kept) == {url for url, s in EXPECTED.items() if s in ("fetched", "archived")}
    assert kept[RTE] == kept[CNN]  # the same page, cited twice
    assert conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 8
    assert archive.store.blob(kept[RTE]) == fixture_bytes(BBC)
    assert archive.store.blob(kept[BBC_COM]) == fixture_bytes(ZYTE_GZ)
    for _sha, content, size in conn.execute("SELECT sha256, content, size FROM blobs"):
        assert len(content) < size and len(zlib.decompress(content)) == size


def test_extractions_are_stored(crawled) -> None:
    archive, news, _, _ = crawled
    articles = {article.url: article for article in archive.articles()}
    assert set(articles) == {local(news, url) for url, s in EXPECTED.items()
                             if s in ("fetched", "archived")}
    reuters = articles[local(news, REUTERS)]
    expected = extract(fixture_bytes(TELEGRAPH), local(news, REUTERS))
    assert (reuters.title, reuters.author, reuters.og_image, reuters.text) == (
        expected.article.title, expected.article.author, expected.og.image,
        expected.article.text)
    assert reuters.status == "complete" and len(reuters.text.split()) > 300
    assert reuters.hash == source_hash(reuters.url) and reuters.archived_from is None
    assert articles[local(news, JAPANTIMES)].final_url == news.url("/landing/japantimes")
    assert archive.article_for(local(news, YAHOO)) is None


def test_event_media_come_from_the_first_source_that_has_them(crawled) -> None:
    archive, _, _, _ = crawled
    bbc = extract(fixture_bytes(BBC), "x").og
    businessweek = extract(fixture_bytes(BUSINESSWEEK), "x").og
    telegraph = extract(fixture_bytes(TELEGRAPH), "x").og
    assert businessweek.description and not businessweek.image
    # Peshawar: the first source is gone (no article), the second has both.
    peshawar = event_with(archive, "suicide bomber")
    assert archive.event_media(peshawar.event) == (bbc.description, bbc.image)
    # Ritz: the first source has a description but no image; the image is the second's.
    ritz = event_with(archive, "Ritz")
    assert archive.event_media(ritz.event) == (businessweek.description, telegraph.image)
    # The UN report's only source is off limits: nothing to show.
    assert archive.event_media(event_with(archive, "18,802 civilians").event) == (None, None)


def test_nothing_is_due_again_until_its_backoff_is_over(tmp_path: Path,
                                                        news: NewsServer) -> None:
    news.robots = Route(404)
    news.routes[path(news, RTE)] = Route(fixture=BBC)  # everything else: 404, never archived
    config = crawl_settings(news, tmp_path / "b.sqlite3", crawl_max_attempts=2)
    with Archive(config) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
        first = archive.crawl()
        assert first.statuses == {"not_found": 14, "fetched": 1} and first.given_up == 0
        asked = len(news.paths())
        again = archive.crawl()
        assert again.registered == 0 and again.due == 0 and len(news.paths()) == asked
        # A day later for the Peshawar source only:
        geo = local(news, GEO)
        archive.store.conn.execute(
            "UPDATE sources SET next_attempt = '2000-01-01T00:00:00Z' WHERE url = ?", (geo,))
        later = archive.crawl()
        assert later.due == 1 and later.statuses == {"not_found": 1} and later.given_up == 1
        state = archive.store.source_state(geo)
        assert state.attempts == 2 and state.next_attempt is None  # given up for good
        assert news.paths().count(path(news, GEO)) == 2
        assert news.paths().count(path(news, RTE)) == 1  # fetched once, never again
        archive.store.conn.execute("UPDATE sources SET next_attempt = '2000-01-01T00:00:00Z' "
                                   "WHERE next_attempt IS NOT NULL")
        last = archive.crawl()  # the others' second and last attempt; the given-up one rests
        assert last.due == 13 and last.given_up == 13
        assert news.paths().count(path(news, GEO)) == 2
        assert archive.crawl().due == 0


def test_backoff_doubles(tmp_path: Path, news: NewsServer) -> None:
    news.robots = Route(404)
    config = crawl_settings(news, tmp_path / "c.sqlite3", wayback=False, crawl_retry_days=1.5)
    with Archive(config) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
        waits = []
        for _ in range(3):
            archive.store.conn.execute("UPDATE sources SET next_attempt = "
                                       "'2000-01-01T00:00:00Z' WHERE next_attempt IS NOT NULL")
            archive.crawl(limit=1)
            state = archive.store.source_state(local(news, CNN))  # the first by URL
            waits.append(datetime.strptime(state.next_attempt, ISO)
                         - datetime.strptime(state.fetched_at, ISO))
        assert [round(w.total_seconds() / 86400, 2) for w in waits] == [1.5, 3.0, 6.0]
        assert news.cdx_queries == []  # wayback=False


def test_since_and_limit(tmp_path: Path, news: NewsServer) -> None:
    news.robots = Route(404)
    for url in EXPECTED:
        news.routes[path(news, url)] = Route()
    config = crawl_settings(news, tmp_path / "d.sqlite3")
    with Archive(config) as archive:
        archive.ingest_paths([write_day(news, tmp_path), write_day(news, tmp_path, "2016-01-18")])
        report = archive.crawl(since=date(2016, 1, 19), limit=4)
        assert report.registered > 15 and report.due == 4 and report.statuses == {"fetched": 4}
        fetched = {a.url for a in archive.articles()}
        assert fetched <= {local(news, url) for url in EXPECTED}
        rest = archive.crawl(since=date(2016, 1, 19))
        assert rest.due == 11 and len(list(archive.articles())) == 15
        assert archive.crawl(since=date(2016, 1, 20)).due == 0


def find(news: NewsServer, url: str, day: date, **overrides: Any) -> Capture | str:
    values = {"wayback_cdx_url": news.url("/cdx"), "wayback_web_url": news.url("/web/")}
    config = settings(**(values | overrides))

    async def run() -> Capture | str:
        async with Fetcher(config) as fetcher:
            return await find_capture(fetcher, config, url, day)

    return asyncio.run(run())


def test_closest_capture_first_even_when_the_index_does_not_sort(news: NewsServer) -> None:
    news.cdx_sorts = False
    url = "http://gone.example/2016/story"
    news.captures[url] = [("20100101000000", url), ("20160118120000", url),
                          ("20200101000000", url)]
    news.capture_pages[("20160118120000", url)] = Route(fixture=BBC)
    news.capture_pages[("20100101000000", url)] = Route(fixture=NYT)
    capture = find(news, url, date(2016, 1, 19))
    assert isinstance(capture, Capture) and capture.timestamp == "20160118120000"
    assert capture.url == news.url(f"/web/20160118120000id_/{url}")
    assert capture.original == url and capture.result.content == fixture_bytes(BBC)
    assert find(news, url, date(2011, 6, 1)).timestamp == "20100101000000"


def test_wayback_without_a_usable_capture(news: NewsServer) -> None:
    url = "http://gone.example/never-archived"
    assert find(news, url, date(2016, 1, 19)) == "no Wayback capture"
    news.captures[url] = [("20160119000000", url)]  # listed, but its page is gone too
    assert find(news, url, date(2016, 1, 19)) == (
        "no readable Wayback capture (20160119000000: not_found)")
    news.routes["/cdx-down"] = Route(503)
    down = find(news, url, date(2016, 1, 19), wayback_cdx_url=news.url("/cdx-down"),
                fetch_retries=0)
    assert down.startswith("Wayback lookup failed: error")
    news.routes["/cdx-html"] = Route(body=b"<html>maintenance</html>", content_type="text/plain")
    odd = find(news, url, date(2016, 1, 19), wayback_cdx_url=news.url("/cdx-html"))
    assert odd.startswith("Wayback lookup answered something else than CDX JSON")


# -- the commands -------------------------------------------------------------------------


def newscontext(*args: str | Path, db: Path, news: NewsServer | None = None,
                **kwargs: Any) -> subprocess.CompletedProcess | subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), COLUMNS="200",
               NEWSCONTEXT_FETCH_ALLOW_LOOPBACK="1", NEWSCONTEXT_FETCH_HOST_DELAY="0",
               NEWSCONTEXT_CRAWL_IMAGES="0")  # see crawl_settings
    if news is not None:
        env |= {"NEWSCONTEXT_WAYBACK_CDX_URL": news.url("/cdx"),
                "NEWSCONTEXT_WAYBACK_WEB_URL": news.url("/web")}
    command = [sys.executable, "-m", "newscontext", "--db", str(db), *map(str, args)]
    if kwargs.pop("background", False):
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_a_killed_crawl_resumes_and_completes(tmp_path: Path, news: NewsServer) -> None:
    news.robots = Route(404)
    for url in EXPECTED:
        news.routes[path(news, url)] = Route(fixture=BBC, delay=0.15)
    db = tmp_path / "k.sqlite3"
    with Archive(settings(db=db)) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
    crawler = newscontext("crawl", db=db, news=news, background=True)

    def done() -> int:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute("SELECT COUNT(*) FROM sources WHERE status != 'pending'"
                                ).fetchone()[0]

    deadline = time.monotonic() + 60
    while done() < 3 and time.monotonic() < deadline and crawler.poll() is None:
        time.sleep(0.05)
    crawler.send_signal(signal.SIGKILL)
    crawler.wait()
    before = done()
    assert 3 <= before < 15  # killed mid-way
    with sqlite3.connect(db) as conn:
        finished = {row[0] for row in conn.execute(
            "SELECT url FROM sources WHERE status != 'pending'")}
    resumed = newscontext("crawl", db=db, news=news)
    assert resumed.returncode == 0, resumed.stderr
    assert f"0 new sources; {15 - before} due" in resumed.stderr
    assert re.search(rf"\[{15 - before}/{15 - before}\] fetched http://", resumed.stderr)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM sources GROUP BY 1"))
        assert statuses == {"fetched": 15}
        assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 15
        assert conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1
    for url in finished:  # what was committed before the kill was not fetched again
        assert news.paths().count(urlsplit(url).path) == 1


def test_export_articles_and_extract_commands(tmp_path: Path, news: NewsServer) -> None:
    news.robots = Route(404)
    news.routes[path(news, RTE)] = Route(fixture=BBC)
    news.routes[path(news, REUTERS)] = Route(fixture=TELEGRAPH)
    db = tmp_path / "e.sqlite3"
    with Archive(crawl_settings(news, db, wayback=False)) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
        assert archive.crawl().statuses["fetched"] == 2
    runner = CliRunner(env={"NEWSCONTEXT_FETCH_ALLOW_LOOPBACK": "1",
                            "NEWSCONTEXT_FETCH_HOST_DELAY": "0"})
    exported = runner.invoke(main, ["--db", str(db), "export", "articles"])
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [line["url"] for line in lines] == sorted([local(news, RTE), local(news, REUTERS)])
    reuters = next(line for line in lines if line["url"] == local(news, REUTERS))
    expected = extract(fixture_bytes(TELEGRAPH), local(news, REUTERS)).to_json()
    assert reuters["og"] == expected["og"] and reuters["article"] == expected["article"]
    assert reuters["status"] == expected["status"] == "complete"
    assert set(reuters) == {"url", "hash", "final_url", "fetched_at", "archived_from", "og",
                            "article", "status"}
    assert reuters["hash"] == source_hash(local(news, REUTERS))

    page = Path(__file__).parent / "fixtures" / "articles" / TELEGRAPH
    from_file = runner.invoke(main, ["--db", str(db), "extract", str(page),
                                     "--url", "https://www.telegraph.co.uk/x"])
    assert from_file.exit_code == 0, from_file.output
    data = json.loads(from_file.stdout)
    assert set(data) == {"url", "final_url", "og", "article", "status"}
    assert data["url"] == "https://www.telegraph.co.uk/x"
    assert data["article"] == expected["article"]

    news.routes["/live"] = Route(fixture=BBC)
    from_url = runner.invoke(main, ["--db", str(db), "extract", news.url("/live")])
    assert from_url.exit_code == 0, from_url.output
    live = json.loads(from_url.stdout)
    assert live["url"] == news.url("/live")
    assert live["og"]["image"] == extract(fixture_bytes(BBC), "x").og.image
    missing = runner.invoke(main, ["--db", str(db), "extract", news.url("/missing")])
    assert missing.exit_code == 1 and "not_found" in missing.stderr and not missing.stdout
    closed = runner.invoke(main, ["--db", str(db), "extract", news.url("/live")],
                           env={"NEWSCONTEXT_FETCH_ALLOW_LOOPBACK": "0"})
    assert closed.exit_code == 1 and "loopback" in closed.stderr


def test_extract_refuses_a_file_larger_than_a_crawl_would_fetch(tmp_path: Path) -> None:
    # A 100 MB page took 153 s and 2 GB; the crawl refuses such a page (fetch_max_bytes),
    # and `extract` says so in one line without reading it.
    page = fixture_bytes(TELEGRAPH)
    huge = tmp_path / "huge page.html"
    with huge.open("wb") as file:
        file.write(page)
        file.truncate(100_000_000)  # sparse: the test writes no 100 MB
    runner = CliRunner()
    started = time.perf_counter()
    refused = runner.invoke(main, ["extract", str(huge)])
    assert time.perf_counter() - started < 5
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == (f"error: {huge}: 100,000,000 bytes, more than the 20,000,000 a "
                              "page may have (NEWSCONTEXT_FETCH_MAX_BYTES); not extracted\n")
    # the limit is the crawl's setting, to the byte
    exact = tmp_path / "page.html"
    exact.write_bytes(page)
    for limit, code in ((len(page), 0), (len(page) - 1, 1)):
        result = runner.invoke(main, ["extract", str(exact), "--url", "https://t.example/x"],
                               env={"NEWSCONTEXT_FETCH_MAX_BYTES": str(limit)})
        assert result.exit_code == code, result.output
        if code:
            assert str(exact) in result.stderr and len(result.stderr.splitlines()) == 1
        else:
            assert json.loads(result.stdout)["article"] == extract(
                page, "https://t.example/x").to_json()["article"]


def test_the_servers_charset_reaches_the_extractor(tmp_path: Path, news: NewsServer) -> None:
    # A real English page whose headline is Greek, saved as windows-1253 under a template
    # that says utf-8. The bytes cannot tell Greek from Cyrillic (both decode to letters of
    # one script), the Content-Type header can: the crawl and `extract URL` both use it.
    headline = "Πυρκαγιά στο ξενοδοχείο Ritz του Παρισιού"
    source = re.sub(r'(<meta property="og:title" content=")[^"]*', rf"\g<1>{headline}",
                    fixture_bytes(TELEGRAPH).decode("utf-8"), count=1)
    page = source.replace("<head>", '<head><meta charset="utf-8">', 1).encode(
        "cp1253", "xmlcharrefreplace")
    news.robots = Route(404)
    news.routes[path(news, REUTERS)] = Route(body=page,
                                             content_type="text/html; charset=windows-1253")
    with Archive(crawl_settings(news, tmp_path / "g.sqlite3", wayback=False)) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
        archive.crawl()
        article = archive.article_for(local(news, REUTERS))
    assert article is not None and article.og_title == headline
    assert article.text == extract(fixture_bytes(TELEGRAPH), "x").article.text
    runner = CliRunner(env={"NEWSCONTEXT_FETCH_ALLOW_LOOPBACK": "1",
                            "NEWSCONTEXT_FETCH_HOST_DELAY": "0"})
    printed = runner.invoke(main, ["extract", local(news, REUTERS)])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["og"]["title"] == headline


def test_event_media_decode_entities(tmp_path: Path, news: NewsServer) -> None:
    # Double-encoded past what the extractor undoes: a CMS bug seen in the wild.
    news.robots = Route(404)
    news.routes[path(news, GEO)] = Route(body=(
        b'<html><head><meta property="og:description" content="Peshawar &amp;amp;amp;amp; '
        b'Khyber"><meta property="og:image" content="/i.jpg?a=1&amp;amp;amp;amp;b=2">'
        b"</head><body><p>Text.</p></body></html>"))
    with Archive(crawl_settings(news, tmp_path / "m.sqlite3", wayback=False)) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
        archive.crawl()
        description, image = archive.event_media(event_with(archive, "suicide bomber").event)
    assert description == "Peshawar & Khyber"
    assert image == news.url("/i.jpg?a=1&b=2")


def test_an_incremental_build_after_a_crawl_makes_the_new_source_pages(news: NewsServer,
                                                                       tmp_path: Path) -> None:
    """The robot builds after every crawl: the pages of the sources just archived (which the
    event pages link to as "archived text") are made by the incremental build, as a full
    build makes them."""
    from test_build import site_files

    stage_the_web(news)
    with Archive(crawl_settings(news, tmp_path / "a.sqlite3", workers=1)) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
        site = tmp_path / "site"
        archive.build(site, search=False)
        assert not (site / "sources").exists()
        archive.crawl()
        report = archive.build(site, search=False)
        assert not report.full
        made = sorted(p.name for p in (site / "sources").glob("*.html"))
        assert len(made) >= 5
        archive.build(tmp_path / "clean", full=True, search=False)
        assert site_files(site) == site_files(tmp_path / "clean")
