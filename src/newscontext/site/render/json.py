"""JSON pages: the page's fields as data, for programs.

`page.to_data()` plus what a program needs to follow links without knowing the URL scheme:
the absolute URLs of the page in every format (`urls`), the site (`site`), and an absolute
`url` next to every link's `path`. No build time: an unchanged page must render to the same
bytes in every build, so the static build rewrites only what changed.
"""

from __future__ import annotations

import json
from typing import Any

from .. import urls
from ..pages import Page, RedirectPage
from . import SiteInfo, absolute

FMT = "json"


def absolute_url(site: SiteInfo, path: str, fmt: str) -> str:
    """The absolute URL of a site path in a format; a site file (a feed: its name has a
    dot) keeps its own name, and outside URLs stay as they are."""
    if "://" not in path and "." in path.rsplit("/", 1)[-1]:
        return site.url + path
    return absolute(site, path, fmt)


def _linked(value: Any, site: SiteInfo, fmt: str) -> Any:
    """Every object with a `path` gets the absolute `url` of that path right after it."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key] = _linked(item, site, fmt)
            if key == "path" and isinstance(item, str) and "url" not in value:
                out["url"] = absolute_url(site, item, fmt)
        return out
    if isinstance(value, list):
        if value and not isinstance(value[0], dict | list):
            return value  # numbers or strings (weekly counts, formats): nothing to link
        return [_linked(item, site, fmt) for item in value]
    return value


def page_data(page: Page, site: SiteInfo, fmt: str = FMT) -> dict[str, Any]:
    """What the JSON and XML formats carry, with links to pages in `fmt`. Keys keep the
    page's field order, so the same page always gives the same document."""
    data = page.to_data()  # shared (pages.py caches it): read, never modify
    out: dict[str, Any] = {
        "schema_version": data["schema_version"],
        "kind": data["kind"],
        "urls": {f: absolute_url(site, page.path, f) for f in urls.FORMATS},
        "site": {"name": site.name, "url": site.url},
    }
    for key, value in data.items():
        if key not in out:
            out[key] = _linked(value, site, fmt)
    if isinstance(page, RedirectPage):
        out["target_url"] = absolute_url(site, page.target, fmt)
    return out


def render(page: Page, site: SiteInfo) -> bytes:
    """Compact UTF-8 JSON (no ASCII escapes), one line and a newline."""
    text = json.dumps(page_data(page, site), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)
    return (text + "\n").encode("utf-8")
