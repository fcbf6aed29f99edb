"""`resolve` after a change folds again only the spelling groups the change reaches: it must
leave the archive exactly as a full resolve of the same archive does. Real fixture titles
(with case and dash variants of them, as the portal's editors write them) are added, relinked,
removed, restored and moved at random, resolved through the redirect tables, a given table
and a local API server; after every resolve the titles, entities, contexts, change numbers
and search rows of the incrementally resolved archive equal those of the fully resolved one.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from conftest import WIKITEXT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mwapi import FakeWiki

from newscontext import Archive, Settings
from newscontext.model import ArchivedEvent, Event, Link, Story
from newscontext.portal.fold import rule_id

DAYS = [WIKITEXT / "2016-01-17.wiki", WIKITEXT / "2026-03-09.wiki"]
# Titles the fixtures link, spelt differently by hand (as the portal's editors do).
BASES = ["Syrian Civil War", "Syrian civil war", "Houthi", "Houthis", "Russia",
         "Islamic State of Iraq and the Levant", "Russian military intervention in the Syrian "
         "civil war", "2026 Iran–Israel war", "Yemeni Civil War (2014–present)", "United States",
         "ISIS", "Isis", "Israeli Defense Forces", "Israel defense forces"]


def variants(title: str) -> list[str]:
    """The spellings an editor might write for a title: other cases, other dashes."""
    words = title.split(" ")
    found = {title, title[0] + title[1:].lower(),
             " ".join(w[:1].upper() + w[1:] for w in words),
             title.replace("\u2013", "-"), title.replace("\u2013", " \u2014 "),
             title.replace(" ", "-", 1)}
    return sorted(found)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """A resolved archive of two real days (copied for each example), the title pool, a
    given redirect table and a local API server."""
    folder = tmp_path_factory.mktemp("resolution")
    template = folder / "template.sqlite3"
    with Archive(Settings(db=template)) as archive:
        archive.ingest_paths(DAYS)
        archive.resolve()
        linked = sorted(archive.store.link_targets())
    pool = sorted({v for title in BASES for v in variants(title)} | set(linked[:40]))
    table = folder / "given.tsv"  # constructed rows: a variant and a fixture title redirected
    table.write_text("From\tTo\nSyrian Civil war\tSyrian civil war\n"
                     "Israeli Defense Forces\tIsraeli Defence Forces\n"
                     f"{linked[0]}\t{linked[1]}\n", encoding="utf-8")
    with FakeWiki() as wiki:
        wiki.add_article("Syrian Civil War")  # constructed: the API knows one spelling a page
        wiki.add_redirect("Isis", "Isis (goddess)")
        yield folder, template, pool, table, wiki


def copy(template: Path, to: Path) -> None:
    to.unlink(missing_ok=True)
    with sqlite3.connect(template) as source, sqlite3.connect(to) as target:
        source.backup(target)


def snapshot(archive: Archive) -> dict[str, list]:
    """Everything resolve decides, and the change numbers that make pages published again."""
    one = archive.store.conn.execute
    return {
        "titles": one("SELECT title, canonical, origin, pageid, wikidata, disambiguation, "
                      "missing FROM titles ORDER BY title").fetchall(),
        "entities": one("SELECT * FROM entities ORDER BY title").fetchall(),
        "contexts": one("SELECT * FROM event_entities ORDER BY event_id, entity, label"
                        ).fetchall(),
        "events": one("SELECT id, removed, change_seq FROM events ORDER BY id").fetchall(),
        "meta": one("SELECT key, value FROM meta WHERE key IN ('change_seq', 'entities_seq') "
                    "ORDER BY key").fetchall(),
        "counts": one("SELECT * FROM entity_counts ORDER BY entity").fetchall(),
        "search": one("SELECT k.kind, k.ref, s.labels FROM search_keys k JOIN fts_subjects s "
                      "ON s.rowid = k.id ORDER BY k.kind, k.ref").fetchall(),
    }


def check_counts(archive: Archive) -> None:
    """The kept event counts of entities (the search's frequent subjects) are what counting
    every context says."""
    counted = archive.store.conn.execute(
        "SELECT entity, COUNT(DISTINCT event_id) FROM event_entities GROUP BY entity")
    assert dict(counted) == archive.store.entity_event_counts()


def check_links(archive: Archive) -> None:
    """The trigger-kept link list is what a scan of every event's JSON says (the old query)."""
    one = archive.store.conn.execute
    scanned = one(
        "SELECT target, SUM(live) FROM (SELECT DISTINCT id, live, target FROM ("
        "  SELECT e.id, e.removed = 0 AS live, json_extract(j.value, '$.target') AS target"
        "  FROM events e, json_each(e.links) j UNION ALL"
        "  SELECT e.id, e.removed = 0, json_extract(l.value, '$.target') FROM events e, "
        "  json_each(e.stories) s, json_each(json_extract(s.value, '$.links')) l"
        ") WHERE target IS NOT NULL AND target != '') GROUP BY target").fetchall()
    assert dict(scanned) == archive.store.target_links()


links = st.lists(st.integers(0, 10_000), max_size=4)
operations = st.lists(st.one_of(
    st.tuples(st.just("add"), links, links),
    st.tuples(st.just("edit"), st.integers(0, 10_000), links, links),
    st.tuples(st.just("remove"), st.integers(0, 10_000)),
    st.tuples(st.just("restore"), st.integers(0, 10_000)),
    st.tuples(st.just("move"), st.integers(0, 10_000), links, links),
    st.tuples(st.just("resolve"), st.booleans(), st.booleans()),
), min_size=1, max_size=14)


def apply(archive: Archive, operation: tuple, ids: list[str], pool: list[str]) -> None:
    """One editor's change, made the way ingest makes it (through the store)."""
    store = archive.store
    kind = operation[0]

    def event(text: str, linked: list[int], storied: list[int]) -> Event:
        return Event(date(2026, 3, 9), None,
                     (Story("A story", tuple(Link(pool[n % len(pool)], "s") for n in storied)),),
                     text, [Link(pool[n % len(pool)], f"w{n % 3}") for n in linked])

    revision = store.conn.execute("SELECT MIN(id) FROM revisions").fetchone()[0]
    with store.transaction():
        change = store.next_change()
        if kind == "add":
            ident = f"test-{len(ids)}-{change}"
            store.insert_event(ArchivedEvent(ident, event(ident, *operation[1:]), len(ids),
                                             first_seen=""), revision, change)
            ids.append(ident)
        elif kind == "edit":
            ident = ids[operation[1] % len(ids)]
            store.update_event(ArchivedEvent(ident, event(ident, *operation[2:]), 0,
                                             first_seen=""), revision, change)
        elif kind == "remove":
            store.mark_removed(ids[operation[1] % len(ids)], None, change)
        elif kind == "restore":
            old = store.event(ids[operation[1] % len(ids)])
            assert old is not None
            store.update_event(old, revision, change)  # back on the portal as it was
        elif kind == "move":  # a new event turns out to be an old one moved (ingest merges)
            keep = ids[operation[1] % len(ids)]
            drop = f"moved-{change}"
            store.insert_event(ArchivedEvent(drop, event(drop, *operation[2:]), len(ids),
                                             first_seen=""), revision, change)
            store.merge_event(keep, drop)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=operations)
