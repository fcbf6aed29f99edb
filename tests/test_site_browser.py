"""The HTML site in a real browser: Debian's Chromium driven by Playwright, over a local
HTTP server, on pages built from the real fixture days.

Checks that pages load without console errors, failed or outside requests; that their links
resolve; landmarks, headings, alt texts, the chart's accessible name, contrast, the skip
link and focus; that text never becomes markup; and saves screenshots for a human to look at
(`tests/screenshots/`, not committed).
"""

from __future__ import annotations

import re
import shutil
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from chromium import COLOURS, DESKTOP, PHONE, SCREENSHOTS, low_contrast
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT

from newscontext import Archive, Settings
from newscontext.site import urls
from newscontext.site.model import (
    Change,
    EventPage,
    Picture,
    RedirectPage,
    Ref,
    SourceItem,
    SourcePage,
    TimelinePage,
)
from newscontext.site.notfound import not_found_html
from newscontext.site.pages import Pages
from newscontext.site.render import SiteInfo
from newscontext.site.render import html as html_render

SOHR = "The Syrian Observatory for Human Rights claims that scores of Syrian Army troops"
ENTITY = "Islamic State"  # "Islamic State of Iraq and the Levant" is a redirect to it
SITE = SiteInfo(url="https://news.example.org", generated="2026-01-01T00:00:00Z")
SCRIPT = '<script>window.pwned = 1</script>'
# Files other build steps make (search, feeds, sitemap) and the other formats of each page:
# the HTML build below does not write them, so their links are not followed here.
NOT_HTML = (".md", ".json", ".xml", ".atom")
ELSEWHERE = {urls.SEARCH + ".html", "/sitemap.xml"}
COVER = ('<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="630" '
         'viewBox="0 0 1200 630"><rect width="1200" height="630" fill="#7a8fa6"/>'
         '<circle cx="900" cy="200" r="110" fill="#e8c547"/></svg>')


# -- what needs no browser ------------------------------------------------------------------


def test_same_page_same_bytes_whatever_the_build_time(site: Served):
    later = SiteInfo(url=SITE.url, generated="2031-06-30T12:00:00Z")
    for page in (site.pages.event(site.sohr), site.pages.timeline("entity", ENTITY),
                 site.pages.about()):
        assert html_render.render(page, SITE) == html_render.render(page, later)
        assert b"2026-01-01T00:00:00Z" not in html_render.render(page, SITE)


def test_markup_in_text_is_escaped_everywhere(site: Served):
    html = html_render.render(_script_page(site.pages.event(site.sohr)), SITE).decode()
    assert "<script" not in html
    assert 'content="Officials say &lt;script&gt;window.pwned = 1&lt;/script&gt;' in html


def test_chart_has_at_most_120_bars():
    weekly = [(n * 7) % 5 for n in range(520)]  # ten years of weeks
    page = TimelinePage(path="/entities/x", title="X", timeline="entity", name="X",
                        total=sum(weekly), first_week=date(2016, 1, 4), weekly=weekly)
    chart = html_render.chart(page)
    assert chart is not None and chart.weeks_per_bar == 5
    assert len(chart.bars) <= 120 and chart.peak == max(
        sum(weekly[i : i + 5]) for i in range(0, 520, 5))
    assert chart.last == date(2016, 1, 4) + timedelta(weeks=520, days=-1)
    assert all(bar.x >= 0 and bar.x + bar.width <= chart.width for bar in chart.bars)
    html = html_render.render(page, SITE).decode()
    assert html.count("<rect ") == len(chart.bars) and 'role="img"' in html


# -- the site, served -----------------------------------------------------------------------


