"""Slugs and paths: the only place that decides what a page's URL is."""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import date
from urllib.parse import quote

from unidecode import unidecode

MAX_SLUG = 140  # long enough to tell events apart, short enough for every file system
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SURROGATES = re.compile("[\ud800-\udfff]")  # no character: unidecode would warn of each


def slugify(text: str, limit: int = MAX_SLUG) -> str:
    """ASCII slug: real transliteration (Hôtel -> hotel), lower case, runs of other
    characters -> `-`, at most `limit` characters cut at a word boundary."""
    slug = _NOT_SLUG.sub("-", unidecode(_SURROGATES.sub("", text)).lower()).strip("-")
    if len(slug) > limit:
        cut = slug[: limit + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut[1:] else slug[:limit]
        slug = slug.strip("-")
    if not slug:  # nothing transliterates (a title like "$"): spell its code points
        slug = _spelled(text.strip(), limit)
    return slug


def _spelled(text: str, limit: int) -> str:
    """`u0024-u20ac`: the code points of `text`, whole ones only, within `limit`."""
    slug = ""
    for ch in text:
        word = f"u{ord(ch):04x}"
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > limit:
            break
        slug = longer
    return slug or "untitled"[:limit]


def unique_slug(text: str, taken: Container[str], limit: int = MAX_SLUG) -> str:
    """A slug not in `taken`: the plain slug, else with `-2`, `-3`, ... appended."""
    base = slugify(text, limit)
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = slugify(text, limit - len(suffix)) + suffix
        if candidate not in taken:
            return candidate
        n += 1


# -- paths (without extension; every page exists as .html, .md, .json and .xml) -------------

FORMATS = ("html", "md", "json", "xml")
WIKIPEDIA = "https://en.wikipedia.org/wiki/"
FRONT = "/index"
ABOUT = "/about"
SEARCH = "/search"
FEED_RSS = "/feed.xml"
FEED_ATOM = "/feed.atom"


def day_path(day: date) -> str:
    return f"/news/{day.year:04d}/{day.month:02d}/{day.day:02d}/index"


def month_path(year: int, month: int) -> str:
    return f"/news/{year:04d}/{month:02d}/index"


def event_path(day: date | str, slug: str) -> str:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"/news/{day.year:04d}/{day.month:02d}/{day.day:02d}/{slug}"


def story_path(slug: str, page: int | None = None) -> str:
    return f"/stories/{slug}" + (f"/page/{page}" if page else "")


def entity_path(slug: str, page: int | None = None) -> str:
    return f"/entities/{slug}" + (f"/page/{page}" if page else "")


def feed_path(timeline: str, kind: str) -> str:
    """The RSS (`xml`) or Atom (`atom`) feed of a story or entity page path."""
    return f"{timeline}/feed.{kind}"


def source_path(hash_: str) -> str:
    return f"/sources/{hash_}"


def wikipedia_url(title: str) -> str:
    # errors="replace": a lone surrogate has no UTF-8 and must not stop a page
    return WIKIPEDIA + quote(title.replace(" ", "_"), safe="/:(),'!*", errors="replace")


def file_for(path: str, ext: str) -> str:
    """The file (relative to the site root) holding a page path in one format."""
    return f"{path.lstrip('/')}.{ext}"
