"""The redirect map: every old path of a reworded or moved event and where it goes now, and
the address of every story that is its subject's page (a heading that is one link) and of
every entity whose title became a redirect or another spelling of a subject.

The build writes redirect pages at the old paths (a static host without redirects still
takes readers there); this extra also writes `_redirects`, one `old new 301` line per old
path and format, the format Netlify and Cloudflare Pages read, so such a host answers with a
real 301, and so does `newscontext serve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings
from ..store import Store
from . import urls

if TYPE_CHECKING:
    from .build import Shared
    from .manifest import Writer

MAP = "_redirects"


def redirect_map(store: Store, settings: Settings | None = None) -> dict[str, str]:
    """Old path -> current path, for the extensionless path and each format's file."""
    from .pages import Pages

    pages = Pages(store, settings or Settings())
    pages.story_slug.read_all()
    for table in (pages.story_subject, pages.entity_subject, pages.story_plain):
        table.read_all()  # once each: a heading at a time would read the archive each time
        pages.want_subjects([*table.keys(), *table.values()])
    pages.entity_slug.want(pages.entity_subject)
    moved = {urls.story_path(pages.story_slug[name]): ref.path for name in pages.story_subject
             if (ref := pages.moved("story", name)) is not None}
    moved.update({urls.entity_path(pages.entity_slug[name]): ref.path
                  for name in pages.entity_subject
                  if (ref := pages.moved("entity", name)) is not None})
    old_paths = store.old_event_paths()
    where = store.event_slugs({event_id for _, _, event_id in old_paths})
    for day, slug, event_id in old_paths:
        old = urls.event_path(day, slug)
        new = urls.event_path(*where[event_id]) if event_id in where else urls.FRONT
        if old == new:
            continue
        moved[old] = new
    found: dict[str, str] = {}
    for old, new in moved.items():
        found[old] = new
        for ext in urls.FORMATS:
            found[f"{old}.{ext}"] = f"{new}.{ext}"
    return found


def redirects(store: Store, settings: Settings, outdir: Path, writer: Writer,
              shared: Shared) -> int:
    """Build extra: write `_redirects` (the build's map: `shared`). Returns the number of
    old paths."""
    found = shared.redirect_map()
    lines = [f"{old} {new} 301\n" for old, new in sorted(found.items())]
    writer.write_many([(MAP, "".join(lines).encode())])
    return len(found) // (1 + len(urls.FORMATS))


def read_map(path: Path) -> dict[str, str]:
    """A `_redirects` file as {old path: new path} (other statuses and comments skipped)."""
    found: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return found
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#") and parts[2:3] in ([], ["301"]):
            found[parts[0]] = parts[1]
    return found
