"""The store's side of the portal's pages as read: revisions (raw, compressed, held or
applied), the days they make, re-deriving events from them (repair.py) and what reading
them warned of or failed at.

A mixin of `Store` (it uses `self.conn`, and the change counter and meta of `Store`
itself): kept apart from the events so that what ingest and repair keep of their input
reads in one place.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from ..model import Event, PageRevision, ParseWarning
from .rows import (
    _FIRST_SEEN,
    _links,
    _links_json,
    _sources,
    _sources_json,
    _stories,
    _stories_json,
)


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


class RevisionsStore:
    """Revisions, days, repair's reads and writes, warnings and errors."""

    conn: sqlite3.Connection
    next_change: Callable[[], int]  # Store's (store/__init__.py)
    _set_meta: Callable[[str, object], None]  # Store's

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
