"""Search: a Pagefind index of the built HTML, and `/search.html`, the page that uses it.

Pagefind (the binary shipped by the `pagefind-bin` wheel; nothing is downloaded) reads the
event pages and the story and entity pages and writes its bundle: an index split in small
content-addressed files that the browser fetches as needed, so search needs no server. The
bundle is built beside the site, then copied into `/pagefind/` through the build's writer
(unchanged files stay untouched, the entry file last, so a reader never sees a half-written
index), and files of earlier bundles are removed (recorded as deleted, for a publish).

What is indexed: pages holding a `data-pagefind-body` element, when the templates mark them;
until they do, the `<article class="event-page">` of event pages. Indexing is the slow part
of a build on a large site (Pagefind reads every indexed page again: minutes at portal
scale), so it is a build option, an incremental build runs Pagefind only when a page it reads
was written since the last index (or on a full build), and the robot (`update`) runs it at
most every `search_index_hours` (new events wait that long for the static search; the live
server's search is always current).

The search page is the one page that needs JavaScript (`static/search.js`), and says so in
a `<noscript>`. It is the same file in both deliveries: in a built folder the script finds
Pagefind's bundle and loads its UI, themed by the site's colours (style.css); the live
server has no bundle, and the script shows what its JSON API answers (subjects first, then
events), always current.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ...ingest import hours_between, utc_now
from ...settings import Settings
from ...store import Store
from .. import urls
from ..model import Page
from . import SiteInfo, absolute

if TYPE_CHECKING:
    from ..build import Extra, Shared
    from ..manifest import Writer

BUNDLE = "pagefind"  # the bundle's folder in the site: /pagefind/pagefind-ui.js, ...
ENTRY = "pagefind-entry.json"  # names the current index files: written last
GLOB = "{news/*/*/*/*.html,stories/*.html,entities/*.html}"
FALLBACK_ROOT = "article.event-page"  # indexed when no page has data-pagefind-body
STATE = ".newscontext/search.json"  # when the index was last made, and by which Pagefind
STAGING = ".newscontext/pagefind-new"
SEARCH_PAGE = urls.file_for(urls.SEARCH, "html")
SCRIPT_PATH = "/static/search.js"  # the page's script (render/static/, copied by the build)
API = "/api/v1"  # where the live server mounts its JSON API (web/api.py PREFIX)


@dataclass
class SearchPage(Page):
    """`/search`: a form; what it finds comes from the browser (the live server's API, or
    the Pagefind index of a static site), so the page holds nothing of the archive."""

    kind: ClassVar[str] = "search"


class SearchError(RuntimeError):
    """Pagefind failed; the message says how, and how to build without search."""


def pagefind_version() -> str:
    """The version of `pagefind-bin`, which is that of the Pagefind binary it ships."""
    try:
        return version("pagefind_bin")
    except PackageNotFoundError:
        return "unknown"


def search_page_html(settings: Settings) -> bytes:
    """`/search.html`: a page of the site like the others (the base template's header and
    footer), holding the search form and `search.js`. The same bytes serve both deliveries:
    the script loads Pagefind's UI where the bundle is (a built folder), and asks the live
    server's API where it is not."""
    from . import html  # Jinja2 and the templates load only when a page is made

    site = SiteInfo(url=settings.site_url.rstrip("/"), generated="")
    page = SearchPage(path=urls.SEARCH, title="Search")
    head = html.Head(
        title=f"{page.title} – {site.name}",
        description="Search the events, stories and subjects of the archive.",
        og_type="website", image=None, canonical=absolute(site, urls.SEARCH, "html"),
        alternates=[],  # the page exists in HTML only
        feeds=[html.Alternate(html.FEED_TYPES[path.rsplit(".", 1)[1]],
                              f"{site.name} ({name})", path) for name, path in html.SITE_FEEDS],
        noindex=True,
    )
    template = html._environment().get_template("search.html")
    return template.render(
        page=page, site=site, head=head, portal=None, chart=None, newest=None,
        nav=[("Front page", urls.FRONT), ("About", urls.ABOUT), ("Search", urls.SEARCH)],
        stylesheet=html.STYLESHEET_PATH, license=html.LICENSE, portal_home=html.PORTAL,
        urls=urls, api=API, bundle=f"/{BUNDLE}/", script=SCRIPT_PATH,
    ).encode("utf-8")


def search_page(store: Store, settings: Settings, outdir: Path, writer: Writer,
                shared: Shared) -> int:
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
    writer.remove([f"{BUNDLE}/{name}" for path in sorted(installed.rglob("*"))
                   if path.is_file() and (name := str(path.relative_to(installed))) not in keep])
    return len(names)


def search_index(store: Store, settings: Settings, outdir: Path, writer: Writer,
                 shared: Shared, *, full: bool = False, every_hours: float = 0.0) -> int:
    """Build extra: the search page, and the Pagefind index when a page it reads changed
    since the last one (always on a full build), and the last is `every_hours` old. Run it
    last: later extras would make the next build think pages changed. Returns the pages
    indexed (0: index left as it was)."""
    search_page(store, settings, outdir, writer, shared)
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
            and (not _written_since(outdir, int(state.get("started_ns", 0)))
                 or _younger(state.get("indexed_at"), every_hours))):
        return 0  # (pages written meanwhile stay newer than started_ns: indexed next time)
    started = time.time_ns()
    indexed_at = utc_now()
    staging = outdir / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    try:
        run_pagefind(outdir, staging)
        install_bundle(staging, outdir, writer)
        entry = json.loads((staging / ENTRY).read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"pagefind": current, "started_ns": started,
                                      "indexed_at": indexed_at}), encoding="utf-8")
    return sum(lang.get("page_count", 0) for lang in entry.get("languages", {}).values())


def _younger(stamp: str | None, hours: float) -> bool:
    """Whether the index made at `stamp` (the archive's clock) is less than `hours` old."""
    if not hours or not stamp:
        return False
    try:
        age = hours_between(stamp, utc_now())
    except ValueError:  # a state file edited by hand
        return False
    return 0 <= age < hours


def search_extra(full: bool = False, every_hours: float = 0.0) -> Extra:
    """`search_index` as a build extra for a build that is (or is not) forced to be full,
    indexing at most every `every_hours` (0: whenever indexed pages changed)."""

    def search_step(store: Store, settings: Settings, outdir: Path, writer: Writer,
                    shared: Shared) -> int:
        return search_index(store, settings, outdir, writer, shared, full=full,
                            every_hours=every_hours)

    search_step.__name__ = search_step.__qualname__ = "search_index"
    return search_step
