"""The story headings kept by triggers (`event_headings`) answer what reading every event's
JSON answers: which subject a heading that is one link stands for (its newest event's link)
and which headings are written otherwise; on the real fixture days, then after any mix of
edits, moves, removals and new events (hypothesis)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newscontext import Archive, Settings
from newscontext.store import Store

ONE_LINK = ("json_array_length(s.value, '$.links') = 1 AND "
            "json_extract(s.value, '$.links[0].label') = json_extract(s.value, '$.text')")


def subjects_by_scan(conn: sqlite3.Connection) -> dict[str, str]:
    """The reference: every event's headings read from its JSON, oldest first, the newest
    link of a heading kept."""
    found: dict[str, str] = {}
    for heading, subject in conn.execute(
            "SELECT json_extract(s.value, '$.text'), COALESCE(t.canonical, "
            "json_extract(s.value, '$.links[0].target')) FROM events e, json_each(e.stories) s "
            "LEFT JOIN titles t ON t.title = json_extract(s.value, '$.links[0].target') "
            f"WHERE {ONE_LINK} ORDER BY e.date, e.position"):
        found[heading] = subject
    return found


def plain_by_scan(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute(
        "SELECT DISTINCT json_extract(s.value, '$.text') FROM events e, json_each(e.stories) s "
        f"WHERE NOT ({ONE_LINK})")}


@pytest.fixture(scope="module")
def archive_file(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("headings") / "archive.sqlite3"
    with Archive(Settings(db=db)) as archive:
        archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
        archive.resolve()
    return db


def check(store: Store) -> None:
    subjects = store.story_subjects()
    assert subjects == subjects_by_scan(store.conn)
    assert set(store.plain_headings()) == plain_by_scan(store.conn)
    some = sorted(subjects)[::3] + sorted(plain_by_scan(store.conn))[::2] + ["No such heading"]
    assert store.story_subjects(some) == {h: s for h, s in subjects.items() if h in some}
    assert set(store.plain_headings(some)) == plain_by_scan(store.conn) & set(some)


def test_the_fixture_days_headings_read_as_from_every_events_json(archive_file: Path):
    with Store(archive_file, readonly=True) as store:
        assert len(store.story_subjects()) > 50 and len(store.plain_headings()) > 10
        check(store)


edits = st.lists(st.tuples(st.sampled_from(["restory", "move", "delete", "copy"]),
                           st.integers(0, 10**6), st.integers(0, 10**6)), max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits)
def test_after_any_edits_the_kept_headings_read_as_the_events_json(archive_file: Path,
                                                                  tmp_path: Path, steps):
    copy = tmp_path / f"copy-{uuid.uuid4().hex}.sqlite3"
    with Store(archive_file) as source:
        source.conn.execute(f"VACUUM INTO '{copy}'")
    with Store(copy) as store:
        conn = store.conn
        conn.execute("PRAGMA foreign_keys = OFF")  # an event deleted with its versions kept
        ids = [row[0] for row in conn.execute("SELECT id FROM events ORDER BY id")]
        stories = [row[0] for row in conn.execute(
            "SELECT DISTINCT stories FROM events WHERE stories != '[]' ORDER BY stories")]
        with store.transaction():
            for n, (kind, a, b) in enumerate(steps):
                event = ids[a % len(ids)]
                if kind == "restory":  # another event's headings, or none
                    new = stories[b % len(stories)] if b % 5 else "[]"
                    conn.execute("UPDATE events SET stories = ? WHERE id = ?", (new, event))
                elif kind == "move":  # another day, a place no other event has
                    conn.execute("UPDATE events SET date = ?, position = ? WHERE id = ?",
                                 (f"20{10 + b % 17}-0{1 + b % 9}-1{b % 10}", 10**6 + n, event))
                elif kind == "delete" and len(ids) > 1:
                    conn.execute("DELETE FROM events WHERE id = ?", (event,))
                    ids.remove(event)
                elif kind == "copy":
                    row = dict(conn.execute("SELECT * FROM events WHERE id = ?",
                                            (event,)).fetchone())
                    row.update(id=f"copy{n}-{event}", position=2 * 10**6 + n,
                               stories=stories[b % len(stories)])
                    columns = ", ".join(row)
                    conn.execute(f"INSERT INTO events ({columns}) VALUES "
                                 f"({', '.join('?' * len(row))})", list(row.values()))
                    ids.append(row["id"])
        check(store)
        assert json.loads(conn.execute("SELECT json_group_array(heading) FROM event_headings "
                                       "WHERE event_id NOT IN (SELECT id FROM events)"
                                       ).fetchone()[0]) == []
    copy.unlink()
