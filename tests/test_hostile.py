"""A hostile site, made the way a real run makes one: day pages and source articles full of
markup, scripts, `javascript:`/`data:`/`vbscript:` URLs, bidi overrides, zero-width and
control characters, very long words, `]]>`, `</script>`, Jinja- and Markdown-looking text,
XML entity bombs and quotes of every kind (`tests/fixtures/hostile/`, made by its `make.py`).

The `.wiki` and `.html` days are ingested by the `newscontext` command; their articles are
served by a real HTTP server on 127.0.0.1 and crawled; then `resolve`, `relate` and `build`
(search index included) run, and `newscontext serve` serves the site to Debian's Chromium.
Every HTML page must open with no dialog, no page error, no console error, no navigation
away, no request to another site, and no link or resource with a `javascript:`, `vbscript:`
or `data:` URL (the site's own empty `data:,` icon aside); every JSON page must validate,
every XML page, feed and sitemap parse strictly, every Markdown page hold no raw markup.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS
from conftest import FIXTURES
from jsonschema import Draft202012Validator
from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from playwright.sync_api import sync_playwright

from newscontext import Archive, Settings
from newscontext.site import urls
from newscontext.site.model import SourceItem, SourcePage
from newscontext.site.pages import Pages
from newscontext.site.redirects import read_map
from newscontext.site.render import SiteInfo, markdown
from newscontext.site.render import html as html_render

pytestmark = pytest.mark.slow  # a crawl, a build with its search index, every page in Chromium

HOSTILE = FIXTURES / "hostile"
PLACEHOLDER = b"http://news.hostile.example/"  # the fixtures' stand-in for the local server
SITE_URL = "https://news.example.org"
SCHEMA = (Path(__file__).parents[1] / "src" / "newscontext" / "site" / "schema"
          / "page.schema.json")
# The venv's console script, as an operator runs it (else the module, for other set-ups).
_SCRIPT = Path(sys.executable).with_name("newscontext")
COMMAND = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "newscontext"]
# Attributes whose value the browser loads or follows as a URL.
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "data", "cite",
                  "background", "ping", "srcset", "xlink:href")
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
OWN_DATA_URIS = {("LINK", "href", "data:,")}  # the empty favicon of every page
# Pagefind's search form, on the search page only: it submits nowhere (the UI listens).
PAGEFIND_FORM = ("FORM", "action", "javascript:void(0);")
# What the hostile days must have brought in (else the test proves nothing).
SENTENCE_SCRIPT = "<script>alert('sentence')</script>"
HTML_SCRIPT = "<script>alert('html sentence')</script>"
CATEGORY_SCRIPT = "<script>alert('category')</script>"
OG_TITLE_SCRIPT = "<script>alert('og:title')</script>"


# -- the web the crawler sees ----------------------------------------------------------------


class ArticleServer:
    """The hostile news site: `/articles/<name>` is `articles/<name>.html` (any query),
    `/img/...` the cover SVG (with a script in it); the rest is 404. Every request is logged."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                path = urlsplit(self.path).path
                name = path.rsplit("/", 1)[-1]
                page = HOSTILE / "articles" / f"{name}.html"
                if path.startswith("/articles/") and "/" not in name and page.is_file():
                    body, kind = outer.local(page.read_bytes()), "text/html; charset=utf-8"
                elif path.startswith("/img/"):
                    body = (HOSTILE / "articles" / "cover.svg").read_bytes()
                    kind = "image/svg+xml"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def local(self, raw: bytes) -> bytes:
        return raw.replace(PLACEHOLDER, self.origin.encode() + b"/")

    def __enter__(self) -> ArticleServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Site:
    root: Path
    db: Path
    news: ArticleServer
    runs: dict[str, subprocess.CompletedProcess]

    def files(self, *suffixes: str) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file()
                      and p.name.endswith(suffixes)
                      and not p.relative_to(self.root).parts[0].startswith((".", "pagefind")))