@dataclass
class Served:
    root: Path
    base: str
    pages: Pages
    sohr: str  # the seed event's id
    paths: dict[str, str]  # name -> site path (without extension)

    def url(self, name: str) -> str:
        return self.base + html_render.link(self.paths[name])


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Served:
    """The fixture days built as HTML (by the real builder), plus a few hand-made pages for
    what the fixtures lack, served on 127.0.0.1."""
    from newscontext.site.build import build

    work = tmp_path_factory.mktemp("site")
    archive = Archive(Settings(db=work / "archive.sqlite3", site_url=SITE.url))
    archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
    archive.resolve()
    archive.relate()
    root = work / "public"
    build(archive.store, archive.settings, root, formats=("html",))
    pages = Pages(archive.store, archive.settings)
    (sohr,) = [a.id for a in archive.events() if a.event.text.startswith(SOHR)]
    seed = pages.event(sohr)
    paths = {"front": urls.FRONT, "about": urls.ABOUT, "day": seed.day.path, "event": seed.path,
             "entity": pages.timeline("entity", ENTITY).path,
             "month": urls.month_path(seed.date.year, seed.date.month),
             "year": urls.year_path(seed.date.year), "404": urls.NOT_FOUND,
             "search": urls.SEARCH}
    paths["story"] = next(  # a heading of several links: a story with a page of its own
        urls.story_path(pages.story_slug[name]) for name in sorted(pages.story_slug)
        if name not in pages.story_subject and pages.timeline_pages("story", name))
    for name, page in _hand_made(seed).items():
        paths[name] = page.path
        target = root / urls.file_for(page.path, "html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(html_render.render(page, SITE))
    (root / "static" / "test-cover.svg").write_text(COVER)
    (root / "404.html").write_bytes(not_found_html())  # what `Archive.build` adds
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(root, f"http://127.0.0.1:{server.server_address[1]}", pages, sohr, paths)
    server.shutdown()
    server.server_close()
    archive.close()


def _script_page(seed: EventPage) -> EventPage:
    text = f'Officials say {SCRIPT} & "quotes" <b>bold</b> <img src=x onerror=alert(1)>'
    return replace(seed, path=seed.day.path.replace("/index", "/script-test"), title=text,
                   text=text, description=f"{SCRIPT} in a description")


def _hand_made(seed: EventPage) -> dict[str, Any]:
    """Pages for what the fixture days lack: markup in a sentence, an event with everything
    (picture, description, archived source, changes, removal), a source, a redirect."""
    day = seed.day.path.rsplit("/", 1)[0]
    source = SourcePage(
        path=urls.source_path("0f1e2d3c4b5a6978"), title="Fighting between Syrian army and "
        "Islamic State kills scores", hash="0f1e2d3c4b5a6978", url=seed.sources[0].url,
        final_url=seed.sources[0].url + "?page=1", outlet="Jerusalem Post",
        fetch_status="ok", fetched_at="2026-03-01T10:00:00Z", og_title="Fighting kills scores",
        og_description="Dozens killed near Deir ez-Zor, the monitor says.",
        og_site_name="The Jerusalem Post | JPost.com", og_image="/static/test-cover.svg",
        picture=Picture("/static/test-cover.svg", 1200, 630, "Picture shared with the "
                        "article: soldiers near Deir ez-Zor", "Jerusalem Post",
                        "https://images.jpost.com/cover.jpg"),
        article_title="Fighting between "
        "Syrian army and Islamic State kills scores", subtitle="Monitor says the fiercest "
        "battles were near Deir ez-Zor", author="Reuters", published="2016-01-19T12:00:00Z",
        article_status="complete",
        excerpt=" ".join(["Scores of Syrian army troops have been killed."] * 4) + "\n\n"
        + " ".join(["The monitor says the fiercest battles were near the city."] * 3) + " …",
        cited_by=[Ref(seed.title, seed.path)],
    )
    full = replace(
        seed, path=f"{day}/example-full-event",
        description="Dozens of soldiers were killed in three days of fighting around the "
                    "besieged city, a monitoring group said on Tuesday.",
        image="/static/test-cover.svg",
        picture=Picture("/static/test-cover.svg", 1200, 630, "Soldiers near Deir ez-Zor",
                        "Jerusalem Post", "https://images.jpost.com/cover.jpg"),
        sources=[SourceItem(s.name, s.url, Ref("archived text", source.path))
                 for s in seed.sources] + [SourceItem("BBC", "https://www.bbc.com/news/x", None)],
        stories=[Ref("Syrian Civil War", "/stories/syrian-civil-war"),
                 Ref("Deir ez-Zor offensive", urls.wikipedia_url("Deir ez-Zor offensive"))],
        changes=[Change("2016-01-19T14:02:00Z", 700000001, seed.text.replace("scores", "dozens")),
                 Change("2016-01-20T09:41:00Z", 700000002, seed.text),
                 Change(None, None, seed.text.replace("scores", "many"))],  # from a file
        removed=True, removed_at="2016-01-22T08:00:00Z", moved_to=Ref(seed.title, seed.path),
    )
    redirect = RedirectPage(path=f"{day}/an-old-wording", title="Moved", target=seed.path)
    return {"script": _script_page(seed), "full": full, "source": source, "redirect": redirect}


# -- the browser ----------------------------------------------------------------------------


@dataclass
class Visit:
    page: Any
    problems: list[str]
    outside: list[str]


def visit(browser, site: Served, url: str, viewport: dict[str, int] = DESKTOP,
          **options: Any) -> Visit:
    """Open a page in a fresh context, recording console errors, failed requests and any
    request outside the local server (those are refused)."""
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    problems: list[str] = []
    outside: list[str] = []

    def route(request_route) -> None:
        if request_route.request.url.startswith(site.base + "/"):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}")
            if r.url not in outside else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    return Visit(page, problems, outside)


