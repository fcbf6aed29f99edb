"""Repair: re-derive the archive's events from the raw revisions it keeps.

When the parsers learn to read pages better, or stop misreading them (`&region=` decoded to
"®ion=" in URLs, control characters kept in sentences), the events already ingested still
say what the old parser read. The raw text of every revision is kept, so every event state
(the event as it stands, and each of its versions) is parsed again from the revision it came
from and rewritten in place: same ids, the same versions (none added, none removed), the same
dates and times. An event with any state rewritten gets a new change number, so the next
build publishes its pages again. It runs once per parser version (`PARSER_VERSION`), from the
first command that writes (see Archive); one transaction per revision, so a killed repair is
finished by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from . import matching
from .ingest import parse_revision
from .model import Event, PageRevision, ParsedDay
from .portal import PARSER_VERSION
from .store import Store

log = logging.getLogger("newscontext.repair")


@dataclass
class RepairReport:
    """What a repair did: revisions parsed again, events whose text, links, stories or
    sources changed (now or in an earlier version), versions rewritten, stored states no
    re-read event matched (left as they were), revisions that could not be read."""

    revisions: int = 0
    events: int = 0
    versions: int = 0
    unmatched: int = 0
    errors: list[str] = field(default_factory=list)


def needs_repair(store: Store) -> bool:
    return store.parser_version() < PARSER_VERSION


def repair(store: Store) -> RepairReport:
    """Re-derive every event state from its revision with the current parsers, a day at a
    time (one transaction each); then record the parser version, so it is done once."""
    report = RepairReport()
    touched: set[str] = set()
    for day in store.derived_days():
        states = store.derived_states(day)
        by_revision: dict[int, list[tuple[str, int | None, Event]]] = {}
        for revision_id, event_id, seq, event in states:
            by_revision.setdefault(revision_id, []).append((event_id, seq, event))
        current = store.day(day)
        if current is not None:
            by_revision.setdefault(current.revision_id, [])  # its warnings are read again
        with store.transaction():
            for revision_id, held in sorted(by_revision.items()):
                fresh = _read_again(store, revision_id, report)
                if fresh is None:
                    continue
                _repair_revision(store, held, fresh.events, report, touched)
                store.replace_warnings(revision_id, fresh.warnings)
                report.revisions += 1
    with store.transaction():
        store.set_parser_version(PARSER_VERSION)
    report.events = len(touched)
    if report.events or report.unmatched or report.errors:
        log.info("repair: %d revisions read again, %d events repaired (%d versions), "
                 "%d states unmatched", report.revisions, report.events, report.versions,
                 report.unmatched)
    return report


def _read_again(store: Store, revision_id: int, report: RepairReport) -> ParsedDay | None:
    revision = store.revision_row(revision_id)
    if revision is None:
        return None
    try:
        text = store.revision_text(revision_id)
        return parse_revision(PageRevision(date=revision.date, text=text,
                                           format=revision.format, origin=revision.origin))
    except Exception as exc:  # one unreadable revision must not stop the others
        report.errors.append(f"{revision.date.isoformat()} ({revision.origin}): "
                             f"could not parse again: {exc!r}")
        return None


def _said(event: Event) -> tuple:
    """What a state says: equal keys need no rewriting."""
    return (event.text, event.category, event.stories, tuple(event.links),
            tuple(event.sources))


def _repair_revision(store: Store, states: list[tuple[str, int | None, Event]],
                     fresh: list[Event], report: RepairReport, touched: set[str]) -> None:
    """Rewrite the states read from one revision with what its events read now."""
    if not states:
        return
    # Each event came from one event of the revision: all its states from this revision (as
    # it stands, and its versions) take what that event reads now. It is matched by one
    # reading: as it stands if it stands on this revision, else its first version here.
    reading: dict[str, Event] = {}
    for event_id, _, event in states:
        reading.setdefault(event_id, event)  # the current state sorts first (seq NULL)
    ids = list(reading)
    pairs = _pair([reading[event_id] for event_id in ids], fresh)
    fresh_of = {ids[old]: new for old, new in pairs.items()}
    change: int | None = None
    for event_id, seq, old in states:
        at = fresh_of.get(event_id)
        if at is None:
            report.unmatched += 1
            log.warning("%s: event %s%s matches nothing read again; left as it was",
                        old.date, event_id, "" if seq is None else f" version {seq}")
            continue
        new = fresh[at]
        repaired = Event(date=old.date, category=new.category, stories=new.stories,
                         text=new.text, links=list(new.links), sources=list(new.sources))
        if _said(repaired) == _said(old):
            continue
        if change is None:
            change = store.next_change()
        store.rewrite_state(event_id, seq, repaired, change)
        touched.add(event_id)
        if seq is not None:
            report.versions += 1


def _pair(olds: list[Event], fresh: list[Event]) -> dict[int, int]:
    """{old reading: fresh event}. Most readings did not change, or changed only in their
    sources: those pair on what they say, then on their sentence, in page order; only the
    rest (reworded by the new parser: a topic taken out as the story) go to the matcher."""
    pairs: dict[int, int] = {}
    free = list(range(len(fresh)))
    for key in (_said, lambda event: event.text):
        waiting: dict[object, list[int]] = {}
        for index in free:
            waiting.setdefault(key(fresh[index]), []).append(index)
        for old, event in enumerate(olds):
            if old not in pairs and waiting.get(key(event)):
                pairs[old] = waiting[key(event)].pop(0)
        taken = set(pairs.values())
        free = [index for index in free if index not in taken]
    rest = [old for old in range(len(olds)) if old not in pairs]
    if rest and free:
        found = matching.match([olds[old] for old in rest], [fresh[index] for index in free])
        for new, old in found.items():
            pairs[rest[old]] = free[new]
    return pairs
