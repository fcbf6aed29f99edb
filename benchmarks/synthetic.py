"""A synthetic archive at portal scale, made from the real fixture events.

The fixture days are copied with their dates shifted until the wanted size is reached
(about 9,000 days for 150,000 events). The entity distribution keeps the real one's shape:
entities common in the fixtures (hubs such as `United States`) are shared by every copy,
mid-frequency ones by the copies of one synthetic year (stories come and go), rare ones by
a few neighbouring copies (most titles are rare).

How many copies share a rare title decides how many subjects have a single event (and so
no page of their own). The default, 3, leaves none but in the last copies (0% of subjects
at 150,000 events, 5% at 20,000); `rare_group=1` gives each copy its own rare titles, so
most subjects have one event (89% at 150,000), near the real fixture days (82% over 27
days). The real archive's share over twenty years lies between: benchmarks that count
pages offer both (`--rare-group`).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from newscontext import Archive, Settings
from newscontext.ingest import event_id
from newscontext.model import ArchivedEvent, Link, Story

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HUB_DF = 10  # entities in at least this many fixture events are shared by all copies
YEAR_DF = 3  # ... at least this many: shared within a synthetic year
COPIES_PER_YEAR = 13
RARE_GROUP = 3  # rare entities are shared by this many neighbouring copies


def make_archive(archive: Archive, target: int, rare_group: int = RARE_GROUP) -> int:
    """Fill `archive` with shifted copies of the fixture events; returns the event count.
    `rare_group`: how many neighbouring copies share each rare title."""
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
        return f"{title} [{copy // rare_group}]"

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
                ident, _ = event_id(day, f"{copy}:{event.text}", taken)
                taken.add(ident)
                store.insert_event(ArchivedEvent(ident, clone, position, first_seen=""),
                                   revision, 0)
                count += 1
    return count


def single_event_share(archive: Archive) -> tuple[int, int]:
    """Subjects, and those in a single event (which get no page of their own), as the
    archive keeps their counts."""
    return tuple(archive.store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(events = 1), 0) FROM entity_counts").fetchone())
