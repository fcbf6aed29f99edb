"""XML pages: the JSON page's data as XML, for programs that prefer it.

Mapping (documented in docs/schema.md):
- the root element is `page`, with `schema_version` and `kind` as attributes;
- every field is one child element named after it, in the JSON order;
- a list is an element holding one child per item, named by the singular of the list
  (`sources/source`, `context/entity`, `weekly/week`);
- `urls` holds `<url format="html">...</url>`, one per format (an element named `xml` is
  reserved in XML);
- a null field is an empty element with `xsi:nil="true"`; booleans are `true`/`false`;
- characters XML 1.0 cannot hold (most control characters) are dropped.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Page
from . import Fragments, SiteInfo
from .json import ListedData, RefData, page_data

FMT = "xml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

ITEM_NAMES = {
    "stories": "story",
    "sources": "source",
    "context": "entity",
    "shared": "entity",
    "cooccurring": "entity",
    "substories": "substory",
    "headed": "event",
    "changes": "change",
    "related": "item",
    "groups": "group",
    "events": "event",
    "days": "day",
    "months": "month",
    "years": "year",
    "weekly": "week",
    "pages": "page",
    "feeds": "feed",
    "cited_by": "event",
    "formats": "format",
}

NUMBER_LISTS = frozenset({"weekly"})  # long lists of integers, written space-separated

_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Anything a text needs changed for: what XML forbids, markup characters, and `\r` (which
# a parser would read back as `\n` unless written as a reference).
_SPECIAL = re.compile("[&<>\r]|" + _INVALID.pattern)
INDENT = "  "


def clean(text: str) -> str:
    """Text without the characters XML 1.0 forbids (they would make the page unreadable)."""
    return _INVALID.sub("", text)


def _text(text: str) -> str:
    """Text fit for element content."""
    if not _SPECIAL.search(text):
        return text  # the usual case: one scan
    return (clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


_LISTED = Fragments()
_REFS: dict[tuple[str, int, str, str], str] = {}  # a link's element, by name and depth


def _write(out: list[str], name: str, value: Any, depth: int) -> None:
    """One element, indented, appended to `out`: text inline, children one per line.
    Strings are built directly: an element tree costs more than the rest of the page."""
    kind = type(value)
    if kind is ListedData:  # an event item, listed on many pages: written once per depth
        out.append(_LISTED.get((id(value), name, depth), value,
                               lambda: _element(name, dict(value), depth)))
        return
    if kind is RefData:  # a link: the same entities and events are linked from many pages
        key = (name, depth, value["title"], value["url"])
        text = _REFS.get(key)
        if text is None:
            if len(_REFS) >= 50_000:
                _REFS.clear()
            text = _REFS[key] = _element(name, dict(value), depth)
        out.append(text)
        return
    pad = INDENT * depth
    if kind is dict or kind is list:
        if not value:
            out.append(f"{pad}<{name}/>\n")
        elif kind is list and name in NUMBER_LISTS:  # an XML Schema list: one element
            out.append(f"{pad}<{name}>{' '.join(map(str, value))}</{name}>\n")
        else:
            out.append(f"{pad}<{name}>\n")
            inner = pad + INDENT
            child = ITEM_NAMES.get(name, "item")
            pairs = value.items() if kind is dict else ((child, item) for item in value)
            for key, item in pairs:
                if type(item) is str:  # most children: written here, not by a call
                    text = _text(item) if _SPECIAL.search(item) else item
                    out.append(f"{inner}<{key}>{text}</{key}>\n")
                else:
                    _write(out, key, item, depth + 1)
            out.append(f"{pad}</{name}>\n")
    else:
        out.append(f"{pad}{_scalar(name, value)}\n")


def _scalar(name: str, value: Any) -> str:
    kind = type(value)
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if kind is str:
        return f"<{name}>{_text(value)}</{name}>"
    if kind is bool:
        return f"<{name}>{'true' if value else 'false'}</{name}>"
    if kind is int:
        return f"<{name}>{value}</{name}>"
    if kind is float:
        return f"<{name}>{value!r}</{name}>"
    raise TypeError(f"{name}: cannot write {kind.__name__} as XML")


def _element(name: str, value: Any, depth: int) -> str:
    out: list[str] = []
    _write(out, name, value, depth)
    return "".join(out)


def render(page: Page, site: SiteInfo) -> bytes:
    """UTF-8 XML with a declaration, indented; links point to the XML pages."""
    data = page_data(page, site, FMT)
    out = ["<?xml version='1.0' encoding='UTF-8'?>\n",
           f'<page xmlns:xsi="{XSI}" schema_version="{data.pop("schema_version")}" '
           f'kind="{data.pop("kind")}">\n',  # both are names, nothing to escape
           f"{INDENT}<urls>\n"]
    for fmt, url in data.pop("urls").items():
        out.append(f'{INDENT * 2}<url format="{fmt}">{_text(url)}</url>\n')
    out.append(f"{INDENT}</urls>\n")
    for key, value in data.items():
        _write(out, key, value, 1)
    out.append("</page>\n")
    return "".join(out).encode("utf-8")
