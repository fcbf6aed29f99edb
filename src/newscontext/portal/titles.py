"""Wiki page titles: normalised the way MediaWiki does, so one page is one string."""

from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import unquote

_SPACES = re.compile(r"[\s_\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_DIRECTIONAL = re.compile(r"[\u200e\u200f\u202a-\u202e]")

# Namespaces whose links are not article links: they embed media or categorise the page.
NON_ARTICLE_NAMESPACES = frozenset({"file", "image", "media", "category"})


def normalize_title(raw: str) -> str:
    """MediaWiki title normalisation: entities decoded, `_` and space runs -> one space, trimmed,
    `#fragment` dropped, a leading `:` dropped, first letter upper case."""
    title = _DIRECTIONAL.sub("", html.unescape(raw))
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


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAY_TITLE = re.compile(
    r"^(?:Portal:)?Current[ _]events/(\d{4})[ _]([A-Za-z]+)[ _](\d{1,2})$", re.IGNORECASE
)
_BARE_DAY = re.compile(r"^(\d{4})[ _]([A-Za-z]+)[ _](\d{1,2})$")


def day_title(day: date) -> str:
    """The portal page of a day: `Portal:Current events/2016 January 19` (no zero padding)."""
    return f"Portal:Current events/{day.year} {_MONTHS[day.month - 1]} {day.day}"


def day_of_title(title: str) -> date | None:
    """The day a portal day page is about, or None for any other page."""
    text = unquote(title).strip()
    match = _DAY_TITLE.match(text) or _BARE_DAY.match(text)
    if not match:
        return None
    year, month_name, day_number = match.groups()
    months = [name.lower() for name in _MONTHS]
    if month_name.lower() not in months:
        return None
    try:
        return date(int(year), months.index(month_name.lower()) + 1, int(day_number))
    except ValueError:
        return None
