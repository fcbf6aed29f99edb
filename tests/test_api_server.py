"""The JSON API (web/api.py) and the full-text search under it (store/fts.py), on an archive
made from the real fixture days: 27 days in wikitext and rendered HTML, one of them
reworded by a later revision, entities resolved, related events ranked, a real article
page kept for one source, the site built (slugs). Requests go through Starlette's test
client, one run through a real server on 127.0.0.1, and schemathesis generates requests
from the OpenAPI document."""

from __future__ import annotations

import base64
import gc
import http.client
import json
import socket
import sqlite3
import threading
import time
import weakref
from datetime import date
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from click.testing import CliRunner
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT, export_xml, wikitext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance
from servers import at_once
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount
from starlette.testclient import TestClient

from newscontext import Archive, Settings
from newscontext.cli import main
from newscontext.site.urls import slugify, unique_slug
from newscontext.sources.crawl import source_hash
from newscontext.sources.extract import extract
from newscontext.store import Store, fts
from newscontext.store.schema import MIGRATIONS, _statements
from newscontext.web.api import create_api
from newscontext.web.live import create_app
from newscontext.web.states import States, Unavailable

FIXTURES = Path(__file__).parent / "fixtures"
SOHR = ("The [[Syrian Observatory for Human Rights]] claims that scores of [[Syrian Army]] "
        "troops have been killed in fighting with the [[Islamic State of Iraq and the "
        "Levant]] over the past few days with the fiercest battles near the city of "
        "[[Deir ez-Zor]].")
REWORDED = ("The [[Syrian Observatory for Human Rights]] says dozens of [[Syrian Army]] "
            "soldiers were killed in days of fighting with the [[Islamic State of Iraq and "
            "the Levant]] near the city of Deir ez-Zor.")
BBC_URL = "https://www.bbc.com/news/uk-35358101"  # cited by the Jihadi John event
BBC_PAGE = FIXTURES / "articles" / "readability" / "bbc-1" / "source.html"


def keep_article(archive: Archive, url: str, page: Path) -> None:
    """What `crawl` does with a fetched page, in its one transaction per source: the
    body kept, the fetch recorded, the article extracted from the real page saved."""
    store = archive.store
    body = page.read_bytes()
    with store.transaction():
        store.add_sources([(url, source_hash(url))])
        sha = store.put_blob(body, "text/html")
        store.record_fetch(url, status="fetched", at="2026-01-01T00:00:00Z", http_status=200,
                           final_url=url, redirects=[], content_sha256=sha)
        store.save_article(url, extract(body, url), "2026-01-01T00:00:00Z")


def make_archive(folder: Path) -> Path:
    db = folder / "archive.sqlite3"
    with Archive(Settings(db=db, workers=1)) as archive:
        archive.ingest_paths([WIKITEXT, HTML_PARSE_API, HTML_KIWICOPPLE])
        day = wikitext("2016-01-19")
        assert SOHR in day
        export = folder / "reworded.xml"
        export.write_text(export_xml({date(2016, 1, 19): [
            (700000001, "2016-01-20T09:00:00Z", day.replace(SOHR, REWORDED))]}),
            encoding="utf-8")
        assert archive.ingest_paths([export]).changed == 1
        archive.resolve()
        archive.relate()
        keep_article(archive, BBC_URL, BBC_PAGE)
        give_slugs(archive)
    return db


def give_slugs(archive: Archive) -> None:
    """The paths a build gives events and stories (site/build.py), without writing pages."""
    store = archive.store
    with store.transaction():
        store.rebuild_entities(unique_slug)
        store.assign_story_slugs(unique_slug)
        for day in store.derived_days():
            store.assign_event_slugs(day, unique_slug, slugify)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_archive(tmp_path_factory.mktemp("api"))


def settings_for(db: Path, **overrides) -> Settings:
    return Settings(db=db, site_url="http://example.org", **overrides)


@pytest.fixture(scope="module")
def client(db: Path):
    app = create_api(db, settings_for(db))
    with TestClient(app) as opened:
        yield opened
    app.state.api.close()


def event_ids(store: Store, text: str) -> list[str]:
    return [row[0] for row in store.conn.execute(
        "SELECT id FROM events WHERE instr(text, ?) > 0", (text,))]


def index_rows(conn: sqlite3.Connection) -> dict:
    """The search index as (kind, ref) -> its columns, and the helper tables."""
    return {
        "events": {(row[0], row[1]): tuple(row[2:]) for row in conn.execute(
            "SELECT k.kind, k.ref, f.text, f.earlier, f.sources FROM fts_events f "
            "JOIN search_keys k ON k.id = f.rowid")},
        "subjects": {(row[0], row[1]): tuple(row[2:]) for row in conn.execute(
            "SELECT k.kind, k.ref, f.name, f.labels FROM fts_subjects f "
            "JOIN search_keys k ON k.id = f.rowid")},
        "sources": {tuple(r) for r in conn.execute("SELECT url, event_id FROM event_sources")},
        "stories": {tuple(r) for r in conn.execute("SELECT title, event_id FROM event_stories")},
    }


# -- the index ------------------------------------------------------------------------------

