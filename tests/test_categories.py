"""Categories as one set across eras: every heading of the real day pages maps to the portal's
current ten names, and pages, filters and exports show that name beside the heading as written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import FIXTURES, HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT

from newscontext import Archive, Settings
from newscontext.ingest import parse_revision
from newscontext.model import PageRevision
from newscontext.portal.categories import CATEGORIES, canonical, key
from newscontext.site import urls
from newscontext.site.pages import Pages
from newscontext.site.render import SiteInfo, markdown
from newscontext.site.render import html as html_render
from newscontext.site.render import json as json_render

CASES = FIXTURES / "categories" / "headings.tsv"
OLD_ERAS = FIXTURES / "wikitext-2003-2015"
WIKITIMES = FIXTURES / "wikitimes" / "wikitimes_CEP_2015-09-01_to_10.json"
SITE = SiteInfo(url="https://news.example.org", generated="2026-01-01T00:00:00Z")


def cases() -> list[tuple[str, str, str]]:
    rows = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            heading, expected, seen = line.split("\t")
            rows.append((heading, expected, seen))
    return rows


def day_headings(folders: list[Path]) -> dict[str, set[str]]:
    """{category heading as parsed: the files it heads events in} over fixture days."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.wiki")) + sorted(folder.glob("*.html")):
            try:
                day = date.fromisoformat(path.stem)
            except ValueError:
                continue
            fmt = "html" if path.suffix == ".html" else "wikitext"
            parsed = parse_revision(PageRevision(day, path.read_text(encoding="utf-8"), fmt,
                                                 str(path)))
            for event in parsed.events:
                if event.category is not None:
                    found.setdefault(event.category, set()).add(f"{folder.name}/{path.name}")
    return found


@pytest.mark.parametrize(("heading", "expected", "seen"), cases(),
                         ids=[f"{h.strip()}->{e}" for h, e, _ in cases()])
def test_heading_maps_to_its_category(heading: str, expected: str, seen: str):
    assert canonical(heading) == expected, seen
    assert canonical(expected) == expected  # a category's name maps to itself


def test_the_ten_are_those_of_the_newest_days():
    """The current names are read from the newest real pages, not assumed."""
    found = day_headings([WIKITEXT, HTML_PARSE_API])
    latest = {h for h, files in found.items()  # the days of September 2025 and March 2026
              if any(f.split("/")[1][:4] in ("2025", "2026") for f in files)}
    assert latest == set(CATEGORIES)
    assert len(CATEGORIES) == 10


def test_every_heading_of_every_era_maps_to_one_of_the_ten():
    found = day_headings([WIKITEXT, OLD_ERAS, HTML_KIWICOPPLE, HTML_PARSE_API, FIXTURES / "quirks"])
    assert {"Health", "Armed attacks and conflicts", "Disasters", "Sport"} <= set(found)
    strays = {h: sorted(files) for h, files in found.items() if canonical(h) not in CATEGORIES}
    assert strays == {}
    table = {heading.strip() for heading, _, _ in cases()}
    assert set(found) <= table  # each heading seen is a case of the table, with its source


def test_wikitimes_category_names_map_to_the_ten():
    records = json.loads(WIKITIMES.read_text(encoding="utf-8"))
    names = {record["category"]["name"] for record in records}
    assert len(names) >= 8
    assert {name: canonical(name) for name in names
            if canonical(name) not in CATEGORIES} == {}


def test_unknown_headings_and_none_stay_as_they_are():
    assert canonical(None) is None
    assert canonical("Religion") == "Religion"
    hostile = "<script>alert('category')</script> Disasters & \"accidents\""
    assert canonical(hostile) == hostile  # not guessed from the words it holds
    assert key("  Law_&_crime: ") == key("law and crime")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    with Archive(Settings(db=tmp_path_factory.mktemp("cat") / "archive.sqlite3")) as opened:
        opened.ingest_paths([WIKITEXT / "2016-01-14.wiki", WIKITEXT / "2017-09-04.wiki"])
        store = opened.store
        with store.transaction():
            for day in store.days():
                store.assign_event_slugs(day, urls.unique_slug, urls.slugify)
            store.assign_story_slugs(urls.unique_slug)
        yield opened


def test_export_gives_the_current_name_and_keeps_the_heading(archive: Archive):
    lines = [a.to_export() for a in archive.events()]
    pairs = {(line["category_heading"], line["category"]) for line in lines}
    assert ("Health", "Health and environment") in pairs
    assert ("Armed attacks and conflicts", "Armed conflicts and attacks") in pairs
    assert all(line["category"] in CATEGORIES for line in lines)
    assert list(lines[0])[:5] == ["id", "date", "category", "category_heading", "stories"]


def test_pages_show_the_current_name(archive: Archive):
    pages = Pages(archive.store, archive.settings)
    day = pages.day(date(2016, 1, 14))
    assert [g.category for g in day.groups if g.category] == [
        g.category for g in day.groups if g.category in CATEGORIES]
    health = next(g for g in day.groups if g.category == "Health and environment")
    assert {e.category_heading for e in health.events} == {"Health"}
    text = markdown.render(day, SITE).decode()
    assert "\n## Health and environment\n" in text and "\n## Health\n" not in text
    html = html_render.render(day, SITE).decode()
    assert "<h2>Health and environment</h2>" in html and "<h2>Health</h2>" not in html
    data = json.loads(json_render.render(day, SITE))
    item = next(g for g in data["groups"] if g["category"] == "Health and environment")
    assert item["events"][0]["category_heading"] == "Health"

    (event_id,) = [e.id for e in health.events][:1]
    page = pages.event(event_id)
    assert (page.category, page.category_heading) == ("Health and environment", "Health")
    html = html_render.render(page, SITE).decode()
    # The search filter and the page name the category by its current name.
    assert ('<span class="category" data-pagefind-filter="category">Health and environment'
            '</span>') in html
    data = json.loads(json_render.render(page, SITE))
    assert (data["category"], data["category_heading"]) == ("Health and environment", "Health")
