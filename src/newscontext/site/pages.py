"""Pages built from the store: `Pages` reads the archive and fills the page model
(model.py) for every page of the site, free of any format.

A renderer turns a page into HTML, Markdown, JSON or XML and decides only how it looks; the
static build and the live server make every page through `Pages`.
"""

from __future__ import annotations

import html
import itertools
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from ..model import ArchivedEvent, Story
from ..portal.categories import canonical as canonical_category
from ..portal.titles import day_title
from ..settings import Settings
from ..store import Store
from ..store.articles import SourcePicture
from . import urls
from .model import (
    AboutPage,
    Change,
    DayCount,
    DayPage,
    EntityCount,
    EventItem,
    EventPage,
    FrontPage,
    Group,
    MonthDays,
    MonthPage,
    Ref,
    RelatedItem,
    SourceItem,
    SourcePage,
    StoryCount,
    TimelinePage,
    YearCount,
    YearPage,
)
from .pictures import event_media, event_picture, picture
from .slugtable import SlugTable
from .timelines import Row, page_count, page_rows, weekly

COOCCURRING = 12  # entities listed as found most often with a story or entity
FRONT_DAYS = 3
ITEMS_KEPT = 20_000  # event listing items a build keeps made (each is listed ~8 times)
SUBSTORIES = 20  # sub-stories listed on a story's or subject's page
TIMELINES_KEPT = 2_000  # timelines whose rows, chart and co-occurring entities are kept made
EXCERPT_WORDS = 80  # of a source article's text shown when full text is not published


def _excerpt(text: str, limit: int) -> str:
    """The first `limit` words of a text, its paragraphs kept (blank lines between them),
    with `…` when cut."""
    parts = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    if len(parts) == 1:  # no blank lines: one paragraph a line
        parts = [p for p in parts[0].split("\n") if p.strip()]
    kept: list[str] = []
    left = limit
    for part in parts:
        words = part.split()
        if left <= 0:
            return "\n\n".join(kept) + " …"
        kept.append(" ".join(words[:left]))
        if len(words) > left:
            return "\n\n".join(kept) + " …"
        left -= len(words)
    return "\n\n".join(kept)


@dataclass
class _Timeline:
    rows: list[Row]  # newest first
    path: Callable[[int | None], str]  # of the main page (None) or a numbered page
    wikipedia: str | None
    first_week: date | None
    weekly: list[int]
    cooccurring: list[EntityCount]
    headed: set[str]  # the events a subject heads
    substories: list[StoryCount]