def close(result: Visit) -> None:
    result.page.context.close()


_checked: dict[str, int] = {}


def status(url: str) -> int:
    if url not in _checked:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                _checked[url] = answer.status
        except urllib.error.HTTPError as error:
            _checked[url] = error.code
    return _checked[url]


CHECKED = ["front", "day", "event", "entity"]
EVERY = [*CHECKED, "about", "full", "source", "script"]


@pytest.mark.parametrize("name", EVERY)
def test_page_loads_cleanly_with_landmarks_headings_and_alt(browser, site: Served, name: str):
    result = visit(browser, site, site.url(name))
    page = result.page
    assert result.problems == [] and result.outside == []
    assert page.get_attribute("html", "lang") == "en"
    for role in ("banner", "navigation", "main", "contentinfo"):
        assert page.get_by_role(role).count() >= 1, role
    levels = [int(tag[1]) for tag in page.eval_on_selector_all(
        "h1, h2, h3, h4, h5, h6", "els => els.map(e => e.tagName)")]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in pairwise(levels)), levels
    assert page.eval_on_selector_all("img", "els => els.filter(e => !e.alt).length") == 0
    assert page.evaluate("document.scripts.length") == 0  # no JavaScript at all
    assert page.title() and page.get_attribute('meta[name="description"]', "content")
    for kind in ("application/json", "application/xml", "text/markdown"):
        assert page.locator(f'link[rel="alternate"][type="{kind}"]').count() == 1
    # Readable at 360 pixels: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    close(result)


@pytest.mark.parametrize("name", CHECKED)
def test_internal_links_resolve(browser, site: Served, name: str):
    result = visit(browser, site, site.url(name))
    links = result.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    close(result)
    inside = sorted({link.split("#")[0] for link in links if link.startswith(site.base + "/")})
    followed = [link for link in inside if not link.endswith(NOT_HTML)
                and urlsplit(link).path not in ELSEWHERE]
    assert len(followed) > 5
    broken = [link for link in followed if status(link) != 200]
    assert broken == []


def test_seed_event_page_in_the_seeds_order(browser, site: Served):
    result = visit(browser, site, site.url("event"))
    main = result.page.locator("main")
    assert main.locator(".meta a").get_attribute("href") == "/news/2016/01/19/index.html"
    assert "Armed conflicts and attacks" in main.locator(".meta").inner_text()
    assert main.locator(".stories a").inner_text() == "Syrian Civil War"
    assert main.locator("h1").inner_text().startswith(SOHR)
    assert main.locator("h2").all_inner_texts() == ["Sources", "Context", "Related"]
    source = main.locator("ol.sources a").first
    assert source.inner_text() == "Jerusalem Post"
    assert source.get_attribute("rel") == "noopener nofollow"
    context = main.locator("p.context a").all_inner_texts()
    assert context[:2] == ["Deir ez-Zor", ENTITY]
    assert main.locator("ol.related > li").count() == 10
    assert "Context: Deir ez-Zor" in main.locator("ol.related > li").first.inner_text()
    portal = result.page.locator("footer a", has_text="Portal:Current events/2016 January 19")
    assert portal.get_attribute("href").endswith("Portal:Current_events/2016_January_19")
    close(result)