def test_the_stages_keep_the_index_as_reindex_makes_it(db: Path, tmp_path: Path):
    """Ingest (a rewording included), resolve, the article saved and the build's story
    slugs all updated the index in their own transactions: making it again from the archive
    gives the same rows."""
    copy = tmp_path / "copy.sqlite3"
    with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with Archive(Settings(db=copy)) as archive:
        before = index_rows(archive.store.conn)
        assert len(before["events"]) == archive.store.conn.execute(
            "SELECT COUNT(*) FROM events").fetchone()[0]
        assert ("story", "Syrian Civil War") in before["subjects"]
        report = archive.reindex()
        assert report.events == len(before["events"]) and report.stories > 5
        assert index_rows(archive.store.conn) == before


def test_a_reworded_event_is_found_by_its_old_and_new_words(client: TestClient, db: Path):
    with Store(db, readonly=True) as store:
        (sohr,) = event_ids(store, "Syrian Observatory for Human Rights says dozens")
    for words in ("scores fiercest battles", "dozens soldiers days fighting"):
        found = client.get("/events", params={"q": words}).json()["events"]
        assert sohr in [e["id"] for e in found]
    old = client.get("/events", params={"q": "scores fiercest"}).json()["events"]
    assert [e["id"] for e in old] == [sohr]
    assert "claims that <mark>scores</mark>" in old[0]["snippet"]  # its earlier wording
    assert "fiercest" not in old[0]["text"]


def test_an_articles_title_finds_the_event_citing_it(client: TestClient, db: Path):
    with Store(db, readonly=True) as store:
        (jihadi,) = event_ids(store, "Jihadi John")
    (found,) = client.get("/events", params={"q": "biggest frustration"}).json()["events"]
    assert found["id"] == jihadi and "<mark>frustration</mark>" in found["snippet"]


def test_a_saved_article_is_searchable_when_its_transaction_commits(tmp_path: Path):
    """The index changes with the crawl's transaction: not at all when it is rolled back
    (a run killed), at once when it commits (no later step to run)."""
    db = tmp_path / "a.sqlite3"
    with Archive(Settings(db=db)) as archive:
        archive.ingest_paths([WIKITEXT / "2016-01-19.wiki"])
        conn = archive.store.conn
        match = "SELECT COUNT(*) FROM fts_events WHERE fts_events MATCH 'frustration'"
        assert conn.execute(match).fetchone()[0] == 0
        with pytest.raises(RuntimeError), archive.store.transaction():
            archive.store.add_sources([(BBC_URL, source_hash(BBC_URL))])
            archive.store.save_article(BBC_URL, extract(BBC_PAGE.read_bytes(), BBC_URL), "t")
            raise RuntimeError("killed")
        assert conn.execute(match).fetchone()[0] == 0
        assert archive.article_for(BBC_URL) is None
        keep_article(archive, BBC_URL, BBC_PAGE)
        with sqlite3.connect(db) as reader:  # another process sees both, or neither
            assert reader.execute(match).fetchone()[0] == 1
            assert reader.execute("SELECT COUNT(*) FROM fts_pending").fetchone()[0] == 0


FTS_SCHEMA = next(n for n, script in enumerate(MIGRATIONS) if "fts_events" in script)


def test_an_archive_of_the_schema_before_is_indexed_when_opened(db: Path, tmp_path: Path):
    """The archive as the schema before the index held it: opened, it is migrated and
    indexed as the stages would have indexed it."""
    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old, isolation_level=None)
    for script in MIGRATIONS[:FTS_SCHEMA]:
        for statement in _statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {FTS_SCHEMA}")
    conn.execute("ATTACH ? AS new", (str(db),))
    conn.execute("BEGIN")
    conn.execute("DELETE FROM main.meta")
    for (table,) in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%'").fetchall():
        columns = [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]
        names = ", ".join(columns)
        conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM new.{table}")
    conn.execute("COMMIT")
    conn.execute("DETACH new")
    assert not conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'fts%'").fetchall()
    conn.close()
    with sqlite3.connect(db) as current:
        expected = index_rows(current)
    with Archive(Settings(db=old)) as archive:
        assert archive.store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert index_rows(archive.store.conn) == expected


def test_reindex_command(db: Path, tmp_path: Path):
    copy = tmp_path / "copy.sqlite3"
    with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    result = CliRunner().invoke(main, ["--db", str(copy), "reindex"])
    assert result.exit_code == 0, result.output
    with Store(copy, readonly=True) as store:
        events = store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert f"search index made: {events} events, " in result.output
    missing = CliRunner().invoke(main, ["--db", str(tmp_path / "none.sqlite3"), "reindex"])
    assert missing.exit_code == 2 and "no archive there" in missing.output


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.lists(st.sampled_from(
    ['"', "AND", "OR", "NOT", "NEAR(", "NEAR", "*", "(", ")", ":", "^", "-", "+", "text:",
     "syria", "army", "\\", "'", "\x00", "\ud800"]), max_size=8).map(" ".join))
def test_any_words_are_a_query_that_runs(words: str):
    """Escaped, whatever a reader types is words: FTS5 never sees syntax it rejects."""
    conn = _MEMORY
    query = fts.prepare(words[: fts.MAX_QUERY], advanced=False)
    for prefix in (False, True):
        query = fts.escape(words, prefix_last=prefix)
        if query is not None:
            conn.execute("SELECT COUNT(*) FROM fts_events WHERE fts_events MATCH ?",
                         (query,)).fetchone()
            conn.execute("SELECT COUNT(*) FROM fts_subjects WHERE fts_subjects MATCH ?",
                         (query,)).fetchone()


_MEMORY = Store(":memory:").conn


