"""`resolve` at archive scale: seconds with nothing changed, after one day's edits, and full.

On a synthetic archive of --events events made from the real fixture events (synthetic.py),
whose titles the API has answered about as the robot's archive has them (every link target
has an API row, one in ten a missing page; saved through the store, not timed). Timed:

- the first resolve (no kept fold state: every group folded),
- a resolve with nothing changed since,
- a resolve after one day of edits: 15 of its events relinked to case and dash variants of
  their titles, 15 new events linking new titles and variants of them,
- a full resolve (`full=True`; on a newscontext without kept state every resolve is one).

    python benchmarks/resolve.py                 # 150,000 events
    python benchmarks/resolve.py --events 20000
"""

from __future__ import annotations

import argparse
import inspect
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from synthetic import make_archive

from newscontext import Archive, Settings
from newscontext.model import ArchivedEvent, Link, TitleInfo


def answered(archive: Archive) -> int:
    """Every link target gets the API row a robot's archive has for it."""
    store = archive.store
    targets = sorted(row[0] for row in store.conn.execute(
        "SELECT DISTINCT json_extract(j.value, '$.target') FROM events e, json_each(e.links) j "
        "UNION SELECT json_extract(l.value, '$.target') FROM events e, json_each(e.stories) s, "
        "json_each(json_extract(s.value, '$.links')) l") if row[0])
    infos = [TitleInfo(title, title, None if n % 10 == 0 else 1000 + n, None, False,
                       n % 10 == 0) for n, title in enumerate(targets)]
    with store.transaction():
        store.save_titles(infos, "api", "2026-01-01T00:00:00Z")
    return len(targets)


def variant(title: str, n: int) -> str:
    """A spelling an editor might write: other capitals, or a hyphen for a dash."""
    if "\u2013" in title:
        return title.replace("\u2013", "-")
    words = title.split(" ")
    if n % 2 and len(words) > 1:
        return " ".join(w[:1].upper() + w[1:] for w in words)
    return title[:1] + title[1:].lower() if title[1:] != title[1:].lower() else title + " (2)"


def day_edited(archive: Archive) -> str:
    """The last day: 15 events relinked to variant spellings, 15 new events."""
    store = archive.store
    last = store.conn.execute("SELECT MAX(date) FROM events WHERE removed = 0").fetchone()[0]
    events = store.events_of_day(date.fromisoformat(last), include_removed=False)
    revision = store.conn.execute("SELECT MIN(id) FROM revisions").fetchone()[0]
    with store.transaction():
        change = store.next_change()
        for n, old in enumerate(events[:15]):
            links = [Link(variant(x.target, n), x.label) for x in old.event.links]
            store.update_event(replace(old, event=replace(old.event, links=links)), revision,
                               change)
        for n in range(15):
            base = events[n % len(events)].event
            links = [Link(f"Benchmark subject {n // 2}", "new"),
                     Link(f"Benchmark Subject {n // 3}", "new"),
                     *(Link(variant(x.target, n + 1), x.label) for x in base.links[:2])]
            store.insert_event(ArchivedEvent(f"bench-new-{n}", replace(
                base, text=f"New: {base.text}", links=links), len(events) + n, first_seen=""),
                revision, change)
    return f"{min(15, len(events))} events of {last} relinked, 15 new"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            Archive(Settings(db=Path(tmp) / "synthetic.sqlite3")) as archive:
        started = time.perf_counter()
        count = make_archive(archive, args.events)
        titles = answered(archive)
        print(f"synthetic archive: {count} events, {titles} titles answered by the API, "
              f"made in {time.perf_counter() - started:.1f} s")
        can_full = "full" in inspect.signature(archive.resolve).parameters
        rows = []

        def timed(label: str, **options) -> None:
            started, cpu = time.perf_counter(), time.process_time()
            report = archive.resolve(**options)
            rows.append((label, time.perf_counter() - started, time.process_time() - cpu,
                         report))

        timed("first resolve (no kept state)")
        timed("resolve, nothing changed")
        what = day_edited(archive)
        timed(f"resolve after one day edited ({what})")
        timed("full resolve, nothing changed since", **({"full": True} if can_full else {}))
        print(f"{'step':70} {'wall':>8} {'cpu':>8} {'changed':>8} {'folded':>7}")
        for label, wall, cpu, report in rows:
            print(f"{label:70} {wall:7.2f}s {cpu:7.2f}s {report.changed:8} {report.folded:7}")


if __name__ == "__main__":
    main()
