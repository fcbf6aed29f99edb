"""Plain data shared by every stage: what the portal says, independent of storage and format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .portal.categories import canonical as canonical_category


@dataclass(frozen=True, slots=True)
class Link:
    """A wiki link: its normalised target title and the words it was written with."""

    target: str
    label: str


@dataclass(frozen=True, slots=True)
class Source:
    """A cited news article: its URL and the outlet as the portal wrote it."""

    url: str
    name: str


@dataclass(frozen=True, slots=True)
class Story:
    """A story heading above an event (e.g. "Syrian Civil War") with the links it holds."""

    text: str
    links: tuple[Link, ...] = ()


@dataclass(slots=True)
class Event:
    """One leaf bullet of a day page: a sentence with its links and sources."""

    date: date
    category: str | None  # the heading as written; portal.categories gives the current name
    stories: tuple[Story, ...]
    text: str
    links: list[Link] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    line: int = 0  # line of the day page it came from (1-based), for messages

    def to_data(self) -> dict:
        """What the portal says of the event (its category heading as written)."""
        return {
            "category": self.category,
            "stories": [story.text for story in self.stories],
            "text": self.text,
            "links": [{"target": link.target, "label": link.label} for link in self.links],
            "sources": [{"url": source.url, "name": source.name} for source in self.sources],
        }


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """A line that could not be read as portal content; the rest of the day still counts."""

    date: date
    line: int
    message: str
    text: str = ""

    def __str__(self) -> str:
        where = f"{self.date.isoformat()} line {self.line}" if self.line else self.date.isoformat()
        snippet = f": {self.text[:120]!r}" if self.text else ""
        return f"{where}: {self.message}{snippet}"


@dataclass(slots=True)
class ParsedDay:
    """The events of one day page revision, in portal order, and what could not be read."""

    date: date
    events: list[Event] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PageRevision:
    """One revision of a day page as some input delivered it, before parsing.

    `format` is "wikitext" or "html". `revid` and `timestamp` (ISO 8601 UTC) are known
    when the input carries them (API, XML export) and None for plain files.
    """

    date: date
    text: str
    format: str
    origin: str
    revid: int | None = None
    timestamp: str | None = None


@dataclass(slots=True)
class ArchivedEvent:
    """An event as the archive keeps it: stable id, place in its day, and whether the
    portal still shows it."""

    id: str
    event: Event
    position: int
    removed: bool = False
    removed_at: str | None = None  # the removing revision's time; None: unknown (or live)
    moved_to: str | None = None
    first_seen: str | None = None  # its first revision's time; None: unknown (store._FIRST_SEEN)

    def to_export(self) -> dict:
        """The `export events` line: the public contract of one event. Its category by the
        portal's current name (one set across eras), and the heading as the page wrote it."""
        data = self.event.to_data()
        heading = data.pop("category")
        return {"id": self.id, "date": self.event.date.isoformat(),
                "category": canonical_category(heading), "category_heading": heading, **data,
                "removed": self.removed}


@dataclass(frozen=True, slots=True)
class EventVersion:
    """One wording of an event and the revision that first showed it, at that revision's
    time: None when the input had none (a .wiki or .html file), never when it was read."""

    seq: int
    revid: int | None
    timestamp: str | None
    text: str
    category: str | None
    stories: tuple[str, ...]
    sources: tuple[Source, ...]
    targets: tuple[str, ...] = ()  # link targets of the sentence and its story headings


@dataclass(frozen=True, slots=True)
class TitleInfo:
    """What the wiki says about a link target: where it redirects, its page and item."""

    title: str
    canonical: str
    pageid: int | None = None
    wikidata: str | None = None
    disambiguation: bool = False
    missing: bool = False


@dataclass(frozen=True, slots=True)
class Entity:
    """One thing the archive links to: a canonical Wikipedia title."""

    title: str
    slug: str
    labels: tuple[str, ...]
    wikidata: str | None
    events: int

    def to_export(self) -> dict:
        return {"title": self.title, "slug": self.slug, "labels": list(self.labels),
                "wikidata": self.wikidata, "events": self.events}


@dataclass(frozen=True, slots=True)
class Related:
    """Another event related to one event, by the score of what they share."""

    id: str
    score: float
    shared: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Article:
    """A source article as the archive keeps it: what the page says about itself (Open
    Graph) and the article a reader sees. `status` is how complete the text is (complete,
    teaser, paywalled, empty); `archived_from` is the Wayback Machine capture it was read
    from when the live page was gone."""

    url: str
    hash: str
    status: str
    final_url: str | None
    fetched_at: str | None
    og_title: str | None = None
    og_description: str | None = None
    og_image: str | None = None
    og_site_name: str | None = None
    og_published: str | None = None
    og_image_alt: str | None = None
    title: str | None = None
    subtitle: str | None = None
    author: str | None = None
    published: str | None = None
    text: str = ""
    archived_from: str | None = None

    def to_export(self) -> dict:
        """The `export articles` line: `og` and `article` as `newscontext extract` prints them."""
        return {
            "url": self.url,
            "hash": self.hash,
            "final_url": self.final_url,
            "fetched_at": self.fetched_at,
            "archived_from": self.archived_from,
            "og": {"title": self.og_title, "description": self.og_description,
                   "image": self.og_image, "site_name": self.og_site_name,
                   "published": self.og_published, "image_alt": self.og_image_alt},
            "article": {"title": self.title, "subtitle": self.subtitle, "author": self.author,
                        "published": self.published, "text": self.text},
            "status": self.status,
        }