def test_event_with_everything(browser, site: Served):
    result = visit(browser, site, site.url("full"))
    main = result.page.locator("main")
    assert main.locator("h2").all_inner_texts() == ["Sources", "Context", "Changes", "Related"]
    image = main.locator("figure.cover img")
    assert image.get_attribute("loading") == "lazy" and image.get_attribute("alt")
    image.scroll_into_view_if_needed()  # lazy: loaded when near the view
    image.evaluate("img => img.decode()")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert main.locator("ol.sources > li").count() == 2  # the picture is not a source
    assert "archived text" in main.locator("ol.sources > li").first.inner_text()
    changes = main.locator("ol.changes > li").all_inner_texts()
    assert changes[0].startswith("19 January 2016, 14:02 UTC, first version: ")
    assert changes[2].startswith("time unknown: ") and "many" in changes[2]
    notice = main.locator(".notice").inner_text()
    assert "dropped this event on 22 January 2016, 08:00 UTC" in notice and "moved" in notice
    assert main.locator(".stories a").all_inner_texts() == ["Syrian Civil War",
                                                            "Deir ez-Zor offensive"]
    close(result)


def test_source_page_shows_its_picture_and_paragraphs(browser, site: Served):
    result = visit(browser, site, site.url("source"))
    main = result.page.locator("main")
    image = main.locator("figure.cover img")
    assert image.get_attribute("alt").startswith("Picture shared with the article")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert main.locator("figure.cover figcaption").inner_text() == "Picture: Jerusalem Post"
    assert "test-cover.svg" not in main.locator("dl.facts").inner_text()  # no bare address
    assert main.locator("blockquote p").count() == 2
    assert result.problems == []
    close(result)


def test_not_found_page_has_header_navigation_and_footer(browser, site: Served):
    result = visit(browser, site, site.base + "/404.html")
    page = result.page
    assert result.problems == [] and result.outside == []
    for role in ("banner", "navigation", "main", "contentinfo"):
        assert page.get_by_role(role).count() >= 1, role
    assert page.locator("h1").inner_text() == "Not found"
    assert page.title() == "Not found – newscontext"
    assert page.locator("header a", has_text="Front page").get_attribute("href") == "/index.html"
    close(result)


def test_script_in_a_sentence_is_text(browser, site: Served):
    result = visit(browser, site, site.url("script"))
    page = result.page
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator("main img").count() == 0
    assert SCRIPT in page.locator("h1").inner_text()
    assert page.locator("p.description").inner_text() == f"{SCRIPT} in a description"
    assert page.get_attribute('meta[property="og:description"]', "content").startswith(SCRIPT)
    assert page.get_attribute('meta[property="og:title"]', "content").startswith(
        f"Officials say {SCRIPT}")
    close(result)


def test_entity_chart_and_feeds(browser, site: Served):
    result = visit(browser, site, site.url("entity"))
    page = result.page
    chart = page.get_by_role("img", name=re.compile(f"^Events per .* about {ENTITY}, "))
    assert chart.count() == 1 and chart.is_visible()
    assert chart.evaluate("svg => svg.tagName") == "svg"
    assert chart.locator("title").first.text_content().startswith("Events per")
    assert chart.locator("desc").text_content()
    assert 0 < chart.locator("rect").count() <= 120
    for kind in ("application/rss+xml", "application/atom+xml"):
        feed = page.locator(f'head link[rel="alternate"][type="{kind}"][href^="/entities/"]')
        assert feed.count() == 1
    assert page.locator("main a", has_text="on Wikipedia").count() == 1
    assert page.locator("ul.counts li").count() > 0
    close(result)


def test_redirect_page_sends_readers_on(browser, site: Served):
    result = visit(browser, site, site.url("redirect"))
    page = result.page
    page.wait_for_url(site.url("event"), timeout=5000)
    assert page.locator("h1").inner_text().startswith(SOHR)
    close(result)
    html = (site.root / urls.file_for(site.paths["redirect"], "html")).read_text()
    target = html_render.link(site.paths["event"])
    assert f'<meta http-equiv="refresh" content="0; url={target}">' in html
    assert f'<link rel="canonical" href="{SITE.url}{target}">' in html
    assert f'<a href="{target}">' in html


