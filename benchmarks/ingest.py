"""Ingest time of one very large day page: does it grow linearly with the page's size?

A day page is normally 10-60 kB, but a vandal can paste megabytes into one, and the robot
must not stall on it. This script makes one day page of 1, 2, 4 and 8 MB (the option --sizes
picks others) from the real fixture days (tests/fixtures/wikitext), each copy of a fixture
day made distinct (its sentences and source URLs carry the copy's number), and times, into
a fresh archive for each size:

- first: ingesting the day into an empty archive;
- edit:  ingesting a later revision of it in which one event in a hundred was reworded and
  one in a hundred removed (matching every event with the archived ones, versions, moves).

It prints seconds and seconds per MB for each, and the ratio of the largest size's seconds
per MB to the smallest's (1.0 = perfectly linear).

Usage: python benchmarks/ingest.py [--sizes 1,2,4,8]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import date
from pathlib import Path

from newscontext import Archive, Settings
from newscontext.model import PageRevision

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "wikitext"
DAY = date(2016, 1, 19)
_LEAF = re.compile(r"^(\*+)([^*\n].*?)(\[https?://)", re.MULTILINE)


def big_day(megabytes: float) -> str:
    """Fixture days repeated to `megabytes`, each copy's sentences and URLs numbered."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*.wiki"))]
    parts: list[str] = []
    size, copy = 0, 0
    while size < megabytes * 1_000_000:
        text = texts[copy % len(texts)]
        text = _LEAF.sub(lambda m, c=copy: f"{m[1]}{m[2]} Copy {c}. {m[3]}copy{c}.", text)
        parts.append(text)
        size += len(text.encode("utf-8"))
        copy += 1
    return "\n".join(parts)


def edited(text: str) -> str:
    """One leaf line in a hundred reworded, one in a hundred removed."""
    lines = text.split("\n")
    leaves = [i for i, line in enumerate(lines) if _LEAF.match(line)]
    for n, i in enumerate(leaves):
        if n % 100 == 10:
            lines[i] = lines[i].replace(" Copy ", " Reworded copy ", 1)
        elif n % 100 == 60:
            lines[i] = ""
    return "\n".join(lines)


def ingest(archive: Archive, text: str, revid: int) -> tuple[float, str]:
    revision = PageRevision(DAY, text, "wikitext", f"bench:{revid}", revid,
                            f"2016-01-19T{revid % 24:02d}:00:00Z")
    started = time.perf_counter()
    from newscontext.ingest import Ingester

    ingester = Ingester(archive.store)
    ingester.add(revision)
    report = ingester.finish()
    seconds = time.perf_counter() - started
    return seconds, (f"{report.added} added, {report.changed} changed, "
                     f"{report.removed} removed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,2,4,8", help="day sizes in MB")
    args = parser.parse_args()
    sizes = [float(x) for x in args.sizes.split(",")]
    print(f"{'MB':>5} {'events':>7} {'first s':>8} {'s/MB':>6} {'edit s':>8} {'s/MB':>6}  edit")
    per_mb: list[tuple[float, float]] = []
    for megabytes in sizes:
        text = big_day(megabytes)
        mb = len(text.encode("utf-8")) / 1_000_000
        with tempfile.TemporaryDirectory() as tmp, \
                Archive(Settings(db=Path(tmp) / "bench.sqlite3")) as archive:
            first, _ = ingest(archive, text, 1)
            events = len(archive.store.event_ids())
            second, what = ingest(archive, edited(text), 2)
        per_mb.append((first / mb, second / mb))
        print(f"{mb:5.1f} {events:7d} {first:8.2f} {first / mb:6.2f} {second:8.2f} "
              f"{second / mb:6.2f}  {what}", flush=True)
    if len(per_mb) > 1:
        print(f"largest/smallest seconds per MB: first {per_mb[-1][0] / per_mb[0][0]:.2f}, "
              f"edit {per_mb[-1][1] / per_mb[0][1]:.2f}")


if __name__ == "__main__":
    main()
