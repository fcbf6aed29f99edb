"""Markdown, JSON and XML pages of the real fixture archive."""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT
from jsonschema import Draft202012Validator
from lxml import etree
from markdown_it import MarkdownIt
from PIL import Image

from newscontext import Archive, Settings
from newscontext.model import ArchivedEvent
from newscontext.site import urls
from newscontext.site.build import Plan
from newscontext.site.model import (
    AboutPage,
    Change,
    EventItem,
    EventPage,
    Page,
    Picture,
    RedirectPage,
    Ref,
    SourceItem,
    SourcePage,
    TimelinePage,
)
from newscontext.site.pages import COOCCURRING, Pages
from newscontext.site.render import SiteInfo, markdown
from newscontext.site.render import html as html_render
from newscontext.site.render import json as json_render
from newscontext.site.render import xml as xml_render
from newscontext.site.timelines import page_rows
from newscontext.sources.images import small_copy

SCHEMA = (Path(__file__).parents[1] / "src" / "newscontext" / "site" / "schema"
          / "page.schema.json")
SITE = SiteInfo(url="https://news.example.org", generated="2026-01-01T00:00:00Z")
SOHR = "The Syrian Observatory for Human Rights claims that scores of Syrian Army troops"
JPOST = ("http://www.jpost.com/Breaking-News/"
         "Fighting-between-Syrian-army-Islamic-State-kills-scores-442009")
# The event's links, "Islamic State of Iraq and the Levant" led by the shipped redirect table
# to "Islamic State".
CONTEXT = ["Deir ez-Zor", "Islamic State", "Syrian Army",
           "Syrian Civil War", "Syrian Observatory for Human Rights"]
DESCRIPTION = "Fighting between Syrian army & Islamic State kills scores"
IMAGE = "http://images.jpost.com/image/upload/f_auto,fl_lossy/t_Article2016_ControlFaceDetect/336000"
HEADLINE = "Fighting between Syrian army, Islamic State kills scores"  # the picture's alt
RENDERERS = {"html": html_render.render, "md": markdown.render, "json": json_render.render,
             "xml": xml_render.render}
MD_LINK = re.compile(r"\]\(([^)\s]*(?:\([^)\s]*\)[^)\s]*)*)\)")


@dataclass
class Built:
    archive: Archive
    pages: Pages
    every: list[Page]
    sohr: ArchivedEvent


