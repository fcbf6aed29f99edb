"""Feeds: RSS 2.0 and Atom for the whole archive and for every story and entity.

`/feed.xml` and `/feed.atom` hold the newest 100 live events; `<timeline>/feed.xml` and
`<timeline>/feed.atom` (beside `/stories/<slug>.html` and `/entities/<slug>.html`) the newest
50 of that story or entity. "Newest" is the timeline pages' order: date, then portal position,
newest first. Removed events leave the feeds (their pages stay).

Every entry has a stable id, `urn:newscontext:event:<event id>` (the RSS guid, with
isPermaLink="false"), so a reworded event, whose page moves to a new slug, stays the same
entry. Atom `published` is when the archive first saw the event (its `first_seen`: the time
of the revision that first showed it), `updated` the latest time among its versions: an edit
shows as an update. RSS has one date: `pubDate` is the first-seen time too, because RSS
readers sort by it and an edit should not make an old event look new; a reworded entry
reaches RSS readers through its unchanged guid with a new title and text.

Times are the wiki's revision times. An input without them (a `.wiki` or `.html` file) leaves
them unknown, but a feed entry must have a date: an event whose first-seen time is unknown (its
first version came from a file) is published at midnight UTC of its own day, never at the time
the archive read it; a later version with a known time updates it, as an edit does, without
making it look new. A removal of unknown time does not move the feed's own update time.

Text is written without the characters XML 1.0 forbids, as on the XML pages: ingest removes
them, but an archive made before it did may still hold some, and lxml refuses them.

Output depends only on the archive: the feed's own `updated` / `lastBuildDate` is its newest
entry's update (or removal) time, so an unchanged feed comes out byte for byte the same and
the build's writer leaves it alone.

feedgen makes all the XML. An event is an entry in the feeds of its stories and of each of its
entities, in two formats, so its entry's XML is made once, by feedgen, in a skeleton of the
feed's root, and put into each feed feedgen makes for the channel: the same bytes as feedgen
making every feed whole (a test holds the two equal), for a fraction of the work.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from ... import __version__
from ...model import Source, Story
from ...portal.categories import canonical as canonical_category
from ...settings import Settings
from ...store import Store
from ...textclean import xml_safe
from .. import urls
from . import linkable

if TYPE_CHECKING:
    from ..pages import Pages

ROOT_ENTRIES = 100
TIMELINE_ENTRIES = 50
TITLE_CHARS = 110  # of an entry's title; its summary and content keep the whole text
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # `updated` of a feed that never had an entry
LICENSE = ("Event texts from Wikipedia's Current events portal, "
           "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)")
CACHE = 20_000  # entries kept while one build makes many feeds (an event is in several)

def guid(event_id: str) -> str:
    """The id an event keeps in every feed, whatever its wording or path."""
    return f"urn:newscontext:event:{event_id}"


def clip(text: str, limit: int = TITLE_CHARS) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def parse_time(value: str | None) -> datetime | None:
    """An archive timestamp (ISO 8601, UTC) as an aware datetime; None if absent or bad."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class Entry:
    """One event as a feed entry."""

    id: str
    title: str
    text: str
    link: str
    published: datetime
    updated: datetime
    categories: tuple[str, ...]
    content: str  # HTML: the text, the story chain and the sources
    xml: tuple[bytes, bytes] = field(default=(b"", b""), compare=False, repr=False)  # RSS, Atom

    def feed_entry(self) -> FeedEntry:
        fe = FeedEntry()
        fe.guid(self.id, permalink=False)  # also the Atom id
        fe.title(self.title)
        fe.link(href=self.link, rel="alternate", type="text/html")
        # RSS descriptions are read as HTML: escaped text; Atom says its summary is text.
        # (This order: description() also sets Atom content, summary() RSS description.)
        fe.description(html.escape(self.text, quote=False))
        fe.content(self.content, type="html")
        fe.summary(self.text, type="text")
        fe.published(self.published)
        fe.updated(self.updated)
        for term in self.categories:
            fe.category(term=term)
        return fe


RSS_NAMESPACES = {"atom": "http://www.w3.org/2005/Atom",
                  "content": "http://purl.org/rss/1.0/modules/content/"}  # as feedgen's
