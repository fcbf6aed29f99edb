"""The static search page at archive scale, in Chromium: how long Pagefind's UI takes to be
ready and to show a search's results, with the subject filter the site offers.

On a synthetic archive (see synthetic.py), the HTML site and its Pagefind index are built
twice in one run: with the subjects in most events as filter values (the setting
`search_filter_subjects`, 100 by default), and with every subject that has a page (what the
site offered before that setting). Each is served on 127.0.0.1 and opened in Debian's
Chromium (headless, through Playwright); each query is typed into the search box, and the
time is taken until its first results and the filter check boxes are shown (Pagefind's UI
waits 300 ms after typing before it searches: in the figures).

    python benchmarks/search_page.py                  # 20,000 events
    python benchmarks/search_page.py --events 5000 --queries killed election
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import threading
import time
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright
from synthetic import make_archive, single_event_share

from newscontext import Archive, Settings

CHROMIUM = "/usr/bin/chromium"
EVERY_SUBJECT = 10**9  # as many filter values as there are subjects with a page


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def measure(site: Path, queries: list[str]) -> list[str]:
    """One line per query: seconds to results, filter values offered, page weight."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--no-sandbox", "--headless"])
            lines = [one_search(browser, server.server_port, query) for query in queries]
            browser.close()
    finally:
        server.shutdown()
    return lines


def one_search(browser: Browser, port: int, query: str) -> str:
    """The search page opened afresh, `query` typed: how long until results show."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    received = [0]
    page.on("response", lambda r: received.__setitem__(
        0, received[0] + int(r.headers.get("content-length") or 0)))
    started = time.perf_counter()
    page.goto(f"http://127.0.0.1:{port}/search.html")
    page.wait_for_selector(".pagefind-ui__search-input", timeout=600_000)
    ready = time.perf_counter() - started
    typed = time.perf_counter()
    page.fill(".pagefind-ui__search-input", query)
    page.wait_for_selector(".pagefind-ui__result", timeout=600_000)
    page.wait_for_function(
        "document.querySelectorAll('.pagefind-ui__filter-checkbox').length > 0",
        timeout=600_000)
    shown = time.perf_counter() - typed
    boxes = page.eval_on_selector_all(".pagefind-ui__filter-checkbox", "els => els.length")
    page.close()
    return (f"  {query!r:14} ready {ready:6.2f} s, results {shown:6.2f} s after typing; "
            f"{boxes} filter check boxes shown, {received[0] / 1e6:.1f} MB fetched")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--queries", nargs="+", default=["killed", "election", "Iran"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            Archive(Settings(db=Path(tmp) / "synthetic.sqlite3")) as archive:
        count = make_archive(archive, args.events)
        archive.relate()
        subjects, single = single_event_share(archive)
        print(f"synthetic archive: {count} events, {subjects - single} subjects with a page")
        base = archive.settings
        for label, offered in (("the most frequent subjects (the default)",
                                base.search_filter_subjects),
                               ("every subject with a page (before)", EVERY_SUBJECT)):
            archive.settings = replace(base, search_filter_subjects=offered)
            site = Path(tmp) / f"site-{offered}"
            started = time.perf_counter()
            archive.build(site, formats=("html",), search=True)
            print(f"subject filter: {label}; HTML site and index built in "
                  f"{time.perf_counter() - started:.0f} s")
            print("\n".join(measure(site, args.queries)), flush=True)


if __name__ == "__main__":
    main()