def _add_source_article(archive: Archive, url: str) -> str:
    """What a crawl would have stored for the Jerusalem Post source (the crawler is not
    part of this test): an article record whose Open Graph fields carry entities."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    text = "\n\n".join(["Scores killed as fighting rages near Deir ez-Zor."] * 40)
    with archive.store.transaction():
        archive.store.conn.execute(
            "INSERT INTO sources (url, hash, status, fetched_at, final_url) "
            "VALUES (?, ?, 'fetched', '2016-01-19T15:00:00Z', ?)", (url, digest, url))
        archive.store.conn.execute(
            "INSERT INTO articles (url, final_url, og_title, og_description, og_image, "
            "og_site_name, title, author, published, text, status, extracted_at) "
            "VALUES (?, ?, ?, ?, ?, 'The Jerusalem Post', ?, 'Reuters', '2016-01-19', ?, "
            "'complete', '2016-01-19T15:00:01Z')",
            (url, url, "Fighting between Syrian army, Islamic State kills scores",
             "Fighting between Syrian army &amp; Islamic State kills scores", IMAGE,
             "Fighting between Syrian army, Islamic State kills scores", text))
        # and its picture, 1200 x 675 as the publisher serves it, kept as a small copy
        photo = io.BytesIO()
        Image.linear_gradient("L").resize((1200, 675)).convert("RGB").save(photo, "JPEG")
        copy, size = small_copy(photo.getvalue(), 50_000_000)
        archive.store.save_image(IMAGE, status="stored", at="2016-01-19T15:00:02Z",
                                 width=size[0], height=size[1], copy=copy)
    return digest


def every_page(archive: Archive, pages: Pages) -> list[Page]:
    """Every page a full build of the archive publishes, one of each redirect kind too."""
    store = archive.store
    days = store.days()
    near = {d: (days[i - 1] if i else None, days[i + 1] if i + 1 < len(days) else None)
            for i, d in enumerate(days)}
    out: list[Page] = [pages.about(), pages.front([(d, near[d]) for d in days[:-4:-1]])]
    out += [pages.day(d, near[d]) for d in days]
    months: dict[tuple[int, int], list[tuple[date, int]]] = {}
    for iso, count in store.day_counts():
        day = date.fromisoformat(iso)
        months.setdefault((day.year, day.month), []).append((day, count))
    keys = sorted(months)
    for i, key in enumerate(keys):
        out.append(pages.month(*key, months[key], keys[i - 1] if i else None,
                               keys[i + 1] if i + 1 < len(keys) else None))
    years = sorted({year for year, _ in keys})
    for i, year in enumerate(years):
        counts = [pair for key in keys if key[0] == year for pair in months[key]]
        out.append(pages.year(year, counts, years[i - 1] if i else None,
                              years[i + 1] if i + 1 < len(years) else None))
    out += [pages.event(event_id) for event_id in sorted(pages.event_where)]
    for kind, names in (("story", pages.story_slug), ("entity", pages.entity_slug)):
        for name in sorted(names):
            out += [pages.timeline(kind, name, n) for n in pages.timeline_pages(kind, name)]
    for (url,) in store.conn.execute("SELECT url FROM sources ORDER BY url").fetchall():
        cited = [(a.id, a.event.text) for a in archive.events() if
                 any(s.url == url for s in a.event.sources)]
        out.append(pages.source(url, cited, "Jerusalem Post"))
    event = next(p for p in out if isinstance(p, EventPage))
    out.append(RedirectPage(path=urls.event_path(event.date, "an-old-wording"),
                            title="Moved", target=event.path))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    archive = Archive(Settings(db=tmp_path_factory.mktemp("render") / "archive.sqlite3"))
    archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
    archive.resolve()
    archive.relate()
    store = archive.store
    with store.transaction():
        for day in store.days():
            store.assign_event_slugs(day, urls.unique_slug, urls.slugify)
        store.assign_story_slugs(urls.unique_slug)
    _add_source_article(archive, JPOST)
    pages = Pages(store, archive.settings)
    (sohr,) = [a for a in archive.events() if a.event.text.startswith(SOHR)]
    yield Built(archive, pages, every_page(archive, pages), sohr)
    archive.close()


def md(page: Page) -> str:
    return markdown.render(page, SITE).decode("utf-8")


def entity_link(title: str, pages: Pages) -> str:
    """A subject as a Markdown page links it: its page, or (a subject of one event, with
    no page) its Wikipedia article."""
    path = pages.entity_ref(title).path
    if "://" in path:
        return markdown.link(title, path)
    assert path == f"/entities/{urls.slugify(title)}"
    return f"[{title}]({path}.md)"


# -- the event page ------------------------------------------------------------------------


def test_event_page_follows_the_layout(built: Built):
    page = built.pages.event(built.sohr.id)
    lines = md(page).split("\n")
    digest = hashlib.sha256(JPOST.encode()).hexdigest()[:16]
    related_path = page.related[0].event.path
    expected = [
        "### [2016-01-19](/news/2016/01/19/index.md) · Armed conflicts and attacks",
        "",
        "##### [Syrian Civil War](/entities/syrian-civil-war.md)",  # its subject's page
        "",
        f"# {built.sohr.event.text}",
        "",
        DESCRIPTION,  # entities decoded (and `&` before no entity left as it is)
        "",
        f"![{HEADLINE}]({page.picture.path})\\",
        "_Picture: Jerusalem Post_",
        "",
        "### Sources",
        "",
        f"1. [Jerusalem Post]({JPOST}) · [archived text](/sources/{digest}.md)",
        "",
        "### Context",
        "",
        ", ".join(entity_link(t, built.pages) for t in CONTEXT),
        "",
        "### Related",
        "",
        "1. [At least 75 Syrian Army soldiers and pro-Assad militiamen are killed following "
        "a multi-front attack on the eastern Syrian city of Deir ez-Zor by Islamic State of "
        "Iraq and the Levant forces. The Syrian Observatory for Human Rights reports ISIL "
        "fighters had advanced into the northern tip of Deir ez-Zor city, and captured the "
        "suburb of Al-Baghaliyeh. The pro-government Syrian Arab News Agency (SANA) reports "
        "that government forces had repelled an attack on the city leaving dozens of "
        f"militants dead.]({related_path}.md) 2016-01-16 _Context: {', '.join(CONTEXT)}_",
    ]
    assert lines[: len(expected)] == expected
    assert related_path.startswith("/news/2016/01/16/at-least-75-syrian-army-soldiers")
    related = lines[len(expected) - 1 : lines.index("", len(expected))]
    assert [line.split(". ", 1)[0] for line in related] == [
        str(n) for n in range(1, len(page.related) + 1)]
    assert 1 < len(related) <= 10
    assert "### Changes" not in lines  # never reworded
    assert lines[-1] == ""  # one final newline
    assert lines[-2].startswith("From Wikipedia's [Portal:Current events/2016 January 19]")


def test_reworded_event_lists_its_changes(built: Built):
    """The fixture archive is made of files (.wiki, .html): they carry no revision times, so
    every wording's time is unknown and each format says so, never the time of ingest."""
    reworded = [p for p in built.every if isinstance(p, EventPage) and p.changes]
    assert reworded
    for page in reworded:
        assert [change.at for change in page.changes] == [None] * len(page.changes)
        assert page.first_seen is None
    page = reworded[0]
    lines = md(page).split("\n")
    start = lines.index("### Changes")
    items = lines[start + 2 : start + 2 + len(page.changes)]
    assert items[0] == f"1. time unknown, first version: {markdown.escape(page.changes[0].text)}"
    assert items[1] == f"2. time unknown: {markdown.escape(page.changes[1].text)}"
    assert lines.index("### Context") < start
    html = html_render.render(page, SITE).decode("utf-8")
    changes = html[html.index('<ol class="changes">') : html.index("</ol>", html.index(
        '<ol class="changes">'))]
    assert changes.count("<li>time unknown") == len(page.changes) and "<time" not in changes
    data = json.loads(json_render.render(page, SITE))
    assert [c["at"] for c in data["changes"]] == [None] * len(page.changes)
    assert data["first_seen"] is None
    root = etree.fromstring(xml_render.render(page, SITE))
    assert [c.find("at").get(f"{{{xml_render.XSI}}}nil") for c in root.find("changes")] == [
        "true"] * len(page.changes)


