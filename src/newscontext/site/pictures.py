"""Which cover picture and description a page shows: those of the first of an event's
sources (in listed order) that has one, as the crawl archived them (the copies' files are
media.py's)."""

from __future__ import annotations

import html
from collections.abc import Mapping

from ..model import Source
from ..store import Store
from ..store.articles import SourcePicture
from . import urls
from .model import Picture


def event_media(store: Store, sources: list[Source],
                media: dict[str, tuple[str | None, str | None]] | None = None
                ) -> tuple[str | None, str | None]:
    """An event's description and cover image: each from the first of its sources (in
    listed order) whose article has one, HTML entities decoded. `media` is
    `store.source_media` read beforehand for many events at once."""
    if media is None:
        media = store.source_media(s.url for s in sources)
    description = image = None
    for source in sources:
        og_description, og_image = media.get(source.url, (None, None))
        if description is None and og_description:
            description = html.unescape(og_description).strip() or None
        if image is None and og_image:
            image = html.unescape(og_image)
        if description and image:
            break
    return description, image


def picture(found: SourcePicture, credit: str | None, headline: str | None,
            hotlink: bool) -> Picture | None:
    """A source's cover picture as pages show it: the archive's copy, or None when there is
    none (no image element at all, never a broken one). With `hotlink`, the publisher's
    URL (http(s) only) when the crawl read it as a picture, or has not tried it yet: one
    that failed (gone, not a picture, refused) would be a broken box."""
    original = html.unescape(found.url).strip()
    alt = " ".join(html.unescape(found.alt or found.headline or headline or "").split())
    credit = " ".join((credit or found.site_name or "").split()) or None
    if hotlink:
        if (not original.lower().startswith(("http://", "https://"))
                or found.status not in (None, "stored")):
            return None
        return Picture(original, found.width, found.height, alt, credit, original)
    if found.copy is None or found.copy_type is None:
        return None
    return Picture(urls.media_path(found.copy, found.copy_type), found.copy_width,
                   found.copy_height, alt, credit, original)


def event_picture(sources: list[Source], pictures: Mapping[str, SourcePicture],
                  headline: str, hotlink: bool = False) -> Picture | None:
    """An event's cover picture: that of the first of its sources (in listed order) with
    one to show, credited to the outlet the portal names."""
    for source in sources:
        found = pictures.get(source.url)
        shown = picture(found, source.name, headline, hotlink) if found else None
        if shown is not None:
            return shown
    return None