class Pages:
    """Builds pages from the store. Slugs are read as pages need them (all at once for a
    full build); everything else is asked for per page, so an incremental build touches
    only what it renders."""

    def __init__(self, store: Store, settings: Settings,
                 filters: frozenset[str] | None = None):
        """`filters`: the search's subject filters as a build's main process read them (its
        processes mark the same ones, whatever commits came since); None: read them."""
        self.store = store
        self.settings = settings
        self._preset_filters = filters
        self.refresh()

    def refresh(self) -> None:
        self.entity_slug = SlugTable(self.store.entity_slugs)
        self.story_slug = SlugTable(self.store.story_slugs)
        # A heading that is one link is its subject's: the event links the subject's page.
        # A story has a page of its own where some event writes its heading otherwise; a
        # heading always one link leads to its (newest) subject's page.
        self.story_subject = SlugTable(self.store.story_subjects)
        self.story_plain = SlugTable(self.store.plain_headings)
        self.canonical = SlugTable(self.store.canonical_titles)
        # An entity whose title became a redirect or another spelling of a subject.
        self.entity_subject = SlugTable(self.store.moved_entities)
        self.event_where = SlugTable(self.store.event_slugs)
        # An event is listed on its day and on every story and entity page it belongs to:
        # its item is made once (and kept while ITEMS_KEPT allows).
        self._items: dict[str, EventItem] = {}
        self._stories: dict[str, list[Row]] = {}
        self._entity_counts: dict[str, int] = {}
        self._filter_subjects: frozenset[str] | None = self._preset_filters
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
        for table in (self.entity_slug, self.story_slug, self.event_where, self.story_subject,
                      self.entity_subject, self.story_plain, self.canonical):
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

    def want_subjects(self, titles: Iterable[str]) -> None:
        """Read whether these entities have a page (slug and event count), in bulk."""
        titles = list(dict.fromkeys(titles))
        self.entity_slug.want(titles)
        if not self._everything:
            missing = [t for t in titles if t not in self._entity_counts]
            if missing:
                counts = self.store.entity_event_counts(missing)
                self._entity_counts.update({t: counts.get(t, 0) for t in missing})

    def filter_subjects(self) -> frozenset[str]:
        """The subjects the static search offers as filters: the `search_filter_subjects`
        in most events (see settings.py)."""
        if self._filter_subjects is None:
            self._filter_subjects = frozenset(
                self.store.frequent_entities(self.settings.search_filter_subjects))
        return self._filter_subjects

    def has_page(self, title: str) -> bool:
        """Whether a subject (an entity) has a page: one found with a single event has none
        (most subjects: their page would only repeat the event's)."""
        self.want_subjects([title])
        return (title in self.entity_slug
                and self._entity_counts.get(title, 0) >= self.settings.subject_min_events)

    def entity_ref(self, title: str) -> Ref:
        """A subject's page, or its Wikipedia article when it has no page."""
        if self.has_page(title):
            return Ref(title, urls.entity_path(self.entity_slug[title]))
        return Ref(title, urls.wikipedia_url(title))

    def heading_subject(self, story: Story) -> str | None:
        """The subject a story heading is, as this event writes it: one link and nothing
        else ("[[Syrian Civil War]]"), the title it stands for; else None. Decided by the
        event itself, so that its listing changes only when it or that subject does."""
        if len(story.links) != 1 or story.links[0].label != story.text:
            return None
        target = story.links[0].target
        return self.canonical.get(target, target)

    def story_ref(self, story: Story) -> Ref | None:
        """A story heading as an event shows it: its subject's page (or the subject's
        Wikipedia article) when the heading is one link, else the story's own page."""
        subject = self.heading_subject(story)
        if subject is not None:
            return Ref(story.text, self.entity_ref(subject).path)
        slug = self.story_slug.get(story.text)
        return Ref(story.text, urls.story_path(slug)) if slug else None

    def moved(self, kind: str, name: str) -> Ref | None:
        """Where a story's or an entity's own address leads when its page is another
        subject's: a story heading that is one link (its subject's page), an entity whose
        title became a redirect or another spelling (the page of the title it stands for).
        None: no such page, or the address is its own page."""
        if kind == "story":
            subject = self.story_subject.get(name)
            known = name in self.story_slug and name not in self.story_plain
        else:
            subject = self.entity_subject.get(name)
            known = name in self.entity_slug and not self.has_page(name)
        if subject is None or not known:
            return None
        ref = self.entity_ref(subject)
        return None if "://" in ref.path else Ref(name, ref.path)

    def story_refs(self, archived: ArchivedEvent) -> list[Ref]:
        return [ref for story in archived.event.stories
                if (ref := self.story_ref(story)) is not None]

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
            pictures = self.store.source_pictures(
                s.url for i in missing if i in events for s in events[i].event.sources)
            self.event_where.want(missing)
            stories = [s for i in missing if i in events for s in events[i].event.stories]
            self.story_slug.want(s.text for s in stories)
            self.canonical.want(link.target for s in stories for link in s.links)
            self.want_subjects([*(t for i in missing for t in contexts.get(i, ())),
                                *filter(None, map(self.heading_subject, stories))])
            if len(self._items) + len(missing) > ITEMS_KEPT:
                for old in list(self._items)[: len(self._items) // 2]:  # the oldest half
                    del self._items[old]
            for event_id in missing:
                archived = events.get(event_id)
                if archived is not None:
                    found[event_id] = self._items[event_id] = self._make_item(
                        archived, contexts.get(event_id, []), media, pictures)
        return [found[i] for i in event_ids if i in found]

    def _make_item(self, archived: ArchivedEvent, context: list[str],
                   media: dict[str, tuple[str | None, str | None]],
                   pictures: Mapping[str, SourcePicture] | None = None) -> EventItem:
        description, _ = event_media(self.store, archived.event.sources, media)
        return EventItem(
            id=archived.id,
            path=self.event_ref(archived.id, archived.event.text).path,
            date=archived.event.date,
            title=archived.event.text,
            category=canonical_category(archived.event.category),
            category_heading=archived.event.category,
            stories=self.story_refs(archived),
            description=description,
            context=[self.entity_ref(t) for t in context],
            removed=archived.removed,
            picture=event_picture(archived.event.sources, pictures or {}, archived.event.text,
                                  self.settings.hotlink_images),
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
        self.want_subjects([*context, *(t for item in ranked for t in item.shared)])
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
            category=canonical_category(event.category),
            category_heading=event.category,
            stories=self.story_refs(archived),
            text=event.text,
            description=description,
            image=image,
            picture=event_picture(event.sources, self.store.source_pictures(
                s.url for s in event.sources), event.text, self.settings.hotlink_images),
            sources=sources,
            context=[self.entity_ref(t) for t in context],
            changes=changes,
            related=related,
            first_seen=archived.first_seen or None,
            removed=archived.removed,
            removed_at=(archived.removed_at or None) if archived.removed else None,
            moved_to=moved,
            portal=Ref(day_title(event.date), urls.wikipedia_url(day_title(event.date))),
            _subject_filters=frozenset(t for t in context if t in self.filter_subjects()
                                       and self.has_page(t)),
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

    def front(self, days: list[tuple[date, tuple[date | None, date | None]]],
              years: Iterable[tuple[int, int]] = ()) -> FrontPage:
        """The newest days, and `years`: (year, events) of every year with events."""
        return FrontPage(path=urls.FRONT, title="newscontext: the news, day by day",
                         days=[self.day(day, near) for day, near in days],
                         years=[YearCount(Ref(str(year), urls.year_path(year)), n)
                                for year, n in years])

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
            year_page=Ref(str(year), urls.year_path(year)),
        )

    def year(self, year: int, counts: list[tuple[date, int]], previous: int | None,
             following: int | None) -> YearPage:
        """A year's page: `counts` are (day, live events) of its days with events, in
        order; `previous` and `following` the nearest years with events."""
        months: list[MonthDays] = []
        for day, n in counts:
            if not months or months[-1].number != day.month:
                months.append(MonthDays(Ref(day.strftime("%B %Y"),
                                            urls.month_path(year, day.month)), day.month, 0))
            months[-1].events += n
            months[-1].days.append(DayCount(Ref(day.isoformat(), urls.day_path(day)), n))

        def year_ref(number: int | None) -> Ref | None:
            return Ref(str(number), urls.year_path(number)) if number is not None else None

        return YearPage(path=urls.year_path(year), title=str(year), year=year,
                        events=sum(n for _, n in counts), months=months,
                        previous=year_ref(previous), next=year_ref(following))

    def timeline(self, timeline: str, name: str, page: int | None = None) -> TimelinePage:
        """A story's or entity's events, paged (see `page_rows`)."""
        whole = self._whole_timeline(timeline, name)
        total = len(whole.rows)
        count = max(1, page_count(total))
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
            headed=[i for i, *_ in page_rows(whole.rows, page) if i in whole.headed],
            total_headed=len(whole.headed), substories=whole.substories,
            _subject_filters=(frozenset([name]) if timeline == "entity"
                              and name in self.filter_subjects() else frozenset()),
        )

    def timeline_pages(self, timeline: str, name: str) -> list[int | None]:
        """Which pages a timeline has: none without an event; the main page and, past one
        page, numbered ones."""
        if timeline == "story":  # a heading that is one link: its subject's page is its
            if name not in self.story_slug or name not in self.story_plain:
                return []
            total = len(self.story_events(name))
        else:
            if not self.has_page(name):
                return []
            total = self._entity_counts[name]
        count = page_count(total)
        if not count:
            return []
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
        first_week, chart = weekly(rows)
        ids = [i for i, *_ in rows]
        if page_count(len(ids)) <= 1:  # one page lists every event: count from their listings
            counts = Counter(ref.title for item in self.items(ids) for ref in item.context
                             if ref.title != name)
            found = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:COOCCURRING]
        else:
            found = self.store.cooccurring(ids, name, COOCCURRING)
        self.want_subjects(title for title, _ in found)
        cooccurring = [EntityCount(self.entity_ref(title), n) for title, n in found]
        if timeline == "story":
            headed: set[str] = set()
            chains = self.store.story_headings(ids)
        else:
            headed, chains = self.store.entity_headlines(name)
        substories = self._substories(timeline, name, chains)
        whole = self._timelines[key] = _Timeline(rows, path, wikipedia, first_week, chart,
                                                 cooccurring, headed, substories)
        if len(self._timelines) > TIMELINES_KEPT:
            self._timelines.popitem(last=False)  # the least recently used
        return whole

    def _substories(self, timeline: str, name: str, chains: list[list[Story]]
                    ) -> list[StoryCount]:
        """The headings right below this story's or subject's own in its events' chains of
        headings, most events first, those with a page."""
        counts: Counter[Story] = Counter()
        self.canonical.want(link.target for chain in chains for s in chain for link in s.links)
        for chain in chains:
            for above, below in itertools.pairwise(chain):
                own = above.text == name if timeline == "story" else \
                    self.heading_subject(above) == name
                if own:
                    counts[below] += 1
        found = []
        for story, n in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0].text)):
            ref = self.story_ref(story)
            if ref is not None and "://" not in ref.path:
                found.append(StoryCount(ref, n))
            if len(found) == SUBSTORIES:
                break
        return found

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
        excerpt = _excerpt(text, EXCERPT_WORDS)
        # Open Graph fields as the page's HTML wrote them: some publishers escape twice
        # (`&amp;amp;`), leaving `&amp;` to decode, as event pages do (`event_media`).
        og = {name: html.unescape(row[name]).strip() or None if row[name] else None
              for name in ("og_title", "og_description", "og_image", "og_site_name")}
        title = row["title"] or og["og_title"] or url
        return SourcePage(
            path=urls.source_path(row["hash"]), title=title, hash=row["hash"], url=url,
            final_url=row["final_url"], outlet=outlet, fetch_status=row["fetch_status"],
            fetched_at=row["fetched_at"], archived_from=row["archived_from"],
            og_title=og["og_title"], og_description=og["og_description"],
            og_image=og["og_image"], og_site_name=og["og_site_name"],
            picture=next((picture(found, outlet, title, self.settings.hotlink_images)
                          for found in self.store.source_pictures([url]).values()), None),
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