def test_changes_show_known_times_and_say_which_are_unknown(built: Built):
    page = built.pages.event(built.sohr.id)
    timed = replace(page, first_seen="2016-01-19T14:02:00Z", changes=[
        Change("2016-01-19T14:02:00Z", 700000001, "First wording."),
        Change(None, None, "Second wording.")])
    lines = md(timed).split("\n")
    start = lines.index("### Changes")
    assert lines[start + 2 : start + 4] == ["1. 2016-01-19 14:02 UTC, first version: "
                                            "First wording.", "2. time unknown: Second wording."]
    html = html_render.render(timed, SITE).decode("utf-8")
    assert ('<li><a href="https://en.wikipedia.org/w/index.php?oldid=700000001"><time '
            'datetime="2016-01-19T14:02:00Z">19 January 2016, 14:02 UTC</time></a>, first version: '
            'First wording.</li>\n<li>time unknown: Second wording.</li>') in html
    data = json.loads(json_render.render(timed, SITE))
    assert [c["at"] for c in data["changes"]] == ["2016-01-19T14:02:00Z", None]
    assert data["first_seen"] == "2016-01-19T14:02:00Z"


def test_removed_and_moved_event_says_so(built: Built):
    page = built.pages.event(built.sohr.id)
    assert page.removed is False and page.removed_at is None
    moved_to = page.related[0].event
    gone = replace(page, removed=True, removed_at="2016-01-20T09:41:00Z", moved_to=moved_to)
    lines = md(gone).split("\n")
    title = lines.index(f"# {built.sohr.event.text}")
    assert lines[title + 2] == (f"_Removed from the portal on 2016-01-20 09:41 UTC; moved to "
                                f"[{moved_to.title}]({moved_to.path}.md)._")
    lines = md(replace(page, removed=True, removed_at="2016-01-20T09:41:00Z")).split("\n")
    assert lines[title + 2] == "_Removed from the portal on 2016-01-20 09:41 UTC._"
    # Dropped by a revision without a time (a file): removed all the same, time unknown.
    unknown = replace(page, removed=True, removed_at=None)
    lines = md(unknown).split("\n")
    assert lines[title + 2] == "_Removed from the portal (time unknown)._"
    html = html_render.render(unknown, SITE).decode("utf-8")
    assert ("<p>The portal dropped this event (time unknown); the archive keeps it as it "
            "was.</p>") in html
    html = html_render.render(replace(page, removed=True, removed_at="2016-01-20T09:41:00Z"),
                              SITE).decode("utf-8")
    assert ('<p>The portal dropped this event on <time datetime="2016-01-20T09:41:00Z">'
            "20 January 2016, 09:41 UTC</time>; the archive keeps it as it was.</p>") in html
    data = json.loads(json_render.render(unknown, SITE))
    assert data["removed"] is True and data["removed_at"] is None
    assert "dropped" not in html_render.render(page, SITE).decode("utf-8")


def test_story_chain_and_empty_sections(built: Built):
    page = built.pages.event(built.sohr.id)
    bare = replace(page, stories=[Ref("Syrian Civil War", "/stories/syrian-civil-war"),
                                  Ref("Deir ez-Zor offensive", "/stories/deir-ez-zor-offensive")],
                   description=None, image=None, picture=None, context=[], related=[],
                   category=None)
    text = md(bare)
    assert text.startswith("### [2016-01-19](/news/2016/01/19/index.md)\n\n##### "
                           "[Syrian Civil War](/stories/syrian-civil-war.md) › "
                           "[Deir ez-Zor offensive](/stories/deir-ez-zor-offensive.md)\n\n# ")
    for heading in ("### Context", "### Related", "### Changes", "Cover image"):
        assert heading not in text
    assert "\n\n\n" not in text


# -- other page kinds ----------------------------------------------------------------------


