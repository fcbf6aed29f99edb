"""The search page (`/search.html`, render/search.py and static/search.js) in Debian's
Chromium: one page for both deliveries. Served live (`serve --db`) it asks the server's API
and lists subjects first, then events; served from a built folder (`serve DIR`) it falls
back to Pagefind's UI, themed by the site's colours. Both on the real fixture days, over
real servers on 127.0.0.1; contrast measured in light and dark; screenshots kept in
tests/screenshots/ for a human to look at.
"""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chromium import COLOURS, DESKTOP, PHONE, SCREENSHOTS, low_contrast
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT
from servers import running

from newscontext import Archive, Settings
from newscontext.site import serve
from newscontext.site.notfound import not_found_html
from newscontext.site.render.search import API, SCRIPT_PATH, search_page_html
from newscontext.web.api import PREFIX
from newscontext.web.live import create_app

HOSTILE = "<img src=x onerror=alert(1)>"
SITE_URL = "https://news.example.org"


# -- what needs no browser ------------------------------------------------------------------


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end) + len(end)]


def test_the_page_has_the_sites_header_and_footer():
    """The same header and footer as every page of the site (the 404 page's, made by the
    base template), Search marked as the current page, and the form and script."""
    page = search_page_html(Settings(site_url=SITE_URL)).decode()
    other = not_found_html().decode()
    assert _between(page, "<footer", "</footer>") == _between(other, "<footer", "</footer>")
    current = '<a href="/search.html" aria-current="page">Search</a>'
    assert _between(page, "<header", "</header>") == _between(
        other, "<header", "</header>").replace('<a href="/search.html">Search</a>', current)
    assert "<title>Search – newscontext</title>" in page
    assert f'<link rel="canonical" href="{SITE_URL}/search.html">' in page
    assert '<meta name="robots" content="noindex">' in page
    assert f'<script src="{SCRIPT_PATH}" defer></script>' in page
    assert '<label for="search-q">' in page and '<button type="submit">' in page
    assert 'role="status" aria-live="polite"' in page
    assert "<noscript>" in page and 'id="search-missing" hidden' in page


def test_the_page_asks_where_the_live_server_mounts_its_api():
    assert API == PREFIX
    assert f'data-api="{PREFIX}"' in search_page_html(Settings()).decode()


# -- an archive, served live and as a built folder ------------------------------------------


@dataclass
class Sites:
    live: str  # base URL of `serve --db`
    static: str  # base URL of `serve DIR` on the built folder (with its Pagefind index)
    bare: str  # the same folder without its index, as `build --no-search` leaves it


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[Sites]:
    """The demo's archive (the real sample days, resolved and related) built as HTML with
    its search index, then served both ways (and the folder without its index)."""
    folder = tmp_path_factory.mktemp("search")
    settings = Settings(db=folder / "archive.sqlite3", workers=1, site_url=SITE_URL)
    out = folder / "site"
    with Archive(settings) as archive:
        archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
        archive.resolve()
        archive.relate()
        report = archive.build(out, formats=("html",))
    assert report.extras["search_index"] > 0
    bare = folder / "bare"
    shutil.copytree(out, bare, ignore=shutil.ignore_patterns("pagefind"))
    with running(create_app(settings.db, settings), settings) as live, \
            running(serve.create_app(out), settings) as static, \
            running(serve.create_app(bare), settings) as without:
        yield Sites(*(f"http://127.0.0.1:{port}" for port in (live, static, without)))


@dataclass
class Visit:
    page: Any
    problems: list[str]  # console errors and warnings, page errors, failed requests
    requests: list[str]  # every URL the page asked for
    dialogs: list[str]


def visit(browser, base: str, target: str, viewport: dict[str, int] = DESKTOP,
          **options: Any) -> Visit:
    """Open `target` in a fresh context; requests outside `base` are refused and noted."""
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    result = Visit(page, [], [], [])

    def route(request_route) -> None:
        if request_route.request.url.startswith(base + "/"):
            request_route.continue_()
        else:
            result.problems.append(f"outside: {request_route.request.url}")
            request_route.abort()

    context.route("**/*", route)
    page.on("console", lambda m: result.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: result.problems.append(f"page error: {e}"))
    page.on("request", lambda r: result.requests.append(r.url))
    page.on("requestfailed", lambda r: result.problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: result.problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)

    def dialog(d) -> None:
        result.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    response = page.goto(base + target, wait_until="load")
    assert response is not None and response.status == 200, target
    return result


