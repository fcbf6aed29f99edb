"""Browsing by date: year pages (their path, their place in the build's plan, their four
formats) and the calendars of months and years, on the real fixture days."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT
from jsonschema import Draft202012Validator
from lxml import etree

from newscontext import Archive, Settings
from newscontext.site import urls
from newscontext.site.build import Plan, describe, render_job
from newscontext.site.model import DayCount, Ref
from newscontext.site.pages import Pages
from newscontext.site.render import SiteInfo, render
from newscontext.site.render.html import calendar_weeks

SITE = SiteInfo(url="https://news.example.org", generated="2026-01-01T00:00:00Z")
SCHEMA = Path(__file__).parents[1] / "src" / "newscontext" / "site" / "schema" / "page.schema.json"
YEARS = [2016, 2017, 2019, 2021, 2025, 2026]  # of the fixture days


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    archive = Archive(Settings(db=tmp_path_factory.mktemp("browse") / "archive.sqlite3"))
    archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
    archive.resolve()
    with archive.store.transaction():
        for day in archive.store.days():
            archive.store.assign_event_slugs(day, urls.unique_slug, urls.slugify)
        archive.store.assign_story_slugs(urls.unique_slug)
    yield archive
    archive.close()


def test_year_paths_round_trip():
    assert urls.year_path(2016) == "/news/2016/index"
    assert urls.parse_path("/news/2016/index") == ("year", 2016)
    assert urls.path_of(("year", 2016)) == "/news/2016/index"
    assert urls.parse_file("news/2016/index.xml") == (("year", 2016), "xml")
    for wrong in ("/news/0000/index", "/news/16/index", "/news/2016/index/", "/news/2016"):
        assert urls.parse_path(wrong) is None, wrong


def test_every_year_with_events_has_a_page_in_the_plan(archive: Archive):
    pages = Pages(archive.store, archive.settings)
    plan = Plan(archive.store, pages)
    jobs = list(plan.everything())
    assert [job for job in jobs if job[0] == "year"] == [("year", y) for y in YEARS]
    assert all(plan.has(("year", y)) for y in YEARS)
    assert not plan.has(("year", 2018)) and not plan.has(("year", 2030))
    assert describe(("year", 2016)) == "/news/2016/index"


def test_a_changed_day_reaches_its_year_page_only(archive: Archive):
    pages = Pages(archive.store, archive.settings)
    plan = Plan(archive.store, pages)
    event = next(a.id for a in archive.events() if a.event.date == date(2021, 5, 4))
    years = [job for job in plan.changed({event}, set()) if job[0] == "year"]
    assert years == [("year", 2021)]
    # the first day of a year changes the year before (its last day's next link) too
    first = next(a.id for a in archive.events() if a.event.date == min(
        d for d in plan.days if d.year == 2021))
    assert [job for job in plan.changed({first}, set()) if job[0] == "year"] == \
        [("year", 2019), ("year", 2021)]


def test_year_page_in_four_formats(archive: Archive):
    pages = Pages(archive.store, archive.settings)
    plan = Plan(archive.store, pages)
    page = render_job(pages, plan, ("year", 2021))
    assert page.path == "/news/2021/index" and page.title == "2021"
    assert (page.previous, page.next) == (Ref("2019", "/news/2019/index"),
                                         Ref("2025", "/news/2025/index"))
    assert [m.number for m in page.months] == [5]
    assert page.events == sum(d.events for d in page.months[0].days) == \
        sum(n for d, n in archive.store.day_counts() if d.startswith("2021"))
    data = json.loads(render(page, "json", SITE))
    validator = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert list(validator.iter_errors(data)) == []
    assert data["kind"] == "year" and data["months"][0]["month"]["url"] == \
        "https://news.example.org/news/2021/05/index.json"
    root = etree.fromstring(render(page, "xml", SITE))
    assert root.get("kind") == "year"
    assert root.findtext("months/month/number") == "5"
    assert len(root.findall("months/month/days/day")) == len(page.months[0].days)
    text = render(page, "md", SITE).decode("utf-8")
    assert text.startswith("# 2021\n") and "[May 2021](/news/2021/05/index.md)" in text
    assert "← [2019](/news/2019/index.md)" in text
    html = render(page, "html", SITE).decode("utf-8")
    assert html.count('<table class="calendar small">') == 12
    assert html.count('<caption class="vh">') == 12
    month = render_job(pages, plan, ("month", 2021, 5))
    assert month.year_page == Ref("2021", "/news/2021/index")
    assert '<a href="/news/2021/index.html">All of 2021</a>' in render(month, "html", SITE).decode()
    front = render_job(pages, plan, ("front",))
    assert [item.year.title for item in front.years] == [str(y) for y in YEARS]


def test_calendar_weeks_run_monday_to_sunday():
    days = [DayCount(Ref(f"2026-03-0{d}", urls.day_path(date(2026, 3, d))), n)
            for d, n in ((6, 26), (7, 19), (8, 28), (9, 20))]
    weeks = calendar_weeks(2026, 3, days)
    assert len(weeks) == 6 and all(len(week) == 7 for week in weeks)
    assert [cell.day for cell in weeks[0][:6]] == [None] * 6  # 1 March 2026 is a Sunday
    assert weeks[0][6].day == date(2026, 3, 1) and weeks[0][6].events == 0
    busy = [cell for week in weeks for cell in week if cell.events]
    assert [(c.day.day, c.events, c.path) for c in busy] == [
        (6, 26, "/news/2026/03/06/index"), (7, 19, "/news/2026/03/07/index"),
        (8, 28, "/news/2026/03/08/index"), (9, 20, "/news/2026/03/09/index")]
    assert [c.level for c in busy] == [4, 3, 4, 3]  # shades by the busiest day (28)
    assert weeks[-1][1].day == date(2026, 3, 31) and weeks[-1][2].day is None
