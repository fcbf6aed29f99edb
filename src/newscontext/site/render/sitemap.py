"""Sitemap: every HTML page of the site, for search engines.

Listed: the front and about pages, months, days, events (current paths only: an old path of a
reworded event is a redirect), stories and entities (their main pages) and source articles.
The list comes from the files the build wrote, so a page is listed once it exists; `lastmod`
is the time of the build that last changed its file (the build rewrites a file only when its
content changes), so an unchanged build leaves the sitemap byte for byte the same.

Up to 50,000 URLs (the protocol's limit per file) go into `sitemap.xml`; past that,
`sitemap.xml` is an index of `sitemap-1.xml`, `sitemap-2.xml`, ... Each section (pages and
days, events, stories, entities, sources) fills files of its own, so a new event rewrites
the last events file, not every file after it. `robots.txt` points to the sitemap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ...settings import Settings
from ...store import Store
from .. import urls

if TYPE_CHECKING:
    from ..build import Writer

MAX_URLS = 50_000
NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP = "sitemap.xml"

Url = tuple[str, str]  # site path of an .html file, and when its content last changed


def sections(store: Store, outdir: Path) -> Iterator[list[Url]]:
    """The site's HTML pages, section by section, each in path order. The list comes from
    the build's manifest (what it wrote and when each file last changed), not from the
    disk: at a million files, reading the folders would cost more than an incremental
    build itself."""
    from ..build import Manifest  # the build's own record; imported here: build imports us

    manifest = Manifest(outdir)
    try:
        written = manifest.files(".html")
    finally:
        manifest.close()
    old = {urls.file_for(urls.event_path(day, slug), "html")
           for day, slug, _ in store.old_event_paths()}
    fixed: list[Url] = []
    events: list[Url] = []
    timelines: dict[str, list[Url]] = {"stories": [], "entities": [], "sources": []}
    for name, changed_at in written:
        url = ("/" + name, changed_at or _mtime(outdir / name))
        parts = name.split("/")
        if len(parts) == 1:
            if name in ("index.html", "about.html"):
                fixed.append(url)
        elif parts[0] == "news":
            if parts[-1] == "index.html":
                fixed.append(url)  # months and days
            elif len(parts) == 5 and name not in old:
                events.append(url)
        elif len(parts) == 2 and parts[0] in timelines:  # main pages, not numbered ones
            timelines[parts[0]].append(url)
    fixed.sort(key=lambda url: (url[0] != "/index.html", url[0] != "/about.html", url[0]))
    yield fixed
    yield events
    yield from timelines.values()


def _mtime(path: Path) -> str:
    """A file's modification time, for files recorded before the manifest kept times."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        mtime = 0
    return datetime.fromtimestamp(int(mtime), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _urlset(base: str, chunk: list[Url]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{NAMESPACE}">']
    lines += [f"<url><loc>{escape(base + path)}</loc><lastmod>{changed}</lastmod></url>"
              for path, changed in chunk]
    lines.append("</urlset>\n")
    return "\n".join(lines).encode()


def _index(base: str, parts: list[tuple[str, str]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{NAMESPACE}">']
    lines += [f"<sitemap><loc>{escape(base + '/' + name)}</loc>"
              f"<lastmod>{changed}</lastmod></sitemap>" for name, changed in parts]
    lines.append("</sitemapindex>\n")
    return "\n".join(lines).encode()


def sitemap_files(store: Store, settings: Settings, outdir: Path,
                  limit: int = MAX_URLS) -> list[tuple[str, bytes]]:
    """`sitemap.xml` (a urlset, or an index past `limit` URLs), its parts and robots.txt."""
    base = settings.site_url.rstrip("/")
    found = list(sections(store, outdir))
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {base}/{SITEMAP}\n".encode()
    if sum(len(section) for section in found) <= limit:
        return [(SITEMAP, _urlset(base, [url for section in found for url in section])),
                ("robots.txt", robots)]
    files: list[tuple[str, bytes]] = []
    parts: list[tuple[str, str]] = []
    for section in found:
        for start in range(0, len(section), limit):
            chunk = section[start : start + limit]
            name = f"sitemap-{len(parts) + 1}.xml"
            files.append((name, _urlset(base, chunk)))
            parts.append((name, max(changed for _, changed in chunk)))
    files.append((SITEMAP, _index(base, parts)))  # last: it names the parts
    files.append(("robots.txt", robots))
    return files


def sitemap(store: Store, settings: Settings, outdir: Path, writer: Writer) -> int:
    """Build extra: write the sitemap (only the files that changed). Returns the URLs."""
    writer.manifest.flush()  # what this build wrote, where sitemap_files reads it
    files = sitemap_files(store, settings, outdir)
    writer.write_many(files)
    return sum(content.count(b"<url>") for _, content in files)
