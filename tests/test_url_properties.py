"""Properties of the slug and URL helpers (site/urls.py, matching.url_key) on any text.

Titles and sentences come from anyone who edits the portal, so the helpers that turn them
into paths must, for every string: not raise, give a path segment that is safe on every
file system and web server (ASCII letters, digits and single hyphens; no `/`, no `..`;
bounded length), and give the same answer every time (a page's URL is its identity).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newscontext.matching import url_key
from newscontext.site import urls
from newscontext.site.urls import MAX_SLUG, slugify, unique_slug

# Every code point, lone surrogates and controls included: what a broken page may hold.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)
# Text that looks like portal titles: letters of many scripts, digits, punctuation, spaces.
TITLES = st.text(st.characters(categories=("L", "N", "P", "S", "Zs", "M")), max_size=400)
TEXT = st.one_of(ANY_TEXT, TITLES)
LIMITS = st.integers(min_value=10, max_value=300)
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
PROPERTIES = settings(max_examples=300, deadline=None)

NASTY = ["", " ", "$", "$" * 400, "..", "../../etc/passwd", "/", "a/b", "\x00\x07", "\ud800",
         "\U0010ffff" * 30, "-", "—", "…", "Ωμέγα", "東京", "Hôtel Ïle", "a" * 1000,
         "a-" * 200, "İstanbul", "ﬁnance", "\u202eevil", "CON", "index"]


def assert_safe_segment(slug: str, limit: int) -> None:
    assert SLUG_RE.fullmatch(slug), slug  # ASCII a-z0-9 and single inner hyphens
    assert "/" not in slug and ".." not in slug and slug.isascii()
    assert 1 <= len(slug) <= limit


@PROPERTIES
@given(text=TEXT, limit=LIMITS)
@example(text="$" * 400, limit=140)  # code points spelled: cut between two, not inside one
@example(text="$$", limit=10)
@example(text="$$$", limit=12)  # "u0024-u0024-": a slug ending in a hyphen
def test_slugify_gives_a_safe_stable_segment(text: str, limit: int) -> None:
    slug = slugify(text, limit)
    assert_safe_segment(slug, limit)
    assert slugify(text, limit) == slug
    assert slugify(slug, limit) == slug  # a slug is its own slug: paths survive a rebuild


@pytest.mark.parametrize("text", NASTY)
def test_slugify_on_nasty_titles(text: str) -> None:
    slug = slugify(text)
    assert_safe_segment(slug, MAX_SLUG)
    assert slugify(text) == slug


def test_spelled_slugs_keep_whole_code_points() -> None:
    assert slugify("$") == "u0024"
    assert slugify("$$", 10) == "u0024"  # "u0024-u0024" is 11; "u0024-" is no slug
    assert slugify("$" * 400) == "-".join(["u0024"] * 23)
    assert slugify("\U0010ffff", 6) == "untitl"


@PROPERTIES
@given(text=TEXT, taken=st.lists(TEXT, max_size=5), extra=st.integers(0, 12),
       limit=st.integers(min_value=16, max_value=200))
def test_unique_slug_is_new_safe_and_stable(text: str, taken: list[str], extra: int,
                                            limit: int) -> None:
    used = {slugify(t, limit) for t in taken}
    base = slugify(text, limit)
    # the plain slug and its first suffixes taken too: the suffix must make room for itself
    used |= {base} if extra else set()
    used |= {f"{slugify(text, limit - len(str(n)) - 1)}-{n}" for n in range(2, extra + 2)}
    slug = unique_slug(text, used, limit)
    assert slug not in used
    assert_safe_segment(slug, limit)
    assert unique_slug(text, used, limit) == slug


@PROPERTIES
@given(text=TEXT, day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
       page=st.one_of(st.none(), st.integers(1, 10**6)), ext=st.sampled_from(urls.FORMATS))
def test_paths_from_slugs_are_safe(text: str, day: date, page: int | None, ext: str) -> None:
    slug = slugify(text)
    paths = [
        urls.event_path(day, slug), urls.event_path(day.isoformat(), slug),
        urls.story_path(slug, page), urls.entity_path(slug, page), urls.day_path(day),
        urls.month_path(day.year, day.month),
        urls.feed_path(urls.story_path(slug), "xml"), urls.feed_path(urls.entity_path(slug),
                                                                      "atom"),
        urls.source_path("0123456789abcdef"),
    ]
    for path in paths:
        assert path.startswith("/") and path.isascii()
        segments = path[1:].split("/")
        assert all(segment and segment not in (".", "..") for segment in segments), path
        assert all(len(segment) <= MAX_SLUG + len(".atom") for segment in segments)
        file = urls.file_for(path, ext)
        assert not file.startswith("/") and ".." not in file.split("/")
        assert file == path[1:] + "." + ext
    assert urls.event_path(day, slug) == urls.event_path(day.isoformat(), slug)


@PROPERTIES
@given(title=TEXT)
@example(title="\ud800")  # no UTF-8 for a lone surrogate: quoting it used to raise
def test_wikipedia_url_never_raises_and_is_one_ascii_url(title: str) -> None:
    url = urls.wikipedia_url(title)
    assert url.startswith(urls.WIKIPEDIA) and url.isascii()
    assert not re.search(r"[\s\"<>#?\\]", url)
    assert urls.wikipedia_url(title) == url


URLISH = st.one_of(
    ANY_TEXT,
    st.builds(lambda scheme, host, rest: f"{scheme}{host}{rest}",
              st.sampled_from(["http://", "https://", "HTTP://www.", "//", "", "ftp://"]),
              st.text(st.characters(exclude_categories=()), max_size=30),
              st.text(st.characters(exclude_categories=()), max_size=60)),
)


@PROPERTIES
@given(url=URLISH)
@example(url="http://[")  # an unclosed IPv6 literal: urlsplit raises ValueError
@example(url="http://[::1")
@example(url="http://exa\uff03mple.com/")  # NFKC turns the fullwidth # into a delimiter
def test_url_key_never_raises_and_is_stable(url: str) -> None:
    key = url_key(url)
    assert isinstance(key, str) and url_key(url) == key


@pytest.mark.parametrize(("one", "other"), [
    ("https://www.example.com/a/", "http://example.com/a"),
    ("http://EXAMPLE.com/a?x=1", "https://www.example.com/a?x=1"),
    ("http://[ broken", " http://[ broken "),
])
def test_url_key_equates_what_editors_vary(one: str, other: str) -> None:
    assert url_key(one) == url_key(other)