def test_readable_without_javascript(browser, site: Served):
    result = visit(browser, site, site.url("event"), java_script_enabled=False)
    page = result.page
    assert page.locator("h1").is_visible() and page.locator("ol.sources").is_visible()
    close(result)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_at_least_4_5(browser, site: Served, scheme: str):
    for name in ("full", "entity"):
        result = visit(browser, site, site.url(name), color_scheme=scheme)
        found = result.page.eval_on_selector_all(
            "body, a, p, li, time, span, dt, dd, figcaption, h1, h2, h3", COLOURS)
        close(result)
        assert low_contrast(found) == set(), (name, scheme)


def test_skip_link_comes_first_and_focus_shows(browser, site: Served):
    result = visit(browser, site, site.url("event"))
    page = result.page
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => { const el = document.activeElement;
        const box = el.getBoundingClientRect();
        return [el.className, el.getAttribute('href'), getComputedStyle(el).outlineStyle,
                box.top >= 0 && box.bottom <= innerHeight]; }""")
    assert focused == ["skip", "#main", "solid", True]
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the next stop is inside main: the event's date
    assert page.evaluate("document.activeElement.closest('main') !== null")
    close(result)


SHOTS = {
    "front": [("phone", PHONE, "light"), ("desktop", DESKTOP, "light")],
    "event": [("phone", PHONE, "light"), ("desktop", DESKTOP, "light"),
              ("phone-dark", PHONE, "dark")],
    "full": [("phone", PHONE, "light")],
    "entity": [("desktop", DESKTOP, "dark")],
}


@pytest.mark.parametrize("name", SHOTS)
def test_screenshots(browser, site: Served, name: str):
    """For people to look at; checks only that each was taken."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, viewport, scheme in SHOTS[name]:
        result = visit(browser, site, site.url(name), viewport, color_scheme=scheme)
        target = SCREENSHOTS / f"{name}-{label}.png"
        result.page.screenshot(path=str(target), full_page=name != "front")
        close(result)
        assert target.stat().st_size > 1000


@pytest.fixture(scope="module", autouse=True)
def _fresh_screenshots():
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    yield


# -- browsing: the front page, calendars, search ---------------------------------------------

FRONT_HEIGHT = {1280: 5_000, 390: 9_000}  # px; 14,170 and 22,393 before it was made compact


@pytest.mark.parametrize("width", FRONT_HEIGHT)
def test_front_page_shows_three_days_in_a_few_screens(browser, site: Served, width: int):
    """Every event of the three newest days, each a headline with its story, on a page a
    few screens high (it was 14,170 px at 1280 and 22,393 at 390)."""
    result = visit(browser, site, site.url("front"), {"width": width, "height": 900})
    page = result.page
    front = site.pages.front([(d, (None, None)) for d in site.pages.store.days()[:-4:-1]])
    events = [e for day in front.days for group in day.groups for e in group.events]
    items = page.locator("li.front-item")
    assert items.count() == len(events) > 60
    assert items.locator(".title a").all_inner_texts()[:3] == [e.title for e in events[:3]]
    with_story = [e for e in events if e.stories]
    assert page.locator("li.front-item .kicker a").count() == len(with_story) > 0
    assert page.locator("li.front-item .kicker a").first.inner_text() == \
        with_story[0].stories[-1].title  # the innermost story, as the event page's last
    height = page.evaluate("document.documentElement.scrollHeight")
    assert 900 < height <= FRONT_HEIGHT[width]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    years = page.locator("#archive + ul a").all_inner_texts()
    assert years == ["2026", "2025", "2021", "2019", "2017", "2016"]
    assert result.problems == []
    close(result)


def test_front_page_item_shows_picture_and_description(site: Served):
    """A source's cover picture (small, credited) and description, when it has them."""
    front = site.pages.front([(d, (None, None)) for d in site.pages.store.days()[-1:]])
    item = replace(front.days[0].groups[0].events[0], description="A description " * 30,
                   picture=Picture("/static/test-cover.svg", 1200, 630, "Soldiers",
                                   "Jerusalem Post", "https://images.example/x.jpg"))
    front.days[0].groups[0].events[0] = item
    html = html_render.render(front, SITE).decode("utf-8")
    start = html.index('<li class="event front-item">')
    one = html[start : html.index("</li>", start)]
    assert '<img src="/static/test-cover.svg" width="1200" height="630" alt="Soldiers"' in one
    assert "<figcaption>Picture: Jerusalem Post</figcaption>" in one
    description = one[one.index('<p class="description">') :]
    assert description.endswith(" A…</p>") and len(description) < 240  # cut at a word


