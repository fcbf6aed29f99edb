"""Properties of the two day-page parsers on arbitrary input (hypothesis): they never raise,
never let out a character XML 1.0 forbids, and change a source URL only where MediaWiki
does (character references with their semicolon; `&region=` stays as typed)."""

from __future__ import annotations

import html
import re
from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newscontext.model import ParsedDay
from newscontext.portal.html import parse_html
from newscontext.portal.wikitext import parse_wikitext

DAY = date(2010, 5, 24)
SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
# XML 1.0's Char production, negated.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FORBIDDEN = [chr(c) for c in (*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20))] + [
    "\ufffe", "\uffff", "\ud800", "\udfff"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2069",
        "\u200e", "\u200f"]

WIKI_TOKENS = [
    "*", "**", "***", "#", ";", ":", "\n", "\n*", "\n**", "\n;", "'''", "''", "[[", "]]", "[",
    "]", "{{", "}}", "|", "=", "==", "<ref>", "</ref>", "<ref name=a/>", "<!--", "-->",
    "<small>", "</small>", "<nowiki>", "</nowiki>", "<br/>", "&", "&amp;", "&nbsp;", "&region=",
    "&sect", "&#7;", "&#x1F;", "&#xFFFE;", "&#0;", "&#55296;", "&bogus;", "http://a.example/",
    "https://b.example/x?y=1&z=2", "//c.example/", "(BBC)", "[http://a.example/p (Outlet)]",
    "[[n:Story]]", "[[File:x.jpg|thumb]]", "[[Category:X]]", "{{convert|5|km}}",
    "{{currency|65|RUB}}", "{{cite web|url=http://d.example/|work=W}}", "{{Webarchive|url=x}}",
    "{{'}}", "{{Current events|content=", "Topic", "word", " ", "\t", "\x00", ".", ",",
    *FORBIDDEN, *BIDI,
]
HTML_TOKENS = [
    "<ul>", "</ul>", "<li>", "</li>", "<ol>", "<p>", "</p>", "<b>", "</b>", "<dl><dt>",
    "</dt></dl>", "<h3>", "</h3>", "<i>", "</i>", "<sup class=\"reference\">", "</sup>",
    '<a class="external text" href="http://a.example/?x=1&amp;region=2">', "</a>",
    '<a href="/wiki/Some_Title" title="Some Title">', '<a href="#cite_note-1">',
    '<a href="https://en.wikinews.org/wiki/X" class="extiw">', '<span class="webarchive">',
    "</span>", '<ol class="references"><li id="cite_note-1">', "<cite>", "</cite>",
    '<div class="current-events-content">', "</div>", "<!--", "-->", "&amp;", "&#7;",
    "&#xFFFF;", "&#0;", "&region=", "&copy", "&", "<", ">", "\"", "'", "\n", " ", "word",
    "(BBC)", "\x00", *FORBIDDEN, *BIDI,
]


def strings_of(parsed: ParsedDay) -> list[str]:
    """Every string an event or a warning holds."""
    out = [part for warning in parsed.warnings for part in (warning.message, warning.text)]
    for event in parsed.events:
        out += [event.text, event.category or ""]
        out += [x for link in event.links for x in (link.target, link.label)]
        out += [x for source in event.sources for x in (source.url, source.name)]
        for story in event.stories:
            out.append(story.text)
            out += [x for link in story.links for x in (link.target, link.label)]
    return out


def assert_xml_safe(parsed: ParsedDay) -> None:
    for text in strings_of(parsed):
        assert not NOT_XML.search(text), repr(text)


def joined(tokens: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(tokens, st.text(max_size=8)), max_size=60).map("".join)


# --- never an exception, never a forbidden character --------------------------------------


@SETTINGS
@given(text=st.one_of(st.text(), joined(st.sampled_from(WIKI_TOKENS))))
@example(text="*Sentence with \x07 char. [http://example.com/a (Outlet)]")
@example(text="*A\x00B [http://a.example/\x00 (Out\x00let)]\n\x00")
@example(text="*&#7; &#xFFFF; [http://a.example/&#7; (&#1;)]")
def test_wikitext_never_raises_and_is_xml_safe(text: str) -> None:
    parsed = parse_wikitext(DAY, text)
    assert_xml_safe(parsed)
    for event in parsed.events:
        assert event.text == event.text.strip() and event.text


