"""Wiki page titles: normalised the way MediaWiki does, so one page is one string."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

from .inline import decode_entities

# Spacing MediaWiki makes one space: underscores, no-break and other Unicode spaces.
SPACES = re.compile(r"[\s_\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_DIRECTIONAL = re.compile(r"[\u200e\u200f\u202a-\u202e]")

# Namespaces whose links are not article links: they embed media or categorise the page.
NON_ARTICLE_NAMESPACES = frozenset({"file", "image", "media", "category"})


def normalize_title(raw: str) -> str:
    """MediaWiki title normalisation: entities decoded (with their semicolon: `[[AT&T]]`,
    `[[R&D]]` stay as typed), `_` and space runs -> one space, trimmed, `#fragment` dropped,
    a leading `:` dropped, first letter upper case."""
    title = _DIRECTIONAL.sub("", decode_entities(raw))
    title = title.split("#", 1)[0]
    title = SPACES.sub(" ", title).strip()
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


# Redirects can chain (A -> B -> C); MediaWiki itself follows one hop, tables may hold more.
MAX_REDIRECT_HOPS = 10


def read_redirect_table(path: Path) -> tuple[dict[str, str], list[str]]:
    """A `from<TAB>to` file (one redirect a line; `#` comments and blank lines allowed) as
    {normalised from: normalised to}, and a message for every line that is not one."""
    redirects: dict[str, str] = {}
    problems: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
                problems.append(f"{path} line {number}: expected 'from<TAB>to', got {line[:80]!r}")
                continue
            source, target = normalize_title(parts[0]), normalize_title(parts[1])
            if source and target and source != target:
                redirects[source] = target
    return redirects, problems


def follow_redirects(title: str, redirects: dict[str, str]) -> str:
    """Where a title ends up after its redirects (the title itself if it is not one, or if
    the chain loops)."""
    seen = {title}
    current = title
    for _ in range(MAX_REDIRECT_HOPS):
        nxt = redirects.get(current)
        if nxt is None or nxt in seen:
            return current if nxt is None else title
        seen.add(nxt)
        current = nxt
    return current


# The redirect table shipped in the package (data/SOURCE.txt says where its rows come from).
SHIPPED_REDIRECTS = "redirects.tsv"


@cache
def shipped_redirects() -> dict[str, str]:
    """The shipped redirect table as {normalised from: normalised to}; read once."""
    with resources.as_file(resources.files(__package__) / "data" / SHIPPED_REDIRECTS) as path:
        table, problems = read_redirect_table(path)
    if problems:  # the package's own file: a broken line is a bug, not an input to skip
        raise ValueError("; ".join(problems))
    return table
