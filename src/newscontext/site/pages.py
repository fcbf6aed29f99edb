"""What every page of the site holds, built from the store, free of any format.

A renderer turns a page into HTML, Markdown, JSON or XML and decides only how it looks; the
fields are the same in every format. Links are `Ref`s: a title and a site path without
extension (each renderer adds its own), or an absolute URL for pages elsewhere.
"""

from __future__ import annotations

import html
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import ClassVar, TypeVar

from ..model import ArchivedEvent, Source
from ..portal.titles import day_title
from ..settings import Settings
from ..store import Store
from . import urls

SCHEMA_VERSION = 1
PAGE_SIZE = 50  # events per timeline page
COOCCURRING = 12  # entities listed as found most often with a story or entity
FRONT_DAYS = 3
ITEMS_KEPT = 20_000  # event listing items a build keeps made (each is listed ~8 times)
TIMELINES_KEPT = 2_000  # timelines whose rows, chart and co-occurring entities are kept made
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
class Page:
    """Common to every page: its kind, its path and its title."""

    kind: ClassVar[str] = "page"
    path: str
    title: str


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


Row = tuple[str, str, int]  # (event id, date, position) of an event on a timeline


@dataclass
class _Timeline:
    rows: list[Row]  # newest first
    path: Callable[[int | None], str]  # of the main page (None) or a numbered page
    wikipedia: str | None
    first_week: date | None
    weekly: list[int]
    cooccurring: list[EntityCount]


V = TypeVar("V")


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def page_rows(rows: list[Row], page: int | None) -> list[Row]:
    """The rows (newest first) a timeline page lists: the newest PAGE_SIZE on the main page
    (None), and numbered pages of PAGE_SIZE from the oldest, so old pages never shift."""
    if page is None:
        return rows[:PAGE_SIZE]
    total = len(rows)
    return rows[max(0, total - page * PAGE_SIZE) : total - (page - 1) * PAGE_SIZE]


class SlugTable(Mapping[str, V]):
    """A slug table read as far as it is used: the keys asked for (in bulk where a page
    knows them ahead), or all at once for a full build. An incremental build renders a
    few dozen pages; reading every slug of a large archive would cost more than they do."""

    def __init__(self, fetch: Callable[[Iterable[str] | None], dict[str, V]]):
        self._fetch = fetch
        self._known: dict[str, V] = {}
        self._absent: set[str] = set()
        self._whole = False

    def want(self, keys: Iterable[str]) -> None:
        """Read these keys now, in one query (those not read yet)."""
        if self._whole:
            return
        keys = [k for k in dict.fromkeys(keys) if k not in self._known and k not in self._absent]
        if keys:
            found = self._fetch(keys)
            self._known.update(found)
            self._absent.update(k for k in keys if k not in found)

    def read_all(self) -> None:
        if not self._whole:
            self._known = self._fetch(None)
            self._absent.clear()
            self._whole = True

    def __getitem__(self, key: str) -> V:
        if key not in self._known and not self._whole:
            self.want([key])
        return self._known[key]

    # Mapping's own get and `in` go through __getitem__ and KeyError: slow at a million calls.
    def get(self, key: str, default: V | None = None) -> V | None:
        if key not in self._known and not self._whole:
            self.want([key])
        return self._known.get(key, default)

    def __contains__(self, key: object) -> bool:
        if key not in self._known and not self._whole:
            self.want([key])  # type: ignore[list-item]
        return key in self._known

    def __iter__(self) -> Iterator[str]:
        self.read_all()
        return iter(self._known)

    def __len__(self) -> int:
        self.read_all()
        return len(self._known)


