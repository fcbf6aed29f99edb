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

from lxml import etree

from ..pages import Page
from . import SiteInfo
from .json import page_data

FMT = "xml"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NIL = f"{{{XSI}}}nil"

ITEM_NAMES = {
    "stories": "story",
    "sources": "source",
    "context": "entity",
    "shared": "entity",
    "cooccurring": "entity",
    "changes": "change",
    "related": "item",
    "groups": "group",
    "events": "event",
    "days": "day",
    "weekly": "week",
    "pages": "page",
    "feeds": "feed",
    "cited_by": "event",
    "formats": "format",
}

NUMBER_LISTS = frozenset({"weekly"})  # long lists of integers, written space-separated

_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    """Text without the characters XML 1.0 forbids (they would make the page unreadable)."""
    return _INVALID.sub("", text)


def _fill(element: etree._Element, value: Any, name: str) -> None:
    if value is None:
        element.set(NIL, "true")
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, int):
        element.text = str(value)
    elif isinstance(value, float):
        element.text = repr(value)
    elif isinstance(value, str):
        element.text = clean(value) if _INVALID.search(value) else value
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(etree.SubElement(element, key), item, key)
    elif isinstance(value, list) and name in NUMBER_LISTS:
        element.text = " ".join(map(str, value))  # an XML Schema list: one element, not many
    elif isinstance(value, list):
        child = ITEM_NAMES.get(name, "item")
        for item in value:
            _fill(etree.SubElement(element, child), item, child)
    else:
        raise TypeError(f"{name}: cannot write {type(value).__name__} as XML")


def render(page: Page, site: SiteInfo) -> bytes:
    """UTF-8 XML with a declaration; links point to the XML pages."""
    data = page_data(page, site, FMT)
    root = etree.Element("page", nsmap={"xsi": XSI})
    root.set("schema_version", str(data.pop("schema_version")))
    root.set("kind", data.pop("kind"))
    page_urls = etree.SubElement(root, "urls")
    for fmt, url in data.pop("urls").items():
        etree.SubElement(page_urls, "url", format=fmt).text = clean(url)
    for key, value in data.items():
        _fill(etree.SubElement(root, key), value, key)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
