"""Wiki page titles: normalised the way MediaWiki does, so one page is one string."""

from __future__ import annotations

import re
from urllib.parse import unquote

_SPACES = re.compile(r"[\s_\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_DIRECTIONAL = re.compile(r"[\u200e\u200f\u202a-\u202e]")

# Namespaces whose links are not article links: they embed media or categorise the page.
NON_ARTICLE_NAMESPACES = frozenset({"file", "image", "media", "category"})


def normalize_title(raw: str) -> str:
    """MediaWiki title normalisation: `_` and runs of spaces -> one space, trimmed,
    `#fragment` dropped, a leading `:` dropped, first letter upper case."""
    title = _DIRECTIONAL.sub("", raw)
    title = title.split("#", 1)[0]
    title = _SPACES.sub(" ", title).strip()
    title = title.lstrip(":").strip()
    if not title:
        return ""
    return title[0].upper() + title[1:]


def title_from_href(href: str) -> str | None:
    """The page title an HTML link to `/wiki/Title` points at, or None for other links."""
    marker = "/wiki/"
    at = href.find(marker)
    if at < 0:
        return None
    path = href[at + len(marker) :].split("?", 1)[0]
    return normalize_title(unquote(path))


def namespace_of(title: str) -> str:
    """The lower-cased namespace prefix of a title (`File:x.jpg` -> `file`), or ''."""
    if ":" not in title:
        return ""
    return title.split(":", 1)[0].strip().lower()
