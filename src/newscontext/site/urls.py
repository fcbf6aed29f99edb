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
NOT_FOUND = "/404"  # HTML only: static hosts and `serve` answer a missing path with it
FEED_RSS = "/feed.xml"
FEED_ATOM = "/feed.atom"


def day_path(day: date) -> str:
    return f"/news/{day.year:04d}/{day.month:02d}/{day.day:02d}/index"


def year_path(year: int) -> str:
    return f"/news/{year:04d}/index"


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


MEDIA = "/media/"  # the archive's small copies of cover pictures
_MEDIA_TYPES = {"image/webp": "webp", "image/jpeg": "jpg"}
_MEDIA_FILE = re.compile(r"media/([0-9a-f]{64})\.(webp|jpg)")


def media_path(sha256: str, media_type: str) -> str:
    """A picture copy's file, named by the hash of its bytes (a path never changes what
    it holds, so it may be cached for ever). With its extension: it is one file, not a
    page in four formats."""
    return f"{MEDIA}{sha256}.{_MEDIA_TYPES[media_type]}"


def parse_media(name: str) -> tuple[str, str] | None:
    """The (sha256, media type) a site file name (as `file_for` makes them, no leading
    slash) holds, when it is a picture copy's."""
    match = _MEDIA_FILE.fullmatch(name)
    if match is None:
        return None
    kinds = {ext: kind for kind, ext in _MEDIA_TYPES.items()}
    return match.group(1), kinds[match.group(2)]


def wikipedia_url(title: str) -> str:
    # errors="replace": a lone surrogate has no UTF-8 and must not stop a page
    return WIKIPEDIA + quote(title.replace(" ", "_"), safe="/:(),'!*", errors="replace")


def file_for(path: str, ext: str) -> str:
    """The file (relative to the site root) holding a page path in one format."""
    return f"{path.lstrip('/')}.{ext}"


# -- the reverse: which page a path names ---------------------------------------------------

# A parsed page path: ("front",), ("about",), ("day", date), ("year", year),
# ("month", year, month),
# ("event", date, slug), ("story", slug, page), ("entity", slug, page), ("source", hash).
# Feeds: ("feed", "root", "") and ("feed", "story" | "entity", slug), with their format
# "xml" (RSS) or "atom".
Named = tuple
_NAME = r"[^/.\\\x00]+"  # a slug or hash: one segment, no extension, nothing a path hides
_PATTERNS = [
    (re.compile(r"/news/(\d{4})/(\d{2})/(\d{2})/index"), "day"),
    (re.compile(r"/news/(\d{4})/(\d{2})/index"), "month"),
    (re.compile(r"/news/(\d{4})/index"), "year"),
    (re.compile(rf"/news/(\d{{4}})/(\d{{2}})/(\d{{2}})/({_NAME})"), "event"),
    (re.compile(rf"/(stories|entities)/({_NAME})(?:/page/(\d{{1,9}}))?"), "timeline"),
    (re.compile(rf"/sources/({_NAME})"), "source"),
]
_FEED = re.compile(rf"/(stories|entities)/({_NAME})/feed\.(xml|atom)")


def parse_path(path: str) -> Named | None:
    """The page a path without extension names (see `Named`), or None: the reverse of the
    path functions above, held to them: a path they would not make names no page."""
    named: Named | None = None
    if path in (FRONT, ABOUT):
        named = ("front",) if path == FRONT else ("about",)
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(path)
        if named is not None or match is None:
            continue
        parts = match.groups()
        try:
            if kind == "day":
                named = ("day", date(int(parts[0]), int(parts[1]), int(parts[2])))
            elif kind == "year" and int(parts[0]) >= 1:
                named = ("year", int(parts[0]))
            elif kind == "month" and 1 <= int(parts[1]) <= 12:
                named = ("month", int(parts[0]), int(parts[1]))
            elif kind == "event":
                named = ("event", date(int(parts[0]), int(parts[1]), int(parts[2])), parts[3])
            elif kind == "timeline":
                named = ("story" if parts[0] == "stories" else "entity", parts[1],
                         int(parts[2]) if parts[2] else None)
            elif kind == "source":
                named = ("source", parts[0])
        except ValueError:  # no such date
            return None
    return named if named is not None and path_of(named) == path else None


def parse_file(name: str) -> tuple[Named, str] | None:
    """The page and format a site file (relative to the site's root, as `file_for` makes
    it) holds, or None; feeds are ("feed", ...) with "xml" or "atom"."""
    path = "/" + name
    if path in (FEED_RSS, FEED_ATOM):
        return ("feed", "root", ""), path.rsplit(".", 1)[1]
    feed = _FEED.fullmatch(path)
    if feed is not None:
        kind, slug, ext = feed.groups()
        named = ("feed", "story" if kind == "stories" else "entity", slug)
        return (named, ext) if path_of(named, ext) == path else None
    stem, dot, ext = path.rpartition(".")
    if not dot or ext not in FORMATS:
        return None
    named = parse_path(stem)
    return (named, ext) if named is not None else None


def path_of(named: Named, feed_format: str = "xml") -> str:
    """The path of a parsed page (a feed's with its extension): `parse_path` inverted."""
    kind = named[0]
    if kind == "front":
        return FRONT
    if kind == "about":
        return ABOUT
    if kind == "day":
        return day_path(named[1])
    if kind == "year":
        return year_path(named[1])
    if kind == "month":
        return month_path(named[1], named[2])
    if kind == "event":
        return event_path(named[1], named[2])
    if kind == "story":
        return story_path(named[1], named[2])
    if kind == "entity":
        return entity_path(named[1], named[2])
    if kind == "source":
        return source_path(named[1])
    if kind == "feed":
        if named[1] == "root":
            return FEED_RSS if feed_format == "xml" else FEED_ATOM
        timeline = story_path(named[2]) if named[1] == "story" else entity_path(named[2])
        return feed_path(timeline, feed_format)
    raise ValueError(f"unknown page kind {kind!r}")