@SETTINGS
@given(markup=st.one_of(st.text(), joined(st.sampled_from(HTML_TOKENS))))
@example(markup='<ul><li>Sentence with \x07 char. <a class="external text" '
                'href="http://example.com/a">(Outlet)</a></li></ul>')
@example(markup="<ul><li>&#7;&#xFFFF;&#0;\x00<a class=\"external text\" "
                "href=\"http://a.example/&#7;\">(&#1;)</a></li></ul><p>&#8;</p>")
def test_html_never_raises_and_is_xml_safe(markup: str) -> None:
    parsed = parse_html(DAY, markup)
    assert_xml_safe(parsed)


# --- URLs change only where MediaWiki changes them ------------------------------------------

# What a URL may hold inside `[URL label]` in wikitext: no space, no brackets, quotes, angle
# brackets, braces or pipes (they end the URL or start other markup), no apostrophes (bold).
URL_CHARS = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789-._~:/?#@!$()*+,;=%&"))
# Query keys that are legacy entity names without their semicolon: `&region=` -> "®ion="
# was the bug (fault 5).
LEGACY_KEYS = ["region", "sect", "sectionid", "para", "copy", "not", "reg", "amp", "lt", "gt",
               "cent", "pound", "yen", "times", "micro", "deg", "nbsp", "quot", "uml", "shy"]
HOSTS = ["www.nytimes.com", "www.presstv.ir", "example.org", "news.bbc.co.uk"]
_CHAR_REF = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http://", "https://"]))
    path = draw(st.text(URL_CHARS, max_size=30)).replace("&", "")
    query = "&".join(f"{draw(st.sampled_from(LEGACY_KEYS))}={draw(st.text(URL_CHARS, max_size=6))}"
                     for _ in range(draw(st.integers(0, 4))))
    url = f"{scheme}{draw(st.sampled_from(HOSTS))}/{path}" + (f"?{query}" if query else "")
    # A plain URL: no character reference (those are what MediaWiki decodes), no empty
    # trailing fragment (MediaWiki drops it).
    return _CHAR_REF.sub("", url).rstrip("#")


def _no_refs(url: str) -> bool:
    return not _CHAR_REF.search(url)


@SETTINGS
@given(url=urls().filter(_no_refs))
@example(url="https://www.nytimes.com/2010/05/24/world/europe/24poland.html?hp=&region=top-news")
@example(url="http://www.presstv.ir/detail.aspx?id=127632&sectionid=351020606&para=1&copy=2")
def test_a_plain_url_passes_through_unchanged(url: str) -> None:
    wiki = parse_wikitext(DAY, f"*Sentence. [{url} (Outlet)]\n")
    assert [source.url for event in wiki.events for source in event.sources] == [url]
    rendered = (f'<ul><li>Sentence. <a class="external text" href="{html.escape(url)}">'
                "(Outlet)</a></li></ul>")
    page = parse_html(DAY, rendered)
    assert [source.url for event in page.events for source in event.sources] == [url]


# Character references MediaWiki decodes in a URL, and what they stand for.
REFS = {"&amp;": "&", "&#38;": "&", "&#x26;": "&", "&eacute;": "é", "&#233;": "é",
        "&percnt;": "%", "&quest;": "?"}


@SETTINGS
@given(url=urls().filter(_no_refs), refs=st.lists(st.sampled_from(sorted(REFS)), max_size=4),
       at=st.lists(st.integers(0, 200), max_size=4))
def test_only_character_references_with_semicolon_are_decoded(
        url: str, refs: list[str], at: list[int]) -> None:
    head = url.index("/", url.index("//") + 2)  # references go after the host
    written = url
    for ref, position in zip(refs, at, strict=False):
        cut = head + position % (len(written) - head + 1)
        written = written[:cut] + ref + written[cut:]
    meant = _decode(written)
    wiki = parse_wikitext(DAY, f"*Sentence. [{written} (Outlet)]\n")
    assert [source.url for event in wiki.events for source in event.sources] == [meant]


def _decode(text: str) -> str:
    """The oracle: replace exactly the references of REFS, nothing else."""
    return re.sub("|".join(re.escape(ref) for ref in REFS), lambda m: REFS[m.group(0)], text)