def newscontext(*args: str | Path, db: Path, env: dict[str, str]
                ) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, "--db", str(db), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("hostile")
    days = work / "days"
    days.mkdir()
    env = dict(os.environ, COLUMNS="200", NEWSCONTEXT_SITE_URL=SITE_URL,
               # the crawler's SSRF guard lets the local server through, nothing else
               NEWSCONTEXT_FETCH_ALLOW_LOOPBACK="1", NEWSCONTEXT_FETCH_HOST_DELAY="0",
               NEWSCONTEXT_FETCH_RETRIES="0", NEWSCONTEXT_FETCH_TIMEOUT="5",
               NEWSCONTEXT_WAYBACK="0", NEWSCONTEXT_PUBLISH_FULL_TEXT="1")
    env.pop("NEWSCONTEXT_DB", None)
    db, root = work / "archive.sqlite3", work / "site"
    with ArticleServer() as news:
        for day in ("2024-03-05.wiki", "2024-03-06.html"):
            (days / day).write_bytes(news.local((HOSTILE / day).read_bytes()))
        runs = {}
        for stage, *args in (("ingest", days), ("crawl",), ("resolve",), ("relate",),
                             ("build", root)):
            runs[stage] = newscontext(stage, *args, db=db, env=env)
        yield Site(root, db, news, runs)


def test_every_stage_succeeds(site: Site):
    failed = [f"{stage} exited {run.returncode}:\n{run.stderr[-3000:]}"
              for stage, run in site.runs.items() if run.returncode != 0]
    assert not failed, "\n".join(failed)
    assert "Traceback" not in "".join(run.stderr for run in site.runs.values())
    assert "full build" in site.runs["build"].stderr


def test_the_hostile_content_reached_the_archive(site: Site):
    """The checks below mean something only if the poison got in: into sentences, stories,
    categories, links, sources and archived articles."""
    env = dict(os.environ)
    events = [json.loads(line) for line in newscontext(
        "export", "events", db=site.db, env=env).stdout.splitlines()]
    texts = " ".join(e["text"] for e in events)
    assert SENTENCE_SCRIPT in texts and HTML_SCRIPT in texts
    assert "]]>" in texts and "{{ 7*7 }}" in texts and "**bold**" in texts
    assert "\u202e" in texts and "\u200c" in texts
    assert any(CATEGORY_SCRIPT in (e["category"] or "") for e in events)
    assert any("<script>alert('story heading')</script>" in story
               for e in events for story in e["stories"])
    urls = {s["url"] for e in events for s in e["sources"]}
    for scheme in BAD_SCHEMES:  # MediaWiki links none of them: they are text, not sources
        assert not any(url.lower().strip().startswith(scheme) for url in urls), scheme
    outlets = {s["name"] for e in events for s in e["sources"]}
    assert "<script>alert('outlet')</script>" in outlets
    articles = [json.loads(line) for line in newscontext(
        "export", "articles", db=site.db, env=env).stdout.splitlines()]
    assert len(articles) >= 5
    assert any((a["og"]["title"] or "").startswith(OG_TITLE_SCRIPT) for a in articles)
    assert any("<script>alert('body')</script>" in (a["article"]["text"] or "")
               for a in articles)
    pictures = [a["og"]["image"] for a in articles if a["og"]["image"]]
    assert pictures and all(p.startswith("http://127.0.0.1:") for p in pictures)
    assert "/articles/script-og" in " ".join(site.news.requests)


