"""Markdown pages: what a person or a language model reads with no browser.

The event page follows the layout in `spec/PAGES.md` line by line. Every text that comes
from the portal or from a source is escaped, so a `*`, a `[` or a `<script>` in a sentence
stays text: Markdown is often turned into HTML by whoever fetches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache

from .. import urls
from ..model import (
    AboutPage,
    DayPage,
    EventItem,
    EventPage,
    FrontPage,
    MonthPage,
    Page,
    Picture,
    RedirectPage,
    Ref,
    SourcePage,
    TimelinePage,
    YearPage,
)
from . import Fragments, SiteInfo, href, linkable

FMT = "md"
BARS = "▁▂▃▄▅▆▇█"  # a week's events, scaled to the busiest week
EMPTY_WEEK = "·"
WEEKS_PER_LINE = 52
UNKNOWN_TIME = "time unknown"  # a revision time the input did not give (a .wiki file)

# Always escaped: they make emphasis, links, code, headings or strikethrough anywhere.
_INLINE = re.compile(r"([\\`*_\[\]#~|])")
# `&` only where it would start an entity (`&amp;`, `&#39;`): `AT&T` stays readable.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# At the start of a line these open a list, a quote or a thematic break.
_LINE_START = re.compile(r"^(\d+)([.)])(?=\s|$)|^([-+>=])")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1 << 17)  # titles and entity names recur on many pages
def escape(text: str | None) -> str:
    """Text as Markdown that renders to exactly that text and never to markup or HTML:
    one line (a newline could start a block), no raw `<`."""
    if not text:
        return ""
    text = _SPACE.sub(" ", text).strip()
    text = _INLINE.sub(r"\\\1", text)
    text = _ENTITY.sub(r"\\&", text)
    text = text.replace("<", "&lt;")
    return _LINE_START.sub(
        lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", text)


_UNSAFE_IN_URL = re.compile(r'[\s<>"\\`\x00-\x1f]')


def _picture(picture: Picture | None) -> str | None:
    """A cover picture: its image (alt text, the copy or the publisher's URL) and, after a
    hard line break (a backslash), its credit."""
    if picture is None or not linkable(picture.path):
        return None
    image = f"![{escape(picture.alt)}]({_destination(picture.path)})"
    return f"{image}\\\n_Picture: {escape(picture.credit)}_" if picture.credit else image


def _destination(url: str) -> str:
    """A URL fit for `(...)`: no spaces or angle brackets, parentheses balanced."""
    if not _UNSAFE_IN_URL.search(url) and url.count("(") == url.count(")"):
        return url  # the usual case, without the per-character walk
    out = []
    for ch in url:
        if ch.isspace() or ch in '<>"\\`' or ord(ch) < 0x20:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
        else:
            out.append(ch)
    text = "".join(out)
    if text.count("(") != text.count(")"):
        text = text.replace("(", "%28").replace(")", "%29")
    return text


def target(path: str) -> str:
    """Where a link from a Markdown page goes (see `href`)."""
    return href(path, FMT)


@lru_cache(maxsize=1 << 17)
def link(title: str | None, path: str) -> str:
    """`[title](path.md)`; an outside URL with an unsafe scheme (javascript:) stays text."""
    text = escape(title) or escape(path)
    if not linkable(path):
        return text
    return f"[{text}]({_destination(target(path))})"


def ref(item: Ref | None) -> str:
    return link(item.title, item.path) if item else ""


def refs(items: Iterable[Ref], sep: str = ", ") -> str:
    return sep.join(ref(item) for item in items)


def utc(stamp: str | None) -> str:
    """`2016-01-19T14:02:00Z` -> `2016-01-19 14:02 UTC` (as written when it is not ISO)."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return escape(stamp)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def numbered(items: Iterable[str]) -> list[str]:
    return [f"{n}. {item}" for n, item in enumerate(items, start=1)]


def _document(blocks: Iterable[str | list[str] | None]) -> bytes:
    """Blocks separated by one blank line; empty blocks (sections with nothing to show)
    dropped; no trailing spaces; one final newline."""
    parts = []
    for block in blocks:
        if not block:
            continue
        text = "\n".join(block) if isinstance(block, list) else block
        parts.append("\n".join(line.rstrip() for line in text.split("\n")))
    return ("\n\n".join(parts) + "\n").encode("utf-8")


def _section(title: str, lines: list[str]) -> list[str] | None:
    return [f"### {title}", "", *lines] if lines else None


# -- pieces shared by listings ----------------------------------------------------------------


_LISTED = Fragments()


def event_block(item: EventItem, level: int, *, dated: bool = False) -> list[str]:
    """An event in a listing: title linked, story chain, then description or context.
    Made once however often the event is listed (the list is shared: never modify it)."""
    return _LISTED.get((item.id, level, dated), item,
                       lambda: _event_block(item, level, dated=dated))


def _event_block(item: EventItem, level: int, *, dated: bool) -> list[str]:
    heading = f"{'#' * level} {link(item.title, item.path)}"
    lines = [heading]
    if item.stories:
        lines += ["", refs(item.stories, " › ")]
    facts = []
    if dated:  # on timelines; a day page already heads its events with date and category
        facts.append(link(item.date.isoformat(), urls.day_path(item.date)))
        if item.category:
            facts.append(escape(item.category))
    if item.removed:
        facts.append("_removed from the portal_")
    if facts:
        lines += ["", " · ".join(facts)]
    if item.description:
        lines += ["", escape(item.description)]
    elif item.context:
        lines += ["", f"_Context: {refs(item.context)}_"]
    return lines


def day_blocks(day: DayPage, level: int) -> list[str | list[str] | None]:
    """A day's events under their category headings, in portal order."""
    blocks: list[str | list[str] | None] = []
    for group in day.groups:
        if group.category:
            blocks.append(f"{'#' * level} {escape(group.category)}")
        blocks.extend(event_block(item, level + 1) for item in group.events)
    if not day.groups:
        blocks.append("_No events._")
    return blocks


def _nav(previous: Ref | None, middle: Ref | None, following: Ref | None) -> str:
    parts = []
    if previous:
        parts.append(f"← {ref(previous)}")
    if middle:
        parts.append(ref(middle))
    if following:
        parts.append(f"{ref(following)} →")
    return " · ".join(parts)


def chart(page: TimelinePage) -> list[str] | None:
    """Events per week as a bar per character, one line per 52 weeks, each labelled with
    the Monday it starts on. Fenced, so nothing in it is read as markup."""
    if not page.weekly or page.first_week is None or max(page.weekly) == 0:
        return None
    top = max(page.weekly)
    cells = [EMPTY_WEEK if n == 0 else BARS[min(len(BARS) - 1, (n * len(BARS) - 1) // top)]
             for n in page.weekly]
    lines = ["### Events per week", "", f"From {page.first_week.isoformat()}, one character "
             f"a week ({EMPTY_WEEK} none, {BARS[-1]} {top}).", "", "```text"]
    for start in range(0, len(cells), WEEKS_PER_LINE):
        monday = page.first_week.toordinal() + 7 * start
        label = date.fromordinal(monday).isoformat()
        lines.append(f"{label} {''.join(cells[start:start + WEEKS_PER_LINE])}")
    lines.append("```")
    return lines


# -- pages ------------------------------------------------------------------------------------


def event_page(page: EventPage) -> bytes:
    top = ref(page.day) if page.day else ""
    if page.category:
        top = f"{top} · {escape(page.category)}" if top else escape(page.category)
    removed = None
    if page.removed:
        removed = (f"_Removed from the portal on {utc(page.removed_at)}" if page.removed_at
                   else f"_Removed from the portal ({UNKNOWN_TIME})")
        removed += f"; moved to {ref(page.moved_to)}._" if page.moved_to else "._"
    sources = []
    for source in page.sources:
        line = link(source.name, source.url)
        if source.archived:
            line += f" · {ref(source.archived)}"
        sources.append(line)
    changes = [f"{utc(change.at) if change.at else UNKNOWN_TIME}"
               f"{', first version' if n == 0 else ''}: {escape(change.text)}"
               for n, change in enumerate(page.changes)]
    related = []
    for item in page.related:
        line = f"{ref(item.event)} {item.date.isoformat()}"
        if item.shared:
            line += f" _Context: {', '.join(escape(r.title) for r in item.shared)}_"
        related.append(line)
    portal = (f"From Wikipedia's {ref(page.portal)}, CC BY-SA 4.0."
              if page.portal else None)
    return _document([
        f"### {top}" if top else None,
        f"##### {refs(page.stories, ' › ')}" if page.stories else None,
        f"# {escape(page.text or page.title)}",
        removed,
        escape(page.description),
        _picture(page.picture),
        _section("Sources", numbered(sources)),
        _section("Context", [refs(page.context)] if page.context else []),
        _section("Changes", numbered(changes) if len(changes) > 1 else []),
        _section("Related", numbered(related)),
        portal,
    ])


def day_page(page: DayPage) -> bytes:
    portal = f"From Wikipedia's {ref(page.portal)}, CC BY-SA 4.0." if page.portal else None
    return _document([
        f"# {escape(page.title)}",
        _nav(page.previous, page.month, page.next),
        *day_blocks(page, 2),
        portal,
    ])


def front_page(page: FrontPage) -> bytes:
    blocks: list[str | list[str] | None] = [
        f"# {escape(page.title)}",
        " · ".join([link("About and API", urls.ABOUT), link("RSS", urls.FEED_RSS),
                    link("Atom", urls.FEED_ATOM)]),
    ]
    for day in page.days:
        blocks.append(f"## {link(day.title, day.path)}")
        blocks.extend(day_blocks(day, 3))
    if page.years:
        blocks.append(_section("The archive by year", [
            " · ".join(f"{ref(item.year)} ({item.events})" for item in reversed(page.years))]))
    return _document(blocks)


def month_page(page: MonthPage) -> bytes:
    days = [f"- {ref(count.day)}: {count.events} event{'s' if count.events != 1 else ''}"
            for count in page.days]
    return _document([
        f"# {escape(page.title)}",
        _nav(page.previous, page.year_page, page.next),
        days or "_No events._",
    ])


def year_page(page: YearPage) -> bytes:
    blocks: list[str | list[str] | None] = [
        f"# {escape(page.title)}",
        _nav(page.previous, None, page.next) or None,
        f"{page.events} event{'s' if page.events != 1 else ''}.",
    ]
    for month in page.months:
        blocks.append(_section(f"{ref(month.month)} ({month.events})", [
            f"- {ref(count.day)}: {count.events} event{'s' if count.events != 1 else ''}"
            for count in month.days]))
    return _document(blocks)


def timeline_page(page: TimelinePage) -> bytes:
    kind = "Story" if page.timeline == "story" else "Subject"
    facts = [f"{kind}: {escape(page.name)}",
             f"{page.total} event{'s' if page.total != 1 else ''}"
             + (f", {page.total_headed} as the story" if page.total_headed else "")]
    if page.wikipedia:
        facts.append(link("Wikipedia article", page.wikipedia))
    blocks: list[str | list[str] | None] = [
        f"# {escape(page.title)}",
        " · ".join(facts),
        " · ".join(ref(feed) for feed in page.feeds) if page.feeds else None,
        chart(page),
        "### Events, newest first",
    ]
    headed = set(page.headed)
    for item in page.events:
        block = event_block(item, 4, dated=True)  # shared: marked in a copy
        blocks.append([block[0] + " · _story_", *block[1:]] if item.id in headed else block)
    if not page.events:
        blocks.append("_No events._")
    if page.pages:
        current = str(page.page) if page.page else None
        marks = [f"**{escape(p.title)}**" if p.title == current else ref(p) for p in page.pages]
        blocks.append(_section("Pages, oldest first", [" · ".join(marks)]))
    blocks.append(_section("Stories within", [
        f"- {ref(item.story)} ({item.events})" for item in page.substories]))
    blocks.append(_section("Found most often with", [
        f"- {ref(item.entity)} ({item.events})" for item in page.cooccurring]))
    return _document(blocks)


def source_page(page: SourcePage) -> bytes:
    facts = []

    def fact(label: str, value: str | None) -> None:
        if value:
            facts.append(f"- {label}: {value}")

    fact("Article", link(page.url, page.url))
    if page.final_url and page.final_url != page.url:
        fact("Final URL", link(page.final_url, page.final_url))
    fact("Outlet", escape(page.outlet))
    fact("Site name", escape(page.og_site_name))
    fact("Author", escape(page.author))
    fact("Published", escape(page.published))
    fetched = utc(page.fetched_at)
    if page.fetch_status:
        fetched = f"{fetched} ({escape(page.fetch_status)})" if fetched else escape(
            page.fetch_status)
    fact("Fetched", fetched)
    if page.archived_from:
        fact("Archived copy", link(page.archived_from, page.archived_from))
    fact("Extraction", escape(page.article_status))
    text = None
    if page.text:
        paragraphs = [escape(p) for p in re.split(r"\n\s*\n", page.text) if p.strip()]
        text = "\n\n".join(["### Full text", *paragraphs])
    excerpt = None
    if page.excerpt and not page.text:
        excerpt = "\n\n".join(["### Excerpt", *(escape(p) for p in re.split(
                                   r"\n\s*\n", page.excerpt) if p.strip()),
                               "_The full text belongs to its publisher: follow the link "
                               "above to read it._"])
    return _document([
        f"# {escape(page.title)}",
        f"_{escape(page.subtitle)}_" if page.subtitle else None,
        facts,
        escape(page.og_description),
        _picture(page.picture),
        excerpt,
        text,
        _section("Cited by", numbered(ref(r) for r in page.cited_by)),
    ])


def about_page(page: AboutPage) -> bytes:
    formats = ", ".join(f"`.{fmt}`" for fmt in page.formats)
    span = ""
    if page.first_day and page.last_day:
        span = (f" from {link(page.first_day.isoformat(), urls.day_path(page.first_day))}"
                f" to {link(page.last_day.isoformat(), urls.day_path(page.last_day))}")
    return _document([
        f"# {escape(page.title)}",
        "newscontext is an open news archive built from Wikipedia's Current Events Portal: "
        "every event with its date, category, story, sources, the articles behind those "
        "sources, the Wikipedia articles it mentions (its context) and related events.",
        f"It holds {page.events} events on {page.days} days{span}. The newest days are on "
        f"the {link('front page', urls.FRONT)}.",
        "### Every page in four formats",
        f"Each page exists as {formats}: the same path with another extension. "
        "HTML pages link to HTML pages, Markdown pages to Markdown pages; JSON and XML pages "
        "carry absolute URLs.",
        ["| page | path (add the extension) |", "| --- | --- |",
         f"| front page | `{urls.FRONT}` |",
         "| day | `/news/YYYY/MM/DD/index` |",
         "| event | `/news/YYYY/MM/DD/<slug>` |",
         "| month | `/news/YYYY/MM/index` |",
         "| year | `/news/YYYY/index` |",
         "| story | `/stories/<slug>` (older events: `/stories/<slug>/page/N`) |",
         "| entity | `/entities/<slug>` (older events: `/entities/<slug>/page/N`) |",
         "| source article | `/sources/<hash>` |",
         f"| this page | `{urls.ABOUT}` |"],
        "When an event is reworded its path changes; the old path keeps working and points "
        "to the new one.",
        "### JSON and XML",
        f"JSON and XML pages hold the same fields as the page, with `schema_version` "
        f"(now {page.schema_version}) and `kind` (event, day, front, month, year, "
        "timeline, source, about, redirect), ISO 8601 dates and UTC times, and the absolute `urls` "
        "of the page in every format. In XML, `schema_version` and `kind` are attributes of "
        "the root element `page`. A JSON Schema (draft 2020-12) of every kind, "
        "`page.schema.json`, and its documentation, `docs/schema.md`, ship with the "
        "software. `schema_version` changes only when a field is removed, renamed or "
        "changes type; new fields may appear at any time, so ignore the ones you do not know.",
        "### Feeds and sitemap",
        f"The newest events: {link('RSS 2.0', urls.FEED_RSS)} and "
        f"{link('Atom', urls.FEED_ATOM)}. Every story and entity page has its own feeds "
        "(`feed.xml` and `feed.atom` under its path). `/sitemap.xml` lists every page.",
        "### The whole archive",
        "The archive is one SQLite file. The command line prints it as JSON Lines, one "
        "record a line:",
        ["```sh",
         "newscontext export events    # every event, portal order, removed ones too",
         "newscontext export entities  # every entity: title, slug, labels, Wikidata id",
         "newscontext export related   # every event's related events with shared context",
         "```"],
        "Texts come from Wikipedia (CC BY-SA 4.0); source articles belong to their "
        "publishers.",
    ])


def redirect_page(page: RedirectPage) -> bytes:
    """The link says where it goes: the build titles every redirect page just "Moved"."""
    return _document([
        f"# {escape(page.title)}",
        f"This page has moved to {link(target(page.target), page.target)}.",
    ])


_PAGES = {
    EventPage: event_page,
    DayPage: day_page,
    FrontPage: front_page,
    MonthPage: month_page,
    YearPage: year_page,
    TimelinePage: timeline_page,
    SourcePage: source_page,
    AboutPage: about_page,
    RedirectPage: redirect_page,
}


def render(page: Page, site: SiteInfo) -> bytes:
    """The page as UTF-8 Markdown. `site` is unused: Markdown links are site-relative."""
    return _PAGES[type(page)](page)  # type: ignore[operator]