def test_operators_are_words_unless_advanced(client: TestClient):
    """`NEAR(`, `AND`, quotes and `*` are searched as words; in advanced mode they are
    syntax, and a query FTS5 cannot read answers 400 naming q."""
    for q in ('AND "NEAR(', "syria*", "OR", '"', "army)"):
        assert client.get("/events", params={"q": q}).status_code == 200
    both = client.get("/events", params={"q": "syria OR pakistan", "advanced": "true",
                                         "limit": 500}).json()["events"]
    words = client.get("/events", params={"q": "syria OR pakistan", "limit": 500}).json()
    assert len(both) > 10 and len(words["events"]) < len(both)
    for q in ('"NEAR(', "AND", "syria AND", "(army", "nosuchcolumn:army"):
        answer = client.get("/events", params={"q": q, "advanced": "true"})
        assert answer.status_code == 400, q
        assert answer.json()["parameter"] == "q"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=st.text(min_size=1, max_size=40), advanced=st.booleans())
def test_no_query_makes_a_500(client: TestClient, q: str, advanced: bool):
    for path in ("/events", "/search"):
        answer = client.get(path, params={"q": q, "advanced": str(advanced).lower()})
        assert answer.status_code in (200, 400), (path, q, answer.text)
        assert answer.headers["content-type"] == "application/json"


# -- the API --------------------------------------------------------------------------------

