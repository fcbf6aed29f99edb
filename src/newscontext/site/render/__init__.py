"""Renderers: one module per format. Each decides how a page looks, never what it holds.

`render(page, fmt, site)` returns the bytes of one page in one format ("html", "md",
"json", "xml"). Links in pages are site paths without extension; `href` gives the link a
page in a given format should use (Markdown pages link to .md pages, HTML to .html).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ..model import Page


@dataclass(frozen=True)
class SiteInfo:
    """What every page may mention about the site itself."""

    url: str  # absolute base URL, no trailing slash
    generated: str  # build time, UTC ISO 8601
    name: str = "newscontext"


# Schemes a link may have: they only navigate. Any other (`javascript:`, `vbscript:`,
# `data:`, ...) runs or shows code of the sender's choosing when followed.
SAFE_SCHEMES = ("http://", "https://", "ftp://", "mailto:")


def linkable(url: str) -> bool:
    """Whether a page may link to `url` (a source's address, an article's picture): a site
    path or an outside URL of a safe scheme. Anything else is shown as text. The scheme is
    read as a browser reads it, through any case, leading space or control character: a
    `:` before the first `/` makes `url` outside, and an outside URL must start with a safe
    scheme exactly."""
    outside = "://" in url or ":" in url.split("/", 1)[0]
    return not outside or url.lower().startswith(SAFE_SCHEMES)


def href(path: str, fmt: str) -> str:
    """The link to a site path from a page in `fmt`; outside URLs are left alone."""
    if "://" in path or path.startswith("#") or "." in path.rsplit("/", 1)[-1]:
        return path  # outside URLs, anchors, and files with their own extension (feeds)
    return f"{path}.{fmt}"


def absolute(site: SiteInfo, path: str, fmt: str) -> str:
    """The absolute URL of a site path in a format (JSON and XML carry these)."""
    link = href(path, fmt)
    return link if "://" in link else site.url + link


class Fragments:
    """Rendered pieces of the objects pages share (an event is listed on its day and on
    every story and entity page it belongs to), made once while their object lives on.

    A piece is found by a key and kept with the object it was made from: an entry made
    from another object with the same key (a page rebuilt since) is made again."""

    def __init__(self, limit: int = 20_000):
        self.limit = limit
        self.kept: dict[Hashable, tuple[object, Any]] = {}

    def get(self, key: Hashable, owner: object, make: Callable[[], Any]) -> Any:
        hit = self.kept.get(key)
        if hit is not None and hit[0] is owner:
            return hit[1]
        value = make()
        if len(self.kept) >= self.limit:  # the oldest half goes (pages nearby share the rest)
            for old in list(self.kept)[: self.limit // 2]:
                del self.kept[old]
        self.kept[key] = (owner, value)
        return value


def render(page: Page, fmt: str, site: SiteInfo) -> bytes:
    return _renderers()[fmt](page, site)


def _renderers() -> dict[str, Callable[[Page, SiteInfo], bytes]]:
    from . import html, json, markdown, xml  # imported late: html loads Jinja2 templates

    return {"html": html.render, "md": markdown.render, "json": json.render, "xml": xml.render}
