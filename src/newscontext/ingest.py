"""Ingest: merge revisions of day pages into the archive, keeping every event's identity.

For each revision: keep its raw text, parse it, match its events with the day's events,
record rewordings as versions, mark vanished events removed (never delete them). One
transaction per revision, so a killed run loses at most the revision it was on.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from . import matching
from .model import ArchivedEvent, Event, PageRevision, ParsedDay, ParseWarning
from .portal.html import parse_html
from .portal.wikitext import parse_wikitext
from .store import RevisionRow, Store

log = logging.getLogger("newscontext.ingest")

# How far (in days) an event may move between day pages and keep its identity.
MOVE_WINDOW = 7


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_revision(rev: PageRevision) -> ParsedDay:
    if rev.format == "html":
        return parse_html(rev.date, rev.text)
    return parse_wikitext(rev.date, rev.text)


def event_id(day: date, text: str, taken: set[str], start: int = 0) -> tuple[str, int]:
    """A new event's id: derived from its first wording, so a fresh archive built from the
    same revisions gets the same ids; a counter separates identical sentences. Returns the
    id and its counter: a caller that remembers it starts the next twin there (counters
    below it are taken), so a day of many identical lines is not quadratic."""
    n = start
    while True:
        seed = f"{day.isoformat()}\n{text}\n{n}" if n else f"{day.isoformat()}\n{text}"
        ident = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]
        if ident not in taken:
            return ident, n
        n += 1


def _material(event: Event) -> tuple:
    """What a reader sees change: a difference here is a new version."""
    return (
        event.text,
        event.category,
        tuple(story.text for story in event.stories),
        tuple(event.sources),
        tuple(event.links),
        event.date,
    )


@dataclass
class IngestReport:
    """What one ingest run did, for the CLI to print."""

    revisions: int = 0
    unchanged: int = 0
    older: int = 0
    days: set[date] = field(default_factory=set)
    added: int = 0
    changed: int = 0
    removed: int = 0
    moved: int = 0
    missing: list[date] = field(default_factory=list)  # days the wiki has no page for
    warnings: list[ParseWarning] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    repaired: int = 0  # archived events re-derived first by newer parsers (repair.py)


class Ingester:
    """Applies revisions to a store. Keep one per run: it remembers what the run created
    and removed, to recognise events that moved to another day."""

    def __init__(self, store: Store):
        self.store = store
        self.report = IngestReport()
        self._created: set[str] = set()
        self._removed: set[str] = set()
        self._taken = store.event_ids()
        self._twins: dict[tuple[date, str], int] = {}  # next counter of repeated sentences

    def add(self, rev: PageRevision) -> None:
        """Ingest one revision; a parse or storage failure is reported, not raised."""
        sha = hashlib.sha256(rev.text.encode("utf-8")).hexdigest()
        existing = self.store.find_revision(rev.date, sha)
        if existing is not None and not self._reverted_to(existing, rev):
            current = self.store.day(rev.date)
            if rev.revid is not None and (existing.revid is None or (
                    current and current.revision_id == existing.id and current.revid is None)):
                # The same text, now with its revision id: remember it, so the API can
                # tell next time that the day has not changed.
                with self.store.transaction():
                    self.store.fill_revision_ids(existing.id, rev.revid, rev.timestamp)
                    if current and current.revision_id == existing.id:
                        self.store.set_day(RevisionRow(existing.id, rev.date, rev.revid,
                                                       rev.timestamp, rev.format, rev.origin,
                                                       sha, existing.ingested_at, True),
                                           utc_now())
            self.report.unchanged += 1
            return
        try:
            parsed = parse_revision(rev)
        except Exception as exc:  # a parser bug must not lose the other days
            self._error(f"{rev.date.isoformat()} ({rev.origin})", f"could not parse: {exc!r}")
            return
        now = utc_now()
        try:
            with self.store.transaction():
                if existing is not None:  # an edit undone: the earlier text is back
                    revision_id = existing.id
                else:
                    revision_id = self.store.add_revision(rev, sha, now)
                row = RevisionRow(revision_id, rev.date, rev.revid, rev.timestamp, rev.format,
                                  rev.origin, sha, now, False)
                self.store.replace_warnings(revision_id, parsed.warnings)
                if self._is_older(row):
                    log.info("%s: %s is older than the revision in the archive; kept, not applied",
                             rev.date, rev.origin)
                    self.report.older += 1
                    return
                self._apply(row, parsed, now)
        except Exception as exc:
            self._error(f"{rev.date.isoformat()} ({rev.origin})", f"could not store: {exc!r}")
            return
        self.report.revisions += 1
        self.report.days.add(rev.date)
        self.report.warnings += parsed.warnings

    def error(self, place: str, message: str) -> None:
        """Record an input that could not be read at all (a broken file, a failed request)."""
        self._error(place, message)

    def finish(self) -> IngestReport:
        """Recognise events that moved between days during this run, then report."""
        if self._created or self._removed:
            with self.store.transaction():
                self._link_moves()
        return self.report

    # -- internals -------------------------------------------------------------------------

    def _error(self, place: str, message: str) -> None:
        log.error("%s: %s", place, message)
        self.report.errors.append(f"{place}: {message}")
        with self.store.transaction():
            self.store.add_error(place, message, utc_now())

    def _reverted_to(self, existing: RevisionRow, rev: PageRevision) -> bool:
        """True when the day shows another text now and this revision, carrying a text the
        archive already has, is newer: an edit was undone, and the earlier text must be
        applied again."""
        current = self.store.day(rev.date)
        if current is None or current.revision_id == existing.id:
            return False
        if rev.revid is not None and current.revid is not None:
            return rev.revid > current.revid
        if rev.timestamp and current.timestamp:
            return rev.timestamp > current.timestamp
        return False  # a file seen before, given again: nothing new

    def _is_older(self, rev: RevisionRow) -> bool:
        current = self.store.day(rev.date)
        if current is None:
            return False
        if rev.revid is not None and current.revid is not None:
            return rev.revid < current.revid
        if rev.timestamp and current.timestamp:
            return rev.timestamp < current.timestamp
        return False  # nothing to compare: the later input is the newer one

    def _apply(self, rev: RevisionRow, parsed: ParsedDay, now: str) -> None:
        store = self.store
        at = rev.timestamp or now
        old = store.events_of_day(rev.date)
        # Events on the page now come first, so a removed twin never wins over a live one.
        old.sort(key=lambda a: (a.removed, a.position))
        pairs = matching.match([a.event for a in old], parsed.events)
        change = store.next_change()
        for position, event in enumerate(parsed.events):
            if position in pairs:
                archived = old[pairs[position]]
                changed = _material(archived.event) != _material(event)
                moved = archived.position != position  # a new order is published too
                revived = archived.removed
                archived.event, archived.position = event, position
                store.update_event(archived, rev.id,
                                   change if changed or moved or revived else None)
                if changed:
                    store.add_version(archived.id, event, rev, at)
                    self.report.changed += 1
                continue
            key = (rev.date, event.text)
            ident, n = event_id(rev.date, event.text, self._taken, self._twins.get(key, 0))
            self._twins[key] = n + 1
            self._taken.add(ident)
            archived = ArchivedEvent(id=ident, event=event, position=position, first_seen=at)
            store.insert_event(archived, rev.id, change)
            store.add_version(ident, event, rev, at)
            self._created.add(ident)
            self.report.added += 1
        kept = {old[i].id for i in pairs.values()}
        for archived in old:
            if archived.id not in kept and not archived.removed:
                store.mark_removed(archived.id, at, change)
                self._removed.add(archived.id)
                self.report.removed += 1
        store.set_day(rev, now)
        store.mark_applied(rev.id)

    def _link_moves(self) -> None:
        """An event removed from one day and added to a nearby day is the same event.
        Created in this run: it takes the old event's id. Created earlier (already
        published): the old event points to it instead."""
        store = self.store
        change = store.next_change()
        window = timedelta(days=MOVE_WINDOW)
        created = store.events(self._created)
        news = [created[i] for i in sorted(created) if not created[i].removed]
        if news:
            dates = [a.event.date for a in news]
            gone = [a for a in store.events_between(min(dates) - window, max(dates) + window,
                                                    removed=True) if a.moved_to is None]
            finder = matching.MoveFinder([a.event for a in gone])
            merged: set[int] = set()
            for new in news:
                found = finder.find(new.event, MOVE_WINDOW, merged)
                if found is None:
                    continue
                merged.add(found)
                old = gone[found]
                store.merge_event(old.id, new.id)
                self._created.discard(new.id)
                if old.id in self._removed:
                    self._removed.discard(old.id)
                    self.report.removed -= 1
                self.report.moved += 1
                self.report.added -= 1
        removed = store.events(self._removed)
        olds = [removed[i] for i in sorted(removed) if removed[i].removed]
        if olds:
            dates = [a.event.date for a in olds]
            live = store.events_between(min(dates) - window, max(dates) + window, removed=False)
            finder = matching.MoveFinder([a.event for a in live])
            for old in olds:
                found = finder.find(old.event, MOVE_WINDOW)
                if found is not None:
                    store.set_moved_to(old.id, live[found].id, change)
                    self.report.moved += 1