class Pages:
    """Builds pages from the store. Slugs are read as pages need them (all at once for a
    full build); everything else is asked for per page, so an incremental build touches
    only what it renders."""

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self.refresh()

    def refresh(self) -> None:
        self.entity_slug = SlugTable(self.store.entity_slugs)
        self.story_slug = SlugTable(self.store.story_slugs)
        self.event_where = SlugTable(self.store.event_slugs)
        # An event is listed on its day and on every story and entity page it belongs to:
        # its item is made once (and kept while ITEMS_KEPT allows).
        self._items: dict[str, EventItem] = {}
        self._stories: dict[str, list[Row]] = {}
        self._entity_counts: dict[str, int] = {}
        self._everything = False  # every story's events and entity's count read
        self._day_counts: list[tuple[str, int]] | None = None
        # A full build renders a long timeline's pages far apart (see Plan.everything).
        self._timelines: OrderedDict[tuple[str, str], _Timeline] = OrderedDict()

    def day_counts(self) -> list[tuple[str, int]]:
        """(date, live events) of every day with events, oldest first (read once)."""
        if self._day_counts is None:
            self._day_counts = self.store.day_counts()
        return self._day_counts

    def read_everything(self) -> None:
        """Read every story's events and every entity's count in one pass each (for a
        full build: one query per timeline would read the events thousands of times)."""
        self._stories = self.store.story_members()
        self._entity_counts = self.store.entity_event_counts()
        for table in (self.entity_slug, self.story_slug, self.event_where):
            table.read_all()
        self._everything = True

    def story_events(self, name: str) -> list[Row]:
        """A story's events, newest first."""
        if name not in self._stories and not self._everything:
            self._stories[name] = self.store.story_members([name]).get(name, [])
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

    def items(self, event_ids: list[str], known: Iterable[ArchivedEvent] = ()
              ) -> list[EventItem]:
        """The listing items of events, in the order given; made in bulk (three queries)
        for those not made yet. `known`: events the caller has read already."""
        found = {i: self._items[i] for i in event_ids if i in self._items}
        missing = [i for i in dict.fromkeys(event_ids) if i not in found]
        if missing:
            events = {a.id: a for a in known}
            events.update(self.store.events([i for i in missing if i not in events]))
            contexts = self.store.contexts(missing)
            media = self.store.source_media(
                s.url for i in missing if i in events for s in events[i].event.sources)
            self.event_where.want(missing)
            self.entity_slug.want(t for i in missing for t in contexts.get(i, ()))
            self.story_slug.want(s.text for i in missing if i in events
                                 for s in events[i].event.stories)
            if len(self._items) + len(missing) > ITEMS_KEPT:
                for old in list(self._items)[: len(self._items) // 2]:  # the oldest half
                    del self._items[old]
            for event_id in missing:
                archived = events.get(event_id)
                if archived is not None:
                    found[event_id] = self._items[event_id] = self._make_item(
                        archived, contexts.get(event_id, []), media)
        return [found[i] for i in event_ids if i in found]

    def _make_item(self, archived: ArchivedEvent, context: list[str],
                   media: dict[str, tuple[str | None, str | None]]) -> EventItem:
        description, _ = event_media(self.store, archived.event.sources, media)
        return EventItem(
            id=archived.id,
            path=self.event_ref(archived.id, archived.event.text).path,
            date=archived.event.date,
            title=archived.event.text,
            category=archived.event.category,
            stories=self.story_refs(archived),
            description=description,
            context=[self.entity_ref(t) for t in context],
            removed=archived.removed,
        )

    # -- pages -------------------------------------------------------------------------

    def event(self, event_id: str) -> EventPage:
        archived = self.store.event(event_id)
        if archived is None:
            raise KeyError(event_id)
        event = archived.event
        articles = self.store.source_articles(s.url for s in event.sources)
        description, image = event_media(self.store, event.sources, {
            url: (row["og_description"], row["og_image"]) for url, row in articles.items()})
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
        ranked = self.store.related(event_id)
        headlines = self.store.headlines([item.id for item in ranked]
                                         + ([archived.moved_to] if archived.moved_to else []))
        context = self.store.context(event_id)
        self.event_where.want([event_id, *headlines])
        self.entity_slug.want([*context, *(t for item in ranked for t in item.shared)])
        related = []
        for item in ranked:
            if item.id not in headlines or item.id not in self.event_where:
                continue
            text, day = headlines[item.id]
            related.append(RelatedItem(self.event_ref(item.id, text), day,
                                       [self.entity_ref(t) for t in item.shared], item.score))
        moved = None
        if archived.moved_to in headlines and archived.moved_to in self.event_where:
            moved = self.event_ref(archived.moved_to, headlines[archived.moved_to][0])
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
            context=[self.entity_ref(t) for t in context],
            changes=changes,
            related=related,
            first_seen=archived.first_seen or None,
            removed=archived.removed,
            removed_at=(archived.removed_at or None) if archived.removed else None,
            moved_to=moved,
            portal=Ref(day_title(event.date), urls.wikipedia_url(day_title(event.date))),
        )

    def day(self, day: date, neighbours: tuple[date | None, date | None] = (None, None)
            ) -> DayPage:
        groups: list[Group] = []
        events = self.store.events_of_day(day, include_removed=False)
        for item in self.items([a.id for a in events], known=events):
            if not groups or groups[-1].category != item.category:
                groups.append(Group(item.category, []))
            groups[-1].events.append(item)
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
        """A story's or entity's events, paged (see `page_rows`)."""
        whole = self._whole_timeline(timeline, name)
        total = len(whole.rows)
        count = max(1, -(-total // PAGE_SIZE))
        return TimelinePage(
            path=whole.path(page),
            title=name if page is None else f"{name} (page {page} of {count})",
            timeline=timeline, name=name, wikipedia=whole.wikipedia, total=total,
            first_week=whole.first_week, weekly=whole.weekly,
            events=self.items([i for i, *_ in page_rows(whole.rows, page)]), page=page,
            pages=[Ref(str(n), whole.path(n)) for n in range(1, count + 1)] if count > 1 else [],
            cooccurring=whole.cooccurring,
            feeds=[Ref("RSS", urls.feed_path(whole.path(None), "xml")),
                   Ref("Atom", urls.feed_path(whole.path(None), "atom"))],
        )

    def timeline_pages(self, timeline: str, name: str) -> list[int | None]:
        """Which pages a timeline has: the main page and, past one page, numbered ones."""
        if timeline == "story":
            total = len(self.story_events(name))
        else:
            if name not in self._entity_counts and not self._everything:
                self._entity_counts.update(self.store.entity_event_counts([name]))
            total = self._entity_counts.get(name, 0)
        count = -(-total // PAGE_SIZE)
        return [None] + (list(range(1, count + 1)) if count > 1 else [])

    def timeline_events(self, timeline: str, name: str) -> list[Row]:
        """A story's or entity's events, newest first."""
        return self._whole_timeline(timeline, name).rows

    def timeline_rows(self, timeline: str, name: str) -> list[Row]:
        """The same, read without making the rest of the timeline."""
        known = self._timelines.get((timeline, name))
        if known is not None:
            return known.rows
        if timeline == "story":
            return self.story_events(name)
        return self.store.events_with_entity(name)

    def _whole_timeline(self, timeline: str, name: str) -> _Timeline:
        """What every page of a timeline shares, kept while TIMELINES_KEPT allows."""
        key = (timeline, name)
        known = self._timelines.get(key)
        if known is not None:
            self._timelines.move_to_end(key)
            return known
        rows = self.timeline_rows(timeline, name)
        if timeline == "story":
            slug = self.story_slug[name]
            path = lambda n: urls.story_path(slug, n)  # noqa: E731
            wikipedia = self._story_article(rows, name)
        else:
            slug = self.entity_slug[name]
            path = lambda n: urls.entity_path(slug, n)  # noqa: E731
            wikipedia = urls.wikipedia_url(name)
        dates = [date.fromisoformat(d) for _, d, *_ in reversed(rows)]
        first_week = _week_start(dates[0]) if dates else None
        weekly: list[int] = []
        if dates:
            weekly = [0] * ((_week_start(dates[-1]) - first_week).days // 7 + 1)
            for day in dates:
                weekly[(_week_start(day) - first_week).days // 7] += 1
        ids = [i for i, *_ in rows]
        if len(ids) <= PAGE_SIZE:  # one page lists every event: count from their listings
            counts = Counter(ref.title for item in self.items(ids) for ref in item.context
                             if ref.title != name)
            found = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:COOCCURRING]
        else:
            found = self.store.cooccurring(ids, name, COOCCURRING)
        self.entity_slug.want(title for title, _ in found)
        cooccurring = [EntityCount(self.entity_ref(title), n) for title, n in found]
        whole = self._timelines[key] = _Timeline(rows, path, wikipedia, first_week, weekly,
                                                 cooccurring)
        if len(self._timelines) > TIMELINES_KEPT:
            self._timelines.popitem(last=False)  # the least recently used
        return whole

    def _story_article(self, rows: list[Row], name: str) -> str | None:
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
        counts = self.day_counts()
        return AboutPage(
            path=urls.ABOUT, title="About newscontext and its API",
            days=len(counts), events=sum(n for _, n in counts),
            first_day=date.fromisoformat(counts[0][0]) if counts else None,
            last_day=date.fromisoformat(counts[-1][0]) if counts else None,
        )
