"""HTML: every page kind through Jinja2 templates, autoescaped, with one small stylesheet.

The pages need no JavaScript (and have none: a page holds no script and no form, the search
page aside), make no request outside the site (cover images of source articles aside: they
are the sources' own pictures) and come out byte for byte the same for the same page:
nothing here reads the clock. Any date is two links away from every page: the header's
"Dates" leads to the years, a year's calendars to its days. Links go to site paths and web
addresses only (`linkable`): a source cited by a `javascript:` or `data:` URL is named, not
linked.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, cached_property, lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from .. import urls
from ..model import (
    AboutPage,
    DayCount,
    DayPage,
    EventItem,
    EventPage,
    FrontPage,
    MonthPage,
    NotFoundPage,
    Page,
    Picture,
    RedirectPage,
    SourcePage,
    TimelinePage,
    YearPage,
)
from . import Fragments, SiteInfo, absolute, href, linkable

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STYLESHEET = HERE / "static" / "style.css"  # the build copies it to STYLESHEET_PATH
STYLESHEET_PATH = "/static/style.css"
MAX_BARS = 120  # of the events-per-week chart; more weeks are summed into wider bars
TITLE_CHARS = 110  # of the <title>; the page's heading keeps the whole text
DESCRIPTION_CHARS = 200  # of the meta and Open Graph descriptions
CHART_WIDTH = 600
CHART_HEIGHT = 100
CHART_MIN_SLOTS = 24  # a chart of few bars keeps bars narrow instead of stretching them
LICENSE = "https://creativecommons.org/licenses/by-sa/4.0/"
PORTAL = urls.WIKIPEDIA + "Portal:Current_events"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
ALTERNATES = (("json", "application/json", "JSON"), ("xml", "application/xml", "XML"),
              ("md", "text/markdown", "Markdown"))
FEED_TYPES = {"xml": "application/rss+xml", "atom": "application/atom+xml"}
SITE_FEEDS = (("RSS", urls.FEED_RSS), ("Atom", urls.FEED_ATOM))
_KINDS = {kind.kind for kind in (AboutPage, DayPage, EventPage, FrontPage, MonthPage,
                                 NotFoundPage, RedirectPage, SourcePage, TimelinePage,
                                 YearPage)}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FRONT_DESCRIPTION_CHARS = 180  # of an event's description on the front page


@dataclass(frozen=True)
class Alternate:
    """A `<link rel="alternate">`: the same page in another format, or a feed."""

    type: str
    title: str
    href: str


@dataclass(frozen=True)
class Head:
    """What goes into `<head>` besides the fixed parts."""

    title: str
    description: str
    og_type: str
    image: str | None
    canonical: str | None  # None: a page no address should name (the 404 page)
    alternates: list[Alternate]
    feeds: list[Alternate]
    redirect: str | None = None
    noindex: bool = False


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Chart:
    """The events-per-week chart of a timeline page, laid out for an SVG viewBox."""

    width: int
    height: int
    bars: list[Bar]
    weeks_per_bar: int
    first: date
    last: date  # the last day of the last week
    peak: int
    label: str
    description: str

    @cached_property  # the chart of a timeline is shown by each of its pages
    def svg_bars(self) -> Markup:
        """The bars as SVG: written here, not in the template (a chart may have a hundred
        bars, and an entity page is rendered for each of a hundred thousand entities)."""
        return Markup("".join(
            f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}">'
            f"<title>{escape(bar.label)}</title></rect>\n" for bar in self.bars))


def render(page: Page, site: SiteInfo) -> bytes:
    """The page as a complete HTML5 document, UTF-8."""
    if page.kind not in _KINDS:
        raise ValueError(f"no HTML template for page kind {page.kind!r}")
    template = _environment().get_template(f"{page.kind}.html")
    html = template.render(
        page=page, site=site, head=head(page, site),
        portal=getattr(page, "portal", None),
        chart=chart(page) if isinstance(page, TimelinePage) else None,
        newest=newest(page) if isinstance(page, TimelinePage) else None,
        nav=[("Front page", urls.FRONT), ("About", urls.ABOUT), ("Search", urls.SEARCH)],
        stylesheet=STYLESHEET_PATH, license=LICENSE, portal_home=PORTAL, urls=urls,
    )
    return html.encode("utf-8")


# -- helpers the templates use ------------------------------------------------------------


_LISTED = Fragments()


def listed(item: EventItem, dated: bool = False) -> Markup:
    """An event as listed (the `event_item` macro), rendered once however often listed."""
    return _LISTED.get((item.id, dated), item, lambda: _environment().get_template(
        "macros.html").module.event_item(item, dated=dated))  # type: ignore[attr-defined]


def with_role(item: Markup, role: str) -> Markup:
    """A listed event marked as one its subject heads ("story") or mentions ("mention"):
    the listing is made once for every page, the mark belongs to this page."""
    label = '<span class="role">Story</span> ' if role == "story" else ""
    text = str(item).replace('<li class="event">', f'<li class="event" data-role="{role}">', 1)
    return Markup(text.replace('<p class="title">', f'<p class="title">{label}', 1))


def link(path: str) -> str:
    """Where an HTML page links a Ref's path (see `href`)."""
    return href(path, "html")


