"""Sitemap: every HTML page of the site, for search engines.

Listed: the front and about pages, months, days, events (current paths only: an old path of a
reworded event is a redirect), stories and entities (their main pages) and source articles.
The list comes from the files the build wrote, so a page is listed once it exists; `lastmod`
is when its file last changed (the build rewrites a file only when its content changes), so
an unchanged build leaves the sitemap byte for byte the same.

Up to 50,000 URLs (the protocol's limit per file) go into `sitemap.xml`; past that,
`sitemap.xml` is an index of `sitemap-1.xml`, `sitemap-2.xml`, ... Each section (pages and
days, events, stories, entities, sources) fills files of its own, so a new event rewrites
the last events file, not every file after it. `robots.txt` points to the sitemap.
"""

from __future__ import annotations

import os
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

Url = tuple[str, float]  # site path of an .html file, and its modification time


def _lastmod(mtime: float) -> str:
    return datetime.fromtimestamp(int(mtime), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _html_files(folder: Path) -> list[tuple[str, float]]:
    """(name, mtime) of the .html files directly in a folder, sorted by name."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    return sorted((e.name, e.stat().st_mtime) for e in entries
                  if e.name.endswith(".html") and e.is_file())


def _subfolders(folder: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_dir() and e.name.isdigit())
    except FileNotFoundError:
        return []


def sections(store: Store, outdir: Path) -> Iterator[list[Url]]:
    """The site's HTML pages, section by section, each in a stable order."""
    fixed = [(f"/{name}", mtime) for name, mtime in _html_files(outdir)
             if name in ("index.html", "about.html")]
    fixed.sort(key=lambda url: url[0] != "/index.html")
    events: list[Url] = []
    old = {urls.file_for(urls.event_path(day, slug), "html")
           for day, slug, _ in store.old_event_paths()}
    news = outdir / "news"
    for year in _subfolders(news):
        for month in _subfolders(news / year):
            where = news / year / month
            fixed += [(f"/news/{year}/{month}/{n}", t) for n, t in _html_files(where)
                      if n == "index.html"]
            for day in _subfolders(where):
                prefix = f"news/{year}/{month}/{day}/"
                for name, mtime in _html_files(where / day):
                    if name == "index.html":
                        fixed.append(("/" + prefix + name, mtime))
                    elif prefix + name not in old:
                        events.append(("/" + prefix + name, mtime))
    yield fixed
    yield events
    for section in ("stories", "entities", "sources"):
        yield [(f"/{section}/{name}", mtime) for name, mtime in _html_files(outdir / section)]


def _urlset(base: str, chunk: list[Url]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{NAMESPACE}">']
    lines += [f"<url><loc>{escape(base + path)}</loc><lastmod>{_lastmod(mtime)}</lastmod></url>"
              for path, mtime in chunk]
    lines.append("</urlset>\n")
    return "\n".join(lines).encode()


def _index(base: str, parts: list[tuple[str, float]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{NAMESPACE}">']
    lines += [f"<sitemap><loc>{escape(base + '/' + name)}</loc>"
              f"<lastmod>{_lastmod(mtime)}</lastmod></sitemap>" for name, mtime in parts]
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
    parts: list[tuple[str, float]] = []
    for section in found:
        for start in range(0, len(section), limit):
            chunk = section[start : start + limit]
            name = f"sitemap-{len(parts) + 1}.xml"
            files.append((name, _urlset(base, chunk)))
            parts.append((name, max(mtime for _, mtime in chunk)))
    files.append((SITEMAP, _index(base, parts)))  # last: it names the parts
    files.append(("robots.txt", robots))
    return files


def sitemap(store: Store, settings: Settings, outdir: Path, writer: Writer) -> int:
    """Build extra: write the sitemap (only the files that changed). Returns the URLs."""
    files = sitemap_files(store, settings, outdir)
    writer.write_many(files)
    return sum(content.count(b"<url>") for _, content in files)
