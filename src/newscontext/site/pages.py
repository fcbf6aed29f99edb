"""What every page of the site holds, built from the store, free of any format.

A renderer turns a page into HTML, Markdown, JSON or XML and decides only how it looks; the
fields are the same in every format. Links are `Ref`s: a title and a site path without
extension (each renderer adds its own), or an absolute URL for pages elsewhere.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, is_dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from ..model import ArchivedEvent, Source
from ..portal.titles import day_title
from ..settings import Settings
from ..store import Store
from . import urls

SCHEMA_VERSION = 1
PAGE_SIZE = 50  # events per timeline page
COOCCURRING = 12  # entities listed as found most often with a story or entity
FRONT_DAYS = 3
EXCERPT_WORDS = 80  # of a source article's text shown when full text is not published


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
    category: str | None
    stories: list[Ref]
    description: str | None
    context: list[Ref]
    removed: bool


@dataclass
class SourceItem:
    name: str
    url: str
    archived: Ref | None  # the archive's copy of the article, when it has one


@dataclass
class Change:
    at: str  # UTC, ISO 8601
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
class Page:
    """Common to every page: its kind, its path and its title."""

    kind: ClassVar[str] = "page"
    path: str
    title: str

    def to_data(self) -> dict[str, Any]:
        """The page as plain data (JSON types; dates as ISO strings), computed once."""
        cached = self.__dict__.get("_data")
        if cached is None:
            cached = {"schema_version": SCHEMA_VERSION, "kind": self.kind, **_plain(self)}
            self.__dict__["_data"] = cached
        return cached


@dataclass
class EventPage(Page):
    kind: ClassVar[str] = "event"
    id: str = ""
    date: date | None = None
    day: Ref | None = None
    category: str | None = None
    stories: list[Ref] = field(default_factory=list)
    text: str = ""
    description: str | None = None
    image: str | None = None
    sources: list[SourceItem] = field(default_factory=list)
    context: list[Ref] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    related: list[RelatedItem] = field(default_factory=list)
    first_seen: str | None = None
    removed_at: str | None = None
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
class FrontPage(Page):
    kind: ClassVar[str] = "front"
    days: list[DayPage] = field(default_factory=list)


@dataclass
class MonthPage(Page):
    kind: ClassVar[str] = "month"
    year: int = 0
    month: int = 0
    days: list[DayCount] = field(default_factory=list)
    previous: Ref | None = None
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
class RedirectPage(Page):
    """An old path of a reworded or moved event, pointing to where it is now."""

    kind: ClassVar[str] = "redirect"
    target: str = ""


def _plain(value: Any) -> Any:
    """Dataclasses to dicts, dates to ISO strings; no copies of plain values."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], int):
            return list(value)  # counts (weekly): plain already
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if is_dataclass(value):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__
                if not name.startswith("_")}
    return value