def test_day_pages_link_the_days_before_and_after(browser, site: Served):
    result = visit(browser, site, site.url("day"))
    page = result.page
    assert page.locator('nav.pager a[rel="prev"]').get_attribute("href") == \
        "/news/2016/01/18/index.html"
    nxt = page.locator('nav.pager a[rel="next"]').get_attribute("href")
    assert re.fullmatch(r"/news/\d{4}/\d{2}/\d{2}/index\.html", nxt) and nxt > "/news/2016/01/19"
    assert status(site.base + nxt) == 200
    close(result)


def _tab_through(page, stops: int) -> list[dict[str, Any]]:
    """Press Tab `stops` times from the top; what each stop focused."""
    found = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        found.append(page.evaluate("""() => { const el = document.activeElement;
            const style = getComputedStyle(el);
            return {href: el.getAttribute('href'), inCalendar: !!el.closest('table.calendar'),
                    outline: style.outlineStyle, width: parseFloat(style.outlineWidth)}; }"""))
    return found


@pytest.mark.parametrize("name", ["month", "year"])
def test_calendar_days_are_reached_by_keyboard_in_date_order(browser, site: Served, name: str):
    result = visit(browser, site, site.url(name))
    page = result.page
    links = page.eval_on_selector_all("table.calendar a",
                                      "els => els.map(e => e.getAttribute('href'))")
    assert len(links) == 7 and links == sorted(links)  # 13 to 19 January 2016
    stops = _tab_through(page, 40)
    reached = [stop["href"] for stop in stops if stop["inCalendar"]]
    assert reached[: len(links)] == links  # each day link, in order, none skipped
    assert all(stop["outline"] == "solid" and stop["width"] >= 2
               for stop in stops if stop["inCalendar"])  # focus is visible
    # a calendar is a real table: caption, weekday headers, each day with events a link
    table = page.locator("table.calendar").first
    assert table.locator("caption").count() == 1
    assert table.locator("thead th").count() == 7
    label = page.locator("table.calendar a").first.get_attribute("aria-label")
    assert label == "Wednesday 13 January 2016: 14 events"
    close(result)


def test_any_date_is_two_links_away_from_the_header(browser, site: Served):
    """The header's "Dates" leads to the years (on the front page); a year's calendars lead
    to its days. No script and no form needed."""
    result = visit(browser, site, site.url("event"))
    page = result.page
    page.locator("header nav a", has_text="Dates").click()
    page.wait_for_url(site.base + "/index.html#archive")
    page.locator("#archive + ul a", has_text="2016").click()
    page.wait_for_url(site.base + "/news/2016/index.html")
    assert page.locator("h1").inner_text() == "2016"
    assert page.locator("section.month-cal").count() == 12
    page.locator("table.calendar a", has_text="19").click()
    page.wait_for_url(site.base + "/news/2016/01/19/index.html")
    assert result.problems == []
    close(result)


# Subjects above events: Pagefind ranks by term frequency and title matches, so a long
# sentence full of "Iranian", "Iran's" outranks the page named "Iran". The search page asks
# Pagefind to favour whole-word matches in the indexed text (static/search.js uses this).
PAGEFIND_RANKING = {"termSimilarity": 10, "metaWeights": {"title": 0}}


@pytest.fixture(scope="module")
def indexed(site: Served) -> Served:
    """The served site with its Pagefind index and search page, as `build` makes them."""
    from newscontext.site.render.search import SEARCH_PAGE, run_pagefind, search_page_html

    run_pagefind(site.root, site.root / "pagefind")
    (site.root / SEARCH_PAGE).write_bytes(search_page_html(Settings(site_url=SITE.url)))
    return site


SEARCH = """async ([words, options, filters]) => {
  const pagefind = await import('/pagefind/pagefind.js');
  if (options) await pagefind.options(options);
  const found = await pagefind.search(words, filters ? {filters} : {});
  const data = await Promise.all(found.results.slice(0, 10).map(r => r.data()));
  return {count: found.results.length, filters: await pagefind.filters(),
          results: data.map(d => ({url: d.url, content: d.content, excerpt: d.excerpt,
                                   filters: d.filters, meta: d.meta}))};
}"""


