"""Speed and memory of the day-page parsers, next to the bare parsers they build on.

Loads the real fixture days (wikitext: tests/fixtures/wikitext, rendered parse-API HTML:
tests/fixtures/html-parse-api), repeats them until there are at least --days days of each,
and times:

- parse_wikitext(day, text) per day, against mwparserfromhell.parse(text) per day (the
  reference: tokenising the page, with nothing done on the result);
- parse_html(day, markup) per day, against lxml.html.document_fromstring(markup) per day.

The ratio column is our time over the reference's time: how much the portal logic costs on
top of the tokenizer. Peak memory is measured in a separate pass under tracemalloc (which
slows Python down, so it is not timed) over --memory-days days, plus the process's peak RSS.

Usage: python benchmarks/parse.py [--days N] [--memory-days N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path

import lxml
import lxml.html
import mwparserfromhell

from newscontext.portal.html import parse_html
from newscontext.portal.wikitext import parse_wikitext

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"

Day = tuple[date, str]


def load(folder: Path, pattern: str) -> list[Day]:
    days = [(date.fromisoformat(path.stem), path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob(pattern))]
    if not days:
        sys.exit(f"no {pattern} files in {folder}: run from a checkout with tests/fixtures")
    return days


def repeat_to(days: list[Day], count: int) -> list[Day]:
    """The fixture days over and over until there are at least `count`."""
    rounds = -(-count // len(days))
    return (days * rounds)[: max(count, len(days))]


def run_once(work: Callable[[date, str], int], days: list[Day]) -> tuple[float, int]:
    """Wall time of one pass over all days, and the events counted."""
    gc.collect()
    start = time.perf_counter()
    events = sum(work(day, text) for day, text in days)
    return time.perf_counter() - start, events


def peak_mib(work: Callable[[date, str], int], days: list[Day]) -> float:
    """Peak traced memory while parsing the days one after the other, keeping nothing."""
    gc.collect()
    tracemalloc.start()
    for day, text in days:
        work(day, text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def ours_wikitext(day: date, text: str) -> int:
    return len(parse_wikitext(day, text).events)


def ours_html(day: date, markup: str) -> int:
    return len(parse_html(day, markup).events)


def ref_mwparserfromhell(_day: date, text: str) -> int:
    mwparserfromhell.parse(text)
    return 0


def ref_lxml(_day: date, markup: str) -> int:
    lxml.html.document_fromstring(markup)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5000,
                        help="days of each format to parse (default 5000)")
    parser.add_argument("--memory-days", type=int, default=500,
                        help="days parsed under tracemalloc for peak memory (default 500)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed rounds; each row shows its best (default 3)")
    args = parser.parse_args(argv)

    wiki_src = load(FIXTURES / "wikitext", "*.wiki")
    html_src = load(FIXTURES / "html-parse-api", "*.html")
    wiki_days = repeat_to(wiki_src, args.days)
    html_days = repeat_to(html_src, args.days)

    # (label, parse one day, days to time, days for the memory pass); each of our parsers
    # is followed by its reference.
    rows = [
        ("wikitext: parse_wikitext", ours_wikitext, wiki_days, wiki_src),
        ("  reference: mwparserfromhell.parse", ref_mwparserfromhell, wiki_days, wiki_src),
        ("html: parse_html", ours_html, html_days, html_src),
        ("  reference: lxml.html parse", ref_lxml, html_days, html_src),
    ]
    print(f"Python {platform.python_version()}, mwparserfromhell {mwparserfromhell.__version__}"
          f" (C tokenizer: {mwparserfromhell.parser.use_c}), lxml {lxml.__version__}")
    print(f"{len(wiki_src)} wikitext days ({sum(len(t) for _, t in wiki_src) // 1024} KiB) and "
          f"{len(html_src)} HTML days ({sum(len(t) for _, t in html_src) // 1024} KiB), "
          f"repeated to {len(wiki_days)} and {len(html_days)} days; best of {args.repeat}")
    # Rows take turns within each round, and each keeps its best round: a busy machine
    # then slows a parser and its reference alike instead of skewing their ratio.
    best = [float("inf")] * len(rows)
    events = [0] * len(rows)
    for _ in range(args.repeat):
        for index, (_, work, days, _) in enumerate(rows):
            seconds, events[index] = run_once(work, days)
            best[index] = min(best[index], seconds)
    results = [
        (best[index], events[index], peak_mib(work, repeat_to(source, args.memory_days)))
        for index, (_, work, _, source) in enumerate(rows)
    ]

    print()
    header = (f"{'parser':<38} {'days':>6} {'events':>7} {'seconds':>8} {'days/s':>8} "
              f"{'events/s':>9} {'x ref':>6} {'peak MiB':>9}")
    print(header)
    print("-" * len(header))
    for index, ((label, _, days, _), (seconds, events, memory)) in enumerate(
        zip(rows, results, strict=True)
    ):
        reference = label.startswith("  ")
        ratio = "1.0" if reference else f"{seconds / results[index + 1][0]:.1f}"
        events_cell = "-" if reference else str(events)
        events_rate = "-" if reference else f"{events / seconds:,.0f}"
        print(f"{label:<38} {len(days):>6} {events_cell:>7} {seconds:>8.2f} "
              f"{len(days) / seconds:>8,.0f} {events_rate:>9} {ratio:>6} {memory:>9.1f}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 2**20 if sys.platform == "darwin" else 2**10  # bytes on macOS, KiB on Linux
    print()
    print(f"x ref: time relative to the reference row below it. peak MiB: tracemalloc peak "
          f"over {args.memory_days} days, nothing kept.")
    print(f"process peak RSS (whole run, inputs included): {maxrss / scale:.0f} MiB")


if __name__ == "__main__":
    main()
