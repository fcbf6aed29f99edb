"""The SQLite store: the only code that reads or writes SQL.

Everything a stage writes for one input happens in one transaction, so a run killed at any
moment leaves the archive as it was before that input, and the next run redoes it.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..model import (
    ArchivedEvent,
    Event,
    EventVersion,
    Link,
    PageRevision,
    ParseWarning,
    Source,
    Story,
)
from .schema import migrate


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


@dataclass(frozen=True, slots=True)
class DayRow:
    date: date
    revision_id: int
    revid: int | None
    timestamp: str | None


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


class Store:
    """One archive file. Open it, use it, close it (or use it as a context manager)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), isolation_level=None, timeout=60)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        migrate(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commits on success, rolls back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
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

    def find_revid(self, revid: int) -> RevisionRow | None:
        row = self.conn.execute("SELECT * FROM revisions WHERE revid = ?", (revid,)).fetchone()
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
        """Learn a revision's id and time from a later input that carries them."""
        self.conn.execute(
            "UPDATE revisions SET revid = COALESCE(revid, ?), timestamp = COALESCE(timestamp, ?) "
            "WHERE id = ?",
            (revid, timestamp, revision_id),
        )

    def mark_applied(self, revision_id: int) -> None:
        self.conn.execute("UPDATE revisions SET applied = 1 WHERE id = ?", (revision_id,))

    def revision_text(self, revision_id: int) -> str:
        row = self.conn.execute(
            "SELECT content FROM revisions WHERE id = ?", (revision_id,)
        ).fetchone()
        return zlib.decompress(row["content"]).decode("utf-8")

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
        )

    # -- days ------------------------------------------------------------------------------

    def day(self, day: date) -> DayRow | None:
        row = self.conn.execute(
            "SELECT * FROM days WHERE date = ?", (day.isoformat(),)
        ).fetchone()
        if not row:
            return None
        return DayRow(date.fromisoformat(row["date"]), row["revision_id"], row["revid"],
                      row["timestamp"])

    def set_day(self, rev: RevisionRow, now: str) -> None:
        self.conn.execute(
            "INSERT INTO days (date, revision_id, revid, timestamp, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (date) DO UPDATE SET "
            "revision_id = excluded.revision_id, revid = excluded.revid, "
            "timestamp = excluded.timestamp, updated_at = excluded.updated_at",
            (rev.date.isoformat(), rev.id, rev.revid, rev.timestamp, now),
        )

    def known_revids(self, first: date, last: date) -> dict[date, int]:
        """Current revision id of each day in a range, for fetching only what changed."""
        rows = self.conn.execute(
            "SELECT date, revid FROM days WHERE date BETWEEN ? AND ? AND revid IS NOT NULL",
            (first.isoformat(), last.isoformat()),
        ).fetchall()
        return {date.fromisoformat(row["date"]): row["revid"] for row in rows}

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

    def event_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM events")}

    def insert_event(self, archived: ArchivedEvent, revision_id: int, change: int) -> None:
        event = archived.event
        self.conn.execute(
            "INSERT INTO events (id, date, position, category, stories, text, links, sources, "
            "removed, first_seen, revision_id, change_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
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

    def mark_removed(self, event_id: str, at: str, change: int) -> None:
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
        The kept event takes the dropped one's state; its versions follow its own."""
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
            "revision_id = ?, change_seq = ? WHERE id = ?",
            (row["date"], row["position"], row["category"], row["stories"], row["text"],
             row["links"], row["sources"], row["revision_id"], row["change_seq"], keep_id),
        )
        self.conn.execute("DELETE FROM events WHERE id = ?", (drop_id,))

    def add_version(self, event_id: str, event: Event, revision: RevisionRow, at: str) -> None:
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

    def versions(self, event_id: str) -> list[EventVersion]:
        rows = self.conn.execute(
            "SELECT * FROM event_versions WHERE event_id = ? ORDER BY seq", (event_id,)
        ).fetchall()
        return [
            EventVersion(
                seq=row["seq"], revid=row["revid"], timestamp=row["timestamp"], text=row["text"],
                category=row["category"],
                stories=tuple(story.text for story in _stories(row["stories"])),
                sources=tuple(_sources(row["sources"])),
            )
            for row in rows
        ]

    def iter_events(self) -> Iterator[ArchivedEvent]:
        """Every event, removed ones included, in portal order (date, then position)."""
        cursor = self.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY date, position, id"
        )
        for row in cursor:
            yield _event_from_row(row)

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
