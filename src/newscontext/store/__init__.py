"""The SQLite store: the only code that reads or writes SQL.

Everything a stage writes for one input happens in one transaction, so a run killed at any
moment leaves the archive as it was before that input, and the next run redoes it.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
import zlib
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from ..model import (
    ArchivedEvent,
    Entity,
    Event,
    EventVersion,
    Link,
    PageRevision,
    ParseWarning,
    Related,
    Source,
    Story,
    TitleInfo,
)
from ..site.urls import MAX_SLUG
from .articles import ArticlesStore
from .fts import flush as flush_search
from .schema import MIGRATIONS, migrate
from .titles import TitlesStore


@dataclass(frozen=True, slots=True)
class RevisionRow:
    id: int
    date: date
    revid: int | None
    timestamp: str | None
    format: str
    origin: str
    sha256: str
    ingested_at: str
    applied: bool
    hold_state: str | None = None  # held, released, superseded (None: never held)
    held: str | None = None  # why it was held


@dataclass(frozen=True, slots=True)
class DayRow:
    date: date
    revision_id: int  # the applied revision: what the day's events reflect
    revid: int | None
    timestamp: str | None
    latest_id: int | None = None  # the newest revision seen (a held one, or the applied)
    latest_revid: int | None = None  # ... and the wiki's id and time of it
    latest_timestamp: str | None = None


def _links_json(links: Iterable[Link]) -> str:
    return json.dumps([{"target": x.target, "label": x.label} for x in links], ensure_ascii=False)


def _stories_json(stories: Iterable[Story]) -> str:
    return json.dumps(
        [{"text": s.text, "links": [{"target": x.target, "label": x.label} for x in s.links]}
         for s in stories],
        ensure_ascii=False,
    )


def _sources_json(sources: Iterable[Source]) -> str:
    return json.dumps([{"url": x.url, "name": x.name} for x in sources], ensure_ascii=False)


def _links(raw: str) -> list[Link]:
    return [Link(item["target"], item["label"]) for item in json.loads(raw)]


def _stories(raw: str) -> tuple[Story, ...]:
    return tuple(
        Story(item["text"], tuple(Link(x["target"], x["label"]) for x in item["links"]))
        for item in json.loads(raw)
    )


def _sources(raw: str) -> list[Source]:
    return [Source(item["url"], item["name"]) for item in json.loads(raw)]


# An event's first-seen time, from its versions (`{id}`: the SQL naming the event): the
# earliest of their times, unknown (NULL) when its first version's is. That version came
# from an input without a time (a file): the event was seen before any time known.
_FIRST_SEEN = (
    "(SELECT CASE WHEN (SELECT f.timestamp FROM event_versions f WHERE f.event_id = {id} "
    "ORDER BY f.seq LIMIT 1) IS NOT NULL THEN MIN(v.timestamp) END "
    "FROM event_versions v WHERE v.event_id = {id})"
)

_EVENT_COLUMNS = (
    "id, date, position, category, stories, text, links, sources, removed, removed_at, "
    "moved_to, first_seen"
)


def _event_from_row(row: sqlite3.Row) -> ArchivedEvent:
    event = Event(
        date=date.fromisoformat(row["date"]),
        category=row["category"],
        stories=_stories(row["stories"]),
        text=row["text"],
        links=_links(row["links"]),
        sources=_sources(row["sources"]),
    )
    return ArchivedEvent(
        id=row["id"], event=event, position=row["position"], removed=bool(row["removed"]),
        removed_at=row["removed_at"], moved_to=row["moved_to"], first_seen=row["first_seen"],
    )


class _TakenSlugs:
    """The slugs of a table (UNIQUE, so indexed) and those given since, asked one at a
    time: a new title needs one or two looked up, not the whole table read."""

    def __init__(self, conn: sqlite3.Connection, table: str):
        self._conn, self._table = conn, table
        self._added: set[str] = set()

    def __contains__(self, slug: object) -> bool:
        return slug in self._added or self._conn.execute(
            f"SELECT 1 FROM {self._table} WHERE slug = ?", (slug,)).fetchone() is not None

    def add(self, slug: str) -> None:
        self._added.add(slug)


class StoreError(Exception):
    """The archive file cannot be used: missing, not a database, unreadable. The message
    names the file and is meant for the operator as it is."""


def _check_schema(conn: sqlite3.Connection) -> None:
    """Refuse a database that is someone else's, or of a newer newscontext, before migrating
    writes our tables into it."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(f"schema {version} is newer than this newscontext knows "
                                    f"({len(MIGRATIONS)}): upgrade newscontext")
    if version == 0 and conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' LIMIT 1").fetchone():
        raise sqlite3.DatabaseError("a SQLite database with other tables")