def test_incremental_resolve_equals_a_full_one(world, steps: list[tuple]) -> None:
    folder, template, pool, table, wiki = world
    copy(template, folder / "a.sqlite3")
    copy(template, folder / "b.sqlite3")
    settings_a = Settings(db=folder / "a.sqlite3", api_url=wiki.url)
    settings_b = Settings(db=folder / "b.sqlite3", api_url=wiki.url)
    with Archive(settings_a) as a, Archive(settings_b) as b:
        ids = [row[0] for row in a.store.conn.execute("SELECT id FROM events ORDER BY id")]
        for operation in [*steps, ("resolve", False, False)]:
            if operation[0] == "resolve":
                _, given_table, api = operation
                redirects = table if given_table else None
                assert a.store.fold_state() == rule_id()  # a has kept state: incremental
                incremental = a.resolve(api=api, redirects=redirects)
                full = b.resolve(api=api, redirects=redirects, full=True)
                assert incremental == full
                assert snapshot(a) == snapshot(b)
                check_counts(a)
            else:
                kept = list(ids)
                apply(a, operation, ids, pool)
                apply(b, operation, kept, pool)
                assert ids == kept
                check_links(a)


def test_a_variant_spelling_folds_and_unfolds_when_its_links_change(tmp_path: Path):
    """A new spelling arriving in one day's events is folded into the archive's (an
    incremental resolve looks at its group), and the group is weighed again when an edit
    takes links away: the most linked spelling wins each time."""
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths(DAYS)
        archive.resolve()
        store = archive.store
        revision = store.conn.execute("SELECT MIN(id) FROM revisions").fetchone()[0]

        def add(ident: str, title: str, change: int) -> None:
            store.insert_event(ArchivedEvent(ident, Event(
                date(2026, 3, 9), None, (), ident, [Link(title, title)]), 99,
                first_seen=""), revision, change)

        with store.transaction():
            change = store.next_change()
            for n in range(3):
                add(f"variant-{n}", "Newscontext Test Spelling", change)
            add("other", "Newscontext test spelling", change)
        report = archive.resolve()
        assert store.canonical(["Newscontext test spelling"]) == {"Newscontext Test Spelling"}
        assert report.folded >= 1
        with store.transaction():
            change = store.next_change()
            for n in range(3):
                store.mark_removed(f"variant-{n}", None, change)
            add("other-2", "Newscontext test spelling", change)
        archive.resolve()
        # Two live links against none: the sentence-case spelling is the subject now.
        assert store.canonical(["Newscontext Test Spelling"]) == {"Newscontext test spelling"}
        assert store.pending_targets() == set()


