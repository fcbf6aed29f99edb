"""The page model: what every page of the site holds, free of any format.

`Pages` (pages.py) fills it from the store. A renderer turns a page into HTML, Markdown, JSON
or XML and decides only how it looks; the fields are the same in every format. Links are
`Ref`s: a title and a site path without extension (each renderer adds its own), or an
absolute URL for pages elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from . import urls

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Ref:
    """A link: what it says and where it goes (site path without extension, or a URL)."""

    title: str
    path: str


@dataclass
class EventItem:
    """An event as listed on day, front and timeline pages."""

    id: str
    path: str
    date: date
    title: str
    category: str | None  # one of the portal's current ten names (portal.categories)
    category_heading: str | None  # the heading as the day page wrote it
    stories: list[Ref]
    description: str | None
    context: list[Ref]
    removed: bool
    picture: Picture | None = None  # the cover picture, as the event's page shows it


@dataclass
class Picture:
    """A cover picture as pages show it: `path` is the archive's small copy (a site file)
    or, with `hotlink_images`, the publisher's URL; `width` and `height` its size in pixels
    when known (a page keeps its room while it loads); `alt` the picture's own description,
    else its article's headline; `credit` the outlet; `original` the publisher's URL."""

    path: str
    width: int | None
    height: int | None
    alt: str
    credit: str | None
    original: str


@dataclass
class SourceItem:
    name: str
    url: str
    archived: Ref | None  # the archive's copy of the article, when it has one


@dataclass
class Change:
    at: str | None  # the revision's time, UTC, ISO 8601; None: unknown (a file had none)
    revid: int | None
    text: str


@dataclass
class RelatedItem:
    event: Ref
    date: date
    shared: list[Ref]
    score: float


@dataclass
class Group:
    category: str | None
    events: list[EventItem]


@dataclass
class DayCount:
    day: Ref
    events: int


@dataclass
class EntityCount:
    entity: Ref
    events: int


@dataclass
class StoryCount:
    """A story heading found right below a subject's or story's own, and its events."""

    story: Ref
    events: int


@dataclass
class Page:
    """Common to every page: its kind, its path and its title."""

    kind: ClassVar[str] = "page"
    path: str
    title: str
    # The subjects among its links that the static search offers as filters, the most
    # frequent ones (Pages.filter_subjects): how the HTML marks them, not the page's data
    # (a leading _ keeps it out of the JSON and XML).
    _subject_filters: frozenset[str] = field(default=frozenset(), kw_only=True)


@dataclass
class EventPage(Page):
    kind: ClassVar[str] = "event"
    id: str = ""
    date: date | None = None
    day: Ref | None = None
    category: str | None = None  # one of the portal's current ten names (portal.categories)
    category_heading: str | None = None  # the heading as the day page wrote it
    stories: list[Ref] = field(default_factory=list)
    text: str = ""
    description: str | None = None
    image: str | None = None
    picture: Picture | None = None  # the cover picture shown (see `event_picture`)
    sources: list[SourceItem] = field(default_factory=list)
    context: list[Ref] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    related: list[RelatedItem] = field(default_factory=list)
    first_seen: str | None = None  # its first revision's time; None: unknown (a file's)
    removed: bool = False  # the portal no longer shows it
    removed_at: str | None = None  # when the portal dropped it; None: live, or time unknown
    moved_to: Ref | None = None
    portal: Ref | None = None  # the Wikipedia day page it comes from


@dataclass
class DayPage(Page):
    kind: ClassVar[str] = "day"
    date: date | None = None
    previous: Ref | None = None
    next: Ref | None = None
    month: Ref | None = None
    groups: list[Group] = field(default_factory=list)
    portal: Ref | None = None


@dataclass
class YearCount:
    """A year with events, and how many (the front page's way into the archive)."""

    year: Ref
    events: int


@dataclass
class FrontPage(Page):
    kind: ClassVar[str] = "front"
    days: list[DayPage] = field(default_factory=list)
    years: list[YearCount] = field(default_factory=list)  # every year with events, oldest first


@dataclass
class MonthPage(Page):
    kind: ClassVar[str] = "month"
    year: int = 0
    month: int = 0
    days: list[DayCount] = field(default_factory=list)
    previous: Ref | None = None
    next: Ref | None = None
    year_page: Ref | None = None  # the year's page: its months as calendars


@dataclass
class MonthDays:
    """A month of a year page: its page, its number, its events and its days with events."""

    month: Ref
    number: int
    events: int
    days: list[DayCount] = field(default_factory=list)


@dataclass
class YearPage(Page):
    """`/news/YYYY/index`: the months of a year with events per day (calendars in HTML)."""

    kind: ClassVar[str] = "year"
    year: int = 0
    events: int = 0
    months: list[MonthDays] = field(default_factory=list)  # those with events, in order
    previous: Ref | None = None  # the nearest years with events
    next: Ref | None = None


@dataclass
class TimelinePage(Page):
    """A story's or an entity's page: every event, newest first, paged."""

    kind: ClassVar[str] = "timeline"
    timeline: str = ""  # "story" or "entity"
    name: str = ""
    wikipedia: str | None = None
    total: int = 0
    first_week: date | None = None  # Monday of the first week in `weekly`
    weekly: list[int] = field(default_factory=list)  # events per week, oldest first
    events: list[EventItem] = field(default_factory=list)
    page: int | None = None  # None: the newest events; 1.. pages from the oldest
    pages: list[Ref] = field(default_factory=list)
    cooccurring: list[EntityCount] = field(default_factory=list)
    feeds: list[Ref] = field(default_factory=list)
    # A subject's page lists the events it heads (as their story) and those that mention
    # it: the ids of the listed events it heads, and how many it heads in all.
    headed: list[str] = field(default_factory=list)
    total_headed: int = 0
    substories: list[StoryCount] = field(default_factory=list)  # headings right below it


@dataclass
class SourcePage(Page):
    kind: ClassVar[str] = "source"
    hash: str = ""
    url: str = ""
    final_url: str | None = None
    outlet: str | None = None
    fetch_status: str | None = None
    fetched_at: str | None = None
    archived_from: str | None = None
    og_title: str | None = None
    og_description: str | None = None
    og_image: str | None = None
    picture: Picture | None = None  # og_image as the page shows it (see `picture`)
    og_site_name: str | None = None
    article_title: str | None = None
    subtitle: str | None = None
    author: str | None = None
    published: str | None = None
    article_status: str | None = None
    excerpt: str | None = None
    text: str | None = None  # the full text, only when the operator publishes it
    cited_by: list[Ref] = field(default_factory=list)


@dataclass
class AboutPage(Page):
    kind: ClassVar[str] = "about"
    formats: list[str] = field(default_factory=lambda: list(urls.FORMATS))
    schema_version: int = SCHEMA_VERSION
    days: int = 0
    events: int = 0
    first_day: date | None = None
    last_day: date | None = None


@dataclass
class NotFoundPage(Page):
    """What a reader gets at an address with no page (HTML only: `/404.html`)."""

    kind: ClassVar[str] = "not_found"


def not_found() -> NotFoundPage:
    return NotFoundPage(path=urls.NOT_FOUND, title="Not found")


@dataclass
class RedirectPage(Page):
    """An old path of a reworded or moved event, pointing to where it is now."""

    kind: ClassVar[str] = "redirect"
    target: str = ""
