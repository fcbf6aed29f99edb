"""One robot cycle (`newscontext update`) on an archive at portal scale: seconds per stage.

Set-up (not timed): a synthetic archive of --events events (see synthetic.py), ten new days
after it served by a local MediaWiki API (tests/mwapi.py) from the real fixture wikitext,
their sources served by a local news server, and a first update that ingests those days,
crawls their sources and builds the whole site.

Timed: one two-hour cycle after a realistic change: three of the ten days edited (30 events
reworded) and 20 new sources cited. The update asks the API for the window's revision ids,
fetches the three changed days, resolves new titles, relates, crawls the 20 new sources, and
builds the site incrementally (no publish). Politeness waits are set to zero (per-host delay,
API backoff): what is measured is our work, not the pauses we owe other servers.

    python benchmarks/update.py                  # 150,000 events
    python benchmarks/update.py --events 20000

Prints wall seconds per stage (as status.json records them), the cycle's wall and CPU time.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from synthetic import make_archive

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from mwapi import FakeWiki, Revision, fixture_title  # noqa: E402

from newscontext import Archive, Settings  # noqa: E402
from newscontext.update import Updater, counts_text  # noqa: E402

ARTICLE = """<!DOCTYPE html><html><head><title>{title}</title>
<meta property="og:title" content="{title}"><meta property="og:description"
content="What happened, as the outlet told it."><meta property="og:image"
content="/images/{slug}.jpg"></head><body><article><h1>{title}</h1>
{paragraphs}</article></body></html>"""


class _News(BaseHTTPRequestHandler):
    """Any path is an article (robots.txt is missing: everything may be fetched)."""

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.send_error(404)
            return
        slug = re.sub(r"\W+", "-", self.path).strip("-")[:60]
        body = ARTICLE.format(title=f"Report {slug}", slug=slug, paragraphs="\n".join(
            f"<p>Paragraph {n} of the report on {slug}, with enough words to be read as the "
            "body of a news article by the extractor.</p>" for n in range(12))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def cpu() -> tuple[float, float]:
    own, children = (resource.getrusage(resource.RUSAGE_SELF),
                     resource.getrusage(resource.RUSAGE_CHILDREN))
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def local_sources(text: str, news: str) -> str:
    """The day's source URLs, pointed at the local news server."""
    return re.sub(r"\[https?://", f"[{news}/", text)


def edited(text: str, day: int, news: str) -> str:
    """Ten leaf events reworded; on the first day, 20 new sources cited."""
    lines = text.split("\n")
    leaves = [i for i, line in enumerate(lines) if line.startswith("*") and f"[{news}/" in line]
    for i in leaves[:10]:
        lines[i] = lines[i].replace(" ", " reportedly ", 1)
    if day == 0:
        for n, i in enumerate(leaves[:20]):
            lines[i] += f" [{news}/new-source/{n} (Local News)]"
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    news_server = ThreadingHTTPServer(("127.0.0.1", 0), _News)
    threading.Thread(target=news_server.serve_forever, daemon=True).start()
    news = f"http://127.0.0.1:{news_server.server_address[1]}"
    texts = [p.read_text(encoding="utf-8")
             for p in sorted((ROOT / "tests" / "fixtures" / "wikitext").glob("2016-*.wiki"))]
    texts += [p.read_text(encoding="utf-8")
              for p in sorted((ROOT / "tests" / "fixtures" / "wikitext").glob("2026-*.wiki"))]
    with tempfile.TemporaryDirectory() as tmp:
        db, site = Path(tmp) / "archive.sqlite3", Path(tmp) / "site"
        started = time.perf_counter()
        with Archive(Settings(db=db)) as archive:
            count = make_archive(archive, args.events)
            last = max(archive.store.conn.execute("SELECT MAX(date) FROM events").fetchone())
        from datetime import date

        first_day = date.fromisoformat(last) + timedelta(days=1)
        window = (first_day, first_day + timedelta(days=9))
        days = [first_day + timedelta(days=n) for n in range(10)]
        pages = {fixture_title(day): [Revision(1000 + n, 0, f"{day}T23:00:00Z",
                                               local_sources(texts[n], news))]
                 for n, day in enumerate(days)}
        with FakeWiki(pages=pages, articles={}, redirects={}) as wiki:
            # (no cover pictures: the local news server has none, and their fetches would
            # only add lines saying so)
            settings = Settings(db=db, api_url=wiki.url, api_backoff_base=0.01,
                                fetch_allow_loopback=True, fetch_host_delay=0.0, wayback=False,
                                hold_hours=0, crawl_images=False)
            with Archive(settings) as archive:
                Updater(archive, site, window, crawl_limit=100_000).run()
            print(f"set-up: {count:,} events and a first cycle over {window[0]}..{window[1]} "
                  f"in {time.perf_counter() - started:.0f} s", flush=True)
            for n, day in enumerate(days[:3]):
                wiki.add_revision(fixture_title(day), edited(pages[fixture_title(day)][0].content,
                                                             n, news))
            user, system = cpu()
            began = time.perf_counter()
            with Archive(settings) as archive:
                report = Updater(archive, site, window, crawl_limit=200).run()
            wall = time.perf_counter() - began
            user2, system2 = cpu()
    print(f"{'stage':10} {'seconds':>8}  counts")
    for name, stage in report.stages.items():
        print(f"{name:10} {stage.seconds:8.2f}  {counts_text(stage.counts)}")
    print(f"cycle: {wall:.1f} s wall, CPU {user2 - user:.1f} s user, {system2 - system:.1f} s "
          f"system; ok={report.ok}")
    for name, stage in report.stages.items():
        for line in stage.errors[:5]:
            print(f"{name}: {line}")
    news_server.shutdown()


if __name__ == "__main__":
    main()