def close(result: Visit) -> None:
    result.page.context.close()


ENTRY = "/pagefind/pagefind-entry.json"  # asked first; the live server has no index: 404
PROBE = f"{API}/openapi.json"  # asked when there is no index; a static host has no API: 404
NOTE_404 = "console error: Failed to load resource: the server responded with a status of 404"


def problems_but(result: Visit, *probes: str) -> list[str]:
    """The problems of a visit, but the 404s of the probes named: as many of the console's
    404 notes (which name no address) as probes answered 404."""
    missed = [p for p in result.problems if p.startswith("HTTP 404: ") and p.endswith(probes)]
    notes = [p for p in result.problems if p.startswith(NOTE_404)]
    rest = [p for p in result.problems if p not in missed and p not in notes]
    return rest + notes[len(missed):]


def query_of(url: str) -> str | None:
    return parse_qs(urlsplit(url).query).get("q", [None])[0]


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def live_results(page: Any) -> Any:
    """The live results once the status says how many were found."""
    page.wait_for_function(
        "document.getElementById('search-status').textContent.includes(' for “')")
    return page.locator("#search-results")


# -- live: the server's search ----------------------------------------------------------------


def test_live_search_lists_subjects_first_linking_to_their_pages(browser, sites: Sites):
    result = visit(browser, sites.live, "/search.html?q=Syrian")
    page = result.page
    found = live_results(page)
    assert page.locator("#search-form").is_visible()
    assert page.locator("#search-q").input_value() == "Syrian"
    sections = found.locator("h2").all_inner_texts()
    assert sections == ["Subjects", "Events"]
    first = found.locator("a").first
    assert first.inner_text() == "Syrian Army"
    assert first.locator("mark").inner_text() == "Syrian"
    assert first.get_attribute("href") == "/entities/syrian-army.html"
    assert status(sites.live + first.get_attribute("href")) == 200
    events = found.locator("#found-events + ul a")
    assert events.count() > 0
    href = events.first.get_attribute("href")
    assert href.startswith("/news/") and href.endswith(".html")
    assert status(sites.live + href) == 200
    assert events.first.locator("mark").count() > 0  # the matched words marked in the text
    said = page.locator("#search-status")
    assert said.get_attribute("aria-live") == "polite"
    subjects = found.locator("#found-subjects + ul > li").count()
    assert re.fullmatch(rf"{subjects} subjects? and \d+ events? found for “Syrian”\.",
                        said.inner_text())
    # Live: no Pagefind (its entry asked for, not found), nothing missing, nothing failed.
    assert [url for url in result.requests if "/pagefind/" in url] == [sites.live + ENTRY]
    assert page.locator("#search-missing").is_hidden()
    assert problems_but(result, ENTRY) == []
    close(result)


def test_live_search_by_keyboard_updates_results_and_address(browser, sites: Sites):
    result = visit(browser, sites.live, "/search.html?q=Syrian")
    page = result.page
    live_results(page)
    field = page.locator("#search-q")
    field.focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Deir ez-Zor")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.getElementById('search-status').textContent.endsWith('“Deir ez-Zor”.')")
    assert query_of(page.url) == "Deir ez-Zor"
    assert urlsplit(page.url).path == "/search.html"  # replaced in place, no reload
    first = page.locator("#search-results a").first
    assert first.inner_text() == "Deir ez-Zor"
    # Tab from the field: the button, then the first result, then the next ones.
    field.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == \
        first.get_attribute("href")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#search-results') !== null")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "search-q"  # no trap either way
    # Typing alone searches too, once the reader pauses (and the address follows).
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Jihadi", delay=30)
    page.wait_for_function("location.search === '?q=Jihadi'")
    page.wait_for_function(
        "document.getElementById('search-status').textContent.endsWith('“Jihadi”.')")
    assert page.locator("#search-results li").count() > 0
    # Emptied: no results, no q.
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")
    page.wait_for_function("location.search === ''")
    assert page.locator("#search-results li").count() == 0
    assert problems_but(result, ENTRY) == [] and result.dialogs == []
    close(result)


