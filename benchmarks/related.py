"""Related events at archive scale: time and peak memory of a full `relate`.

On a synthetic archive of about 9,000 days and 150,000 events made from the real fixture
events (see synthetic.py).

    python benchmarks/related.py                # 150,000 events
    python benchmarks/related.py --events 20000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from synthetic import make_archive

from newscontext import Archive, Settings
from newscontext.related import DEFAULT, rank, related_json


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def first_day(archive: Archive) -> str:
    return archive.store.conn.execute("SELECT MIN(date) FROM events").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            Archive(Settings(db=Path(tmp) / "synthetic.sqlite3")) as archive:
        started = time.perf_counter()
        count = make_archive(archive, args.events)
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
            archive.store.conn.execute(  # the day's first event loses its links
                "UPDATE events SET links = '[]', change_seq = ? WHERE id = (SELECT id FROM "
                "events WHERE date = ? ORDER BY position LIMIT 1)", (change, day))
        after = timed(f"`relate` after one day ({day}) changed", archive.relate)
        for label, seconds in timings:
            print(f"{label:55} {seconds:7.2f} s")
        print(f"lists written: first {first.changed}, unchanged run {again.changed}, "
              f"after one day {after.changed}")
        print(f"peak memory (max RSS) {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