def test_day_page_groups_events_by_category_in_portal_order(built: Built):
    day = date(2016, 1, 19)
    page = next(p for p in built.every if p.kind == "day" and p.date == day)
    text = md(page)
    lines = text.split("\n")
    assert lines[0] == "# Tuesday 19 January 2016"
    assert lines[2] == ("← [2016-01-18](/news/2016/01/18/index.md) · "
                        "[January 2016](/news/2016/01/index.md) · "
                        "[2017-09-04](/news/2017/09/04/index.md) →")  # the next day archived
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings == [g.category for g in page.groups]
    assert not set(headings) & set(lines)  # the category is not repeated under each event
    events = [a for a in built.archive.store.events_of_day(day, include_removed=False)]
    titles = [line for line in lines if line.startswith("### [")]
    assert len(titles) == len(events)
    assert titles[0].startswith(f"### [{markdown.escape(events[0].event.text)}](/news/2016/01/19/")
    block = text.split(f"### [{built.sohr.event.text}]", 1)[1].split("\n### ", 1)[0]
    assert "\n\n[Syrian Civil War](/entities/syrian-civil-war.md)\n\n" in block
    assert block.rstrip().endswith(DESCRIPTION)  # a description replaces the context line
    other = next(g.events[0] for g in page.groups if not g.events[0].description)
    assert f"_Context: {markdown.refs(other.context)}_" in text


def test_front_page_shows_the_newest_days(built: Built):
    page = next(p for p in built.every if p.kind == "front")
    text = md(page)
    days = [line for line in text.split("\n") if line.startswith("## ")]
    assert days == [f"## [{d.title}]({d.path}.md)" for d in page.days] and len(days) == 3
    assert "[RSS](/feed.xml)" in text and "[About and API](/about.md)" in text


def test_timeline_page(built: Built):
    """The 2026 Iran war heads events (their story heading is its link) and is mentioned in
    another: one subject page lists both, those it heads marked as such; its story has no
    page of its own."""
    name = "2026 Iran war"
    assert not [p for p in built.every if isinstance(p, TimelinePage)
                and p.name == name and p.timeline == "story"]
    page = next(p for p in built.every if isinstance(p, TimelinePage)
                and p.name == name and p.timeline == "entity" and p.page is None)
    assert (page.total, page.total_headed) == (26, 25)
    text = md(page)
    assert text.startswith(f"# {name}\n\nSubject: {name} · 26 events, 25 as the story · "
                           "[Wikipedia article](https://en.wikipedia.org/wiki/2026_Iran_war)")
    assert ("[RSS](/entities/2026-iran-war/feed.xml) · "
            "[Atom](/entities/2026-iran-war/feed.atom)") in text
    assert text.count(" · _story_\n") == len(page.headed) == 25
    html = RENDERERS["html"](page, SITE).decode()
    assert html.count('data-role="story"') == 25 and html.count('data-role="mention"') == 1
    assert 'id="role-story"' in html  # the filter, both kinds being listed
    page = next(p for p in built.every if isinstance(p, TimelinePage)
                and p.name == "Syrian Civil War" and p.timeline == "entity" and p.page is None)
    text = md(page)
    assert "```text\n2016-01-11 " in text  # the weekly chart
    dated = re.findall(r"\n\[(\d{4}-\d\d-\d\d)\]\(/news/", text)
    assert dated == sorted(dated, reverse=True) and len(dated) == len(page.events)
    assert "### Found most often with" in text
    first = page.cooccurring[0]
    assert f"- [{first.entity.title}]({first.entity.path}.md) ({first.events})" in text


def test_cooccurring_entities_counted_from_listings_agree_with_the_store(built: Built):
    """A one-page timeline counts its co-occurring entities from its events' listings, a
    longer one asks the store: both give the store's counts, in the store's order."""
    store, pages = built.archive.store, built.pages
    timelines = [p for p in built.every if isinstance(p, TimelinePage) and p.page is None]
    assert any(p.total > 1 for p in timelines)
    for page in timelines:
        ids = [i for i, *_ in pages.timeline_events(page.timeline, page.name)]
        assert [(c.entity.title, c.events) for c in page.cooccurring] == \
            store.cooccurring(ids, page.name, COOCCURRING), page.path


