"""Related events at archive scale: time and peak memory of a full `relate`.

Builds a synthetic archive of about 9,000 days and 150,000 events from the real fixture
events: the fixture days are copied with their dates shifted until the size is reached.
The entity distribution keeps the real one's shape: entities common in the fixtures (hubs
such as `United States`) are shared by every copy, mid-frequency ones by the copies of one
synthetic year (stories come and go), rare ones are new in every copy (most titles are rare).

    python benchmarks/related.py                # 150,000 events
    python benchmarks/related.py --events 20000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from newscontext import Archive, Settings
from newscontext.ingest import event_id
from newscontext.model import ArchivedEvent, Link, Story
from newscontext.related import DEFAULT, rank, related_json

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HUB_DF = 10  # entities in at least this many fixture events are shared by all copies
YEAR_DF = 3  # ... at least this many: shared within a synthetic year
COPIES_PER_YEAR = 13


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(archive: Archive, target: int) -> int:
    """Fill `archive` with shifted copies of the fixture events; returns the event count."""
    with tempfile.TemporaryDirectory() as tmp, \
            Archive(Settings(db=Path(tmp) / "real.sqlite3")) as real:
        real.ingest_paths([FIXTURES / "html-parse-api", FIXTURES / "wikitext",
                           FIXTURES / "html-kiwicopple"])
        events = [a.event for a in real.events() if not a.removed]
    df = Counter(title for e in events for title in
                 {link.target for link in e.links}
                 | {link.target for story in e.stories for link in story.links})
    first = min(e.date for e in events)
    copies = -(-target // len(events))
    step = max(1, 9000 // copies)  # each copy gets its own run of days
    store = archive.store
    taken: set[str] = set()
    count = 0

    def rename(title: str, copy: int) -> str:
        if df[title] >= HUB_DF:
            return title
        if df[title] >= YEAR_DF:
            return f"{title} ({copy // COPIES_PER_YEAR})"
        return f"{title} [{copy}]"

    with store.transaction():
        revision = store.conn.execute(
            "INSERT INTO revisions (date, format, origin, sha256, content, ingested_at) "
            "VALUES ('2000-01-01', 'wikitext', 'synthetic', 'x', x'', '')").lastrowid
        for copy in range(copies):
            for position, event in enumerate(events):
                if count >= target:
                    break
                day = first + timedelta(days=copy * step + (event.date - first).days % step)
                links = [Link(rename(x.target, copy), x.label) for x in event.links]
                stories = tuple(Story(s.text, tuple(Link(rename(x.target, copy), x.label)
                                                    for x in s.links)) for s in event.stories)
                clone = replace(event, date=day, links=links, stories=stories)
                ident = event_id(day, f"{copy}:{event.text}", taken)
                taken.add(ident)
                store.insert_event(ArchivedEvent(ident, clone, position, first_seen=""),
                                   revision, 0)
                count += 1
    return count


def first_day(archive: Archive) -> str:
    return archive.store.conn.execute("SELECT MIN(date) FROM events").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            Archive(Settings(db=Path(tmp) / "synthetic.sqlite3")) as archive:
        started = time.perf_counter()
        count = build(archive, args.events)
        built = time.perf_counter() - started
        days = archive.store.conn.execute("SELECT COUNT(DISTINCT date) FROM events").fetchone()[0]
        print(f"synthetic archive: {count} events on {days} days, built in {built:.1f} s")

        timings = []

        def timed(label: str, work):
            started = time.perf_counter()
            result = work()
            timings.append((label, time.perf_counter() - started))
            return result

        timed("contexts table (first build, SQL)", lambda: archive.contexts() and None)
        ctx = timed("read contexts", archive.contexts)
        ranked = timed("rank top-10 of every event, 1 process", lambda: rank(ctx, DEFAULT))
        timed("related lists as stored (ranked + shared titles), 1 process",
              lambda: related_json(ctx, DEFAULT, workers=1))
        timed("related lists as stored, 2 processes",
              lambda: related_json(ctx, DEFAULT, workers=2))
        print(f"{len(ctx.ids)} events, {len(ctx.titles)} entities, {ctx.context.nnz} "
              f"context entries, {len(ranked.rows)} related links")
        first = timed("first `relate` (contexts table built, lists stored)", archive.relate)
        again = timed("`relate` again, nothing changed", archive.relate)
        day = first_day(archive)
        with archive.store.transaction():
            change = archive.store.next_change()
            archive.store.conn.execute(
                "UPDATE events SET change_seq = ? WHERE date = ?", (change, day))
        after = timed(f"`relate` after one day ({day}) changed", archive.relate)
        for label, seconds in timings:
            print(f"{label:55} {seconds:7.2f} s")
        print(f"lists written: first {first.changed}, unchanged run {again.changed}, "
              f"after one day {after.changed}")
        print(f"peak memory (max RSS) {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