def test_a_redirect_that_leads_elsewhere_now_undoes_the_fold_it_made(tmp_path: Path):
    """The shipped table makes "Israel Defense Forces" a page (a redirect leads to it), so
    "Israel defense forces" folds into it. A given table (constructed row) sends that
    redirect elsewhere: no title leads to "Israel Defense Forces" any more, and the spelling
    that folded into it stands alone again, though none of its events changed."""
    table = tmp_path / "given.tsv"
    table.write_text("Israeli Defense Forces\tIsraeli Defence Forces\n", encoding="utf-8")
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        store = archive.store
        revision = store.conn.execute(
            "INSERT INTO revisions (date, format, origin, sha256, content, ingested_at) "
            "VALUES ('2026-03-09', 'wikitext', 'test', 'x', x'', '')").lastrowid
        with store.transaction():
            for n, title in enumerate(["Israeli Defense Forces", "Israel defense forces"]):
                store.insert_event(ArchivedEvent(f"e{n}", Event(
                    date(2026, 3, 9), None, (), title, [Link(title, title)]), n,
                    first_seen=""), revision, store.next_change())
        archive.resolve()
        assert store.canonical(["Israel defense forces"]) == {"Israel Defense Forces"}
        archive.resolve(redirects=table)
        assert store.canonical(["Israeli Defense Forces"]) == {"Israeli Defence Forces"}
        assert store.canonical(["Israel defense forces"]) == {"Israel defense forces"}


def test_an_entity_an_edited_event_leaves_loses_its_label_in_the_search_index(tmp_path: Path):
    """Two events link one subject with different words; an edit relinks one of them
    elsewhere. The subject's search row must lose the words only that event used."""
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        store = archive.store
        revision = store.conn.execute(
            "INSERT INTO revisions (date, format, origin, sha256, content, ingested_at) "
            "VALUES ('2026-03-09', 'wikitext', 'test', 'x', x'', '')").lastrowid

        def event(ident: str, target: str, label: str) -> ArchivedEvent:
            return ArchivedEvent(ident, Event(date(2026, 3, 9), None, (), ident,
                                              [Link(target, label)]), 0, first_seen="")

        with store.transaction():
            store.insert_event(event("a", "Kyiv", "the capital"), revision, store.next_change())
            store.insert_event(event("b", "Kyiv", "Kiev"), revision, store.next_change())
        archive.resolve()

        def labels(title: str) -> str:
            return store.conn.execute(
                "SELECT s.labels FROM search_keys k JOIN fts_subjects s ON s.rowid = k.id "
                "WHERE k.kind = 'entity' AND k.ref = ?", (title,)).fetchone()[0] or ""

        assert "Kiev" in labels("Kyiv")
        with store.transaction():
            store.update_event(event("b", "Lviv", "Lemberg"), revision, store.next_change())
        archive.resolve()
        assert labels("Kyiv") == "the capital"
