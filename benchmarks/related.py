"""Related events at archive scale: time and peak memory of `relate`, full and after changes.

On a synthetic archive of about 9,000 days and 150,000 events made from the real fixture
events (see synthetic.py). `relate` after a change ranks only the lists the change can
reach; the run ends with a full pass, which must find every list already right (0 written).

    python benchmarks/related.py                # 150,000 events
    python benchmarks/related.py --events 20000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from synthetic import make_archive

from newscontext import Archive, Settings
from newscontext.model import ArchivedEvent, Link


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def days(archive: Archive) -> list[str]:
    return [row[0] for row in archive.store.conn.execute(
        "SELECT DISTINCT date FROM events WHERE removed = 0 ORDER BY date")]


def revision_of(store, event_id: str) -> int:
    return store.conn.execute("SELECT revision_id FROM events WHERE id = ?",
                              (event_id,)).fetchone()[0]


def links_lost(archive: Archive, day: str) -> str:
    """The day's first event loses its links (the change this benchmark always made)."""
    store = archive.store
    with store.transaction():
        store.conn.execute(
            "UPDATE events SET links = '[]', change_seq = ? WHERE id = (SELECT id FROM "
            "events WHERE date = ? ORDER BY position LIMIT 1)", (store.next_change(), day))
    return f"one event of {day} lost its links"


def day_edited(archive: Archive, day: str) -> str:
    """A day as editors change it: an event relinked, one reworded, one removed, one new."""
    store = archive.store
    events = store.events_of_day(date.fromisoformat(day), include_removed=False)
    first, second, third, fourth = events[:4]
    with store.transaction():
        change = store.next_change()
        relinked = replace(first, event=replace(first.event, links=second.event.links))
        store.update_event(relinked, revision_of(store, first.id), change)
        reworded = replace(second, event=replace(second.event, text=second.event.text + " (2)"))
        store.update_event(reworded, revision_of(store, second.id), change)
        store.mark_removed(third.id, None, change)
        new = replace(fourth.event, text="New: " + fourth.event.text,
                      links=[*fourth.event.links, Link(first.event.links[0].target, "x")]
                      if first.event.links else fourth.event.links)
        store.insert_event(ArchivedEvent(f"new-{fourth.id}", new, len(events), first_seen=""),
                           revision_of(store, fourth.id), change)
    return f"a day edited ({day}: 1 relinked, 1 reworded, 1 removed, 1 new)"


def new_day(archive: Archive, count: int) -> str:
    """A new day after the last, of `count` events copied from the last days."""
    store = archive.store
    last = days(archive)
    recent = [a for day in last[-10:] for a in
              store.events_of_day(date.fromisoformat(day), include_removed=False)][:count]
    following = date.fromordinal(date.fromisoformat(last[-1]).toordinal() + 1)
    with store.transaction():
        change = store.next_change()
        for position, old in enumerate(recent):
            event = replace(old.event, date=following, text="Today: " + old.event.text)
            store.insert_event(ArchivedEvent(f"day-{old.id}", event, position, first_seen=""),
                               revision_of(store, old.id), change)
    return f"a new day of {len(recent)} events"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            Archive(Settings(db=Path(tmp) / "synthetic.sqlite3")) as archive:
        started = time.perf_counter()
        count = make_archive(archive, args.events)
        built = time.perf_counter() - started
        print(f"synthetic archive: {count} events on {len(days(archive))} days, "
              f"built in {built:.1f} s")
        timings = []

        def timed(label: str, work):
            started, cpu = time.perf_counter(), time.process_time()
            result = work()
            timings.append((label, time.perf_counter() - started,
                            time.process_time() - cpu, result))
            return result

        timed("contexts table (first build, SQL)", lambda: archive.contexts() and None)
        ctx = timed("read every context", archive.contexts)
        print(f"{len(ctx.ids)} events, {len(ctx.titles)} entities, {ctx.context.nnz} "
              "context entries")
        del ctx
        timed("first `relate` (every list ranked and stored)", archive.relate)
        timed("`relate`, nothing changed", archive.relate)
        on = days(archive)
        for change in (lambda: links_lost(archive, on[0]),
                       lambda: day_edited(archive, on[len(on) // 2]),
                       lambda: new_day(archive, 30)):
            what = change()
            timed(f"`relate` after {what}", archive.relate)
        full = timed("`relate --full`, nothing changed since", lambda: archive.relate(full=True))
        print(f"{'step':72} {'wall':>8} {'cpu':>8} {'ranked':>8} {'written':>8}")
        for label, seconds, cpu, report in timings:
            counts = (f"{report.ranked:8} {report.changed:8}"
                      if hasattr(report, "ranked") else "")
            print(f"{label:72} {seconds:7.2f}s {cpu:7.2f}s {counts}")
        assert full.changed == 0, "the incremental passes left lists a full pass changes"
        print(f"peak memory (max RSS) {peak_mb():.0f} MB; CPU counts this process only "
              "(a full pass ranks in 2 forked processes)")


if __name__ == "__main__":
    main()
