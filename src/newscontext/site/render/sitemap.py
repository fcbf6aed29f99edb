"""Sitemap: every HTML page of the site, for search engines.

Listed: the front and about pages, months, days, events (current paths only: an old path of a
reworded event is a redirect), stories and subjects (their main pages; not the address of a
story that leads to its subject's page) and source articles.
The list comes from the files the build wrote (its manifest), so a page is listed once it
exists; `lastmod` is the time of the build that last changed its file (the build rewrites a
file only when its content changes), so an unchanged build leaves the sitemap byte for byte
the same.

Up to 50,000 URLs (the protocol's limit per file) go into `sitemap.xml`. Past that,
`sitemap.xml` is an index of parts, each a fixed range of paths: `sitemap-pages.xml` (front
and about), `sitemap-news-2016.xml` (a year's months, days and events),
`sitemap-stories.xml`, `sitemap-entities-de.xml` and `sitemap-sources-5f.xml` (by the first
two characters of the slug or hash); a part past the limit is cut into `-1`, `-2`, ...
A build then remakes only the parts holding files changed since the sitemap was last made,
reading only their range of the manifest: at a million files, reading it all would cost more
than a one-day build itself. `robots.txt` points to the sitemap.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ...settings import Settings
from ...store import Store

if TYPE_CHECKING:
    from ..build import Shared
    from ..manifest import Manifest, Writer

MAX_URLS = 50_000
NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP = "sitemap.xml"
STATE_KEY = "sitemap"  # in the manifest's state: the parts made, and when
FIXED = ("index.html", "about.html")  # listed first, in this order
SECTIONS = ("pages", "news", "stories", "entities", "sources")  # the parts' order

Url = tuple[str, str]  # site path of an .html file, and when its content last changed
Part = tuple[str, str, int]  # file name, lastmod, URLs


def bucket(name: str) -> str | None:
    """The sitemap part an HTML file (a path in the site) is listed in; None: not listed."""
    parts = name.split("/")
    if len(parts) == 1:
        return "pages" if name in FIXED else None
    head = parts[0]
    if head == "news":
        if len(parts) == 5 or (len(parts) == 4 and parts[3] == "index.html"):
            return f"news-{parts[1]}"  # a year: its months, days and events
        return None
    if len(parts) == 2:  # main pages, not numbered ones
        if head == "stories":
            return "stories"
        if head in ("entities", "sources"):  # by the slug's or hash's first characters
            return f"{head}-{parts[1].removesuffix('.html')[:2]}"
    return None


def _ranges(name: str) -> list[str]:
    """The path prefixes holding a part's files (what a refresh reads of the manifest)."""
    section, _, key = name.partition("-")
    if section == "pages":
        return list(FIXED)
    if section == "news":
        return [f"news/{key}/"]
    if section == "stories":
        return ["stories/"]
    return [f"{section}/{key}"]


def _order(name: str) -> tuple[int, str]:
    return SECTIONS.index(name.partition("-")[0]), name


def _read(manifest: Manifest, old: set[str], outdir: Path, names: set[str] | None
          ) -> dict[str, list[Url]]:
    """The URLs of these parts (of every part: None), each in path order; `old`: the
    files at old paths (redirects), not listed."""
    if names is None:
        rows = manifest.files(".html")
    else:
        rows = [row for name in sorted(names) for prefix in _ranges(name)
                for row in manifest.files(".html", prefix)]
    found: dict[str, list[Url]] = defaultdict(list)
    for path, changed_at in rows:
        part = bucket(path)
        if part is not None and (names is None or part in names) and path not in old:
            found[part].append(("/" + path, changed_at or _mtime(outdir / path)))
    pages = found.get("pages")
    if pages:
        pages.sort(key=lambda url: FIXED.index(url[0][1:]))
    return found


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


def _index(base: str, parts: list[Part]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{NAMESPACE}">']
    lines += [f"<sitemap><loc>{escape(base + '/' + name)}</loc>"
              f"<lastmod>{changed}</lastmod></sitemap>" for name, changed, _ in parts]
    lines.append("</sitemapindex>\n")
    return "\n".join(lines).encode()


def sitemap_files(manifest: Manifest, store: Store, settings: Settings, outdir: Path,
                  limit: int = MAX_URLS, *, whole: bool = False,
                  moved: Mapping[str, str] | None = None
                  ) -> tuple[list[tuple[str, bytes]], dict]:
    """The sitemap files to write (`sitemap.xml` last but for `robots.txt`: it names the
    parts), and the state to save once they are written. `whole`: remake every part.
    `moved`: the redirect map (old event paths, stories and entities that are another
    subject's page), when the build has made it; None: made here."""
    if moved is None:
        from ..redirects import redirect_map

        moved = redirect_map(store, settings)
    old = {path.lstrip("/") for path in moved if path.endswith(".html")}
    base = settings.site_url.rstrip("/")
    robots = ("robots.txt", f"User-agent: *\nAllow: /\n\nSitemap: {base}/{SITEMAP}\n".encode())
    stamp = manifest.stamp
    saved = {} if whole else json.loads(manifest.state().get(STATE_KEY, "{}"))
    known: dict[str, list[Part]] = saved.get("parts") or {}
    # A large site listed before: the parts with files changed since (all of them when
    # the site's URL or the limit changed, or the clock went back).
    if known and saved["stamp"] < stamp and saved.get("site") == [base, limit]:
        touched = {part for path in manifest.changed_after(saved["stamp"], ".html")
                   if (part := bucket(path)) is not None}
        found = _read(manifest, old, outdir, touched)
    else:
        known, touched, found = {}, None, _read(manifest, old, outdir, None)
    total = sum(len(u) for u in found.values()) + sum(
        n for name, parts in known.items() if name not in (touched or ()) for _, _, n in parts)
    if total <= limit:
        if known:  # a site listed in parts has become small enough for one file: all of it
            return sitemap_files(manifest, store, settings, outdir, limit, whole=True,
                                 moved=moved)
        every = [url for name in sorted(found, key=_order) for url in found[name]]
        return [(SITEMAP, _urlset(base, every)), robots], {"stamp": stamp}
    files: list[tuple[str, bytes]] = []
    for name in sorted(found if touched is None else touched, key=_order):
        section = found.get(name, [])
        chunks = [section[i : i + limit] for i in range(0, len(section), limit)]
        made: list[Part] = []
        for n, chunk in enumerate(chunks, start=1):
            file = f"sitemap-{name}.xml" if len(chunks) == 1 else f"sitemap-{name}-{n}.xml"
            files.append((file, _urlset(base, chunk)))
            made.append((file, max(changed for _, changed in chunk), len(chunk)))
        known[name] = made
    parts = [part for name in sorted(known, key=_order) for part in known[name]]
    files += [(SITEMAP, _index(base, parts)), robots]
    return files, {"stamp": stamp, "site": [base, limit], "parts": known}


def sitemap(store: Store, settings: Settings, outdir: Path, writer: Writer,
            shared: Shared) -> int:
    """Build extra: write the sitemap (only the files that changed), then note which parts
    it made and when (a build killed before that remakes them). Returns the URLs listed."""
    manifest = writer.manifest
    files, state = sitemap_files(manifest, store, settings, outdir,
                                 moved=shared.redirect_map())
    writer.write_many(files)
    manifest.save_state({STATE_KEY: json.dumps(state, separators=(",", ":"))})
    if "parts" in state:
        return sum(n for parts in state["parts"].values() for _, _, n in parts)
    return files[0][1].count(b"<url>")