def _check_current(conn: sqlite3.Connection) -> None:
    """A reader cannot migrate: the archive must already be of this newscontext's schema."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"schema {version}, this newscontext reads {len(MIGRATIONS)}: "
            + ("run `newscontext ingest` once to upgrade it" if version < len(MIGRATIONS)
               else "upgrade newscontext"))


class Store(ArticlesStore, TitlesStore):
    """One archive file. Open it, use it, close it (or use it as a context manager).

    `create=False` is for commands that only read: they must say that there is no archive
    rather than make an empty one (and its folders) where the operator mistyped a path.
    """

    def __init__(self, path: Path | str, *, create: bool = True, readonly: bool = False):
        self.path = Path(path)
        memory = str(path) == ":memory:"
        if not memory and (readonly or not create) and not self.path.is_file():
            raise StoreError(f"{path}: no archive there (run `newscontext ingest` to make one)")
        if not memory and not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly:  # the live server: no request can ever write, whatever it runs
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=60,
                                            check_same_thread=False)
            else:
                self.conn = sqlite3.connect(str(path), isolation_level=None, timeout=60)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the archive ({exc})") from None
        try:
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            if readonly:
                _check_current(self.conn)
            else:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                _check_schema(self.conn)
                migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{path}: not a newscontext archive ({exc})") from None

    @contextmanager
    def window(self, since: date | None) -> Iterator[None]:
        """Reads on this connection see only the events of `since` and later (all: None),
        their paths and contexts: a static site of the last years is built from the same
        queries as the whole one. Temporary views named as the tables shadow them here
        only (other connections see every event)."""
        if since is None:
            yield
            return
        day = date.fromisoformat(since.isoformat()).isoformat()  # a date: safe as a literal
        views = {
            "events": f"SELECT * FROM main.events WHERE date >= '{day}'",
            "event_slugs": f"SELECT * FROM main.event_slugs WHERE date >= '{day}'",
            "event_entities": "SELECT x.* FROM main.event_entities x JOIN main.events e "
                              f"ON e.id = x.event_id WHERE e.date >= '{day}'",
        }
        for name, sql in views.items():
            self.conn.execute(f"CREATE TEMP VIEW {name} AS {sql}")
        try:
            yield
        finally:
            for name in views:
                self.conn.execute(f"DROP VIEW IF EXISTS temp.{name}")

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Interrupt any statement still running `seconds` from now (sqlite3.OperationalError
        "interrupted"): a query a client made expensive must not hold a server's worker."""
        end = time.monotonic() + seconds
        self.conn.set_progress_handler(lambda: int(time.monotonic() > end), 10_000)
        try:
            yield
        finally:
            self.conn.set_progress_handler(None, 0)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commits on success, rolls back on any exception. The search
        index takes the transaction's changes just before it commits (store/fts.py)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            flush_search(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- revisions -------------------------------------------------------------------------

    def find_revision(self, day: date, sha256: str) -> RevisionRow | None:
        row = self.conn.execute(
            "SELECT * FROM revisions WHERE date = ? AND sha256 = ?", (day.isoformat(), sha256)
        ).fetchone()
        return self._revision(row) if row else None

    def add_revision(self, rev: PageRevision, sha256: str, now: str) -> int:
        cursor = self.conn.execute(
            "INSERT INTO revisions (date, revid, timestamp, format, origin, sha256, content, "
            "ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rev.date.isoformat(), rev.revid, rev.timestamp, rev.format, rev.origin, sha256,
             zlib.compress(rev.text.encode("utf-8"), 6), now),
        )
        return int(cursor.lastrowid)

    def fill_revision_ids(self, revision_id: int, revid: int | None, timestamp: str | None) -> None:
        """Learn a revision's id and time from a later input that carries them. Its versions
        whose time was unknown (it came from a file) take that time, and their events'
        first-seen times follow (published again: their pages show these times)."""
        self.conn.execute(
            "UPDATE revisions SET revid = COALESCE(revid, ?), timestamp = COALESCE(timestamp, ?) "
            "WHERE id = ?",
            (revid, timestamp, revision_id),
        )
        (known,) = self.conn.execute("SELECT timestamp FROM revisions WHERE id = ?",
                                     (revision_id,)).fetchone()
        events = [row[0] for row in self.conn.execute(
            "SELECT DISTINCT event_id FROM event_versions "
            "WHERE revision_id = ? AND timestamp IS NULL", (revision_id,))]
        if known is None or not events:
            return
        self.conn.execute("UPDATE event_versions SET timestamp = ? "
                          "WHERE revision_id = ? AND timestamp IS NULL", (known, revision_id))
        self.conn.execute(
            f"UPDATE events SET change_seq = ?, first_seen = {_FIRST_SEEN.format(id='events.id')} "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (self.next_change(), json.dumps(events)))

    def mark_applied(self, revision_id: int) -> None:
        self.conn.execute("UPDATE revisions SET applied = 1 WHERE id = ?", (revision_id,))

    def revisions(self, day: date) -> list[RevisionRow]:
        rows = self.conn.execute(
            "SELECT * FROM revisions WHERE date = ? ORDER BY id", (day.isoformat(),)
        ).fetchall()
        return [self._revision(row) for row in rows]

    @staticmethod
    def _revision(row: sqlite3.Row) -> RevisionRow:
        return RevisionRow(
            id=row["id"], date=date.fromisoformat(row["date"]), revid=row["revid"],
            timestamp=row["timestamp"], format=row["format"], origin=row["origin"],
            sha256=row["sha256"], ingested_at=row["ingested_at"], applied=bool(row["applied"]),
            hold_state=row["hold_state"], held=row["held"],
        )

    def hold(self, revision_id: int, reason: str) -> None:
        self.conn.execute("UPDATE revisions SET held = ?, hold_state = 'held' WHERE id = ?",
                          (reason, revision_id))

    def end_hold(self, revision_id: int, state: str) -> None:
        """A held revision applied after its settle time, or superseded before it."""
        self.conn.execute("UPDATE revisions SET hold_state = ? WHERE id = ?",
                          (state, revision_id))

    def held_revisions(self) -> list[RevisionRow]:
        """Revisions waiting out their settle time, by day."""
        rows = self.conn.execute(
            "SELECT * FROM revisions WHERE hold_state = 'held' ORDER BY date, id").fetchall()
        return [self._revision(row) for row in rows]

    def set_latest(self, day: date, revision_id: int, revid: int | None,
                   timestamp: str | None) -> None:
        """The newest revision seen of a day that has a row (one was applied)."""
        self.conn.execute(
            "UPDATE days SET latest_id = ?, latest_revid = ?, latest_timestamp = ? "
            "WHERE date = ?", (revision_id, revid, timestamp, day.isoformat()))

    # -- days ------------------------------------------------------------------------------

    def day(self, day: date) -> DayRow | None:
        row = self.conn.execute(
            "SELECT * FROM days WHERE date = ?", (day.isoformat(),)
        ).fetchone()
        if not row:
            return None
        return DayRow(date.fromisoformat(row["date"]), row["revision_id"], row["revid"],
                      row["timestamp"], row["latest_id"], row["latest_revid"],
                      row["latest_timestamp"])

    def set_day(self, rev: RevisionRow, now: str) -> None:
        self.conn.execute(
            "INSERT INTO days (date, revision_id, revid, timestamp, updated_at, latest_id, "
            "latest_revid, latest_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (date) DO UPDATE SET "
            "revision_id = excluded.revision_id, revid = excluded.revid, "
            "timestamp = excluded.timestamp, updated_at = excluded.updated_at, "
            "latest_id = excluded.latest_id, latest_revid = excluded.latest_revid, "
            "latest_timestamp = excluded.latest_timestamp",
            (rev.date.isoformat(), rev.id, rev.revid, rev.timestamp, now, rev.id, rev.revid,
             rev.timestamp),
        )

    def known_revids(self, first: date, last: date) -> dict[date, int]:
        """Newest revision id seen of each day in a range (a held one included), for
        fetching only what changed."""
        rows = self.conn.execute(
            "SELECT date, COALESCE(latest_revid, revid) AS revid FROM days "
            "WHERE date BETWEEN ? AND ? AND COALESCE(latest_revid, revid) IS NOT NULL",
            (first.isoformat(), last.isoformat()),
        ).fetchall()
        return {date.fromisoformat(row["date"]): row["revid"] for row in rows}

    def newest_day(self) -> date | None:
        row = self.conn.execute("SELECT MAX(date) FROM days").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def days(self) -> list[date]:
        rows = self.conn.execute("SELECT date FROM days ORDER BY date").fetchall()
        return [date.fromisoformat(row["date"]) for row in rows]

    # -- events ----------------------------------------------------------------------------

    def next_change(self) -> int:
        """A new change number: stages after ingest use it to find what changed."""
        self.conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_seq'"
        )
        return int(self.conn.execute(
            "SELECT value FROM meta WHERE key = 'change_seq'"
        ).fetchone()[0])

    def events_of_day(self, day: date, *, include_removed: bool = True) -> list[ArchivedEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE date = ?"
        if not include_removed:
            sql += " AND removed = 0"
        rows = self.conn.execute(sql + " ORDER BY position, id", (day.isoformat(),)).fetchall()
        return [_event_from_row(row) for row in rows]

    def events_between(self, first: date, last: date, *, removed: bool) -> list[ArchivedEvent]:
        rows = self.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE date BETWEEN ? AND ? AND removed = ? "
            "ORDER BY date, position",
            (first.isoformat(), last.isoformat(), int(removed)),
        ).fetchall()
        return [_event_from_row(row) for row in rows]

    def event(self, event_id: str) -> ArchivedEvent | None:
        row = self.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
        ).fetchone()
        return _event_from_row(row) if row else None

    def events(self, event_ids: Iterable[str]) -> dict[str, ArchivedEvent]:
        """Many events in one query (a page lists up to fifty)."""
        return {row["id"]: _event_from_row(row) for row in self.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events "
            "WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(event_ids)),))}

    def headlines(self, event_ids: Iterable[str]) -> dict[str, tuple[str, date]]:
        """Event id -> (text, date): what a link to an event shows, without the rest."""
        return {row[0]: (row[1], date.fromisoformat(row[2])) for row in self.conn.execute(
            "SELECT id, text, date FROM events WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(event_ids)),))}

    def event_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM events")}

    def insert_event(self, archived: ArchivedEvent, revision_id: int, change: int) -> None:
        event = archived.event
        self.conn.execute(
            "INSERT INTO events (id, date, position, category, stories, text, links, sources, "
            "removed, first_seen, revision_id, change_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (archived.id, event.date.isoformat(), archived.position, event.category,
             _stories_json(event.stories), event.text, _links_json(event.links),
             _sources_json(event.sources), archived.first_seen, revision_id, change),
        )

    def update_event(self, archived: ArchivedEvent, revision_id: int, change: int | None) -> None:
        """Store the event's current state; `change` is None when only bookkeeping moved."""
        event = archived.event
        self.conn.execute(
            "UPDATE events SET date = ?, position = ?, category = ?, stories = ?, text = ?, "
            "links = ?, sources = ?, removed = 0, removed_at = NULL, moved_to = NULL, "
            "revision_id = ?, change_seq = COALESCE(?, change_seq) WHERE id = ?",
            (event.date.isoformat(), archived.position, event.category,
             _stories_json(event.stories), event.text, _links_json(event.links),
             _sources_json(event.sources), revision_id, change, archived.id),
        )

    def mark_removed(self, event_id: str, at: str | None, change: int) -> None:
        """`at`: the removing revision's time (None: unknown)."""
        self.conn.execute(
            "UPDATE events SET removed = 1, removed_at = ?, change_seq = ? WHERE id = ?",
            (at, change, event_id),
        )

    def set_moved_to(self, event_id: str, target_id: str, change: int) -> None:
        self.conn.execute(
            "UPDATE events SET moved_to = ?, change_seq = ? WHERE id = ?",
            (target_id, change, event_id),
        )

    def merge_event(self, keep_id: str, drop_id: str) -> None:
        """Fold a just-created event into the older one it turned out to be (a move).
        The kept event takes the dropped one's state; its versions follow its own, and its
        first-seen time comes from them all (_FIRST_SEEN)."""
        row = self.conn.execute(
            "SELECT * FROM events WHERE id = ?", (drop_id,)
        ).fetchone()
        offset = self.conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM event_versions WHERE event_id = ?", (keep_id,)
        ).fetchone()[0]
        self.conn.execute(
            "UPDATE event_versions SET event_id = ?, seq = seq + ? WHERE event_id = ?",
            (keep_id, offset, drop_id),
        )
        self.conn.execute(
            "UPDATE events SET date = ?, position = ?, category = ?, stories = ?, text = ?, "
            "links = ?, sources = ?, removed = 0, removed_at = NULL, moved_to = NULL, "
            f"revision_id = ?, change_seq = ?, first_seen = {_FIRST_SEEN.format(id='?')} "
            "WHERE id = ?",
            (row["date"], row["position"], row["category"], row["stories"], row["text"],
             row["links"], row["sources"], row["revision_id"], row["change_seq"], keep_id,
             keep_id, keep_id),
        )
        self.conn.execute("DELETE FROM events WHERE id = ?", (drop_id,))

    def add_version(self, event_id: str, event: Event, revision: RevisionRow,
                    at: str | None) -> None:
        """A new wording, at its revision's time (None: unknown). A time earlier than the
        event's first-seen time becomes it (see _FIRST_SEEN); an unknown one stays."""
        seq = self.conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM event_versions WHERE event_id = ?",
            (event_id,),
        ).fetchone()[0]
        self.conn.execute(
            "INSERT INTO event_versions (event_id, seq, revision_id, revid, timestamp, date, "
            "category, stories, text, links, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (event_id, seq, revision.id, revision.revid, at, event.date.isoformat(),
             event.category, _stories_json(event.stories), event.text,
             _links_json(event.links), _sources_json(event.sources)),
        )
        if at is not None:
            self.conn.execute(
                "UPDATE events SET first_seen = ? WHERE id = ? AND first_seen > ?",
                (at, event_id, at))

    def versions(self, event_id: str) -> list[EventVersion]:
        rows = self.conn.execute(
            "SELECT * FROM event_versions WHERE event_id = ? ORDER BY seq", (event_id,)
        ).fetchall()
        versions = []
        for row in rows:
            stories = _stories(row["stories"])
            targets = [link.target for link in _links(row["links"])]
            targets += [link.target for story in stories for link in story.links]
            versions.append(EventVersion(
                seq=row["seq"], revid=row["revid"], timestamp=row["timestamp"], text=row["text"],
                category=row["category"], stories=tuple(story.text for story in stories),
                sources=tuple(_sources(row["sources"])), targets=tuple(dict.fromkeys(targets)),
            ))
        return versions

    def canonical(self, titles: Iterable[str]) -> set[str]:
        """The entities these link targets stand for (redirects resolved)."""
        titles = list(dict.fromkeys(titles))
        if not titles:
            return set()
        known = dict(self.conn.execute(
            "SELECT title, canonical FROM titles WHERE title IN (SELECT value FROM json_each(?))",
            (json.dumps(titles),)).fetchall())
        return {known.get(title, title) for title in titles}

    def iter_events(self) -> Iterator[ArchivedEvent]:
        """Every event, removed ones included, in portal order (date, then position)."""
        cursor = self.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY date, position, id"
        )
        for row in cursor:
            yield _event_from_row(row)

    # -- re-deriving events from the raw revisions (repair.py) -----------------------------

    def parser_version(self) -> int:
        """The parser version the events were derived with (0: before it was recorded)."""
        row = self.conn.execute(
            "SELECT value FROM meta WHERE key = 'parser_version'").fetchone()
        return int(row[0]) if row else 0

    def set_parser_version(self, version: int) -> None:
        self._set_meta("parser_version", version)

    def derived_days(self) -> list[date]:
        """Every day with events or a page in the archive, in order."""
        rows = self.conn.execute(
            "SELECT DISTINCT date FROM events UNION SELECT date FROM days ORDER BY 1")
        return [date.fromisoformat(row[0]) for row in rows]

    def revision_row(self, revision_id: int) -> RevisionRow | None:
        row = self.conn.execute("SELECT * FROM revisions WHERE id = ?", (revision_id,)).fetchone()
        return self._revision(row) if row else None

    def revision_text(self, revision_id: int) -> str:
        row = self.conn.execute(
            "SELECT content FROM revisions WHERE id = ?", (revision_id,)).fetchone()
        return zlib.decompress(row[0]).decode("utf-8")

    def derived_states(self, day: date) -> list[tuple[int, str, int | None, Event]]:
        """What the archive holds of the events on one day (through the date and primary-key
        indexes): (revision it was read from, event id, version seq or None for the event
        as it stands, what it says); the event as it stands comes before its versions."""
        states: list[tuple[int, str, int | None, Event]] = []
        for row in self.conn.execute(
                "SELECT revision_id, id, NULL, date, category, stories, text, links, sources "
                "FROM events WHERE date = ? UNION ALL "
                "SELECT revision_id, event_id, seq, date, category, stories, text, links, "
                "sources FROM event_versions WHERE event_id IN "
                "(SELECT id FROM events WHERE date = ?) ORDER BY 2, 3",
                (day.isoformat(), day.isoformat())):
            states.append((row[0], row[1], row[2], Event(
                date=date.fromisoformat(row[3]), category=row[4], stories=_stories(row[5]),
                text=row[6], links=_links(row[7]), sources=_sources(row[8]))))
        return states

    def rewrite_state(self, event_id: str, seq: int | None, event: Event, change: int) -> None:
        """Store an event state re-derived from its revision (the event as it stands, or its
        version `seq`): ids, versions, dates and times stay; the event gets `change`, so
        its pages are published again."""
        values = (event.category, _stories_json(event.stories), event.text,
                  _links_json(event.links), _sources_json(event.sources))
        if seq is not None:
            self.conn.execute(
                "UPDATE event_versions SET category = ?, stories = ?, text = ?, links = ?, "
                "sources = ? WHERE event_id = ? AND seq = ?", (*values, event_id, seq))
            self.conn.execute("UPDATE events SET change_seq = ? WHERE id = ?", (change, event_id))
        else:
            self.conn.execute(
                "UPDATE events SET category = ?, stories = ?, text = ?, links = ?, sources = ?, "
                "change_seq = ? WHERE id = ?", (*values, change, event_id))

    # -- warnings and errors ---------------------------------------------------------------

    def replace_warnings(self, revision_id: int, warnings: Iterable[ParseWarning]) -> None:
        self.conn.execute("DELETE FROM warnings WHERE revision_id = ?", (revision_id,))
        self.conn.executemany(
            "INSERT INTO warnings (revision_id, date, line, message, text) VALUES (?, ?, ?, ?, ?)",
            [(revision_id, w.date.isoformat(), w.line, w.message, w.text) for w in warnings],
        )

    def current_warnings(self) -> list[ParseWarning]:
        """Warnings of the revisions the archive currently reflects."""
        rows = self.conn.execute(
            "SELECT w.date, w.line, w.message, w.text FROM warnings w "
            "JOIN days d ON d.revision_id = w.revision_id ORDER BY w.date, w.line"
        ).fetchall()
        return [ParseWarning(date.fromisoformat(r["date"]), r["line"], r["message"], r["text"])
                for r in rows]

    def add_error(self, place: str, message: str, at: str) -> None:
        self.conn.execute(
            "INSERT INTO errors (at, place, message) VALUES (?, ?, ?)", (at, place, message)
        )

    def errors(self, limit: int = 50) -> list[tuple[str, str, str]]:
        rows = self.conn.execute(
            "SELECT at, place, message FROM errors ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(r["at"], r["place"], r["message"]) for r in rows]

    # -- statistics ------------------------------------------------------------------------

    def counts_per_year(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT substr(e.date, 1, 4) AS year, COUNT(DISTINCT e.date) AS days, "
            "SUM(e.removed = 0) AS events, SUM(e.removed) AS removed, "
            "SUM(CASE WHEN e.removed = 0 THEN json_array_length(e.sources) ELSE 0 END) AS sources "
            "FROM events e GROUP BY year ORDER BY year"
        ).fetchall()
        return [dict(row) for row in rows]

    def totals(self) -> dict:
        one = self.conn.execute
        return {
            "days": one("SELECT COUNT(*) FROM days").fetchone()[0],
            "revisions": one("SELECT COUNT(*) FROM revisions").fetchone()[0],
            "events": one("SELECT COUNT(*) FROM events WHERE removed = 0").fetchone()[0],
            "removed": one("SELECT COUNT(*) FROM events WHERE removed = 1").fetchone()[0],
            "versions": one("SELECT COUNT(*) FROM event_versions").fetchone()[0],
        }

    # -- titles and entities ---------------------------------------------------------------

    def known_titles(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT title FROM titles")}

    def save_titles(self, infos: Iterable[TitleInfo], origin: str, at: str) -> int:
        """Upsert what was learnt about titles; returns how many canonical titles changed."""
        rows = [(i.title, i.canonical, i.pageid, i.wikidata, int(i.disambiguation),
                 int(i.missing), origin, at) for i in infos]
        before = dict(self.conn.execute(
            "SELECT title, canonical FROM titles WHERE title IN (SELECT value FROM json_each(?))",
            (json.dumps([row[0] for row in rows]),)).fetchall())
        self.conn.executemany(
            "INSERT INTO titles (title, canonical, pageid, wikidata, disambiguation, missing, "
            "origin, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (title) DO UPDATE "
            "SET canonical = excluded.canonical, pageid = excluded.pageid, "
            "wikidata = excluded.wikidata, disambiguation = excluded.disambiguation, "
            "missing = excluded.missing, origin = excluded.origin, "
            "resolved_at = excluded.resolved_at",
            rows,
        )
        moved = [row[0] for row in rows if before.get(row[0], row[0]) != row[1]]
        if moved:
            # The events linking these titles show other entities now: publish them again
            # (and rebuild_entities remakes their contexts: only theirs can change).
            self.conn.execute(
                "UPDATE events SET change_seq = ? WHERE id IN (SELECT event_id FROM event_links "
                "WHERE target IN (SELECT value FROM json_each(?)))",
                (self.next_change(), json.dumps(moved)))
        return len(moved)

    _CONTEXT_SQL = (
        "SELECT x.id, COALESCE(t.canonical, x.target), x.label, MAX(x.in_text), "
        "MAX(x.in_story) FROM ("
        "  SELECT e.id, json_extract(j.value, '$.target') AS target, "
        "         json_extract(j.value, '$.label') AS label, 1 AS in_text, 0 AS in_story "
        "  FROM events e, json_each(e.links) j WHERE e.change_seq > :since "
        "  UNION ALL "
        "  SELECT e.id, json_extract(l.value, '$.target'), json_extract(l.value, '$.label'), 0, 1 "
        "  FROM events e, json_each(e.stories) s, json_each(json_extract(s.value, '$.links')) l "
        "  WHERE e.change_seq > :since"
        ") x LEFT JOIN titles t ON t.title = x.target "
        "WHERE x.target IS NOT NULL AND x.target != '' "
        "GROUP BY x.id, COALESCE(t.canonical, x.target), x.label"
    )

    def meta_int(self, key: str) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _set_meta(self, key: str, value: object) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                          (key, str(value)))

    def rebuild_entities(self, make_slug: Callable[[str, Container[str]], str]) -> int:
        """Bring every event's context up to date: only events changed since the last run
        (a title that leads elsewhere now marks the events linking it changed: save_titles),
        every event on a new archive. Slugs of existing entities never change. Returns the
        number of new entities."""
        conn = self.conn
        since = self.meta_int("entities_seq")
        latest = self.meta_int("change_seq")
        if since >= latest:
            return 0
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS ctx (event_id, entity, label, in_text, "
                     "in_story)")
        conn.execute("DELETE FROM temp.ctx")
        conn.execute(f"INSERT INTO temp.ctx {self._CONTEXT_SQL}", {"since": since})
        taken = _TakenSlugs(conn, "entities")
        rows = []
        for (title,) in conn.execute(
            "SELECT DISTINCT entity FROM temp.ctx WHERE entity NOT IN "
            "(SELECT title FROM entities) ORDER BY entity"
        ).fetchall():
            slug = make_slug(title, taken)
            taken.add(slug)
            rows.append((title, slug))
        conn.executemany("INSERT INTO entities (title, slug) VALUES (?, ?)", rows)
        # The canonical page's own row knows it best; any row that reached it will do.
        conn.execute(
            "UPDATE entities SET wikidata = t.wikidata, pageid = t.pageid, "
            "disambiguation = t.disambiguation FROM (SELECT canonical, wikidata, pageid, "
            "disambiguation, ROW_NUMBER() OVER (PARTITION BY canonical ORDER BY "
            "title != canonical, wikidata IS NULL) AS pick FROM titles) t "
            "WHERE t.pick = 1 AND t.canonical = entities.title"
        )
        # The entities the events leave lose labels: the search index takes that too.
        if since < 0:
            conn.execute("INSERT OR IGNORE INTO fts_pending (kind, ref) SELECT DISTINCT "
                         "'entity', entity FROM event_entities")
            conn.execute("DELETE FROM event_entities")
        else:
            conn.execute("INSERT OR IGNORE INTO fts_pending (kind, ref) SELECT DISTINCT "
                         "'entity', entity FROM event_entities WHERE event_id IN "
                         "(SELECT id FROM events WHERE change_seq > ?)", (since,))
            conn.execute("DELETE FROM event_entities WHERE event_id IN "
                         "(SELECT id FROM events WHERE change_seq > ?)", (since,))
        conn.execute("INSERT INTO event_entities (event_id, entity, label, in_text, in_story) "
                     "SELECT event_id, entity, COALESCE(label, ''), in_text, in_story "
                     "FROM temp.ctx")
        # Their labels may have changed: the search index takes them now (schema 8).
        conn.execute("INSERT OR IGNORE INTO fts_pending (kind, ref) "
                     "SELECT DISTINCT 'entity', entity FROM temp.ctx")
        conn.execute("DELETE FROM temp.ctx")
        self._set_meta("entities_seq", latest)
        return len(rows)

    def iter_entities(self) -> Iterator[Entity]:
        """Every entity with an event, by title, with its labels (most used first);
        `events` counts events still on the portal."""
        labels: dict[str, list[str]] = {}
        for entity, label in self.conn.execute(
            "SELECT entity, label FROM event_entities WHERE label != '' "
            "GROUP BY entity, label ORDER BY entity, COUNT(*) DESC, label"
        ):
            labels.setdefault(entity, []).append(label)
        rows = self.conn.execute(
            "SELECT n.title, n.slug, n.wikidata, COUNT(DISTINCT e.id) AS events FROM entities n "
            "JOIN event_entities x ON x.entity = n.title "
            "LEFT JOIN events e ON e.id = x.event_id AND e.removed = 0 "
            "GROUP BY n.title ORDER BY n.title"
        )
        for row in rows:
            yield Entity(row["title"], row["slug"], tuple(labels.get(row["title"], ())),
                         row["wikidata"], row["events"])

    def context(self, event_id: str) -> list[str]:
        """An event's context: its canonical entities, sorted case-insensitively."""
        return self.contexts([event_id]).get(event_id, [])

    def contexts(self, event_ids: Iterable[str]) -> dict[str, list[str]]:
        """The contexts of many events in one query (events without one are left out)."""
        found: dict[str, set[str]] = {}
        for event_id, entity in self.conn.execute(
            "SELECT event_id, entity FROM event_entities "
            "WHERE event_id IN (SELECT value FROM json_each(?))", (json.dumps(list(event_ids)),)):
            found.setdefault(event_id, set()).add(entity)
        return {event_id: sorted(titles, key=lambda title: (title.casefold(), title))
                for event_id, titles in found.items()}

    # -- related events --------------------------------------------------------------------

    def context_rows(self) -> tuple[list[str], list[int], list[str], np.ndarray]:
        """Every live event's context as integers, for ranking at scale: event ids and
        ordinal dates ordered by date, then id (not by place on the day, which moves without
        a change: a ranking must not depend on it), entity titles sorted, and an (n, 3) array
        of (event index, entity index, flags: 1 linked in the sentence, 2 in a story
        heading). Reads the context table (see rebuild_entities)."""
        ids: list[str] = []
        dates: list[int] = []
        index: dict[str, int] = {}
        for event_id, day in self.conn.execute(
            "SELECT id, date FROM events WHERE removed = 0 ORDER BY date, id"
        ):
            index[event_id] = len(ids)
            ids.append(event_id)
            dates.append(date.fromisoformat(day).toordinal())
        live = [(index[event_id], entity, flags) for event_id, entity, flags in self.conn.execute(
            f"{self._CONTEXT_ROWS} GROUP BY event_id, entity") if event_id in index]
        titles = sorted({entity for _, entity, _ in live})
        column = {title: n for n, title in enumerate(titles)}
        data = np.fromiter((value for row, entity, flags in live
                            for value in (row, column[entity], flags)), dtype=np.int64)
        return ids, dates, titles, data.reshape(-1, 3)

    # one row per (event, entity), flags as context_rows gives them
    _CONTEXT_ROWS = ("SELECT event_id, entity, MAX(in_text) + 2 * MAX(in_story) "
                     "FROM event_entities")

    def changed_contexts(self, since: int
                         ) -> tuple[list[str], list[bool], list[int], list[str], np.ndarray]:
        """The events changed after the change counter `since`, live or not: ids, whether
        live, ordinal dates, and their contexts as in context_rows (indexes into these ids
        and titles). Only these events are read: what an incremental `relate` needs."""
        ids: list[str] = []
        live: list[bool] = []
        dates: list[int] = []
        for event_id, day, removed in sorted(tuple(row) for row in self.conn.execute(
            "SELECT id, date, removed FROM events WHERE change_seq > ?", (since,))):
            ids.append(event_id)
            live.append(not removed)
            dates.append(date.fromisoformat(day).toordinal())
        index = {event_id: n for n, event_id in enumerate(ids)}
        column: dict[str, int] = {}
        data = [(index[event_id], column.setdefault(entity, len(column)), flags)
                for event_id, entity, flags in self.conn.execute(
                    f"{self._CONTEXT_ROWS} WHERE event_id IN (SELECT value FROM json_each(?)) "
                    "GROUP BY event_id, entity", (json.dumps(ids),))]
        return ids, live, dates, list(column), np.array(data, dtype=np.int64).reshape(-1, 3)

    def related_token(self) -> str:
        """Changes whenever a related list is written: what `relate` keeps beside the
        archive is valid only for the lists as they were when it was kept."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'related_token'").fetchone()
        return row[0] if row else ""

    def replace_related(self, lists: Iterable[tuple[str, str]]) -> int:
        """Store every event's related list (as JSON); only lists that changed are written.
        The list of an event not given (a removed one) is emptied, not deleted: a change
        like any other, so a build takes it off the event's page. (A removed event without
        a list gets an empty one too: its list was deleted unrecorded before, and its page
        may still show it.) Only the list of an event merged into another (no page) goes.
        Returns how many changed."""
        current = dict(self.conn.execute("SELECT event_id, items FROM related").fetchall())
        seen = set()
        changed = []
        for event_id, encoded in lists:
            seen.add(event_id)
            if current.get(event_id) != encoded:
                changed.append((event_id, encoded))
        events = {row[0] for row in self.conn.execute("SELECT id FROM events")}
        changed += [(event_id, "[]") for event_id in sorted(events - seen)
                    if current.get(event_id) != "[]"]
        gone = sorted(current.keys() - events)
        self._write_related(changed, gone, current)
        return len(changed) + len(gone)

    def update_related(self, lists: Iterable[tuple[str, str]]) -> int:
        """Store these events' related lists (as JSON), every other list left as it is;
        only lists that changed are written. Returns how many changed."""
        lists = list(lists)
        current = dict(self.conn.execute(
            "SELECT event_id, items FROM related "
            "WHERE event_id IN (SELECT value FROM json_each(?))",
            (json.dumps([event_id for event_id, _ in lists]),)).fetchall())
        changed = [(event_id, items) for event_id, items in lists
                   if current.get(event_id) != items]
        self._write_related(changed, [], current)
        return len(changed)

    def _write_related(self, changed: list[tuple[str, str]], gone: list[str],
                       before: dict[str, str]) -> None:
        if changed:
            seq = self.meta_int("related_seq") + 1
            self._set_meta("related_seq", seq)
            self.conn.executemany(
                "INSERT OR REPLACE INTO related (event_id, items, change_seq) VALUES (?, ?, ?)",
                [(event_id, items, seq) for event_id, items in changed],
            )
        self.conn.executemany("DELETE FROM related WHERE event_id = ?", [(e,) for e in gone])
        if changed or gone:
            self._set_meta("related_token", uuid.uuid4().hex)
        self._index_shown([event_id for event_id, _ in changed], gone, before)

    def _index_shown(self, changed: list[str], gone: list[str], before: dict[str, str]) -> None:
        """Keep `related_shown` (who shows whom) in step with the lists just written: the
        pairs of their lists as they were go (found by key, not by a scan of the table),
        the pairs of the new ones come in."""
        pairs, unreadable = [], []
        for event_id in changed + gone:
            try:
                pairs += [(item["id"], event_id) for item in json.loads(before.get(event_id)
                                                                        or "[]")]
            except (ValueError, TypeError, KeyError):  # a list broken by hand: a scan finds it
                unreadable.append((event_id,))
        self.conn.executemany(
            "DELETE FROM related_shown WHERE shown_id = ? AND event_id = ?", pairs)
        self.conn.executemany("DELETE FROM related_shown WHERE event_id = ?", unreadable)
        self.conn.execute(
            "INSERT OR IGNORE INTO related_shown (shown_id, event_id) "
            "SELECT json_extract(j.value, '$.id'), r.event_id FROM related r, json_each(r.items) j "
            "WHERE r.event_id IN (SELECT value FROM json_each(?))", (json.dumps(changed),))

    @staticmethod
    def _related(raw: str | None) -> list[Related]:
        return [Related(i["id"], i["score"], tuple(i["shared"])) for i in json.loads(raw or "[]")]

    def related(self, event_id: str) -> list[Related]:
        row = self.conn.execute(
            "SELECT items FROM related WHERE event_id = ?", (event_id,)
        ).fetchone()
        return self._related(row[0] if row else None)

    def iter_related(self) -> Iterator[tuple[str, list[Related]]]:
        """Every live event's related list, in portal order (empty lists included)."""
        cursor = self.conn.execute(
            "SELECT e.id, r.items FROM events e LEFT JOIN related r ON r.event_id = e.id "
            "WHERE e.removed = 0 ORDER BY e.date, e.position, e.id"
        )
        for event_id, items in cursor:
            yield event_id, self._related(items)

    # -- publishing --------------------------------------------------------------------------

    def event_slugs(self, event_ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """Event id -> (date, slug) of its current path (of every event, or of these)."""
        sql = "SELECT event_id, date, slug FROM event_slugs WHERE current = 1"
        if event_ids is None:
            rows = self.conn.execute(sql)
        else:
            rows = self.conn.execute(sql + " AND event_id IN (SELECT value FROM json_each(?))",
                                     (json.dumps(list(event_ids)),))
        return {row[0]: (row[1], row[2]) for row in rows}

    def old_event_paths(self, days: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        """(date, slug, event id) of paths an event was published at before."""
        sql = "SELECT date, slug, event_id FROM event_slugs WHERE current = 0"
        if days is None:
            return [tuple(row) for row in self.conn.execute(sql + " ORDER BY date, slug")]
        days = list(days)
        marks = ",".join("?" * len(days))
        return [tuple(row) for row in self.conn.execute(
            f"{sql} AND date IN ({marks}) ORDER BY date, slug", days)]

    def assign_event_slugs(self, day: date, make_slug: Callable[[str, Container[str]], str],
                           slugify: Callable[..., str]) -> set[str]:
        """Give the day's events their paths: an event keeps its slug while its wording
        still yields it; a reworded (or moved) event gets a new one and its old path is
        kept as a redirect. A slug once used on a day is never given to another event.
        Returns the ids whose path changed."""
        iso = day.isoformat()
        used = {row[0]: row[1] for row in self.conn.execute(
            "SELECT slug, event_id FROM event_slugs WHERE date = ?", (iso,))}
        current = {row[0]: row[1] for row in self.conn.execute(
            "SELECT event_id, slug FROM event_slugs WHERE date = ? AND current = 1", (iso,))}
        taken = set(used) | {"index"}  # the day page's own name
        changed: set[str] = set()
        def fits(slug: str, text: str) -> bool:
            """The slug this wording gives, alone or with the suffix it needed that day."""
            if slug == slugify(text):
                return True
            base, _, number = slug.rpartition("-")
            return number.isdigit() and base == slugify(text, MAX_SLUG - len(number) - 1)

        for event_id, text in self.conn.execute(
            "SELECT id, text FROM events WHERE date = ? ORDER BY position, id", (iso,)
        ).fetchall():
            mine = current.get(event_id)
            if mine and fits(mine, text):
                continue
            # A path this event had before on this day comes back when its wording does.
            again = next((slug for slug, owner in used.items()
                          if owner == event_id and fits(slug, text)), None)
            slug = again or make_slug(text, taken)
            taken.add(slug)
            self.conn.execute("UPDATE event_slugs SET current = 0 WHERE event_id = ?",
                              (event_id,))
            self.conn.execute(
                "INSERT INTO event_slugs (date, slug, event_id, current) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (date, slug) DO UPDATE SET current = 1",
                (iso, slug, event_id),
            )
            changed.add(event_id)
        return changed

    def story_slugs(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Story heading -> slug (of every story, or of these)."""
        return self._slugs("stories", titles)

    def _slugs(self, table: str, titles: Iterable[str] | None) -> dict[str, str]:
        sql = f"SELECT title, slug FROM {table}"
        if titles is None:
            return dict(self.conn.execute(sql).fetchall())
        return dict(self.conn.execute(f"{sql} WHERE title IN (SELECT value FROM json_each(?))",
                                      (json.dumps(list(titles)),)).fetchall())

    def assign_story_slugs(self, make_slug: Callable[[str, Container[str]], str],
                           event_ids: Iterable[str] | None = None) -> int:
        """Slugs for story headings that have none yet (under any event, or under these);
        existing slugs never change."""
        taken = _TakenSlugs(self.conn, "stories")
        rows = []
        sql = ("SELECT DISTINCT json_extract(s.value, '$.text') "
               "FROM events e, json_each(e.stories) s")
        params: tuple[str, ...] = ()
        if event_ids is not None:
            sql += " WHERE e.id IN (SELECT value FROM json_each(?))"
            params = (json.dumps(list(event_ids)),)
        titles = [title for (title,) in self.conn.execute(sql, params).fetchall() if title]
        known = self.story_slugs(titles)
        for title in titles:
            if title not in known:
                slug = make_slug(title, taken)
                taken.add(slug)
                rows.append((title, slug))
        self.conn.executemany("INSERT INTO stories (title, slug) VALUES (?, ?)", rows)
        return len(rows)

    def events_with_story(self, title: str) -> list[tuple[str, str, int]]:
        """(id, date, position) of the events under a story heading (removed ones too:
        their pages stay), newest first."""
        return self.story_members([title]).get(title, [])

    def story_members(self, titles: Iterable[str] | None = None
                      ) -> dict[str, list[tuple[str, str, int]]]:
        """Story heading -> its events (as events_with_story), for many stories in one
        pass over the events (a query per story would read every event each time)."""
        wanted = None if titles is None else set(titles)
        sql = ("SELECT DISTINCT json_extract(s.value, '$.text'), e.id, e.date, e.position "
               "FROM events e, json_each(e.stories) s ")
        params: list[str] = []
        if wanted is not None and len(wanted) <= 20:
            # A few stories (an incremental build): only events whose stored headings hold
            # one of the titles as a JSON string are opened, not every event's headings.
            sql += "WHERE " + " OR ".join("instr(e.stories, ?) > 0" for _ in wanted) + " "
            params = [json.dumps(title, ensure_ascii=False) for title in wanted]
        members: dict[str, list[tuple[str, str, int]]] = {}
        for story, event_id, day, position in self.conn.execute(
            sql + "ORDER BY e.date DESC, e.position DESC, e.id DESC", params
        ):
            if wanted is None or story in wanted:
                members.setdefault(story, []).append((event_id, day, position))
        return members

    def events_with_entity(self, title: str) -> list[tuple[str, str]]:
        """(id, date) of the events whose context holds an entity (removed ones too),
        newest first."""
        return [tuple(row) for row in self.conn.execute(
            "SELECT DISTINCT e.id, e.date, e.position FROM event_entities x "
            "JOIN events e ON e.id = x.event_id WHERE x.entity = ? "
            "ORDER BY e.date DESC, e.position DESC, e.id DESC", (title,))]

    def entity_headlines(self, title: str) -> tuple[set[str], list[list[Story]]]:
        """The events a subject heads (its link is in their story headings), and those
        events' chains of headings (to find its sub-stories)."""
        rows = self.conn.execute(
            "SELECT DISTINCT e.id, e.stories FROM event_entities x JOIN events e "
            "ON e.id = x.event_id WHERE x.entity = ? AND x.in_story = 1", (title,)).fetchall()
        return {row[0] for row in rows}, [_stories(row[1]) for row in rows]

    def story_headings(self, event_ids: Iterable[str]) -> list[list[Story]]:
        """The chains of story headings of these events (outermost first)."""
        return [_stories(row[0]) for row in self.conn.execute(
            "SELECT stories FROM events WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(event_ids)),))]

    def canonical_titles(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Title -> the title it stands for, for the titles the archive knows (of these)."""
        sql = "SELECT title, canonical FROM titles"
        if titles is None:
            return dict(self.conn.execute(sql).fetchall())
        return dict(self.conn.execute(f"{sql} WHERE title IN (SELECT value FROM json_each(?))",
                                      (json.dumps(list(titles)),)).fetchall())

    @staticmethod
    def _under(headings: Iterable[str] | None) -> str:
        """The events to read for these story headings: only those under one of them
        (event_stories, indexed), not every event's headings (a scan of the archive)."""
        if headings is None:
            return "events e"
        return ("(SELECT DISTINCT event_id FROM event_stories WHERE title IN "
                "(SELECT value FROM json_each(:h))) x JOIN events e ON e.id = x.event_id")

    def plain_headings(self, headings: Iterable[str] | None = None) -> dict[str, int]:
        """Story headings written, on some event, as other than one link (their story has
        a page of its own): heading -> 1."""
        sql = ("SELECT DISTINCT json_extract(s.value, '$.text') AS heading "
               f"FROM {self._under(headings)}, json_each(e.stories) s "
               "WHERE NOT (json_array_length(s.value, '$.links') = 1 AND "
               "json_extract(s.value, '$.links[0].label') = json_extract(s.value, '$.text'))")
        params: dict[str, str] = {}
        if headings is not None:
            sql += " AND heading IN (SELECT value FROM json_each(:h))"
            params = {"h": json.dumps(list(headings))}
        return {row[0]: 1 for row in self.conn.execute(sql, params)}

    def moved_entities(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Entity title -> the title it now stands for, for entities whose title became a
        redirect or a folded spelling of another (of every entity, or of these)."""
        sql = ("SELECT n.title, t.canonical FROM entities n JOIN titles t ON t.title = n.title "
               "WHERE t.canonical != n.title")
        if titles is None:
            return dict(self.conn.execute(sql).fetchall())
        return dict(self.conn.execute(f"{sql} AND n.title IN (SELECT value FROM json_each(?))",
                                      (json.dumps(list(titles)),)).fetchall())

    def story_subjects(self, headings: Iterable[str] | None = None) -> dict[str, str]:
        """Story heading -> the subject (canonical entity) it is, for headings that are one
        link and nothing else ("[[Syrian Civil War]]"): their page is the subject's. Where
        a heading was linked to different titles, its newest event's link counts."""
        sql = ("SELECT json_extract(s.value, '$.text') AS heading, "
               "COALESCE(t.canonical, json_extract(s.value, '$.links[0].target')) "
               f"FROM {self._under(headings)}, json_each(e.stories) s LEFT JOIN titles t "
               "ON t.title = json_extract(s.value, '$.links[0].target') "
               "WHERE json_array_length(s.value, '$.links') = 1 "
               "AND json_extract(s.value, '$.links[0].label') = json_extract(s.value, '$.text') ")
        params: dict[str, str] = {}
        if headings is not None:
            sql += "AND heading IN (SELECT value FROM json_each(:h)) "
            params = {"h": json.dumps(list(headings))}
        found: dict[str, str] = {}
        for heading, subject in self.conn.execute(
                sql + "ORDER BY e.date, e.position", params):
            found[heading] = subject  # the newest last
        return found

    def entities_newest_event(self) -> list[tuple[str, str, int]]:
        """(entity, date, position) of every entity's newest event (removed ones too), newest
        first: a full build plans the pages listing the same events together."""
        return [(entity, newest[:10], int(newest[10:])) for entity, newest in self.conn.execute(
            "SELECT x.entity, MAX(e.date || printf('%06d', e.position)) AS newest "
            "FROM event_entities x JOIN events e ON e.id = x.event_id "
            "GROUP BY x.entity ORDER BY newest DESC, x.entity")]

    def entity_event_counts(self, titles: Iterable[str] | None = None) -> dict[str, int]:
        """Entity -> how many events (removed ones too) have it in their context (every
        entity, or these)."""
        sql = "SELECT entity, COUNT(DISTINCT event_id) FROM event_entities "
        if titles is None:
            return dict(self.conn.execute(sql + "GROUP BY entity"))
        return dict(self.conn.execute(
            sql + "WHERE entity IN (SELECT value FROM json_each(?)) GROUP BY entity",
            (json.dumps(list(titles)),)))

    def changed_events(self, since: int) -> list[str]:
        return [row[0] for row in self.conn.execute(
            "SELECT id FROM events WHERE change_seq > ?", (since,))]

    def changed_related(self, since: int) -> list[str]:
        return [row[0] for row in self.conn.execute(
            "SELECT event_id FROM related WHERE change_seq > ?", (since,))]

    def related_mentioning(self, event_ids: Iterable[str]) -> set[str]:
        """Events whose related list shows one of these events (its title is on them)."""
        return {row[0] for row in self.conn.execute(
            "SELECT DISTINCT event_id FROM related_shown "
            "WHERE shown_id IN (SELECT value FROM json_each(?))", (json.dumps(list(event_ids)),))}

    def slug_dates(self, event_ids: Iterable[str]) -> set[str]:
        """Every day an event was ever published under (moves leave the old day behind)."""
        ids = list(event_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found |= {row[0] for row in self.conn.execute(
                f"SELECT DISTINCT date FROM event_slugs WHERE event_id IN ({marks})", chunk)}
        return found

    def articles_since(self, stamp: str) -> list[str]:
        """Source URLs whose article was (re-)extracted, or its cover picture kept, at or
        after a time (a build's start: times have whole seconds, and what was written in
        the second a build started may have come after it read the archive)."""
        return [row[0] for row in self.conn.execute(
            "SELECT url FROM articles WHERE extracted_at >= ? UNION "
            "SELECT a.url FROM images i JOIN articles a ON a.og_image = i.url "
            "WHERE i.fetched_at >= ? AND i.copy_sha256 IS NOT NULL", (stamp, stamp))]

    def events_citing(self, source_urls: Iterable[str]) -> set[str]:
        urls = list(source_urls)
        found: set[str] = set()
        for start in range(0, len(urls), 200):
            chunk = urls[start : start + 200]
            marks = ",".join("?" * len(chunk))
            found |= {row[0] for row in self.conn.execute(
                "SELECT DISTINCT e.id FROM events e, json_each(e.sources) j "
                f"WHERE json_extract(j.value, '$.url') IN ({marks})", chunk)}
        return found

    def cited_sources(self, urls: Iterable[str] | None = None
                      ) -> dict[str, list[tuple[str, str, str]]]:
        """Fetched source URL -> [(event id, event text, outlet)] citing it (of every
        source, or of these)."""
        result: dict[str, list[tuple[str, str, str]]] = {}
        where, params = "", ()
        if urls is not None:
            where = "WHERE a.url IN (SELECT value FROM json_each(?)) "
            params = (json.dumps(list(urls)),)
        for url, event_id, text, name in self.conn.execute(
            "SELECT json_extract(j.value, '$.url'), e.id, e.text, json_extract(j.value, '$.name') "
            "FROM events e, json_each(e.sources) j JOIN articles a "
            f"ON a.url = json_extract(j.value, '$.url') {where}ORDER BY e.date, e.position",
            params,
        ):
            result.setdefault(url, []).append((event_id, text, name))
        return result

    def cooccurring(self, event_ids: list[str], exclude: str, limit: int) -> list[tuple[str, int]]:
        """The entities most often found with these events (besides `exclude`)."""
        rows = self.conn.execute(
            "SELECT x.entity, COUNT(DISTINCT x.event_id) AS n FROM event_entities x "
            "WHERE x.event_id IN (SELECT value FROM json_each(?)) AND x.entity != ? "
            "GROUP BY x.entity ORDER BY n DESC, x.entity LIMIT ?",
            (json.dumps(event_ids), exclude, limit)).fetchall()
        return [(row[0], row[1]) for row in rows]

    def entity_slugs(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Entity title -> slug (of every entity, or of these)."""
        return self._slugs("entities", titles)

    # -- the live server: what a path names (slugs and hashes are UNIQUE, so indexed) ------

    def event_at(self, day: str, slug: str) -> tuple[str, bool] | None:
        """(event id, whether it is the event's current path) of a day's slug."""
        row = self.conn.execute("SELECT event_id, current FROM event_slugs "
                                "WHERE date = ? AND slug = ?", (day, slug)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def titled(self, table: str, slug: str) -> str | None:
        """The story heading (`stories`) or entity title (`entities`) with this slug."""
        if table not in ("stories", "entities"):
            raise ValueError(table)
        row = self.conn.execute(f"SELECT title FROM {table} WHERE slug = ?", (slug,)).fetchone()
        return row[0] if row else None

    def source_url(self, hash_: str) -> str | None:
        row = self.conn.execute("SELECT url FROM sources WHERE hash = ?", (hash_,)).fetchone()
        return row[0] if row else None

    def unpublished_event(self) -> str | None:
        """An event without a current path (ingested since the last build), if any."""
        row = self.conn.execute(
            "SELECT id FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_slugs s "
            "WHERE s.event_id = e.id AND s.current = 1) LIMIT 1").fetchone()
        return row[0] if row else None

    def state_marks(self) -> tuple:
        """What tells one state of the archive from another, cheaply: every counter in
        meta, how many paths, stories and entities there are, and the newest writes."""
        marks: list[object] = sorted(tuple(row) for row in self.conn.execute(
            "SELECT key, value FROM meta"))
        for sql in ("SELECT COUNT(*), SUM(current) FROM event_slugs",
                    "SELECT (SELECT COUNT(*) FROM stories), (SELECT COUNT(*) FROM entities)"):
            marks.append(tuple(self.conn.execute(sql).fetchone()))
        return (*marks, self.newest_writes())

    def newest_writes(self) -> tuple[str | None, ...]:
        """The time (ISO 8601, UTC) of the newest ingest, resolve, fetch, extraction and
        cover picture fetch."""
        return tuple(self.conn.execute(
            "SELECT (SELECT MAX(ingested_at) FROM revisions), "
            "(SELECT MAX(resolved_at) FROM titles), (SELECT MAX(fetched_at) FROM sources), "
            "(SELECT MAX(extracted_at) FROM articles), "
            "(SELECT MAX(fetched_at) FROM images)").fetchone())

    def source_articles(self, urls: Iterable[str]) -> dict[str, sqlite3.Row]:
        """Source URL -> its fetch record joined with its article (if any)."""
        urls = list(dict.fromkeys(urls))
        if not urls:
            return {}
        marks = ",".join("?" * len(urls))
        rows = self.conn.execute(
            f"SELECT s.url, s.hash, s.status AS fetch_status, s.fetched_at, s.final_url, "
            f"s.archived_from, a.og_title, a.og_description, a.og_image, a.og_site_name, "
            f"a.og_published, a.title, a.subtitle, a.author, a.published, a.text, "
            f"a.status AS article_status FROM sources s LEFT JOIN articles a ON a.url = s.url "
            f"WHERE s.url IN ({marks})", urls).fetchall()
        return {row["url"]: row for row in rows}

    def source_media(self, urls: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """Source URL -> its article's (Open Graph description, image), for the sources
        that have an article: what event listings show, without the article's text."""
        return {row[0]: (row[1], row[2]) for row in self.conn.execute(
            "SELECT url, og_description, og_image FROM articles "
            "WHERE url IN (SELECT value FROM json_each(?))", (json.dumps(list(urls)),))}

    def day_counts(self) -> list[tuple[str, int]]:
        """(date, live events) of every day with events, oldest first."""
        return [tuple(row) for row in self.conn.execute(
            "SELECT date, SUM(removed = 0) FROM events GROUP BY date ORDER BY date")]
