"""Ingest: merge revisions of day pages into the archive, keeping every event's identity.

For each revision: keep its raw text, parse it, match its events with the day's events,
record rewordings as versions, mark vanished events removed (never delete them). One
transaction per revision, so a killed run loses at most the revision it was on.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from . import matching
from .model import ArchivedEvent, Event, PageRevision, ParsedDay, ParseWarning
from .portal.html import parse_html
from .portal.wikitext import parse_wikitext
from .store import DayRow, RevisionRow, Store

log = logging.getLogger("newscontext.ingest")

# How far (in days) an event may move between day pages and keep its identity.
MOVE_WINDOW = 7
# A revision is suspect when it would remove at least this many of a day's events and at
# least half of them (a blanking or a truncation; real edits remove one or two at a time).
HOLD_MIN_REMOVED = 3


def utc_now() -> str:
    """The time, as the archive writes it. NEWSCONTEXT_NOW (ISO 8601, UTC) fixes it, for
    replaying a month of the wiki in tests and for reproducing a run."""
    fixed = os.environ.get("NEWSCONTEXT_NOW")
    if fixed:
        return _parse_time(fixed).strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def hours_between(first: str, last: str) -> float:
    return (_parse_time(last) - _parse_time(first)).total_seconds() / 3600


def _newer(rev: PageRevision, day: DayRow | None) -> bool:
    """Is `rev` newer than the day's newest revision seen? By revision id, else by time;
    with nothing to compare (files), the later input is the newer one."""
    if day is None:
        return True
    if rev.revid is not None and day.latest_revid is not None:
        return rev.revid > day.latest_revid
    if rev.timestamp and day.latest_timestamp:
        return rev.timestamp > day.latest_timestamp
    return True


def _suspect(live: int, removed: int, events: int) -> str | None:
    """Why a revision looks like a blanking or a truncation, or None."""
    if live and not events:
        return f"it has no events where the day had {live}"
    if removed >= HOLD_MIN_REMOVED and 2 * removed >= live:
        return f"it would remove {removed} of the day's {live} events"
    return None


def held_line(rev: RevisionRow) -> str:
    """A held revision for people: day, revision, when, why."""
    name = f"revision {rev.revid}" if rev.revid else rev.origin
    return f"{rev.date.isoformat()} {name} ({rev.timestamp or rev.ingested_at}): {rev.held}"


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
    released: int = 0  # held revisions applied after their settle time
    superseded: int = 0  # held revisions a newer one replaced: never applied
    held: list[str] = field(default_factory=list)  # revisions still held after the run
    # events added, changed, removed and moved per day, for the site's commit messages
    per_day: dict[date, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


class Ingester:
    """Applies revisions to a store. Keep one per run: it remembers what the run created
    and removed, to recognise events that moved to another day.

    A suspect revision (one that would remove half or more of a day's events, at least
    `HOLD_MIN_REMOVED`, or leave a day with events empty: a blanking, a truncation) is
    stored and held, not applied. It is applied once it has stayed the day's newest
    revision for `hold_hours`; a newer revision in between (a revert) supersedes it, so a
    vandal's minutes never reach the site.
    """

    def __init__(self, store: Store, hold_hours: float = 24.0):
        self.store = store
        self.hold_hours = hold_hours
        self.report = IngestReport()
        self._created: set[str] = set()
        self._removed: set[str] = set()
        self._taken = store.event_ids()
        self._twins: dict[tuple[date, str], int] = {}  # next counter of repeated sentences

    def add(self, rev: PageRevision) -> None:
        """Ingest one revision; a parse or storage failure is reported, not raised."""
        place = f"{rev.date.isoformat()} ({rev.origin})"
        sha = hashlib.sha256(rev.text.encode("utf-8")).hexdigest()
        existing = self.store.find_revision(rev.date, sha)
        day = self.store.day(rev.date)
        if existing is not None:
            self._learn_ids(existing, rev, day)
            if (day is not None and existing.id == day.latest_id) or not _newer(rev, day):
                self.report.unchanged += 1  # the same text again, or an old one
                return
            if day is not None and existing.id == day.revision_id:
                with self.store.transaction():
                    self.store.set_latest(rev.date, existing.id, rev.revid, rev.timestamp)
                self.report.unchanged += 1  # back to the applied text: a hold is superseded
                return
            # else an edit undone: the earlier text is back, and is applied again
        try:
            parsed = parse_revision(rev)
        except Exception as exc:  # a parser bug must not lose the other days
            self._error(place, f"could not parse: {exc!r}")
            return
        newer = existing is not None or _newer(rev, day)
        if not newer:
            log.info("%s: older than the revision in the archive; kept, not applied", place)
        self._store(rev, sha, parsed, existing.id if existing else None, place, apply=newer)
        if not newer:
            self.report.older += 1

    def error(self, place: str, message: str) -> None:
        """Record an input that could not be read at all (a broken file, a failed request)."""
        self._error(place, message)

    def finish(self) -> IngestReport:
        """Settle held revisions, recognise events that moved between days during this run,
        then report."""
        self._settle_holds()
        if self._created or self._removed:
            with self.store.transaction():
                self._link_moves()
        self.report.held = [held_line(r) for r in self.store.held_revisions()]
        return self.report

    # -- internals -------------------------------------------------------------------------

    def _error(self, place: str, message: str) -> None:
        log.error("%s: %s", place, message)
        self.report.errors.append(f"{place}: {message}")
        with self.store.transaction():
            self.store.add_error(place, message, utc_now())

    def _learn_ids(self, existing: RevisionRow, rev: PageRevision, day: DayRow | None) -> None:
        """The same text, now with its revision id: remember it, so the API can tell next
        time that the day has not changed."""
        if rev.revid is None or (existing.revid is not None and not (
                day and day.revision_id == existing.id and day.revid is None)):
            return
        with self.store.transaction():
            self.store.fill_revision_ids(existing.id, rev.revid, rev.timestamp)
            if day and day.revision_id == existing.id:
                self.store.set_day(RevisionRow(existing.id, rev.date, rev.revid, rev.timestamp,
                                               rev.format, rev.origin, existing.sha256,
                                               existing.ingested_at, True), utc_now())

    def _store(self, rev: PageRevision, sha: str, parsed: ParsedDay,
               revision_id: int | None, place: str, *, apply: bool = True) -> None:
        """Keep the revision (new, or known: `revision_id`), then apply or hold it (it is
        the day's newest now), in one transaction."""
        now = utc_now()
        try:
            with self.store.transaction():
                if revision_id is None:
                    revision_id = self.store.add_revision(rev, sha, now)
                self.store.replace_warnings(revision_id, parsed.warnings)
                if not apply:
                    return
                # The wiki's id and time of this input, even when its text is stored already
                row = RevisionRow(revision_id, rev.date, rev.revid, rev.timestamp, rev.format,
                                  rev.origin, "", now, False)
                if self.store.day(rev.date) is not None:
                    self.store.set_latest(rev.date, revision_id, rev.revid, rev.timestamp)
                if self._apply(row, parsed, now, hold=True):
                    self.report.revisions += 1
                    self.report.days.add(rev.date)
                    self.report.warnings += parsed.warnings
        except Exception as exc:
            self._error(place, f"could not store: {exc!r}")

    def _settle_holds(self) -> None:
        """Apply held revisions that stayed the day's newest for the settle time; drop
        those a newer revision superseded."""
        now = utc_now()
        for held in self.store.held_revisions():
            day = self.store.day(held.date)
            place = f"{held.date.isoformat()} ({held.origin})"
            if day is None or day.latest_id != held.id:
                with self.store.transaction():
                    self.store.end_hold(held.id, "superseded")
                log.info("%s: held revision superseded by a newer one; never applied", place)
                self.report.superseded += 1
                continue
            since = held.timestamp or held.ingested_at
            if hours_between(since, now) < self.hold_hours:
                continue
            try:
                parsed = parse_revision(PageRevision(
                    held.date, self.store.revision_text(held.id), held.format, held.origin,
                    held.revid, held.timestamp))
                with self.store.transaction():
                    self._apply(held, parsed, now, hold=False)
                    self.store.end_hold(held.id, "released")
            except Exception as exc:
                self._error(place, f"could not apply the held revision: {exc!r}")
                continue
            log.warning("%s: held revision applied: it stayed the newest for %g hours",
                        place, self.hold_hours)
            self.report.released += 1
            self.report.revisions += 1
            self.report.days.add(held.date)

    def _apply(self, rev: RevisionRow, parsed: ParsedDay, now: str, *, hold: bool) -> bool:
        """Merge a revision's events into the day's; with `hold`, hold a suspect revision
        instead (returns False then). Versions, first-seen and removal times are the
        revision's own: unknown (None) for an input without one, never the time of ingest."""
        store = self.store
        at = rev.timestamp
        old = store.events_of_day(rev.date)
        # Events on the page now come first, so a removed twin never wins over a live one.
        old.sort(key=lambda a: (a.removed, a.position))
        pairs = matching.match([a.event for a in old], parsed.events)
        if hold:
            live = sum(1 for a in old if not a.removed)
            kept = sum(1 for i in pairs.values() if not old[i].removed)
            reason = _suspect(live, live - kept, len(parsed.events))
            if reason:
                store.hold(rev.id, reason)
                log.warning("%s: revision %s held: %s", rev.date, rev.revid or rev.origin,
                            reason)
                return False
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
                    self.report.per_day[rev.date]["changed"] += 1
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
            self.report.per_day[rev.date]["added"] += 1
        kept_ids = {old[i].id for i in pairs.values()}
        for archived in old:
            if archived.id not in kept_ids and not archived.removed:
                store.mark_removed(archived.id, at, change)
                self._removed.add(archived.id)
                self.report.removed += 1
                self.report.per_day[rev.date]["removed"] += 1
        store.set_day(rev, now)
        store.mark_applied(rev.id)
        return True

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
