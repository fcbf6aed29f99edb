"""The redirect map: every old path of a reworded or moved event and where it goes now.

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
    from .build import Writer

MAP = "_redirects"


def redirect_map(store: Store) -> dict[str, str]:
    """Old path -> current path, for the extensionless path and each format's file."""
    old_paths = store.old_event_paths()
    where = store.event_slugs({event_id for _, _, event_id in old_paths})
    found: dict[str, str] = {}
    for day, slug, event_id in old_paths:
        old = urls.event_path(day, slug)
        new = urls.event_path(*where[event_id]) if event_id in where else urls.FRONT
        if old == new:
            continue
        found[old] = new
        for ext in urls.FORMATS:
            found[f"{old}.{ext}"] = f"{new}.{ext}"
    return found


def redirects(store: Store, settings: Settings, outdir: Path, writer: Writer) -> int:
    """Build extra: write `_redirects`. Returns the number of old event paths."""
    found = redirect_map(store)
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