# -- HTML in Chromium ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(site: Site) -> Iterator[str]:
    """`newscontext serve` on a free port of 127.0.0.1: the base URL."""
    process = subprocess.Popen([*COMMAND, "serve", str(site.root), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        found = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
        assert found, f"serve did not start: {line!r}"
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), "needs Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# Every element with an attribute that loads or follows a URL whose scheme the browser reads
# as javascript:, vbscript: or data: (the URL as the browser parses it: case, leading
# controls, tabs and entities all resolved), and every event-handler attribute.
DANGEROUS = """([attributes, schemes]) => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) { found.push([el.tagName, name, attr.value]); continue; }
      if (!attributes.includes(name)) continue;
      const values = name === 'srcset' ? attr.value.split(',').map(s => s.trim().split(/\\s+/)[0])
                                       : [attr.value];
      for (const value of values) {
        let scheme;
        try { scheme = new URL(value, document.baseURI).protocol; } catch (e) { continue; }
        if (schemes.includes(scheme)) found.push([el.tagName, name, value]);
      }
    }
  }
  return found;
}"""


def dangerous(page) -> list[tuple[str, str, str]]:
    """(tag, attribute, value) of what DANGEROUS finds, the site's own icon aside."""
    found = page.evaluate(DANGEROUS, [list(URL_ATTRIBUTES), list(BAD_SCHEMES)])
    return [tuple(item) for item in found if tuple(item) not in OWN_DATA_URIS]


C0_AND_SPACE = "".join(map(chr, range(0x21)))


def scheme_of(url: str) -> str | None:
    """A URL's scheme as a browser reads it (WHATWG URL: surrounding controls and spaces
    stripped, tabs and newlines removed anywhere), lower case; None for a relative URL."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(C0_AND_SPACE))
    found = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return found.group(1).lower() if found else None


class Watcher:
    """One browser tab that opens pages of the site in turn and records what went wrong on
    each: dialogs, page errors, console errors, popups, navigations away; and, over all,
    requests to other sites (refused)."""

    def __init__(self, browser, base: str, news: str) -> None:
        self.base, self.news = base, news
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []  # of the page opened last
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("popup", lambda p: self.problems.append(f"popup: {p.url}"))

    def _route(self, route) -> None:
        url = route.request.url
        # The site, and the source's own pictures (the local news server) may load.
        if url.startswith((self.base + "/", self.news + "/")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _dialog(self, dialog) -> None:
        self.problems.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, path: str, *, settle: float = 0.0, leads_to: str | None = None):
        """The tab, showing `path`; `self.problems` holds what went wrong on it.
        `leads_to`: the site path a redirect page (a story moved to its subject's page)
        must take the reader to, and nowhere else."""
        self.problems = []
        url = self.base + path
        response = self.page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            self.problems.append(f"HTTP {response.status if response else None}")
        self.page.wait_for_timeout(settle * 1000 or 50)  # a refresh or a timer would fire
        expected = url if leads_to is None else self.base + leads_to
        if leads_to is not None:
            self.page.wait_for_url(expected, timeout=5000)
        if unquote(self.page.url) != unquote(expected):
            self.problems.append(f"navigated to {self.page.url}")
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def watcher(browser, served: str, site: Site) -> Iterator[Watcher]:
    opened = Watcher(browser, served, site.news.origin)
    yield opened
    opened.close()


def site_path(site: Site, file: Path) -> str:
    return "/" + file.relative_to(site.root).as_posix()


def test_every_html_page_is_inert_in_chromium(site: Site, watcher: Watcher):
    files = site.files(".html")
    kinds = {file.relative_to(site.root).parts[0] for file in files}
    assert {"news", "stories", "entities", "sources", "index.html", "about.html",
            "search.html"} <= kinds
    assert len(files) > 40
    found: dict[str, list[str]] = {}
    redirects = read_map(site.root / "_redirects")  # pages that lead to another, by design
    for file in files:
        path = site_path(site, file)
        page = watcher.open(path, leads_to=redirects.get(path))
        search = path == "/search.html"  # the one page with scripts: the site's own search
        problems = watcher.problems + [
            f"{tag} {name}={value!r}" for tag, name, value in dangerous(page)
            if not (search and (tag, name, value) == PAGEFIND_FORM)]
        if not search and page.evaluate("document.scripts.length"):
            problems.append("a script element")
        problems += [f"a {tag} element" for tag in page.eval_on_selector_all(
            "iframe, object, embed, frame, base" + ("" if search else ", form"),
            "els => els.map(e => e.tagName)")]
        if problems:
            found[path] = problems
    assert found == {}
    assert watcher.outside == []


def test_the_poison_shows_as_text(site: Site, watcher: Watcher):
    """Escaped, not dropped: a reader sees exactly what the portal and the article said."""
    text = watcher.open("/news/2024/03/05/index.html").inner_text("main")
    assert SENTENCE_SCRIPT in text and CATEGORY_SCRIPT in text
    assert "{{ 7*7 }}" in text and "]]>" in text
    sources = [p.with_suffix(".html") for p in site.files(".json") if p.parent.name == "sources"
               and (json.loads(p.read_bytes())["og_title"] or "").startswith(OG_TITLE_SCRIPT)]
    assert sources  # the article is cited twice, by two URLs: two source pages
    page = watcher.open(site_path(site, sources[0]))
    assert OG_TITLE_SCRIPT in page.inner_text("main")
    assert "<script>alert('body')</script>" in page.inner_text("main .text")
    assert watcher.problems == []


def test_unsafe_source_urls_are_named_not_linked(site: Site, watcher: Watcher):
    """The HTML day cites sources by `javascript:`, `data:` and `vbscript:` URLs (MediaWiki
    would never link them; a saved or forged page can): they are not sources, and the event
    page links the real source only."""
    (event,) = [p.with_suffix(".html") for p in site.files(".json")
                if HTML_SCRIPT in (json.loads(p.read_bytes()).get("text") or "")]
    items = watcher.open(site_path(site, event)).eval_on_selector_all(
        "ol.sources > li", "els => els.map(li => [li.innerText, "
        "Array.from(li.querySelectorAll('a')).map(a => a.getAttribute('href'))])")
    named = {text.split(" · ")[0].strip(): hrefs for text, hrefs in items}  # " · archived text"
    for outlet in ("Outlet", "Data", "VB", "Mixed case", "Entities", "Control"):
        assert outlet not in named, outlet
    assert named['<b>Bold</b> "Outlet'][0] == site.news.origin + "/articles/script-og"


def test_search_with_a_hostile_query(watcher: Watcher):
    """Pagefind's page, fed a query that is markup, shows results as text."""
    for query in ("<script>alert('query')</script>", "alert", "javascript:alert(1)"):
        page = watcher.open(f"/search.html?q={query}", settle=1.0)
        assert page.evaluate("typeof PagefindUI") == "function"
        if query == "alert":
            page.wait_for_selector(".pagefind-ui__result", timeout=10_000)
            assert "alert(" in page.inner_text("#search")
        assert [b for b in dangerous(page) if b != PAGEFIND_FORM] == []
        assert watcher.problems == [], query


def test_long_words_do_not_widen_the_page(site: Site, watcher: Watcher):
    watcher.page.set_viewport_size({"width": 360, "height": 740})
    wide = {}
    for file in site.files(".html"):
        if "llanfairpwll" in file.read_text(encoding="utf-8").lower():
            page = watcher.open(site_path(site, file))
            wide[file.name] = page.evaluate("document.documentElement.scrollWidth")
    watcher.page.set_viewport_size({"width": 1280, "height": 900})
    assert len(wide) >= 4
    assert {name: width for name, width in wide.items() if width > 360} == {}


# -- the other formats -----------------------------------------------------------------------


def test_every_json_page_validates(site: Site):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    files = site.files(".json")
    assert len(files) > 40
    invalid = {}
    for file in files:
        data = json.loads(file.read_bytes())
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
                  for e in validator.iter_errors(data)]
        if errors:
            invalid[file.name] = errors[:3]
    assert invalid == {}
    bundle = list((site.root / "pagefind").rglob("*.json"))  # the search index's own
    assert bundle and all(json.loads(file.read_bytes()) for file in bundle)


STRICT = etree.XMLParser(recover=False, resolve_entities=False, no_network=True,
                         huge_tree=False)


def test_every_xml_page_and_feed_parses_strictly(site: Site):
    files = site.files(".xml", ".atom")
    assert any(f.name == "feed.atom" for f in files) and any(f.name == "sitemap.xml"
                                                             for f in files)
    unsafe = []
    for file in files:
        tree = etree.fromstring(file.read_bytes(), STRICT).getroottree()
        assert tree.docinfo.internalDTD is None and tree.docinfo.doctype == "", file
        # Feed entries carry HTML (an RSS item's description and content:encoded, Atom
        # content and summary of type html; the RSS Profile has every other element plain
        # text): what a reader renders must hold only the paragraphs and links the site
        # writes, and the links only web addresses.
        if file.name not in ("feed.xml", "feed.atom"):
            continue
        for node in tree.iter("description", "{*}encoded", "{*}content", "{*}summary"):
            if ((node.tag == "description" and node.getparent().tag != "item")
                    or node.get("type", "html") != "html" or not node.text):
                continue
            fragment = lxml_html.fragment_fromstring(node.text, create_parent="div")
            for element in fragment.iter():
                if element.tag not in ("div", "p", "a") or set(element.attrib) - {"href"}:
                    unsafe.append((file.name, element.tag, dict(element.attrib)))
                if scheme_of(element.get("href") or "") not in (None, "http", "https"):
                    unsafe.append((file.name, element.tag, dict(element.attrib)))
    assert unsafe == []


def test_every_markdown_page_is_text(site: Site):
    files = site.files(".md")
    assert len(files) > 40
    renderer = MarkdownIt("commonmark")  # raw HTML allowed, as many readers have it
    found = {}
    for file in files:
        text = file.read_text(encoding="utf-8")
        problems = []
        if re.search(r"<\s*/?\s*script", text, re.I):
            problems.append("raw <script")
        html = renderer.render(text)
        if re.search(r"<(script|img[^>]+onerror|svg|iframe|style)", html, re.I):
            problems.append("markup in the rendered page")
        for url in re.findall(r'(?:href|src)="([^"]*)"', html):
            if scheme_of(unescape(url)) not in (None, "http", "https", "ftp", "mailto"):
                problems.append(f"link to {url}")
        if problems:
            found[file.name] = problems
    assert found == {}


def test_no_entity_was_expanded(site: Site):
    """The article with a billion-laughs DOCTYPE and an external entity: neither is
    expanded anywhere the site writes."""
    for file in site.files(".html", ".md", ".json", ".xml", ".atom"):
        raw = file.read_bytes()
        assert b"lollollol" not in raw and b"root:x:0:0" not in raw, file.name


def test_a_day_of_nothing_but_garbage_still_builds(tmp_path: Path):
    """A vandalised day (no bullet, only markup) gives no event; the build still succeeds,
    search index and all (Pagefind fails on a site without a page to index)."""
    day = tmp_path / "2024-03-07.wiki"
    day.write_text("<script>alert('blanked')</script>\n:not a bullet\n'''Bold'''\n]]>{{ x }}\n",
                   encoding="utf-8")
    db, root, env = tmp_path / "archive.sqlite3", tmp_path / "site", dict(os.environ)
    assert newscontext("ingest", day, db=db, env=env).returncode == 0
    built = newscontext("build", root, db=db, env=env)
    assert built.returncode == 0, built.stderr
    assert (root / "search.html").is_file() and (root / "index.html").is_file()
    assert b"alert('blanked')" not in (root / "index.html").read_bytes()


UNSAFE = ["javascript:alert('url')", " JaVaScRiPt:alert('case')", "\x01javascript:alert(1)",
          "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)"]


def test_unsafe_urls_are_never_links_whatever_the_archive_holds(site: Site):
    """What a run cannot bring in today (the crawler keeps only http(s) pictures and
    addresses) an older archive may hold: no page links or loads such a URL in any format."""
    with Archive(Settings(db=site.db, site_url=SITE_URL)) as archive:
        pages = Pages(archive.store, archive.settings)
        event = pages.event(next(iter(sorted(pages.event_where))))
    hostile = [
        replace(event, image=UNSAFE[3], sources=[SourceItem(f"Outlet {n}", url, None)
                                                 for n, url in enumerate(UNSAFE)]),
        *(SourcePage(path=urls.source_path("0123456789abcdef"), title="An article",
                     hash="0123456789abcdef", url=url, final_url=UNSAFE[n - 1],
                     archived_from=UNSAFE[n - 2], og_image=UNSAFE[n - 3], excerpt="Words.")
          for n, url in enumerate(UNSAFE)),
    ]
    info = SiteInfo(url=SITE_URL, generated="2026-01-01T00:00:00Z")
    for page in hostile:
        tree = lxml_html.document_fromstring(html_render.render(page, info))
        links = [(el.tag, name, el.get(name)) for el in tree.iter() if isinstance(el.tag, str)
                 for name in ("href", "src", "cite", "content") if el.get(name)]
        assert [link for link in links if scheme_of(link[2]) not in (
            None, "http", "https") and link != ("link", "href", "data:,")] == []
        text = tree.text_content()  # shown as text instead
        shown = ([page.url, page.final_url, page.archived_from, page.og_image]
                 if isinstance(page, SourcePage) else [s.name for s in page.sources])
        assert [item for item in shown if item.strip("\x01 ") not in text] == []
        text = markdown.render(page, info).decode()  # its links' and images' destinations:
        assert [url for url in re.findall(r"(?<!\\)\]\(<?([^)\s>]*)", text)  # none unsafe
                if scheme_of(url) not in (None, "http", "https")] == []


LEFT_TO_RIGHT = """el => {  // each character of the element's text left of the next one
  const text = el.firstChild, range = document.createRange(), xs = [];
  for (let i = 0; i < text.length; i++) {
    range.setStart(text, i); range.setEnd(text, i + 1);
    xs.push(range.getBoundingClientRect().x);
  }
  return xs.every((x, i) => i === 0 || x > xs[i - 1]);
}"""


def test_a_bidi_override_stays_in_its_text(site: Site, watcher: Watcher):
    """An outlet named with an unclosed right-to-left override (U+202E) must not turn the
    site's own words after it around: " · archived text" still reads left to right."""
    (event,) = [p.with_suffix(".html") for p in site.files(".json") if any(
        s["name"] == "\u202eCBB" for s in json.loads(p.read_bytes()).get("sources") or [])]
    page = watcher.open(site_path(site, event))
    item = page.locator("ol.sources > li", has_text="archived text")
    assert item.locator("a").first.inner_text() == "\u202eCBB"
    assert item.locator("a", has_text="archived text").evaluate(LEFT_TO_RIGHT)
    assert page.locator("main h2").first.evaluate(LEFT_TO_RIGHT)  # "Sources"