def test_events_page_through_the_archive_with_cursors(client: TestClient, db: Path):
    with Store(db, readonly=True) as store:
        live = [a for a in store.iter_events() if not a.removed]
    seen, cursor, answers = [], None, 0
    while True:
        params = {"limit": 40, "sort": "date"} | ({"cursor": cursor} if cursor else {})
        data = client.get("/events", params=params).json()
        seen += data["events"]
        answers += 1
        cursor = data["next"]
        if cursor is None:
            break
    assert answers == -(-len(live) // 40)
    assert [e["id"] for e in seen] == [a.id for a in live]  # portal order, none twice
    first = seen[0]
    assert {k: first[k] for k in live[0].to_export()} == live[0].to_export()
    assert first["path"].startswith("/news/") and first["url"] == (
        f"http://example.org{first['path']}.html")
    newest = client.get("/events", params={"limit": 5}).json()["events"]
    assert [e["id"] for e in newest] == [a.id for a in reversed(live[-5:])]


def test_filters(client: TestClient):
    def ids(**params) -> list[str]:
        return [e["id"] for e in client.get("/events", params=params | {"limit": 500})
                .json()["events"]]

    by_slug = ids(entity="syrian-army")
    assert len(by_slug) >= 3
    assert ids(entity="Syrian Army") == ids(entity="syrian_Army") == by_slug
    army = client.get("/events", params={"entity": "syrian-army", "limit": 500}).json()
    assert all("Syrian Army" in [c["title"] for c in e["context"]] for e in army["events"])
    both = ids(entity=["Syrian Army", "Deir ez-Zor"])
    assert both and set(both) < set(by_slug)
    in_2016 = ids(entity="syrian-army", **{"from": "2016-01-01", "to": "2016-12-31"})
    assert in_2016 and set(in_2016) < set(by_slug)
    story = ids(story="Syrian Civil War")
    assert story and ids(story=story_slug(client, "Syrian Civil War")) == story
    # the 2016 pages say "Armed attacks and conflicts": the current name finds them too
    conflicts = client.get("/events", params={"category": "Armed conflicts and attacks",
                                              "from": "2016-01-13", "to": "2016-01-19"})
    events = conflicts.json()["events"]
    assert events and {e["category"] for e in events} == {"Armed conflicts and attacks"}
    assert ids(category="Armed attacks and conflicts", **{"from": "2016-01-13",
               "to": "2016-01-19"}) == [e["id"] for e in events]
    assert set(ids(category=["Sports", "Arts and culture"])) == (
        set(ids(category="Sports")) | set(ids(category="Arts and culture")))


def test_a_hubs_events_walked_by_date_are_those_read_and_sorted(client: TestClient,
                                                                 monkeypatch):
    """A subject with many events is listed by walking the events by date (HUB_EVENTS):
    the same answers, pages and cursors as reading all of its events and sorting them."""
    from newscontext.store import query as query_module

    def pages(**params) -> list[list[str]]:
        found, cursor = [], None
        while True:
            data = client.get("/events", params=params | {"limit": 3} |
                              ({"cursor": cursor} if cursor else {})).json()
            found.append([e["id"] for e in data["events"]])
            cursor = data["next"]
            if cursor is None:
                return found

    cases = [{"entity": "syrian-army"}, {"entity": "syrian-army", "sort": "date"},
             {"entity": ["Syrian Army", "Deir ez-Zor"]},
             {"entity": "syrian-army", "from": "2016-01-01", "to": "2016-12-31"}]
    sorted_ = [pages(**case) for case in cases]
    monkeypatch.setattr(query_module, "HUB_EVENTS", 0)  # every subject a hub
    assert [pages(**case) for case in cases] == sorted_
    assert sum(map(len, sorted_[0])) >= 2


def story_slug(client: TestClient, title: str) -> str:
    listed = client.get("/stories", params={"q": title, "limit": 500}).json()["stories"]
    (slug,) = [s["slug"] for s in listed if s["title"] == title]
    return slug


def test_removed_events_only_when_asked(client: TestClient, db: Path):
    with Store(db, readonly=True) as store:
        removed = {a.id for a in store.iter_events() if a.removed}
    assert removed  # the rendered HTML of March 2026 drops events in a later revision
    every = client.get("/events", params={"removed": "true", "limit": 500, "from": "2026-01-01"})
    shown = {e["id"] for e in every.json()["events"] if e["removed"]}
    assert shown and shown <= removed
    live = client.get("/events", params={"limit": 500, "from": "2026-01-01"}).json()["events"]
    assert not any(e["removed"] for e in live)


def test_relevance_orders_by_score_and_pages(client: TestClient):
    first = client.get("/events", params={"q": "killed", "limit": 5}).json()
    scores = [e["score"] for e in first["events"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    rest = client.get("/events", params={"q": "killed", "limit": 5,
                                         "cursor": first["next"]}).json()
    assert rest["events"][0]["score"] <= scores[-1]
    assert not {e["id"] for e in rest["events"]} & {e["id"] for e in first["events"]}
    whole = client.get("/events", params={"q": "killed", "limit": 10}).json()["events"]
    assert [e["id"] for e in whole] == [e["id"] for e in first["events"] + rest["events"]]
    by_date = client.get("/events", params={"q": "killed", "sort": "-date"}).json()["events"]
    assert [e["date"] for e in by_date] == sorted((e["date"] for e in by_date), reverse=True)


def test_bad_requests_answer_400_naming_the_parameter(client: TestClient):
    cases = {
        "/events?from=notadate": "from", "/events?to=2016-02-30": "to",
        "/events?limit=100000": "limit", "/events?limit=0": "limit",
        "/events?limit=ten": "limit", "/events?colour=red": "colour",
        "/events?from=2016-01-01&from=2016-01-02": "from", "/events?sort=size": "sort",
        "/events?sort=relevance": "sort", "/events?removed=maybe": "removed",
        "/events?entity=No+such+thing+at+all": "entity", "/events?story=nope-nope": "story",
        "/events?cursor=abc": "cursor", "/events?from=2016-02-01&to=2016-01-01": "to",
        "/search": "q", "/search?q=army&limit=101": "limit", "/entities?limit=501": "limit",
        "/events/15442a0ba2fdc725?x=1": "x", "/events?q=" + "a" * 501: "q",
    }
    for path, parameter in cases.items():
        answer = client.get(path)
        assert answer.status_code == 400, path
        assert answer.json()["parameter"] == parameter, path
        assert parameter in answer.json()["error"]


def test_a_forged_cursor_is_refused(client: TestClient):
    good = client.get("/events", params={"limit": 2}).json()["next"]
    raw = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    for key in (["2016-01-01", "x", "y"], ["2016-01-01"], [1, 2, 3], "k"):
        forged = base64.urlsafe_b64encode(json.dumps({**raw, "k": key}).encode()).decode()
        assert client.get("/events", params={"limit": 2, "cursor": forged}).status_code == 400
    # a cursor of another query (another sort, other filters) is not this one's
    for other in ({"sort": "date"}, {"category": "Sports"}):
        answer = client.get("/events", params={"limit": 2, "cursor": good} | other)
        assert answer.status_code == 400 and answer.json()["parameter"] == "cursor"
    assert client.get("/events", params={"limit": 2, "cursor": good}).status_code == 200


def test_a_cursor_edited_to_a_key_no_event_can_have_is_refused(client: TestClient):
    """A cursor is plain base64 JSON: a key well formed but impossible (a 30 February, a
    position or score too large for a float) is a 400 naming the cursor, not a 500, for a
    search in every order (its matches are ordered by numbers made from the key)."""
    for sort, keys in (("date", (["2016-02-30", 0, "x"], ["2016-01-19", 10**400, "x"])),
                       ("-date", (["2016-13-01", 0, "x"], ["2016-01-19", -10**30, "x"])),
                       ("relevance", ([10**400, "x"], [float("1e308") * 10, "x"]))):
        good = client.get("/events", params={"q": "killed", "sort": sort, "limit": 1}).json()
        raw = json.loads(base64.urlsafe_b64decode(good["next"] + "=" * (-len(good["next"]) % 4)))
        for key in keys:
            forged = base64.urlsafe_b64encode(json.dumps({**raw, "k": key}).encode()).decode()
            answer = client.get("/events", params={"q": "killed", "sort": sort, "limit": 1,
                                                   "cursor": forged})
            assert answer.status_code == 400, (sort, key)
            assert answer.json()["parameter"] == "cursor"
    # a lone surrogate is a str to JSON but no text to SQLite: in every list's cursor
    for path in ("/events", "/entities", "/stories"):
        good = client.get(path, params={"limit": 1}).json()["next"]
        raw = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
        key = [part + "\ud800" if isinstance(part, str) else part for part in raw["k"]]
        forged = base64.urlsafe_b64encode(json.dumps({**raw, "k": key}).encode()).decode()
        answer = client.get(path, params={"limit": 1, "cursor": forged})
        assert answer.status_code == 400 and answer.json()["parameter"] == "cursor", path


def test_one_event_whole(client: TestClient, db: Path):
    with Store(db, readonly=True) as store:
        (sohr,) = event_ids(store, "Syrian Observatory for Human Rights says dozens")
        (jihadi,) = event_ids(store, "Jihadi John")
        related = store.related(jihadi)
    data = client.get(f"/events/{sohr}").json()
    assert [v["text"].startswith("The Syrian Observatory") for v in data["versions"]] == [
        True, True]
    assert "fiercest" in data["versions"][0]["text"] and data["versions"][1]["revid"] == (
        700000001)
    assert "Syrian Army" in [c["title"] for c in data["context"]]
    data = client.get(f"/events/{jihadi}").json()
    (source,) = data["sources"]
    assert source["url"] == BBC_URL and source["fetch_status"] == "fetched"
    assert source["article"]["og_title"].startswith("Obama admits US gun laws")
    assert source["article"]["path"] == f"/sources/{source_hash(BBC_URL)}"
    assert [r["id"] for r in data["related"]] == [r.id for r in related] and related
    assert client.get("/events/0000000000000000").status_code == 404
    assert client.get("/events/0000000000000000").json()["status"] == 404


def test_entities_and_stories(client: TestClient):
    listed = client.get("/entities", params={"q": "syrian ar"}).json()["entities"]
    assert [e["title"] for e in listed] == ["Syrian Arab News Agency", "Syrian Army"]
    assert client.get("/entities", params={"q": "SYRIAN AR"}).json()["entities"] == listed
    army = client.get("/entities/syrian-army").json()
    assert army["events"] >= 3 and army["first"] <= army["last"]
    assert army["wikipedia"] == "https://en.wikipedia.org/wiki/Syrian_Army"
    assert army == listed[1]
    # paging by title, every entity once
    titles, cursor = [], None
    while True:
        data = client.get("/entities", params={"limit": 300} | (
            {"cursor": cursor} if cursor else {})).json()
        titles += [e["title"] for e in data["entities"]]
        if not (cursor := data["next"]):
            break
    assert titles == sorted(set(titles)) and len(titles) > 600
    # "Syrian civil war" is a heading too: which of the two got the plain slug depends on
    # the order the build met them
    slug = story_slug(client, "Syrian Civil War")
    assert slug.startswith("syrian-civil-war")
    story = client.get(f"/stories/{slug}").json()
    assert story["title"] == "Syrian Civil War" and story["events"] >= 2
    assert story["wikipedia"] == "https://en.wikipedia.org/wiki/Syrian_Civil_War"
    stories = client.get("/stories", params={"q": "syrian"}).json()["stories"]
    assert "Syrian Civil War" in [s["title"] for s in stories]
    assert client.get("/entities/no-such-slug").status_code == 404
    assert client.get("/stories/no-such-slug").status_code == 404


def test_a_storys_subject_is_the_one_its_page_goes_to(client: TestClient, db: Path):
    """A story's `entity` (and its Wikipedia article) is the subject whose page is the
    story's: a heading that is one link and nothing else (Store.story_subjects, the page
    model's rule). "COVID-19 pandemic in Morocco, Lineage B.1.617" holds one link but is
    more than it: a story of its own, no subject's."""
    with Store(db, readonly=True) as store:
        subjects = store.story_subjects()
    listed, cursor = [], None
    while True:
        data = client.get("/stories", params={"limit": 500} | (
            {"cursor": cursor} if cursor else {})).json()
        listed += data["stories"]
        if not (cursor := data["next"]):
            break
    assert len(listed) > 20 and sum(s["entity"] is not None for s in listed) > 5
    for story in listed:
        assert story["entity"] == subjects.get(story["title"]), story["title"]
        if story["entity"] is None:
            assert story["wikipedia"] is None
    (morocco,) = [s for s in listed
                  if s["title"] == "COVID-19 pandemic in Morocco, Lineage B.1.617"]
    assert morocco["entity"] is None and morocco["wikipedia"] is None
    assert morocco["path"] == f"/stories/{morocco['slug']}"


def test_search_puts_subjects_first_when_a_name_matches(client: TestClient):
    results = client.get("/search", params={"q": "syrian army"}).json()["results"]
    kinds = [r["kind"] for r in results]
    assert kinds[0] == "entity" and results[0]["title"] == "Syrian Army"
    assert "event" in kinds and kinds.index("event") > kinds.index("entity")
    assert kinds == sorted(kinds, key=lambda k: k == "event")  # no subject after an event
    # the start of a name finds its subject: by its title, or by the words the portal
    # linked to it (the shipped redirects make Jihadi John "Mohammed Emwazi")
    partial = client.get("/search", params={"q": "jihadi jo"}).json()["results"]
    assert "Jihadi John" in [partial[0]["title"], *partial[0]["labels"]]
    # no name matches: events only
    events = client.get("/search", params={"q": "confirms"}).json()["results"]
    assert events and {r["kind"] for r in events} == {"event"}


def test_cors_head_and_unknown_paths(client: TestClient):
    answer = client.get("/events?limit=1", headers={"Origin": "https://elsewhere.example"})
    assert answer.headers["access-control-allow-origin"] == "*"
    head = client.head("/events?limit=1")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/json"
    pre = client.options("/events", headers={"Origin": "https://a.example",
                                             "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "*"
    missing = client.get("/nothing/here")
    assert missing.status_code == 404 and missing.json()["status"] == 404


def test_a_query_past_its_deadline_answers_503(db: Path):
    app = create_api(db, settings_for(db, serve_query_timeout=0.0))
    with TestClient(app) as slow:
        answer = slow.get("/events", params={"q": "the", "limit": 500})
        assert answer.status_code == 503 and "too long" in answer.json()["error"]
        assert slow.get("/entities", params={"limit": 500}).status_code == 503
    app.state.api.close()


def test_the_archive_is_opened_read_only(client: TestClient):
    with client.app.state.api.states.reading() as (reading, _), \
            pytest.raises(sqlite3.OperationalError, match="readonly"):
        reading.store.conn.execute("DELETE FROM events")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_real_server_answers_under_api_v1(db: Path):
    """Mounted at /api/v1 as the live server mounts it, served by uvicorn on 127.0.0.1."""
    app = Starlette(routes=[Mount("/api/v1", create_api(db, settings_for(db)))])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}/api/v1"
        document = httpx.get(f"{base}/openapi.json").json()
        assert document["openapi"] == "3.1.0" and "/events" in document["paths"]
        found = httpx.get(f"{base}/events", params={"entity": "Syrian Army"}).json()
        assert found["events"]
        assert httpx.get(f"{base}/events", params={"from": "notadate"}).status_code == 400
    finally:
        server.should_exit = True
        thread.join(10)


def test_brotli_zstd_and_gzip_as_the_client_accepts(db: Path):
    """The live server (pages and API) compresses text as the client accepts it, the best
    it can: zstd, then brotli, then gzip (starlette-compress); bytes decode to the same."""
    import gzip

    import brotli
    import zstandard

    app = create_app(db, settings_for(db))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    decode = {"br": brotli.decompress, "gzip": gzip.decompress,
              "zstd": lambda body: zstandard.ZstdDecompressor().decompressobj().decompress(body)}
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        for path in ("/api/v1/events?limit=20", "/about.md"):
            plain = httpx.get(f"http://127.0.0.1:{port}{path}",
                              headers={"Accept-Encoding": "identity"})
            assert plain.status_code == 200 and "content-encoding" not in plain.headers
            for accepted, used in (("br", "br"), ("gzip, br", "br"), ("gzip", "gzip"),
                                   ("gzip, br, zstd", "zstd")):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                connection.request("GET", path, headers={"Accept-Encoding": accepted})
                answer = connection.getresponse()
                body = answer.read()
                connection.close()
                assert answer.getheader("content-encoding") == used, (path, accepted)
                assert "accept-encoding" in answer.getheader("vary", "").lower()
                assert len(body) < len(plain.content)
                assert decode[used](body) == plain.content, (path, accepted)
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.site.close()


# -- schemathesis: every operation, generated parameters, against the OpenAPI document --------

def test_the_api_keeps_its_openapi_document(db: Path):
    """Every operation of the document, with parameters schemathesis generates from it: no
    500, and every answer as the document describes it (status, content type, schema).
    (schemathesis' pytest plugin does not run under pytest 9: the operations are walked
    here, each one a Hypothesis run.)"""
    async def not_found(request, exc) -> JSONResponse:
        # A path Starlette's Mount cannot match (a newline in it) never reaches the API:
        # the app mounting it answers, and for /api/v1/... it must answer JSON too.
        return JSONResponse({"error": "not found", "parameter": None, "status": 404}, 404)

    app = Starlette(routes=[Mount("/api/v1", create_api(db, settings_for(db)))],
                    exception_handlers={404: not_found})
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "GET /events", "GET /events/{id}", "GET /entities", "GET /entities/{slug}",
        "GET /stories", "GET /stories/{slug}", "GET /search"}
    seen: dict[str, set[int]] = {}

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def check(case) -> None:
            # a request the document allows may still name no entity, or a cursor this
            # query never gave: 400 is its answer, not a fault
            answer = case.call_and_validate(excluded_checks=[positive_data_acceptance])
            seen.setdefault(case.operation.label, set()).add(answer.status_code)

        check()
    assert set(seen) == {op.label for op in operations}
    assert all(codes <= {200, 400, 404} for codes in seen.values()), seen
    assert 200 in seen["GET /events"] and 400 in seen["GET /events"]


# -- states: the API answers from a finished update, as the pages do -------------------------

def test_the_api_and_the_pages_show_finished_updates_only(db: Path, tmp_path: Path,
                                                          monkeypatch):
    """One rule for both (web/states.py): events ingested but not yet given their path
    wait for the build; while an update holds the archive's lock, the state before it is
    served; once the update is finished, the API and the pages show it, together."""
    monkeypatch.setattr("newscontext.web.states.LOOK_EVERY", 0.0)
    copy = tmp_path / "archive.sqlite3"
    with Store(db) as source:
        source.conn.execute(f"VACUUM INTO '{copy}'")
    Store(copy).close()  # WAL mode, as every archive newscontext writes
    settings = settings_for(copy, workers=1)
    day = "/news/2016/01/20/index.html"

    def shown() -> tuple[int, int]:
        """(events of 2016-01-20 the API lists, status of that day's page)."""
        events = client.get("/api/v1/events", params={"from": "2016-01-20",
                                                      "to": "2016-01-20"}).json()["events"]
        assert all(e["path"] for e in events)  # never an event without its page
        return len(events), client.get(day).status_code

    with TestClient(create_app(copy, settings)) as client:
        assert shown() == (0, 404)
        export = tmp_path / "new-day.xml"
        export.write_text(export_xml({date(2016, 1, 20): [
            (900_000_003, "2026-01-01T00:00:00Z", wikitext("2016-01-19"))]}),
            encoding="utf-8")
        with Archive(settings) as archive:
            assert archive.ingest_paths([export]).added > 0  # a new day, no paths yet
        assert shown() == (0, 404)
        with Archive(settings) as archive, archive.writing:  # an update gives the paths
            give_slugs(archive)
            assert shown() == (0, 404)
        count, status = shown()
        assert count > 10 and status == 200
        client.app.state.site.close()


def _copy(db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "archive.sqlite3"
    with Store(db) as source:
        source.conn.execute(f"VACUUM INTO '{copy}'")
    Store(copy).close()  # WAL mode, as every archive newscontext writes
    return copy


def _add_day(settings: Settings, tmp_path: Path) -> None:
    """A finished update: 2016-01-20 ingested, its events given their paths."""
    export = tmp_path / "new-day.xml"
    export.write_text(export_xml({date(2016, 1, 20): [
        (900_000_003, "2026-01-01T00:00:00Z", wikitext("2016-01-19"))]}), encoding="utf-8")
    with Archive(settings) as archive, archive.writing:
        assert archive.ingest_paths([export]).added > 0
        give_slugs(archive)


def test_the_pages_and_the_api_serve_one_state(db: Path, tmp_path: Path, monkeypatch):
    """One watcher per worker: the state the API took is the pages' too, even when the
    archive has moved on before the first page is asked; both move at the next look,
    together, and the state left has its connections closed and what was kept for it
    (answers, page models) dropped."""
    monkeypatch.setattr("newscontext.web.states.LOOK_EVERY", 3600.0)
    copy = _copy(db, tmp_path)
    settings = settings_for(copy, workers=1)
    day = "/news/2016/01/20/index.html"
    app = create_app(copy, settings)
    with TestClient(app) as client:
        new_day = {"from": "2016-01-20", "to": "2016-01-20"}
        assert client.get("/api/v1/events", params=new_day).json()["events"] == []
        _add_day(settings, tmp_path)
        front = client.get("/index.html")
        assert client.get(day).status_code == 404  # the same state, not a newer one
        old = app.state.site.states.state
        readings = list(old.idle)
        assert old.kept["pages"].kept and old.kept["answers"].kept
        monkeypatch.setattr("newscontext.web.states.LOOK_EVERY", 0.0)
        assert client.get(day).status_code == 200
        assert client.get("/api/v1/events", params=new_day).json()["events"]
        assert client.get("/index.html").headers["etag"] != front.headers["etag"]
        assert app.state.site.states.state is not old and not old.current
        assert old.idle == [] and readings
        for reading in readings:
            with pytest.raises(sqlite3.ProgrammingError, match="closed"):
                reading.store.conn.execute("SELECT 1")
        gone = weakref.ref(old)
        del old, readings
        gc.collect()
        assert gone() is None  # and with it its answers and page models
        app.state.site.close()


def test_a_connection_opened_after_a_commit_is_not_taken_for_the_state_before_it(
        db: Path, tmp_path: Path, monkeypatch):
    """`reindex` changes no mark of the archive (it renumbers the search index, which the
    state's kept index of matches reads by number): a connection opened after it is on
    another state, so it is not added to the state before; the worker moves on instead."""
    monkeypatch.setattr("newscontext.web.states.LOOK_EVERY", 0.5)
    copy = _copy(db, tmp_path)
    states = States(copy, settings_for(copy, workers=1))
    try:
        with states.reading() as (first, old):
            result = CliRunner().invoke(main, ["--db", str(copy), "reindex"])
            assert result.exit_code == 0, result.output
            with Store(copy, readonly=True) as now:
                assert now.state_marks() == old.marks  # the marks cannot tell them apart
            states.looked = time.monotonic()  # the next look is half a second away
            with states.reading() as (second, state):
                assert state is not old and second is not first
            assert old.opened == 1 and not old.current
    finally:
        states.close()


def test_a_connection_that_cannot_be_opened_waits_for_one_of_the_state(
        db: Path, tmp_path: Path):
    """An archive migrated by a newer newscontext while this one serves it: another
    connection cannot be opened (its schema is unknown here), so a request waits for one of
    the state's connections instead of failing."""
    copy = _copy(db, tmp_path)
    states = States(copy, settings_for(copy, workers=1))
    got: list[tuple] = []

    def ask() -> None:
        with states.reading() as taken:
            got.append(taken)

    try:
        with states.reading() as (first, old):
            with sqlite3.connect(copy) as newer:
                newer.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
            states.looked = time.monotonic() + 3600  # no look for a newer state meanwhile
            asking = threading.Thread(target=ask)
            asking.start()
            time.sleep(0.5)
            assert asking.is_alive() and got == []  # waiting for a connection
        asking.join(10)
        assert got == [(first, old)]
    finally:
        states.close()


def test_a_request_waiting_for_a_connection_when_the_server_stops_opens_none(
        db: Path, tmp_path: Path):
    """Closing a worker's states closes its connections for good: a request that was
    waiting for one is unavailable (503), and no connection is opened after the close."""
    copy = _copy(db, tmp_path)
    states = States(copy, settings_for(copy, workers=1), size=1)
    got: list[str] = []

    def ask() -> None:
        try:
            with states.reading():
                got.append("read")
        except Unavailable:
            got.append("unavailable")

    with states.reading():  # the only connection
        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(0.3)
        states.close()
    asking.join(10)
    assert got == ["unavailable"]
    assert states.state is None and states.watch is None


def slow_entity_list(monkeypatch, seconds: float, error: Exception | None = None
                     ) -> list[str]:
    """The entity list made `seconds` slower (and ending with `error`, if given); returns
    the list of its makings, "entities" each."""
    from newscontext.store import query as query_module

    made: list[str] = []
    titles = query_module.entity_titles

    def slow(*args, **kwargs):
        made.append("entities")
        time.sleep(seconds)
        if error is not None:
            raise error
        return titles(*args, **kwargs)

    monkeypatch.setattr(query_module, "entity_titles", slow)
    return made


def test_a_worker_answers_several_requests_at_once(db: Path, monkeypatch):
    """A slow answer (here an entity list made to take a second) does not hold up the
    others: each request reads on a connection of its own, all on the same state."""
    slow_entity_list(monkeypatch, 1.0)
    app = create_api(db, settings_for(db))
    with TestClient(app) as client:
        with Store(db, readonly=True) as store:
            (jihadi,) = event_ids(store, "Jihadi John")
        slow = threading.Thread(target=client.get, args=("/entities",),
                                kwargs={"params": {"q": "syr"}})
        slow.start()
        time.sleep(0.2)  # the slow request holds its connection now
        started = time.monotonic()
        answer = client.get(f"/events/{jihadi}")
        took = time.monotonic() - started
        assert answer.status_code == 200 and slow.is_alive()
        assert took < 0.6, took
        slow.join(10)
        assert len(app.state.api.states.state.idle) == 2  # two connections, one state
    app.state.api.close()


def test_an_answer_asked_by_many_at_once_is_made_once(db: Path, monkeypatch):
    """The same query from several clients at once (after an update, the kept answers are
    gone): one thread makes the answer, the others wait for it and send the same bytes."""
    made = slow_entity_list(monkeypatch, 0.5)
    app = create_api(db, settings_for(db))
    with TestClient(app) as client:
        assert client.get("/stories", params={"limit": 1}).status_code == 200  # the state
        answers = at_once(lambda: client.get("/entities", params={"q": "syr"}))
    app.state.api.close()
    assert len(answers) == 4 and made == ["entities"]
    assert len({a.content for a in answers}) == 1 and answers[0].json()["entities"]


def test_an_answer_stopped_for_one_is_stopped_for_all_asking_at_once(db: Path, monkeypatch):
    """Its maker's query was stopped (503): the others asking the same meanwhile get that
    answer rather than each running the query again."""
    made = slow_entity_list(monkeypatch, 0.5, sqlite3.OperationalError("interrupted"))
    app = create_api(db, settings_for(db))
    with TestClient(app) as client:
        assert client.get("/stories", params={"limit": 1}).status_code == 200  # the state
        answers = at_once(lambda: client.get("/entities", params={"q": "syr"}))
    app.state.api.close()
    assert [a.status_code for a in answers] == [503] * 4 and made == ["entities"]


def test_an_answer_asked_again_is_sent_as_made(db: Path):
    """Kept for the state: the same bytes, no query. The same parameters in another order
    are another query (the cursor it gives names them in its order) and work as such."""
    app = create_api(db, settings_for(db))
    params = [("category", "Sports"), ("category", "Arts and culture"), ("limit", "2")]
    swapped = [params[1], params[0], params[2]]
    with TestClient(app) as client:
        first = client.get("/events", params=params)
        assert first.status_code == 200 and first.json()["next"]
        queries: list[str] = []
        for reading in app.state.api.states.state.idle:
            reading.store.conn.set_trace_callback(queries.append)
        assert client.get("/events", params=params).content == first.content
        assert queries == []
        other = client.get("/events", params=swapped)
        assert queries and other.json()["events"] == first.json()["events"]
        following = client.get("/events", params=[*swapped, ("cursor", other.json()["next"])])
        assert following.status_code == 200 and following.json()["events"]
    app.state.api.close()


# -- searches ordered without reading every match: the same answers as SQL scoring all -------

SEARCH_WORDS = ["killed", "syrian army", "the", "police", "president", "protest", "war",
                "earthquake", "united states", "zzzz"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(words=st.sampled_from(SEARCH_WORDS), sort=st.sampled_from(["relevance", "date", "-date"]),
       limit=st.integers(1, 40), removed=st.booleans(),
       filters=st.sampled_from([{}, {"first": "2016-01-15", "last": "2017-12-31"},
                                {"entities": ["Syrian Army"]}, {"stories": ["Syrian Civil War"]},
                                {"categories": ["Armed attacks and conflicts",
                                                "Armed conflicts and attacks"]},
                                {"last": "2016-01-16"}]))
def test_searches_page_as_scoring_every_match_in_sql_does(db: Path, words: str, sort: str,
                                                          limit: int, removed: bool,
                                                          filters: dict):
    """Every page of every listing (relevance, by date, filtered, removed events or not),
    its keys and cursors, as `list_events_by_sql` gives them: the reference that scores
    and sorts every matching row."""
    from newscontext.store import query

    with Store(db, readonly=True) as store:
        conn = store.conn
        conn.execute("BEGIN")
        index = query.EventIndex(conn)
        wanted = query.EventQuery(fts=fts.prepare(words, advanced=False), sort=sort,
                                  removed=removed, **filters)
        after, pages = None, 0
        while True:
            got = query.list_events(conn, wanted, after, limit, index)
            expected = query.list_events_by_sql(conn, wanted, after, limit)
            assert [(a.id, key) for a, key in got] == [(a.id, key) for a, key in expected]
            assert [a for a, _ in got] == [a for a, _ in expected]
            pages += 1
            if len(got) < limit or pages > 30:
                break
            after = got[-1][1]
        conn.execute("ROLLBACK")