def test_live_search_pages_through_more_events(browser, sites: Sites):
    result = visit(browser, sites.live, "/search.html?q=the")
    page = result.page
    found = live_results(page)
    items = found.locator("#found-events + ul > li")
    assert items.count() == 20
    more = page.get_by_role("button", name="More events")
    more.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelectorAll('#found-events + ul > li').length > 20")
    hrefs = found.locator("#found-events + ul a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    assert len(hrefs) == len(set(hrefs)) == items.count() <= 40
    # Focus moves on to the first new event, not back to the top of the page.
    assert page.evaluate("document.activeElement.getAttribute('href')") == hrefs[20]
    assert problems_but(result, ENTRY) == []
    close(result)


def test_markup_in_a_query_is_text(browser, sites: Sites):
    result = visit(browser, sites.live, "/search.html?q=" + urllib.request.quote(HOSTILE))
    page = result.page
    live_results(page)
    assert page.locator("#search-status").inner_text() == f"Nothing found for “{HOSTILE}”."
    field = page.locator("#search-q")
    field.fill("")
    field.focus()
    page.keyboard.type(f"Syrian {HOSTILE}")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.getElementById('search-status').textContent.includes('onerror')")
    page.wait_for_timeout(300)
    assert result.dialogs == []
    assert page.locator("main img").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert HOSTILE in page.locator("#search-status").inner_text()
    assert problems_but(result, ENTRY) == []
    close(result)


def test_a_snippet_keeps_only_its_marks(browser, sites: Sites):
    """search.js puts a snippet in as its text and <mark> elements, whatever else the
    answer holds (the server escapes the text; the page does not rely on it alone)."""
    result = visit(browser, sites.live, "/search.html")
    page = result.page
    page.wait_for_selector("#search-form:not([hidden])")

    def answer(route) -> None:
        route.fulfill(status=200, content_type="application/json", body="""{"query": "x",
          "results": [{"kind": "entity", "title": "X", "path": "javascript:alert(1)",
                       "wikipedia": "javascript:alert(2)", "events": 2,
                       "snippet": "<mark>X</mark><img src=x onerror=alert(3)><b>bold</b>"},
                      {"kind": "event", "id": "1", "date": "2016-01-19", "text": "A &lt;b&gt;",
                       "path": "//elsewhere.example/x",
                       "snippet": "<mark>A</mark> &lt;b&gt;<script>alert(4)</script>"}]}""")

    page.route("**/api/v1/search?*", answer)
    page.locator("#search-q").fill("x")
    page.keyboard.press("Enter")
    live_results(page)
    page.wait_for_timeout(300)
    found = page.locator("#search-results")
    assert found.locator("img, script, b").count() == 0
    assert found.locator("mark").all_inner_texts() == ["X", "A"]
    assert found.locator("a").count() == 0  # neither path is a site path
    assert "bold" in found.inner_text() and "A <b>" in found.inner_text()
    assert result.dialogs == []
    close(result)


# -- static: Pagefind ---------------------------------------------------------------------------

def pagefind_results(page: Any) -> Any:
    page.wait_for_selector(".pagefind-ui__result-link", timeout=15000)
    return page.locator(".pagefind-ui__result-link")


def test_static_site_falls_back_to_pagefind(browser, sites: Sites):
    result = visit(browser, sites.static, "/search.html?q=Jihadi")
    page = result.page
    links = pagefind_results(page)
    assert page.locator("#search-form").is_hidden()  # Pagefind's own form instead
    href = links.first.get_attribute("href")
    assert "/news/" in href and href.endswith(".html")
    assert status(sites.static + urlsplit(href).path) == 200
    assert "Jihadi" in page.locator(".pagefind-ui__results").inner_text()
    field = page.locator(".pagefind-ui__search-input")
    assert field.input_value() == "Jihadi"
    # The count Pagefind shows is said politely, and typing keeps the address current.
    page.wait_for_function("/\\d+ results? for/.test("
                           "document.getElementById('search-status').textContent)")
    field.fill("")
    field.focus()
    page.keyboard.type("Deir")
    page.wait_for_function("location.search === '?q=Deir'")
    assert result.problems == []  # a static host is asked for nothing it lacks
    assert not any(API in url for url in result.requests)
    close(result)


def test_a_static_site_without_its_index_says_so(browser, sites: Sites):
    result = visit(browser, sites.bare, "/search.html?q=Syrian")
    page = result.page
    page.wait_for_selector("#search-missing:not([hidden])")
    assert "without its search index" in page.locator("#search-missing").inner_text()
    assert page.locator("#search-form").is_hidden()
    assert page.locator("#search-pagefind").inner_text() == ""
    assert problems_but(result, ENTRY, PROBE) == []
    assert not any("pagefind-ui" in url for url in result.requests)
    close(result)


def test_without_javascript_the_page_explains(browser, sites: Sites):
    result = visit(browser, sites.live, "/search.html?q=Syrian", java_script_enabled=False)
    page = result.page
    assert "Search needs JavaScript" in page.locator("main").inner_text()
    assert page.locator("#search-form").is_hidden()
    for role in ("banner", "navigation", "main", "contentinfo"):
        assert page.get_by_role(role).count() >= 1, role
    close(result)


# -- contrast and screenshots ------------------------------------------------------------------


# Each element holding text of its own (shown): its colour and the colour of the nearest
# opaque background behind it (its own or an ancestor's).
OWN_TEXT = """els.filter(el => {
    const style = getComputedStyle(el);
    return style.display !== 'none' && style.visibility !== 'hidden' && el.getClientRects().length
      && ([...el.childNodes].some(n => n.nodeType === 3 && n.nodeValue.trim())
          || el.tagName === 'INPUT');
  })"""
TEXT = "body, main *, header *, footer *"


def page_low_contrast(page: Any) -> set[tuple[str, float]]:
    found = page.eval_on_selector_all(TEXT, f"els => ({COLOURS})({OWN_TEXT})")
    assert len(found) > 10
    return low_contrast(found)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_at_least_4_5(browser, sites: Sites, scheme: str):
    live = visit(browser, sites.live, "/search.html?q=Syrian", color_scheme=scheme)
    live_results(live.page)
    assert live.page.locator("#search-results mark").count() > 0
    assert page_low_contrast(live.page) == set(), ("live", scheme)
    close(live)
    static = visit(browser, sites.static, "/search.html?q=Syrian", color_scheme=scheme)
    pagefind_results(static.page)
    page = static.page
    # Pagefind's result text follows the site's colours (its CSS variables)...
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    for selector in (".pagefind-ui__result-link", ".pagefind-ui__result-excerpt",
                     ".pagefind-ui__message", ".pagefind-ui__search-input"):
        colour = page.locator(selector).first.evaluate("el => getComputedStyle(el).color")
        assert colour == page.evaluate("getComputedStyle(document.body).color") or \
            selector == ".pagefind-ui__result-link", (selector, colour)
    assert page.locator(".pagefind-ui__search-input").evaluate(
        "el => getComputedStyle(el).backgroundColor") == background
    # ... and every text reads at 4.5:1 or more.
    assert page_low_contrast(page) == set(), ("static", scheme)
    close(static)


SHOTS = [("phone", PHONE), ("desktop", DESKTOP)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(browser, sites: Sites, scheme: str):
    """For people to look at (tests/screenshots/search-*.png); checks only that each was
    taken and that nothing is wider than the screen."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, viewport in SHOTS:
        for delivery, base in (("live", sites.live), ("static", sites.static)):
            result = visit(browser, base, "/search.html?q=Syrian", viewport,
                           color_scheme=scheme)
            if delivery == "live":
                live_results(result.page)
            else:
                pagefind_results(result.page)
            assert result.page.evaluate(
                "document.documentElement.scrollWidth") <= viewport["width"]
            target = SCREENSHOTS / f"search-{delivery}-{label}-{scheme}.png"
            result.page.screenshot(path=str(target), full_page=True)
            close(result)
            assert target.stat().st_size > 1000