def test_timeline_pages_hold_every_event_once(built: Built, monkeypatch):
    """Numbered pages count from the oldest event, so a new event never shifts them; the
    main page shows the newest. Small pages, so the fixture's story needs several."""
    monkeypatch.setattr("newscontext.site.timelines.PAGE_SIZE", 4)
    pages = Pages(built.archive.store, built.archive.settings)
    name = "Syrian Civil War"
    everything = [i for i, *_ in pages.timeline_events("entity", name)]  # newest first
    total = len(everything)
    count = -(-total // 4)
    assert count >= 3
    assert pages.timeline_pages("entity", name) == [None, *range(1, count + 1)]
    main = pages.timeline("entity", name)
    numbered = [pages.timeline("entity", name, n) for n in range(1, count + 1)]
    assert [e.id for e in main.events] == everything[:4]
    assert [len(p.events) for p in numbered] == [4] * (count - 1) + [total - 4 * (count - 1)]
    assert [e.id for p in reversed(numbered) for e in p.events] == everything
    assert numbered[0].title == f"{name} (page 1 of {count})"
    assert numbered[0].path == "/entities/syrian-civil-war/page/1"
    assert [r.path for r in main.pages] == [p.path for p in numbered]
    assert main.weekly == numbered[-1].weekly and sum(main.weekly) == total  # shared
    again = Pages(built.archive.store, built.archive.settings).timeline("entity", name, 2)
    assert again == numbered[1]  # the same page whatever was made before it


def test_listings_stay_whole_when_the_item_cache_is_full(built: Built, monkeypatch):
    monkeypatch.setattr("newscontext.site.pages.ITEMS_KEPT", 4)
    pages = Pages(built.archive.store, built.archive.settings)
    everything = [i for i, *_ in pages.story_events("Syrian Civil War")]
    pages.items(everything[:3])  # some made already, then the cache overflows
    assert [e.id for e in pages.items(everything)] == everything
    for day, count in built.archive.store.day_counts()[:5]:
        listed = pages.day(date.fromisoformat(day)).groups
        assert sum(len(group.events) for group in listed) == count


def test_a_listed_event_made_anew_is_rendered_anew(built: Built):
    """Listings are rendered once per event item and reused: an item made again (its
    event changed) must not show the old rendering."""
    page = next(p for p in built.every if isinstance(p, TimelinePage) and p.events)
    before = {f: r(page, SITE) for f, r in RENDERERS.items()}
    item = replace(page.events[0], title="A new wording of the event")
    changed = replace(page, events=[item, *page.events[1:]])
    for fmt, render in RENDERERS.items():
        after = render(changed, SITE)
        assert b"A new wording of the event" in after, fmt
        assert render(page, SITE) == before[fmt], fmt  # the first item still as it was


def test_source_page_shows_an_excerpt_unless_full_text_is_published(built: Built):
    page = next(p for p in built.every if isinstance(p, SourcePage))
    text = md(page)
    assert "- Author: Reuters" in text and "### Excerpt" in text
    assert "### Full text" not in text
    assert text.count("Scores killed") == 10 and "Deir ez-Zor. …" in text  # 80 words
    assert "### Cited by\n\n1. [The Syrian Observatory" in text
    full = md(replace(page, text="First paragraph.\n\nSecond *paragraph*."))
    assert "### Full text\n\nFirst paragraph.\n\nSecond \\*paragraph\\*." in full
    assert "### Excerpt" not in full


def test_source_page_decodes_its_summary_shows_its_picture_and_keeps_paragraphs(built: Built):
    """The article's og:description was escaped twice by its publisher (`&amp;`): shown as
    `&`, not `&amp;`; its picture is an image, not a bare URL; the excerpt keeps the
    article's paragraphs."""
    page = next(p for p in built.every if isinstance(p, SourcePage))
    assert page.og_description == DESCRIPTION
    html = html_render.render(page, SITE).decode("utf-8")
    assert f"<dd>{DESCRIPTION.replace('&', '&amp;')}</dd>" in html
    assert "&amp;amp;" not in html
    figure = html[html.index('<figure class="cover">') : html.index("</figure>")]
    assert page.picture.path.startswith("/media/") and page.picture.original == IMAGE
    assert (f'<img src="{page.picture.path}" width="640" height="360" alt="{HEADLINE}" '
            'loading="lazy" decoding="async">') in figure  # the archive's copy, sized
    assert "<figcaption>Picture: Jerusalem Post</figcaption>" in figure
    assert f">{IMAGE}</a>" not in html  # not a bare address
    quote = html[html.index("<blockquote") : html.index("</blockquote>")]
    assert quote.count("<p>") == 10  # 80 words of the fixture's 8-word paragraphs
    assert quote.count("<p>Scores killed as fighting rages near Deir ez-Zor.</p>") == 9
    assert "Deir ez-Zor. …</p>" in quote
    assert page.excerpt.count("\n\n") == 9
    text = md(page)
    assert ("### Excerpt\n\nScores killed as fighting rages near Deir ez-Zor.\n\n"
            "Scores killed") in text
    data = json.loads(json_render.render(page, SITE))
    assert data["og_description"] == DESCRIPTION


def test_excerpt_keeps_paragraphs_and_stops_at_the_word_limit():
    from newscontext.site.pages import _excerpt

    assert _excerpt("One two.\n\nThree four five.\n\nSix.", 4) == "One two.\n\nThree four …"
    assert _excerpt("One two.\n\nThree four.", 4) == "One two.\n\nThree four."
    assert _excerpt("One two.\n\nThree four.\n\nFive.", 4) == "One two.\n\nThree four. …"
    assert _excerpt("Line one.\nLine two.", 80) == "Line one.\n\nLine two."
    assert _excerpt("", 80) == ""


def test_event_page_title_names_the_site_however_long_the_event(built: Built):
    page = built.pages.event(built.sohr.id)
    assert len(page.title) > html_render.TITLE_CHARS
    html = html_render.render(page, SITE).decode("utf-8")
    title = re.search(r"<title>(.*)</title>", html).group(1)
    assert title.endswith("… – newscontext") and len(title) <= html_render.TITLE_CHARS
    assert title.startswith(SOHR)
    short = html_render.render(replace(page, title="Short."), SITE).decode("utf-8")
    assert "<title>Short. – newscontext</title>" in short


def test_dates_read_the_same_on_every_page_with_the_machine_date_beside(built: Built):
    """One style for dates in HTML (Tuesday 19 January 2016 for a page's own day, 16 January
    2016 in lines), the ISO date in each `<time datetime>`."""
    page = built.pages.event(built.sohr.id)
    html = html_render.render(page, SITE).decode("utf-8")
    meta = html[html.index('<p class="meta">') : html.index("</p>", html.index('class="meta"'))]
    assert re.search(r'<time datetime="2016-01-19"[^>]*>Tuesday 19 January 2016</time>', meta)
    related = html[html.index('<ol class="related">') :]
    assert '<time datetime="2016-01-16">16 January 2016</time>' in related
    assert ">2016-01-" not in html  # no ISO date shown as text
    day = next(p for p in built.every if p.kind == "day" and p.date == date(2016, 1, 19))
    html = html_render.render(day, SITE).decode("utf-8")
    assert '<h1><time datetime="2016-01-19">Tuesday 19 January 2016</time></h1>' in html
    assert '<time datetime="2016-01-18">18 January 2016</time>' in html  # previous day
    assert ">2016-01-" not in html
    front = next(p for p in built.every if p.kind == "front")
    html = html_render.render(front, SITE).decode("utf-8")
    first = front.days[0].date
    assert (f'<time datetime="{first.isoformat()}">{html_render.weekday_date(first)}</time>'
            in html)


def test_month_page_is_a_calendar_not_numbered_items(built: Built):
    """An ordered list numbered its items 1, 2, 3 beside the dates, reading like days of the
    month that they are not: the month is a calendar, each day with events a link naming its
    date and count, the other days plain numbers."""
    month = next(p for p in built.every if p.kind == "month" and (p.year, p.month) == (2016, 1))
    html = html_render.render(month, SITE).decode("utf-8")
    main = html[html.index("<main") : html.index("</main>")]
    assert "<ol" not in main
    table = main[main.index('<table class="calendar">') : main.index("</table>")]
    assert "<caption>January 2016: 103 events on 7 days</caption>" in table
    assert table.count('<th scope="col">') == 7 and '<abbr title="Monday">Mon</abbr>' in table
    assert table.count("<a href=") == len(month.days) == 7
    assert ('<a href="/news/2016/01/13/index.html" aria-label="Wednesday 13 January 2016: 14 '
            'events"><span class="d">13</span><span class="n">14</span></a>') in table
    assert '<td><span class="d">12</span></td>' in table  # no events: no link
    assert table.count("<tr>") == 1 + 5  # the weekdays, and 4 January .. 31 January: 5 weeks


def test_not_found_page_has_the_sites_header_and_footer():
    from newscontext.site.notfound import not_found_html

    html = not_found_html().decode("utf-8")
    assert '<header class="site">' in html and '<footer class="site">' in html
    assert '<nav aria-label="Site">' in html and "<h1>Not found</h1>" in html
    assert '<meta name="robots" content="noindex">' in html
    assert 'rel="canonical"' not in html and ".json" not in html  # it names no address
    assert "<title>Not found – newscontext</title>" in html


def test_about_and_redirect_pages(built: Built):
    about = md(next(p for p in built.every if isinstance(p, AboutPage)))
    for needle in ("`.json`", "schema_version", "[RSS 2.0](/feed.xml)", "sitemap",
                   "newscontext export events"):
        assert needle in about
    redirect = next(p for p in built.every if isinstance(p, RedirectPage))
    assert md(redirect).split("\n")[2] == (f"This page has moved to "
                                           f"[{redirect.target}.md]({redirect.target}.md).")


# -- every page ----------------------------------------------------------------------------


def test_fixture_build_has_every_kind(built: Built):
    kinds = {p.kind for p in built.every}
    assert kinds == {"about", "front", "day", "month", "year", "event", "timeline", "source",
                     "redirect"}


def test_full_build_plans_pages_by_the_newest_event_they_list(built: Built):
    """Days, events, stories and entities come in the order of the newest event each page
    lists, newest first (so the pages listing the same events come together and share
    their listings), a day before the timelines of its events, a timeline's feeds with its
    main page; every page is planned exactly once."""
    store = built.archive.store
    plan = Plan(store, Pages(store, built.archive.settings))
    jobs = list(plan.everything())
    assert len(jobs) == len(set(jobs))

    def newest(job: tuple) -> tuple[str, float]:
        """(date, position) of the newest event the page lists; a day's own page and its
        events' pages come before every event of the day."""
        if job[0] == "day":
            return job[1].isoformat(), float("inf")
        if job[0] == "event":
            return store.event(job[1]).event.date.isoformat(), float("inf")
        rows = (store.story_members([job[1]])[job[1]] if job[0] == "story"
                else store.events_with_entity(job[1]))
        _, day, position = page_rows(rows, job[2])[0]
        return day, position

    dated = [job for job in jobs if job[0] in ("day", "event", "story", "entity")]
    keys = [newest(job) for job in dated]
    assert keys == sorted(keys, reverse=True)
    for n, job in enumerate(jobs):
        if job[0] == "feed" and job[1] != "root":  # right after its timeline's main page
            assert jobs[n - 1] == (job[1], job[2], None)
    assert {job[1] for job in jobs if job[0] == "entity"} == \
        {name for name, n in store.entity_event_counts().items()
         if n >= built.archive.settings.subject_min_events and name in built.pages.entity_slug}
    assert {job[1] for job in jobs if job[0] == "day"} == set(plan.days)
    assert any(job[0] in ("story", "entity") and job[2] for job in jobs), \
        "the sample has timelines of several pages, planned apart"


def test_markdown_links_and_whitespace(built: Built):
    prefixes = ("/news/", "/stories/", "/entities/", "/sources/", "/index.md", "/about.md",
                "/feed.", "/media/")
    for page in built.every:
        text = md(page)
        assert text.endswith("\n") and not text.endswith("\n\n"), page.path
        assert not re.search(r"[ \t]$", text, re.MULTILINE), page.path
        for target in MD_LINK.findall(text):
            if "://" in target:
                assert target.startswith(("http://", "https://")), (page.path, target)
                continue
            assert target.startswith(prefixes), (page.path, target)
            last = target.rsplit("/", 1)[-1]
            assert (target.endswith(".md") or last.startswith("feed.")
                    or re.fullmatch(r"/media/[0-9a-f]{64}\.webp", target)), (page.path, target)
            assert "//" not in target


def test_every_json_page_validates_against_the_schema(built: Built):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for page in built.every:
        data = json.loads(json_render.render(page, SITE))
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        assert not errors, (page.path, [(list(e.absolute_path), e.message) for e in errors[:3]])


def test_schema_rejects_a_wrong_page(built: Built):
    validator = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    data = json.loads(json_render.render(built.pages.event(built.sohr.id), SITE))
    assert validator.is_valid(data)
    for broken in ({**data, "kind": "nonsense"}, {**data, "date": "19 January 2016"},
                   {**data, "sources": [{"name": "BBC"}]}, {**data, "surprise": 1},
                   {**data, "removed": None}, {**data, "first_seen": "unknown"},
                   {**data, "changes": [{"at": "", "revid": None, "text": "x"}]}):
        assert not validator.is_valid(broken)


def test_every_xml_page_parses(built: Built):
    for page in built.every:
        raw = xml_render.render(page, SITE)
        assert raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
        root = etree.fromstring(raw)
        assert root.tag == "page" and root.get("kind") == page.kind
        assert root.get("schema_version") == "1"
        assert root.findtext("path") == page.path
        found = {u.get("format"): u.text for u in root.find("urls")}
        assert found == {f: f"{SITE.url}{page.path}.{f}" for f in urls.FORMATS}


def test_xml_of_the_event_page(built: Built):
    root = etree.fromstring(xml_render.render(built.pages.event(built.sohr.id), SITE))
    assert [e.findtext("title") for e in root.find("context")] == CONTEXT
    assert [e.tag for e in root.find("context")] == ["entity"] * 5
    assert root.find("context/entity/url").text == (
        f"{SITE.url}/entities/deir-ez-zor.xml")
    assert root.findtext("sources/source/url") == JPOST
    nil = root.find("moved_to")
    assert nil.get(f"{{{xml_render.XSI}}}nil") == "true" and len(nil) == 0
    first = root.find("related/item")
    assert first.findtext("date") == "2016-01-16"
    assert [e.findtext("title") for e in first.find("shared")] == CONTEXT


def test_xml_drops_characters_xml_cannot_hold(built: Built):
    page = replace(built.pages.event(built.sohr.id), title="bell\x07 and\x00 null\ufffe")
    root = etree.fromstring(xml_render.render(page, SITE))
    assert root.findtext("title") == "bell and null"


def test_xml_text_reads_back_exactly(built: Built):
    text = 'AT&T <b>bold</b> "quoted" ]]> a\r\nb &amp; 𝕏'
    page = replace(built.pages.event(built.sohr.id), title=text, description="",
                   category=None)
    root = etree.fromstring(xml_render.render(page, SITE))
    assert root.findtext("title") == text
    assert root.find("description").text is None and len(root.find("description")) == 0
    assert root.find("category").get(f"{{{xml_render.XSI}}}nil") == "true"
    assert [e.tag for e in root.find("related/item/shared")] == ["entity"] * 5


def test_json_carries_absolute_urls(built: Built):
    page = built.pages.event(built.sohr.id)
    data = json.loads(json_render.render(page, SITE))
    assert list(data)[:4] == ["schema_version", "kind", "urls", "site"]
    assert data["urls"] == {f: f"{SITE.url}{page.path}.{f}" for f in urls.FORMATS}
    assert data["site"] == {"name": "newscontext", "url": SITE.url}
    assert "generated" not in json.dumps(data)
    assert data["day"] == {"title": "2016-01-19", "path": "/news/2016/01/19/index",
                           "url": f"{SITE.url}/news/2016/01/19/index.json"}
    assert data["context"][0]["url"] == f"{SITE.url}/entities/deir-ez-zor.json"
    assert data["related"][0]["event"]["url"] == f"{SITE.url}{page.related[0].event.path}.json"
    assert data["sources"][0]["url"] == JPOST  # outside URLs stay as they are
    assert data["portal"]["url"] == data["portal"]["path"]
    timeline = next(p for p in built.every if isinstance(p, TimelinePage))
    feeds = json.loads(json_render.render(timeline, SITE))["feeds"]
    assert feeds[0]["url"] == f"{SITE.url}{timeline.feeds[0].path}"  # a feed keeps its name
    redirect = next(p for p in built.every if isinstance(p, RedirectPage))
    assert json.loads(json_render.render(redirect, SITE))["target_url"] == (
        f"{SITE.url}{redirect.target}.json")


def test_json_is_the_standard_librarys_and_holds_any_text(built: Built):
    for page in built.every[:: max(1, len(built.every) // 200)]:
        expected = json.dumps(json_render.page_data(page, SITE), ensure_ascii=False,
                              separators=(",", ":"), allow_nan=False) + "\n"
        assert json_render.render(page, SITE) == expected.encode(), page.path
    text = 'a lone surrogate \ud800, "quoted" é 𝕏 \x00'
    page = replace(built.pages.event(built.sohr.id), title=text)
    content = json_render.render(page, SITE)
    content.decode("utf-8")  # still UTF-8 (ASCII escapes)
    assert json.loads(content)["title"] == text


def test_pages_render_to_the_same_bytes_every_time(built: Built):
    later = SiteInfo(url=SITE.url, generated="2030-12-31T23:59:59Z")
    for page in built.every[:: max(1, len(built.every) // 60)]:
        for render in (markdown.render, json_render.render, xml_render.render):
            assert render(page, SITE) == render(page, SITE) == render(page, later), page.path
    again = Pages(built.archive.store, built.archive.settings).event(built.sohr.id)
    for render in (markdown.render, json_render.render, xml_render.render):
        assert render(again, SITE) == render(built.pages.event(built.sohr.id), SITE)


# -- escaping ------------------------------------------------------------------------------

NASTY = "Police say <script>alert(1)</script> was *stars* and [x](y) & _more_ `code` #tag"


def _nasty_page() -> EventPage:
    item = EventItem(id="x", path="/news/2016/01/19/police", date=date(2016, 1, 19),
                     title=NASTY, category="Law & <crime>", category_heading="Law & <crime>",
                     stories=[], description=None,
                     context=[Ref("*Bold* [entity]", "/entities/bold")], removed=False)
    return EventPage(
        path=item.path, title=NASTY, id="x", date=item.date,
        day=Ref("2016-01-19", urls.day_path(item.date)), category="Law & <crime>",
        stories=[Ref("Story <b>", "/stories/story")], text=NASTY,
        description="1. <img src=x onerror=alert(1)> - also\n# not a heading",
        image="http://example.com/a b.jpg",
        picture=Picture("http://example.com/a b.jpg", None, None, "Cover image", None,
                        "http://example.com/a b.jpg"),
        sources=[SourceItem("[Evil](javascript:alert(1))", "javascript:alert(1)", None),
                 SourceItem("BBC", "https://www.bbc.com/news/a_(b)", None)],
        context=item.context,
        related=[],
    )


def test_markdown_escapes_text_from_the_portal():
    text = md(_nasty_page())
    assert "<" not in text
    title = next(line for line in text.split("\n") if line.startswith("# "))
    assert title == ("# Police say &lt;script>alert(1)&lt;/script> was \\*stars\\* and "
                     "\\[x\\](y) & \\_more\\_ \\`code\\` \\#tag")
    assert "1\\. &lt;img src=x onerror=alert(1)> - also \\# not a heading" in text
    assert "[\\*Bold\\* \\[entity\\]](/entities/bold.md)" in text
    assert "1. \\[Evil\\](javascript:alert(1))\n" in text  # no link to javascript:
    assert "[BBC](https://www.bbc.com/news/a_(b))" in text
    assert "![Cover image](http://example.com/a%20b.jpg)" in text


def test_escaped_markdown_renders_to_the_same_text():
    """Through a CommonMark renderer with raw HTML allowed: no tag, no emphasis, no link
    that the text did not ask for, and the words read as they were written."""
    html = MarkdownIt("commonmark").render(md(_nasty_page()))
    for tag in ("<script", "<em>", "<strong>", "<code>", "<b>"):
        assert tag not in html
    assert re.findall(r"<img[^>]*>", html) == [
        '<img src="http://example.com/a%20b.jpg" alt="Cover image" />']
    assert re.findall(r'href="([^"]+)"', html) == [
        "/news/2016/01/19/index.md", "/stories/story.md", "https://www.bbc.com/news/a_(b)",
        "/entities/bold.md"]
    assert ("Police say &lt;script&gt;alert(1)&lt;/script&gt; was *stars* and [x](y) &amp; "
            "_more_ `code` #tag") in html
    assert "<h1>" in html and html.count("<h1>") == 1
