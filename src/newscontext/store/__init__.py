"""The SQLite store: the only code that reads or writes SQL.

Everything a stage writes for one input happens in one transaction, so a run killed at any
moment leaves the archive as it was before that input, and the next run redoes it.

`Store` here holds the connection, transactions, meta and events; each other concern is a
mixin in a module named after it: revisions.py (revisions, days, repair, warnings),
entities.py (titles learnt, events' contexts), related_lists.py (related lists),
publishing.py (paths, slugs, what pages list, the live server's lookups), articles.py
(sources), titles.py (what `resolve` knows). rows.py holds what they share.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from ..model import ArchivedEvent, Event, EventVersion
from .articles import ArticlesStore
from .entities import EntitiesStore
from .fts import flush as flush_search
from .publishing import PublishingStore
from .related_lists import RelatedListsStore
from .revisions import DayRow, RevisionRow, RevisionsStore
from .rows import (
    _EVENT_COLUMNS,
    _FIRST_SEEN,
    _event_from_row,
    _links,
    _links_json,
    _sources,
    _sources_json,
    _stories,
    _stories_json,
)
from .schema import MIGRATIONS, migrate
from .titles import TitlesStore

# Callers import these from here (and store/query.py the event columns and row reader).
__all__ = ["DayRow", "RevisionRow", "Store", "StoreError"]


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


class Store(RevisionsStore, EntitiesStore, RelatedListsStore, PublishingStore,
            ArticlesStore, TitlesStore):
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
            "entity_counts": "SELECT entity, COUNT(DISTINCT event_id) AS events "
                             "FROM temp.event_entities GROUP BY entity",
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

    # -- meta: counters and settings kept in the archive -----------------------------------

    def meta_int(self, key: str) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _set_meta(self, key: str, value: object) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                          (key, str(value)))

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
