"""Search: a Pagefind index of the built HTML, and `/search.html`, the page that uses it.

Pagefind (the binary shipped by the `pagefind-bin` wheel; nothing is downloaded) reads the
event pages and the story and entity pages and writes its bundle: an index split in small
content-addressed files that the browser fetches as needed, so search needs no server. The
bundle is built beside the site, then copied into `/pagefind/` through the build's writer
(unchanged files stay untouched, the entry file last, so a reader never sees a half-written
index), and files of earlier bundles are removed.

What is indexed: pages holding a `data-pagefind-body` element, when the templates mark them;
until they do, the `<article class="event-page">` of event pages. Indexing is the slow part
of a build on a large site, so it is a build option, and an incremental build runs Pagefind
only when a page it reads was written since the last index (or on a full build).

The search page is the one page that needs JavaScript, and says so in a `<noscript>`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from ...settings import Settings
from ...store import Store
from .. import urls

if TYPE_CHECKING:
    from ..build import Writer

BUNDLE = "pagefind"  # the bundle's folder in the site: /pagefind/pagefind-ui.js, ...
ENTRY = "pagefind-entry.json"  # names the current index files: written last
GLOB = "{news/*/*/*/*.html,stories/*.html,entities/*.html}"
FALLBACK_ROOT = "article.event-page"  # indexed when no page has data-pagefind-body
STATE = ".newscontext/search.json"  # when the index was last made, and by which Pagefind
STAGING = ".newscontext/pagefind-new"
SEARCH_PAGE = urls.file_for(urls.SEARCH, "html")

Extra = Callable[[Store, Settings, Path, "Writer"], int]


class SearchError(RuntimeError):
    """Pagefind failed; the message says how, and how to build without search."""


def pagefind_version() -> str:
    """The version of `pagefind-bin`, which is that of the Pagefind binary it ships."""
    try:
        return version("pagefind_bin")
    except PackageNotFoundError:
        return "unknown"


def search_page_html(settings: Settings) -> bytes:
    """`/search.html`: Pagefind's UI on a page like the others."""
    base = escape(settings.site_url.rstrip("/"))
    front, about, search = (f"{p}.html" for p in (urls.FRONT, urls.ABOUT, urls.SEARCH))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Search · newscontext</title>
<meta name="description" content="Search the events, stories and subjects of the archive.">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
<link rel="canonical" href="{base}{search}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/style.css">
<link rel="stylesheet" href="/{BUNDLE}/pagefind-ui.css">
<link rel="alternate" type="application/rss+xml" title="RSS" href="{urls.FEED_RSS}">
<link rel="alternate" type="application/atom+xml" title="Atom" href="{urls.FEED_ATOM}">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<div class="bar">
<a class="brand" href="{front}">newscontext</a>
<nav aria-label="Site">
<ul>
<li><a href="{front}">Front page</a></li>
<li><a href="{about}">About</a></li>
<li><a href="{search}" aria-current="page">Search</a></li>
</ul>
</nav>
</div>
</header>
<main id="main" tabindex="-1">
<h1>Search</h1>
<div id="search"></div>
<noscript><p>Search needs JavaScript: it runs in your browser, on an index of the site
(<a href="https://pagefind.app/">Pagefind</a>), and sends your words to no one. Every other
page works without it: start from the <a href="{front}">newest days</a>, or from the story
and subject pages every event links to.</p></noscript>
<p id="search-missing" hidden>This copy of the site was built without its search index
(<code>newscontext build --no-search</code>). Start from the <a href="{front}">newest
days</a>.</p>
</main>
<footer class="site">
<p>Event texts come from <a href="https://en.wikipedia.org/wiki/Portal:Current_events">Wikipedia's
Current events portal</a>, available under
<a href="https://creativecommons.org/licenses/by-sa/4.0/" rel="license">CC BY-SA 4.0</a>.</p>
</footer>
<script src="/{BUNDLE}/pagefind-ui.js"></script>
<script>
(function () {{
  if (typeof PagefindUI === "undefined") {{
    document.getElementById("search-missing").hidden = false;
    return;
  }}
  var ui = new PagefindUI({{element: "#search", showImages: false, showSubResults: false,
                           autofocus: true}});
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
}})();
</script>
</body>
</html>
""".encode()


def search_page(store: Store, settings: Settings, outdir: Path, writer: Writer) -> int:
    """Build extra: write `/search.html` (also when the index is not built: it says so)."""
    writer.write_many([(SEARCH_PAGE, search_page_html(settings))])
    return 1


def _written_since(outdir: Path, stamp_ns: int) -> bool:
    """Whether a folder holding indexed pages changed after `stamp_ns`: writing a file
    (a temporary file renamed over the page) changes its folder's modification time.
    Indexed pages live in the day folders and directly in /stories/ and /entities/."""
    def newer(folder: Path) -> bool:
        try:
            return folder.stat().st_mtime_ns > stamp_ns
        except FileNotFoundError:
            return False

    if newer(outdir / "stories") or newer(outdir / "entities"):
        return True
    news = [outdir / "news"]  # and its years, months and days
    while news:
        folder = news.pop()
        if newer(folder):
            return True
        try:
            news += [Path(e.path) for e in os.scandir(folder) if e.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            continue
    return False


def _marks_body(outdir: Path) -> bool:
    """Whether the templates mark what to index: a look at one event page."""
    news = outdir / "news"
    for folder, _, files in os.walk(news):
        pages = sorted(f for f in files if f.endswith(".html") and f != "index.html")
        for name in pages[:3]:
            if "data-pagefind-body" in (Path(folder) / name).read_text(encoding="utf-8"):
                return True
        if pages:
            return False
    return False


def run_pagefind(outdir: Path, bundle: Path) -> None:
    """Index `outdir`'s pages into `bundle` (a fresh folder)."""
    command = [sys.executable, "-m", "pagefind_bin", "--site", str(outdir),
               "--output-path", str(bundle), "--glob", GLOB]  # no --silent: Pagefind 1.3+
    if not _marks_body(outdir):
        command += ["--root-selector", FALLBACK_ROOT]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise SearchError(f"cannot run Pagefind ({exc}); build with --no-search") from exc
    if done.returncode != 0 or not (bundle / ENTRY).is_file():
        message = (done.stderr or done.stdout).strip()[-2000:]
        raise SearchError(f"Pagefind failed (exit {done.returncode}): {message}; "
                          "build with --no-search to skip the search index")