RSS_END = b"  </channel>\n"  # entries go last in the channel (RSS) or the feed (Atom)
ATOM_END = b"</feed>\n"


def entry_xml(entry: Entry) -> tuple[bytes, bytes]:
    """The entry's RSS item and Atom entry, as feedgen writes them in a pretty-printed
    feed: made in a skeleton of the feed's root (same namespaces, same depth), then cut
    out."""
    fe = entry.feed_entry()
    rss = etree.Element("rss", version="2.0", nsmap=RSS_NAMESPACES)
    etree.SubElement(rss, "channel").append(fe.rss_entry())
    text = etree.tostring(rss, pretty_print=True, encoding="UTF-8")
    start = text.index(b"<channel>\n") + len(b"<channel>\n")
    item = text[start : text.rindex(RSS_END)]
    atom = etree.Element("feed", xmlns="http://www.w3.org/2005/Atom")
    atom.append(fe.atom_entry())
    text = etree.tostring(atom, pretty_print=True, encoding="UTF-8")
    return item, text[text.index(b">\n") + 2 : text.rindex(ATOM_END)]


class FeedMaker:
    """Makes feeds from the store, with the pages' slug tables; entries are cached, since
    one event appears in the feeds of its stories and of each of its entities."""

    def __init__(self, store: Store, settings: Settings, pages: Pages, *, whole: bool = False):
        """`whole`: feedgen makes each feed whole, entries and all (slower: the reference
        the build's way is tested against)."""
        self.store = store
        self.whole = whole
        self.base = settings.site_url.rstrip("/")
        # The build's own slug tables and timelines, shared with the pages.
        self.event_where, self.story_slug = pages.event_where, pages.story_slug
        self.entity_slug = pages.entity_slug
        self._story_ref = pages.story_ref
        self._timeline_pages = pages.timeline_pages
        self._timeline_events = pages.timeline_events
        self._day_counts = pages.day_counts
        self.entry = lru_cache(maxsize=CACHE)(self._entry)

    def url(self, path: str, ext: str = "html") -> str:
        return f"{self.base}{path}.{ext}" if ext else f"{self.base}{path}"

    # -- entries -------------------------------------------------------------------------

    def _entry(self, event_id: str) -> tuple[Entry | None, datetime | None]:
        """The event's entry, or (None, when it was removed) for an event not in feeds."""
        archived = self.store.event(event_id)
        if archived is None or event_id not in self.event_where:
            return None, None
        if archived.removed:
            return None, parse_time(archived.removed_at)
        event = archived.event
        published = (parse_time(archived.first_seen)
                     or datetime.combine(event.date, time(), UTC))  # unknown: its own day
        times = [t for t in (parse_time(v.timestamp) for v in self.store.versions(event_id))
                 if t]
        updated = max([published, *times])
        link = self.url(urls.event_path(*self.event_where[event_id]))
        stories = [s.text for s in event.stories]
        category = canonical_category(event.category)
        categories = tuple(dict.fromkeys(([category] if category else []) + stories))
        text = xml_safe(event.text)
        entry = Entry(
            id=guid(event_id), title=clip(text), text=text, link=link,
            published=published, updated=updated, categories=tuple(map(xml_safe, categories)),
            content=xml_safe(self._content(text, category, event.stories, event.sources,
                                           link)))
        return replace(entry, xml=entry_xml(entry)), None

    def _content(self, text: str, category: str | None, stories: Iterable[Story],
                 sources: Iterable[Source], link: str) -> str:
        esc = html.escape
        parts = [f"<p>{esc(text)}</p>"]
        chain = []
        for story in stories:
            ref = self._story_ref(story)
            if ref is None:
                chain.append(esc(story.text))
                continue
            where = ref.path if "://" in ref.path else self.url(ref.path)
            chain.append(f'<a href="{esc(where)}">{esc(story.text)}</a>')
        line = " · ".join(p for p in (esc(category) if category else "", " › ".join(chain)) if p)
        if line:
            parts.append(f"<p>{line}</p>")
        cited = [f'<a href="{esc(s.url)}">{esc(s.name or s.url)}</a>' if linkable(s.url)
                 else esc(s.name or s.url) for s in sources]  # no javascript: link
        if cited:
            parts.append(f"<p>Sources: {', '.join(cited)}</p>")
        parts.append(f'<p><a href="{esc(link)}">Context, changes and related events</a></p>')
        return "".join(parts)

    def newest(self, event_ids: Iterable[str], limit: int) -> tuple[list[Entry], datetime]:
        """The first `limit` entries of newest-first ids, and the feed's update time: the
        newest entry update or removal among the events looked at."""
        entries: list[Entry] = []
        latest = EPOCH
        for event_id in event_ids:
            entry, removed = self.entry(event_id)
            if entry is not None:
                entries.append(entry)
                latest = max(latest, entry.updated)
                if len(entries) >= limit:
                    break
            elif removed is not None:
                latest = max(latest, removed)
        return entries, latest

    # -- feeds ---------------------------------------------------------------------------

    def root(self) -> list[tuple[str, bytes]]:
        """`/feed.xml` and `/feed.atom`: the newest events of the archive."""

        def newest_first() -> Iterator[str]:
            for day, _ in reversed(self._day_counts()):
                for archived in reversed(self.store.events_of_day(date.fromisoformat(day))):
                    yield archived.id

        entries, updated = self.newest(newest_first(), ROOT_ENTRIES)
        return self._render(
            feed_id="urn:newscontext:feed:/", title="newscontext",
            description="The newest events of Wikipedia's Current events portal, "
                        "with their context, as archived by newscontext.",
            page=self.url(urls.FRONT), rss=urls.FEED_RSS, atom=urls.FEED_ATOM,
            entries=entries, updated=updated)

    def timeline(self, kind: str, name: str) -> list[tuple[str, bytes]]:
        """The feeds of one story or entity (none when it has no page)."""
        if not self._timeline_pages(kind, name):
            return []
        if kind == "story":
            slug = self.story_slug.get(name)
            path = urls.story_path(slug) if slug else ""
            description = f"The newest events of the story {name}, from Wikipedia's " \
                          "Current events portal, as archived by newscontext."
        else:
            slug = self.entity_slug.get(name)
            path = urls.entity_path(slug) if slug else ""
            description = f"The newest events about {name}, from Wikipedia's " \
                          "Current events portal, as archived by newscontext."
        if not slug:
            return []
        title, description = xml_safe(name), xml_safe(description)
        rows = self._timeline_events(kind, name)
        self.event_where.want(row[0] for row in rows[: TIMELINE_ENTRIES * 2])
        entries, updated = self.newest((row[0] for row in rows), TIMELINE_ENTRIES)
        return self._render(
            feed_id=f"urn:newscontext:feed:{path}", title=f"{title} · newscontext",
            description=description, page=self.url(path),
            rss=urls.feed_path(path, "xml"), atom=urls.feed_path(path, "atom"),
            entries=entries, updated=updated)

    def _render(self, *, rss: str, atom: str, page: str, entries: list[Entry],
                **channel: object) -> list[tuple[str, bytes]]:
        """The feed's files: feedgen writes the channel, then each entry's XML goes in."""
        fg = self.channel(**channel)
        if self.whole:
            for item in entries:
                fg.add_entry(item.feed_entry(), order="append")
            entries = []
        files = []
        for n, (path, kind, method, end) in enumerate((
                (rss, "application/rss+xml", fg.rss_str, RSS_END),
                (atom, "application/atom+xml", fg.atom_str, ATOM_END))):
            # feedgen gives RSS the last link as the channel's <link>: the page, not the feed
            fg.link(href=self.url(path, ""), rel="self", type=kind, replace=True)
            fg.link(href=page, rel="alternate", type="text/html")
            text = method(pretty=True)
            cut = text.rindex(end)
            files.append((path.lstrip("/"), b"".join(
                [text[:cut], *(item.xml[n] for item in entries), text[cut:]])))
        return files

    def channel(self, *, feed_id: str, title: str, description: str,
                updated: datetime) -> FeedGenerator:
        fg = FeedGenerator()
        fg.id(feed_id)
        fg.title(title)
        fg.description(description)
        fg.language("en")
        fg.author({"name": "newscontext", "uri": self.base + "/"})
        fg.rights(LICENSE)
        fg.generator("newscontext", version=__version__)
        fg.updated(updated)
        fg.lastBuildDate(updated)
        return fg