def event_media(store: Store, sources: list[Source]) -> tuple[str | None, str | None]:
    """An event's description and cover image: each from the first of its sources (in
    listed order) whose article has one, HTML entities decoded."""
    articles = store.source_articles(s.url for s in sources)
    description = image = None
    for source in sources:
        row = articles.get(source.url)
        if row is None:
            continue
        if description is None and row["og_description"]:
            description = html.unescape(row["og_description"]).strip() or None
        if image is None and row["og_image"]:
            image = html.unescape(row["og_image"])
        if description and image:
            break
    return description, image


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class Pages:
    """Builds pages from the store. Slug tables are read once; everything else is asked
    for per page, so an incremental build touches only what it renders."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self.refresh()

    def refresh(self) -> None:
        self.entity_slug = self.store.entity_slugs()
        self.story_slug = self.store.story_slugs()
        self.event_where = self.store.event_slugs()
        # An event is listed on its day and on every story and entity page it belongs to:
        # made once per build.
        self._items: dict[str, EventItem] = {}
        self._stories: dict[str, list[tuple[str, str, int]]] | None = None

    def story_events(self, name: str) -> list[tuple[str, str, int]]:
        """A story's events, newest first (all stories read in one pass, once per build)."""
        if self._stories is None:
            self._stories = self.store.story_members()
        return self._stories.get(name, [])

    # -- references --------------------------------------------------------------------

    def event_ref(self, event_id: str, title: str) -> Ref:
        day, slug = self.event_where[event_id]
        return Ref(title, urls.event_path(day, slug))

    def entity_ref(self, title: str) -> Ref:
        slug = self.entity_slug.get(title)
        return Ref(title, urls.entity_path(slug) if slug else urls.wikipedia_url(title))

    def story_refs(self, archived: ArchivedEvent) -> list[Ref]:
        return [Ref(story.text, urls.story_path(self.story_slug[story.text]))
                for story in archived.event.stories if story.text in self.story_slug]

    # -- pieces ------------------------------------------------------------------------

    def item(self, archived: ArchivedEvent) -> EventItem:
        cached = self._items.get(archived.id)
        if cached is None:
            cached = self._items[archived.id] = self._make_item(archived)
        return cached

    def _make_item(self, archived: ArchivedEvent) -> EventItem:
        description, _ = event_media(self.store, archived.event.sources)
        return EventItem(
            id=archived.id,
            path=self.event_ref(archived.id, archived.event.text).path,
            date=archived.event.date,
            title=archived.event.text,
            category=archived.event.category,
            stories=self.story_refs(archived),
            description=description,
            context=[self.entity_ref(t) for t in self.store.context(archived.id)],
            removed=archived.removed,
        )

    # -- pages -------------------------------------------------------------------------

    def event(self, event_id: str) -> EventPage:
        archived = self.store.event(event_id)
        if archived is None:
            raise KeyError(event_id)
        event = archived.event
        description, image = event_media(self.store, event.sources)
        articles = self.store.source_articles(s.url for s in event.sources)
        sources = []
        for source in event.sources:
            row = articles.get(source.url)
            archived_copy = None
            if row is not None and row["article_status"] in ("complete", "teaser", "paywalled"):
                archived_copy = Ref("archived text", urls.source_path(row["hash"]))
            sources.append(SourceItem(source.name, source.url, archived_copy))
        versions = self.store.versions(event_id)
        changes = ([Change(v.timestamp, v.revid, v.text) for v in versions]
                   if len({v.text for v in versions}) > 1 else [])
        related = []
        for item in self.store.related(event_id):
            other = self.store.event(item.id)
            if other is None or item.id not in self.event_where:
                continue
            related.append(RelatedItem(self.event_ref(item.id, other.event.text),
                                       other.event.date,
                                       [self.entity_ref(t) for t in item.shared], item.score))
        moved = None
        if archived.moved_to and archived.moved_to in self.event_where:
            target = self.store.event(archived.moved_to)
            if target is not None:
                moved = self.event_ref(target.id, target.event.text)
        return EventPage(
            path=self.event_ref(event_id, event.text).path,
            title=event.text,
            id=event_id,
            date=event.date,
            day=Ref(event.date.isoformat(), urls.day_path(event.date)),
            category=event.category,
            stories=self.story_refs(archived),
            text=event.text,
            description=description,
            image=image,
            sources=sources,
            context=[self.entity_ref(t) for t in self.store.context(event_id)],
            changes=changes,
            related=related,
            first_seen=archived.first_seen or None,
            removed_at=archived.removed_at if archived.removed else None,
            moved_to=moved,
            portal=Ref(day_title(event.date), urls.wikipedia_url(day_title(event.date))),
        )

    def day(self, day: date, neighbours: tuple[date | None, date | None] = (None, None)
            ) -> DayPage:
        groups: list[Group] = []
        for archived in self.store.events_of_day(day, include_removed=False):
            category = archived.event.category
            if not groups or groups[-1].category != category:
                groups.append(Group(category, []))
            groups[-1].events.append(self.item(archived))
        previous, following = neighbours
        return DayPage(
            path=urls.day_path(day),
            title=day.strftime("%A %-d %B %Y"),
            date=day,
            previous=Ref(previous.isoformat(), urls.day_path(previous)) if previous else None,
            next=Ref(following.isoformat(), urls.day_path(following)) if following else None,
            month=Ref(day.strftime("%B %Y"), urls.month_path(day.year, day.month)),
            groups=groups,
            portal=Ref(day_title(day), urls.wikipedia_url(day_title(day))),
        )

    def front(self, days: list[tuple[date, tuple[date | None, date | None]]]) -> FrontPage:
        return FrontPage(path=urls.FRONT, title="newscontext: the news, day by day",
                         days=[self.day(day, near) for day, near in days])

    def month(self, year: int, month: int, counts: list[tuple[date, int]],
              previous: tuple[int, int] | None, following: tuple[int, int] | None
              ) -> MonthPage:
        def month_ref(pair: tuple[int, int] | None) -> Ref | None:
            if pair is None:
                return None
            return Ref(date(pair[0], pair[1], 1).strftime("%B %Y"), urls.month_path(*pair))

        return MonthPage(
            path=urls.month_path(year, month),
            title=date(year, month, 1).strftime("%B %Y"),
            year=year, month=month,
            days=[DayCount(Ref(day.isoformat(), urls.day_path(day)), n) for day, n in counts],
            previous=month_ref(previous), next=month_ref(following),
        )

    def timeline(self, timeline: str, name: str, page: int | None = None) -> TimelinePage:
        """A story's or entity's events: the newest PAGE_SIZE on the main page (page None),
        and numbered pages of PAGE_SIZE from the oldest, so old pages never shift."""
        if timeline == "story":
            rows = self.story_events(name)
            base = urls.story_path(self.story_slug[name])
            path_of = lambda n: urls.story_path(self.story_slug[name], n)  # noqa: E731
            wikipedia = self._story_article(rows, name)
        else:
            rows = self.store.events_with_entity(name)
            base = urls.entity_path(self.entity_slug[name])
            path_of = lambda n: urls.entity_path(self.entity_slug[name], n)  # noqa: E731
            wikipedia = urls.wikipedia_url(name)
        total = len(rows)
        count = max(1, -(-total // PAGE_SIZE))
        oldest_first = rows[::-1]
        if page is None:
            chosen = rows[:PAGE_SIZE]
        else:
            chosen = oldest_first[(page - 1) * PAGE_SIZE : page * PAGE_SIZE][::-1]
        events = [self.item(a) for a in (self.store.event(i) for i, *_ in chosen) if a]
        dates = [date.fromisoformat(d) for _, d, *_ in oldest_first]
        first_week = _week_start(dates[0]) if dates else None
        weekly: list[int] = []
        if dates:
            weekly = [0] * ((_week_start(dates[-1]) - first_week).days // 7 + 1)
            for day in dates:
                weekly[(_week_start(day) - first_week).days // 7] += 1
        cooccurring = [EntityCount(self.entity_ref(title), n) for title, n in
                       self.store.cooccurring([i for i, *_ in rows], name, COOCCURRING)]
        return TimelinePage(
            path=path_of(page) if page else base,
            title=name if page is None else f"{name} (page {page} of {count})",
            timeline=timeline, name=name, wikipedia=wikipedia, total=total,
            first_week=first_week, weekly=weekly, events=events, page=page,
            pages=[Ref(str(n), path_of(n)) for n in range(1, count + 1)] if count > 1 else [],
            cooccurring=cooccurring,
            feeds=[Ref("RSS", urls.feed_path(base, "xml")),
                   Ref("Atom", urls.feed_path(base, "atom"))],
        )

    def timeline_pages(self, timeline: str, name: str) -> list[int | None]:
        """Which pages a timeline has: the main page and, past one page, numbered ones."""
        rows = (self.story_events(name) if timeline == "story"
                else self.store.events_with_entity(name))
        count = -(-len(rows) // PAGE_SIZE)
        return [None] + (list(range(1, count + 1)) if count > 1 else [])

    def _story_article(self, rows: list[tuple[str, str]], name: str) -> str | None:
        """A story heading's Wikipedia article: its link, when the heading is one link."""
        for event_id, *_ in rows[:1]:
            archived = self.store.event(event_id)
            for story in archived.event.stories if archived else ():
                if story.text == name and len(story.links) == 1:
                    return urls.wikipedia_url(story.links[0].target)
        return None

    def source(self, url: str, cited_by: list[tuple[str, str]], outlet: str | None) -> SourcePage:
        row = self.store.source_articles([url])[url]
        text = row["text"] or ""
        words = text.split()
        excerpt = " ".join(words[:EXCERPT_WORDS]) + (" …" if len(words) > EXCERPT_WORDS else "")
        title = row["title"] or row["og_title"] or url
        return SourcePage(
            path=urls.source_path(row["hash"]), title=title, hash=row["hash"], url=url,
            final_url=row["final_url"], outlet=outlet, fetch_status=row["fetch_status"],
            fetched_at=row["fetched_at"], archived_from=row["archived_from"],
            og_title=row["og_title"], og_description=row["og_description"],
            og_image=row["og_image"], og_site_name=row["og_site_name"],
            article_title=row["title"], subtitle=row["subtitle"], author=row["author"],
            published=row["published"], article_status=row["article_status"],
            excerpt=excerpt or None,
            text=text if self.settings.publish_full_text and text else None,
            cited_by=[self.event_ref(i, t) for i, t in cited_by if i in self.event_where],
        )

    def about(self) -> AboutPage:
        counts = self.store.day_counts()
        return AboutPage(
            path=urls.ABOUT, title="About newscontext and its API",
            days=len(counts), events=sum(n for _, n in counts),
            first_day=date.fromisoformat(counts[0][0]) if counts else None,
            last_day=date.fromisoformat(counts[-1][0]) if counts else None,
        )