def install_bundle(bundle: Path, outdir: Path, writer: Writer) -> int:
    """Copy a new bundle into the site through the writer, its entry file last, then
    remove files no longer part of it. Returns the bundle's files."""
    names = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())
    # Content-addressed parts first, then the loaders, then the entry that names the parts.
    names.sort(key=lambda n: (n == ENTRY, "/" not in n and not n.endswith(".pf_meta")))
    for start in range(0, len(names), 500):
        writer.write_many([(f"{BUNDLE}/{n}", (bundle / n).read_bytes())
                           for n in names[start : start + 500]])
    keep = set(names)
    installed = outdir / BUNDLE
    for path in sorted(installed.rglob("*"), reverse=True):
        name = str(path.relative_to(installed))
        if path.is_file() and name not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return len(names)


def search_index(store: Store, settings: Settings, outdir: Path, writer: Writer, *,
                 full: bool = False) -> int:
    """Build extra: the search page, and the Pagefind index when a page it reads changed
    since the last one (always on a full build). Run it last: later extras would make the
    next build think pages changed. Returns the pages indexed (0: index up to date)."""
    search_page(store, settings, outdir, writer)
    if not store.day_counts():
        # No event yet (every day so far blanked or vandalised): no page to index, and
        # Pagefind fails on a site without one. The search page says it has no index.
        return 0
    state_file = outdir / STATE
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        state = {}
    current = pagefind_version()
    if (not full and state.get("pagefind") == current
            and (outdir / BUNDLE / ENTRY).is_file()
            and not _written_since(outdir, int(state.get("started_ns", 0)))):
        return 0
    started = time.time_ns()
    staging = outdir / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    try:
        run_pagefind(outdir, staging)
        install_bundle(staging, outdir, writer)
        entry = json.loads((staging / ENTRY).read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"pagefind": current, "started_ns": started}),
                          encoding="utf-8")
    return sum(lang.get("page_count", 0) for lang in entry.get("languages", {}).values())


def search_extra(full: bool = False) -> Extra:
    """`search_index` as a build extra for a build that is (or is not) forced to be full."""

    def search_step(store: Store, settings: Settings, outdir: Path, writer: Writer) -> int:
        return search_index(store, settings, outdir, writer, full=full)

    search_step.__name__ = search_step.__qualname__ = "search_index"
    return search_step