def newest(page: TimelinePage) -> str:
    """The path of a timeline's main page (its newest events) from any of its pages."""
    return page.path if page.page is None else page.path.rsplit("/page/", 1)[0]


def is_outside(path: str) -> bool:
    return "://" in path


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary, with `…` when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.-–—") + "…"


def long_date(value: date | str | None) -> str:
    """19 January 2016 (English whatever the locale)."""
    if value is None:
        return ""
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def weekday_date(value: date | str) -> str:
    """Tuesday 19 January 2016."""
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    return f"{WEEKDAYS[day.weekday()]} {long_date(day)}"


@dataclass(frozen=True)
class CalendarDay:
    """A cell of a month's calendar: a day of the month (None: a day of another month, an
    empty cell), its events (0: plain text, no link), its page, and how busy it is (0-4,
    of the busiest day shown: the shade of a small calendar)."""

    day: date | None
    events: int = 0
    path: str = ""
    level: int = 0


def calendar_weeks(year: int, month: int, days: list[DayCount], busiest: int = 0
                   ) -> list[list[CalendarDay]]:
    """A month as weeks from Monday (ISO 8601) to Sunday, each day with its events."""
    counts = {count.day.title: count for count in days}
    peak = busiest or max((count.events for count in days), default=0)
    weeks = []
    for week in _calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        cells = []
        for day in week:
            count = counts.get(day.isoformat()) if day.month == month else None
            if day.month != month:
                cells.append(CalendarDay(None))
            elif count is None or not count.events:
                cells.append(CalendarDay(day))
            else:
                level = min(4, 1 + 4 * (count.events - 1) // peak) if peak else 1
                cells.append(CalendarDay(day, count.events, count.day.path, level))
        weeks.append(cells)
    return weeks


def month_name(number: int) -> str:
    return MONTHS[number - 1]


def utc(value: str | None) -> str:
    """An ISO 8601 UTC time as `19 January 2016, 14:02 UTC` (a date alone as `19 January
    2016`: dates read the same on every page); anything else as it is."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.utcoffset():
        moment = moment - moment.utcoffset()
    if len(value) <= 10:
        return long_date(moment.date())
    return f"{long_date(moment.date())}, {moment:%H:%M} UTC"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def paragraphs(text: str) -> list[str]:
    """A body text's paragraphs: split on blank lines, or on single newlines if none."""
    parts = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n")]
    if len(parts) == 1:
        parts = [p.strip() for p in text.split("\n")]
    return [p for p in parts if p]


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(link=link, clip=clip, long_date=long_date, weekday_date=weekday_date,
                       utc=utc, paragraphs=paragraphs, with_role=with_role)
    env.globals.update(plural=plural, is_outside=is_outside, listed=listed,
                       calendar_weeks=calendar_weeks, month_name=month_name,
                       weekdays=WEEKDAYS, front_description_chars=FRONT_DESCRIPTION_CHARS)
    env.tests["linkable"] = linkable  # `{% if url is linkable %}`: a source's own address
    return env


# -- <head> ---------------------------------------------------------------------------------


def head(page: Page, site: SiteInfo) -> Head:
    """Title, description, Open Graph and alternate links of a page."""
    # The site's name ends every title but the front page's, whatever the page's length.
    suffix = "" if isinstance(page, FrontPage) else f" – {site.name}"
    title = clip(page.title, TITLE_CHARS - len(suffix)) + suffix
    feeds = [Alternate(FEED_TYPES[path.rsplit(".", 1)[1]], f"{site.name} ({name})", path)
             for name, path in SITE_FEEDS]
    image = redirect = None
    og_type = "website"
    if isinstance(page, EventPage):
        og_type, image = "article", _shared_picture(page.picture, site)
        description = page.description or page.text
    elif isinstance(page, DayPage):
        description = _day_description(page)
    elif isinstance(page, FrontPage):
        description = ("The news, day by day, from Wikipedia's Current events portal: every "
                       "event with its sources, its context and related events.")
    elif isinstance(page, TimelinePage):
        kind = "story" if page.timeline == "story" else "subject"
        description = (f"{plural(page.total, 'event')} about the {kind} {page.name} in "
                       "Wikipedia's Current events portal, newest first, with a chart of "
                       "events per week.")
        feeds += [Alternate(FEED_TYPES.get(ref.path.rsplit(".", 1)[-1], "application/xml"),
                            f"{page.name} ({ref.title})", ref.path) for ref in page.feeds]
    elif isinstance(page, SourcePage):
        image = _shared_picture(page.picture, site)
        description = page.og_description or page.excerpt or f"A source article: {page.url}"
    elif isinstance(page, YearPage):
        description = (f"{plural(page.events, 'event')} of {page.year} from Wikipedia's "
                       "Current events portal, month by month, as calendars.")
    elif isinstance(page, MonthPage):
        events = sum(day.events for day in page.days)
        description = (f"{plural(events, 'event')} on {plural(len(page.days), 'day')} of "
                       f"{page.title} from Wikipedia's Current events portal.")
    elif isinstance(page, RedirectPage):
        redirect = link(page.target)
        description = f"This page has moved to {redirect}."
    elif isinstance(page, NotFoundPage):  # served at any missing address: names none
        return Head(title=title, description="There is no page at this address.",
                    og_type=og_type, image=None, canonical=None, alternates=[], feeds=feeds,
                    noindex=True)
    else:  # AboutPage
        description = ("What newscontext is, where its data comes from, and how to use every "
                       "page as JSON, XML or Markdown, the feeds and the exports.")
    return Head(
        title=title,
        description=clip(description, DESCRIPTION_CHARS),
        og_type=og_type,
        image=image if image and linkable(image) else None,
        canonical=absolute(site, page.target if isinstance(page, RedirectPage) else page.path,
                           "html"),
        alternates=[Alternate(kind, name, href(page.path, ext)) for ext, kind, name in ALTERNATES],
        feeds=feeds,
        redirect=redirect,
        noindex=redirect is not None,
    )


def _shared_picture(picture: Picture | None, site: SiteInfo) -> str | None:
    """The og:image a page declares: the picture it shows, as an absolute URL."""
    return absolute(site, picture.path, "html") if picture is not None else None


def _day_description(page: DayPage) -> str:
    events = [event for group in page.groups for event in group.events]
    when = weekday_date(page.date) if page.date else page.title
    if not events:
        return f"The news of {when}: no events."
    return f"The news of {when}, {plural(len(events), 'event')}: {events[0].title}"


# -- the chart ------------------------------------------------------------------------------


def chart(page: TimelinePage) -> Chart | None:
    """Bars of events per week, or per run of weeks when there are more than MAX_BARS."""
    if not page.weekly or page.first_week is None:
        return None
    return _chart(page.name, page.first_week, tuple(page.weekly))


@lru_cache(maxsize=64)  # every page of a timeline shows the same chart
def _chart(name: str, first_week: date, weekly: tuple[int, ...]) -> Chart:
    weeks = len(weekly)
    per = -(-weeks // MAX_BARS)
    bins = [sum(weekly[i : i + per]) for i in range(0, weeks, per)]
    peak = max(bins) or 1
    slot = CHART_WIDTH / max(len(bins), CHART_MIN_SLOTS)
    gap = slot * 0.2 if slot >= 4 else 0.0
    bars = []
    for n, count in enumerate(bins):
        if not count:
            continue  # no bar, no label
        start = first_week + timedelta(weeks=n * per)
        end = min(start + timedelta(weeks=per), first_week + timedelta(weeks=weeks))
        if per == 1:
            label = f"Week of {long_date(start)}: {plural(count, 'event')}"
        else:
            label = (f"{long_date(start)} to {long_date(end - timedelta(days=1))}: "
                     f"{plural(count, 'event')}")
        height = max(1.0, (CHART_HEIGHT - 2) * count / peak)
        bars.append(Bar(round(n * slot + gap / 2, 2), round(CHART_HEIGHT - height, 2),
                        round(slot - gap, 2), round(height, 2), label))
    first = first_week
    last = first + timedelta(weeks=weeks, days=-1)
    unit = "week" if per == 1 else f"{per} weeks"
    label = f"Events per {unit} about {name}, {long_date(first)} to {long_date(last)}"
    busiest = max(range(len(bins)), key=lambda i: (bins[i], -i))
    busiest_start = first + timedelta(weeks=busiest * per)
    description = (
        f"{plural(sum(bins), 'event')} over {plural(weeks, 'week')}, one bar per {unit}. "
        f"The busiest {'week' if per == 1 else 'bar'}, starting {long_date(busiest_start)}, "
        f"has {plural(bins[busiest], 'event')}."
    )
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, per, first, last, max(bins), label,
                 description)
