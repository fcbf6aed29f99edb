"""JSON pages: the page's fields as data, for programs.

The page's fields as JSON types (dates as ISO strings) plus what a program needs to follow
links without knowing the URL scheme: the absolute URLs of the page in every format
(`urls`), the site (`site`), and an absolute `url` next to every link's `path`. No build
time: an unchanged page must render to the same bytes in every build, so the static build
rewrites only what changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from functools import cache, lru_cache
from typing import Any

import orjson

from .. import urls
from ..model import SCHEMA_VERSION, EventItem, Page, RedirectPage, Ref
from . import Fragments, SiteInfo, absolute

FMT = "json"
_SCALARS = frozenset({str, int, float, bool, type(None)})
_LISTED = Fragments()


class ListedData(dict):
    """The data of an event item: shared by every page listing the event (so XML can
    keep its element text too)."""


class RefData(dict):
    """The data of a link: title, path, url (XML keeps the text of those it wrote)."""


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's fields in order, with a page's `kind` (a class variable) among them."""
    return tuple(name for name in kind.__dataclass_fields__ if not name.startswith("_"))


def _data(value: Any, link: Callable[[str], str]) -> Any:
    """Dataclasses as dicts (fields in declaration order, an absolute `url` right after
    every `path`), dates as ISO strings. One pass, dispatched on the exact type: this runs
    for every link of every page."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is Ref:
        return RefData(title=value.title, path=value.path, url=link(value.path))
    if kind is list or kind is tuple:
        if not value or type(value[0]) in _SCALARS:
            return list(value)  # counts (weekly), formats: plain already
        return [_data(item, link) for item in value]
    if kind is EventItem:  # listed on many pages: its data is made once per format
        return _LISTED.get((value.id, link), value,
                           lambda: ListedData(_fields_data(value, link)))
    if kind is date:
        return value.isoformat()
    if kind is dict:
        return {key: _data(item, link) for key, item in value.items()}
    return _fields_data(value, link)  # a dataclass


def _fields_data(value: Any, link: Callable[[str], str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _field_names(type(value)):
        item = getattr(value, name)
        out[name] = _data(item, link)
        if name == "path" and type(item) is str:
            out["url"] = link(item)
    return out


@cache
def _linker(site: SiteInfo, fmt: str) -> Callable[[str], str]:
    """The function giving absolute URLs in `fmt`: one per site and format (so that it
    can key the items made with it), remembering the URLs it made."""
    return lru_cache(maxsize=1 << 16)(lambda path: absolute(site, path, fmt))


def page_data(page: Page, site: SiteInfo, fmt: str = FMT) -> dict[str, Any]:
    """What the JSON and XML formats carry, with links to pages in `fmt`. Keys keep the
    page's field order, so the same page always gives the same document. Shared parts
    (event items) may be the same objects in several pages' data: read, never modify."""
    link = _linker(site, fmt)

    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": page.kind,
        "urls": {f: absolute(site, page.path, f) for f in urls.FORMATS},
        "site": {"name": site.name, "url": site.url},
    }
    for name in _field_names(type(page)):  # the page's own path has its `urls` above
        if name not in out:
            out[name] = _data(getattr(page, name), link)
    if isinstance(page, RedirectPage):
        out["target_url"] = link(page.target)
    return out


def render(page: Page, site: SiteInfo) -> bytes:
    """Compact UTF-8 JSON (no ASCII escapes), one line and a newline. orjson writes it
    (four times faster; the same bytes as the standard library's). A text with a lone
    surrogate, which UTF-8 cannot hold and orjson refuses, is written with ASCII escapes."""
    data = page_data(page, site)
    try:
        return orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
        return (text + "\n").encode("ascii")
