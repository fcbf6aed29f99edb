"""Full-text search at archive scale: the index's build time and size, and query times.

On a synthetic archive made from the real fixture events (see synthetic.py; its events are
inserted through the store, so the triggers index them as ingest would). Prints the time
of `reindex` (the whole index made again in one transaction), the index's size beside the
archive's (SQLite's dbstat), and the time of searches through the JSON API's handlers
(Starlette's test client, one request at a time: the server's own cost, not the network's).

    python benchmarks/search.py                 # 150,000 events
    python benchmarks/search.py --events 20000
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient
from synthetic import make_archive

from newscontext import Archive, Settings
from newscontext.web.api import create_api

INDEX_TABLES = ("fts_events", "fts_subjects", "search_keys", "event_sources", "event_stories")
QUERIES = [
    ("/events", {"q": "killed"}),  # thousands of matches, best 50
    ("/events", {"q": "killed", "sort": "-date"}),
    ("/events", {"q": "syrian army"}),
    ("/events", {"q": "earthquake"}),
    ("/events", {"q": "syria OR iraq", "advanced": "true"}),
    ("/events", {"q": "killed", "entity": "United States"}),
    ("/search", {"q": "syr"}),
    ("/search", {"q": "united states"}),
    ("/entities", {"q": "syr"}),
]


def index_mb(db: Path) -> tuple[float, float]:
    """(MB of the search index and its tables, MB of the whole archive)."""
    with sqlite3.connect(db) as conn:
        marks = " OR ".join("name LIKE ?" for _ in INDEX_TABLES)
        pattern = [f"{name}%" for name in INDEX_TABLES]
        index = conn.execute(f"SELECT SUM(pgsize) FROM dbstat WHERE {marks}",
                             pattern).fetchone()[0]
        whole = conn.execute("SELECT SUM(pgsize) FROM dbstat").fetchone()[0]
    return index / 1e6, whole / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=20, help="times each query is asked")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "synthetic.sqlite3"
        settings = Settings(db=db, workers=1, serve_cache_mb=0)  # each answer made, not kept
        with Archive(settings) as archive:
            started = time.perf_counter()
            count = make_archive(archive, args.events)
            made = time.perf_counter() - started
            started = time.perf_counter()
            archive.resolve()
            resolved = time.perf_counter() - started
            print(f"{count:,} events inserted (indexed by the triggers) in {made:.1f} s; "
                  f"resolve (entities indexed) {resolved:.1f} s")
            report = archive.reindex()
            print(f"reindex: {report.events:,} events, {report.entities:,} entities, "
                  f"{report.stories:,} stories in {report.seconds:.1f} s "
                  f"({report.seconds / max(1, report.events) * 1e6:.0f} µs an event)")
        index, whole = index_mb(db)
        print(f"index {index:.1f} MB of an archive of {whole:.1f} MB "
              f"({index / whole:.0%}; {index * 1e6 / count:.0f} bytes an event)")
        app = create_api(db, settings)
        with TestClient(app) as client:
            print(f"{'query':<58} {'results':>7} {'p50 ms':>7} {'max ms':>7}")
            for path, params in QUERIES:
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    answer = client.get(path, params=params)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, answer.text
                data = answer.json()
                found = len(next(v for v in data.values() if isinstance(v, list)))
                label = path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
                print(f"{label:<58} {found:>7} {statistics.median(times):>7.1f} "
                      f"{max(times):>7.1f}")
        app.state.api.close()


if __name__ == "__main__":
    main()