def test_search_finds_the_subject_first_from_its_sentence_only(browser, indexed: Served):
    result = visit(browser, indexed, indexed.base + "/about.html")
    page = result.page
    iran = page.evaluate(SEARCH, ["Iran", {"ranking": PAGEFIND_RANKING}, None])
    assert iran["results"][0]["url"] == "/entities/iran.html"
    from newscontext.site.build import STATIC  # the search page asks for this ranking

    assert "ranking: {termSimilarity: 10, metaWeights: {title: 0}}" in \
        (STATIC / "search.js").read_text(encoding="utf-8")
    assert iran["results"][0]["meta"]["kind"] == "subject"
    plain = page.evaluate(SEARCH, ["Islamic State", None, None])
    assert plain["results"][0]["url"] == "/entities/islamic-state.html"  # weighted name
    # An event's indexed text is its sentence (and description): not its story, context,
    # sources or related events, which are its filters.
    seed = page.evaluate(SEARCH, ["Syrian Observatory scores Deir", None, None])
    event = next(r for r in seed["results"] if r["url"] == html_render.link(indexed.paths["event"]))
    assert event["content"].startswith(SOHR) and event["content"].endswith("Deir ez-Zor.")
    for line in ("Jerusalem Post", "Sources", "Context", "Related", "Syrian Civil War"):
        assert line not in event["content"]
    assert event["filters"]["year"] == ["2016"]
    assert event["filters"]["category"] == ["Armed conflicts and attacks"]
    assert {"Deir ez-Zor", ENTITY, "Syrian Civil War"} <= set(event["filters"]["subject"])
    assert {"category", "year", "subject"} <= set(seed["filters"])
    # Subjects offered as filters: the most frequent only (Pagefind's UI lists every value:
    # every subject would be tens of thousands at portal scale).
    pages = indexed.pages
    frequent = {t for t in pages.store.frequent_entities(Settings().search_filter_subjects)
                if pages.has_page(t)}
    with_page = [t for t in pages.store.entity_event_counts() if pages.has_page(t)]
    assert 50 < len(frequent) <= Settings().search_filter_subjects < len(with_page)
    assert set(seed["filters"]["subject"]) == frequent
    assert all(set(r["filters"].get("subject", [])) <= frequent for r in seed["results"])
    only = page.evaluate(SEARCH, ["Iran", None, {"year": "2016"}])
    assert 0 < only["count"] < iran["count"]
    assert all(r["filters"].get("year") == ["2016"] for r in only["results"])
    close(result)


# The elements holding text a reader sees (not the visually hidden words for screen readers).
SHOWN = """els.filter(e => e.getClientRects().length && e.innerText && e.innerText.trim()
  && getComputedStyle(e).visibility !== 'hidden' && e.closest('.vh') === null)"""
PAGE_TYPES = ["front", "day", "month", "year", "event", "entity", "story", "source", "about",
              "404", "search"]
TEXT = ("body, a, p, li, time, span, dt, dd, figcaption, h1, h2, h3, th, td, caption, abbr, "
        "label, button, input, legend")


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_type_screenshots_and_contrast(browser, indexed: Served, scheme: str):
    """Each page type at 1280 and 390 px, kept in tests/screenshots/ for people to look at;
    the contrast of every visible text with its background at least 4.5:1."""
    SCREENSHOTS.mkdir(exist_ok=True)
    low: dict[str, set[tuple[str, float]]] = {}
    for name in PAGE_TYPES:
        context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)
        page = context.new_page()
        answer = page.goto(indexed.url(name), wait_until="load")
        assert answer is not None and answer.status == 200, name
        if name == "search":
            page.locator("#search-q:visible, .pagefind-ui__search-input:visible").first.wait_for(
                timeout=10_000)
        found = page.eval_on_selector_all(TEXT, f"els => ({COLOURS})({SHOWN})")
        bad = low_contrast(found)
        if bad:
            low[name] = bad
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
            target = SCREENSHOTS / f"type-{name}-{width}-{scheme}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 1000
        context.close()
    assert low == {}
