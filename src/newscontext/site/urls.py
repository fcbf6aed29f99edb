"""Slugs and paths: the only place that decides what a page's URL is."""

from __future__ import annotations

import re
from collections.abc import Container

from unidecode import unidecode

MAX_SLUG = 140  # long enough to tell events apart, short enough for every file system
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, limit: int = MAX_SLUG) -> str:
    """ASCII slug: real transliteration (Hôtel -> hotel), lower case, runs of other
    characters -> `-`, at most `limit` characters cut at a word boundary."""
    slug = _NOT_SLUG.sub("-", unidecode(text).lower()).strip("-")
    if len(slug) > limit:
        cut = slug[: limit + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut[1:] else slug[:limit]
        slug = slug.strip("-")
    if not slug:  # nothing transliterates (a title like "$"): spell its code points
        slug = "-".join(f"u{ord(ch):04x}" for ch in text.strip())[:limit] or "untitled"
    return slug


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
