"""Feeds, sitemap and search index of a site built from the real fixture days."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT, export_xml, wikitext
from lxml import etree

from newscontext import Archive, Settings
from newscontext.site import urls
from newscontext.site.build import BuildReport
from newscontext.site.manifest import Manifest
from newscontext.site.pages import Pages
from newscontext.site.render.feeds import (
    ROOT_ENTRIES,
    TIMELINE_ENTRIES,
    TITLE_CHARS,
    FeedMaker,
    guid,
)
from newscontext.site.render.sitemap import bucket, sitemap_files

SITE_URL = "https://news.example.org"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
JIHADI = "confirms the death of militant [[Jihadi John]] in an airstrike in November."
REWORDED = "says that militant [[Jihadi John]] died in a November airstrike in [[Raqqa]]."


@dataclass
class Site:
    archive: Archive
    out: Path
    first: BuildReport
    again: BuildReport
    before: dict[str, tuple[bytes, int]]  # feed, sitemap and index files after the first build


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    """Content and modification time of every feed, sitemap and search index file."""
    found = {}
    for pattern in ("feed.*", "stories/*/feed.*", "entities/*/feed.*", "sitemap*.xml",
                    "robots.txt", "search.html", "pagefind/**/*"):
        for path in out.glob(pattern):
            if path.is_file():
                found[str(path.relative_to(out))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


def reword(archive: Archive, tmp: Path) -> str:
    """A newer revision of 2016-01-19 rewording one event; returns the revision's time."""
    stamp = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = wikitext("2016-01-19").replace(JIHADI, REWORDED)
    export = tmp / "reworded.xml"
    export.write_text(export_xml({date(2016, 1, 19): [(900_000_001, stamp, text)]}),
                      encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.changed == 1 and report.added == 0
    return stamp


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    folder = tmp_path_factory.mktemp("feeds")
    archive = Archive(Settings(db=folder / "archive.sqlite3", site_url=SITE_URL + "/"))
    archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
    archive.resolve()
    archive.relate()
    out = folder / "site"
    first = archive.build(out)
    before = snapshot(out)
    again = archive.build(out)
    yield Site(archive, out, first, again, before)
    archive.close()


def jihadi(archive: Archive):
    (found,) = [a for a in archive.events() if "Jihadi John" in a.event.text]
    return found


def parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    return parsed


def event_file(out: Path, link: str) -> Path:
    assert link.startswith(SITE_URL + "/news/") and link.endswith(".html")
    return out / link.removeprefix(SITE_URL + "/")


# -- feeds --------------------------------------------------------------------------------

def test_root_feeds_parse_and_hold_the_newest_events(site: Site):
    rss = parse(site.out / "feed.xml")
    atom = parse(site.out / "feed.atom")
    assert rss.version == "rss20" and atom.version == "atom10"
    live = [a for a in site.archive.events() if not a.removed]
    newest = sorted(live, key=lambda a: (a.event.date, a.position, a.id), reverse=True)
    expected = [guid(a.id) for a in newest[:ROOT_ENTRIES]]
    assert [e.id for e in rss.entries] == expected
    assert [e.id for e in atom.entries] == expected
    texts = {guid(a.id): a.event.text for a in live}
    for entry in rss.entries:
        assert entry.guidislink is False
        assert event_file(site.out, entry.link).is_file()
        # The whole text (the title may be cut), as HTML: RSS readers read it so.
        assert html.unescape(entry.summary) == texts[entry.id]
        assert len(entry.title) <= TITLE_CHARS
        assert entry.published_parsed is not None
    raw = (site.out / "feed.xml").read_text(encoding="utf-8")
    assert raw.count('isPermaLink="false"') == len(expected)
    assert atom.feed.links[0].href == SITE_URL + "/feed.atom"
    for entry in atom.entries:
        assert entry.summary == texts[entry.id]  # a text construct
        assert entry.updated_parsed >= entry.published_parsed
        assert entry.content[0].type == "text/html"
    # Categories: the event's category, then its stories.
    sample = next(a for a in newest[:ROOT_ENTRIES] if a.event.stories and a.event.category)
    (entry,) = [e for e in atom.entries if e.id == guid(sample.id)]
    assert [t.term for t in entry.tags] == [sample.event.category,
                                            *[s.text for s in sample.event.stories]]


def with_pages(site: Site, kind: str) -> dict[str, str]:
    """Name -> slug of the stories (or entities) that have pages."""
    pages = Pages(site.archive.store, site.archive.settings)
    slugs = site.archive.store.story_slugs() if kind == "story" \
        else site.archive.store.entity_slugs()
    return {name: slug for name, slug in slugs.items() if pages.timeline_pages(kind, name)}


def test_every_recent_story_and_subject_with_a_page_has_its_feeds_and_no_other(site: Site):
    """Feeds are made for the stories and subjects with a page whose newest event is within
    `feed_active_days` of the archive's newest day; the others have none (a fresh site)."""
    store = site.archive.store
    pages = Pages(store, site.archive.settings)
    newest = date.fromisoformat(store.day_counts()[-1][0])
    horizon = (newest - timedelta(days=site.archive.settings.feed_active_days)).isoformat()
    quiet = 0
    for kind, slugs, path in (("story", store.story_slugs(), urls.story_path),
                              ("entity", store.entity_slugs(), urls.entity_path)):
        paged = with_pages(site, kind)
        assert 0 < len(paged) < len(slugs)  # subjects of one event, stories of a subject
        for name, slug in slugs.items():
            recent = name in paged and pages.timeline_rows(kind, name)[0][1] >= horizon
            quiet += name in paged and not recent
            for ext in ("xml", "atom"):
                feed = site.out / urls.feed_path(path(slug), ext).lstrip("/")
                assert feed.is_file() is recent, (kind, name)
    assert quiet > 0  # the fixture spans ten years: many subjects are quiet


def test_subject_feed_lists_the_subjects_newest_events(site: Site):
    """Syrian Civil War heads events (a story heading that is one link) and is mentioned in
    others: its one page and feeds list both."""
    store = site.archive.store
    slug = store.entity_slugs()["Syrian Civil War"]
    assert store.story_subjects(["Syrian Civil War"]) == {"Syrian Civil War": "Syrian Civil War"}
    atom = parse(site.out / "entities" / slug / "feed.atom")
    assert atom.feed.title == "Syrian Civil War · newscontext"
    rows = store.events_with_entity("Syrian Civil War")
    live = [row[0] for row in rows if not store.event(row[0]).removed]
    assert [e.id for e in atom.entries] == [guid(i) for i in live[:TIMELINE_ENTRIES]]
    rss = parse(site.out / "entities" / slug / "feed.xml")
    assert rss.feed.link == f"{SITE_URL}/entities/{slug}.html"
    assert not (site.out / "stories" / slug / "feed.xml").exists()


def test_feeds_are_what_feedgen_makes_whole(site: Site):
    """Each entry's XML is made once and put in every feed holding it: the same bytes as
    feedgen making each feed with all its entries."""
    archive = site.archive
    pages = Pages(archive.store, archive.settings)
    fast = FeedMaker(archive.store, archive.settings, pages)
    whole = FeedMaker(archive.store, archive.settings, pages, whole=True)
    assert fast.root() == whole.root()
    compared = entries = 0
    for kind in ("story", "entity"):
        for name in with_pages(site, kind):
            made = fast.timeline(kind, name)
            assert made == whole.timeline(kind, name)
            compared += len(made)
            entries += made[0][1].count(b"<item>")
    assert compared > 100 and entries > compared // 2  # many feeds, entries shared


def test_an_entry_is_dated_by_its_first_revision_or_else_its_day(site: Site, tmp_path: Path):
    """The fixture days are files: no revision times, so an entry is published at midnight
    UTC of its event's day, never when the archive read the file. From an export, at the
    time of the revision that first showed it, and updated at its latest version's."""
    days = {guid(a.id): a.event.date for a in site.archive.events()}
    for entry in parse(site.out / "feed.atom").entries:
        midnight = datetime(*days[entry.id].timetuple()[:3], tzinfo=UTC)
        assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == midnight
    day = date(2016, 1, 19)
    text = wikitext("2016-01-19")
    export = tmp_path / "export.xml"
    export.write_text(export_xml({day: [(100, "2016-01-19T14:02:00Z", text),
                                        (101, "2016-01-20T09:41:00Z",
                                         text.replace(JIHADI, REWORDED))]}), encoding="utf-8")
    with Archive(Settings(db=tmp_path / "timed.sqlite3", site_url=SITE_URL + "/")) as archive:
        archive.ingest_paths([export])
        with archive.store.transaction():
            archive.store.assign_event_slugs(day, urls.unique_slug, urls.slugify)
        feed = FeedMaker(archive.store, archive.settings, Pages(archive.store, archive.settings))
        atom = feedparser.parse(dict(feed.root())["feed.atom"])
        reworded = guid(jihadi(archive).id)
    assert len(atom.entries) == 12
    for entry in atom.entries:
        published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
        updated = datetime(*entry.updated_parsed[:6], tzinfo=UTC)
        assert published == datetime(2016, 1, 19, 14, 2, tzinfo=UTC)
        assert updated == (datetime(2016, 1, 20, 9, 41, tzinfo=UTC) if entry.id == reworded
                           else published)


def test_unchanged_rebuild_leaves_feeds_sitemap_and_index_untouched(site: Site):
    assert site.first.full and not site.again.full
    assert site.again.written == 0
    assert site.again.extras["search_index"] == 0  # no page changed: Pagefind not run
    assert any(name.startswith("entities/") for name in site.before)
    assert snapshot(site.out) == site.before  # byte for byte, and not even rewritten


# -- sitemap -------------------------------------------------------------------------------

def test_sitemap_lists_every_page_once(site: Site):
    tree = etree.parse(str(site.out / "sitemap.xml"))
    assert tree.getroot().tag == f"{SITEMAP_NS}urlset"
    locs = [el.text for el in tree.iter(f"{SITEMAP_NS}loc")]
    assert len(locs) == len(set(locs)) == site.first.extras["sitemap"]
    assert locs[0] == SITE_URL + "/index.html"
    store = site.archive.store
    events = {f"{SITE_URL}{urls.event_path(*where)}.html"
              for where in store.event_slugs().values()}
    assert events <= set(locs)
    for kind, path in (("story", urls.story_path), ("entity", urls.entity_path)):
        listed = {loc for loc in locs if loc.startswith(f"{SITE_URL}{path('')}")}
        assert {f"{SITE_URL}{path(slug)}.html" for slug in with_pages(site, kind).values()} \
            == listed  # not the addresses of stories that lead to their subject's page
    for day in store.days():
        assert f"{SITE_URL}{urls.day_path(day)}.html" in locs
    for loc in locs:
        assert (site.out / loc.removeprefix(SITE_URL + "/")).is_file()
    lastmods = [el.text for el in tree.iter(f"{SITEMAP_NS}lastmod")]
    assert len(lastmods) == len(locs)
    for lastmod in lastmods:
        datetime.strptime(lastmod, "%Y-%m-%dT%H:%M:%SZ")
    robots = (site.out / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in robots


def large_sitemap(site: Site, stamp: str | None = None, **options: bool
                  ) -> tuple[dict[str, bytes], dict, Manifest]:
    """The sitemap of the site as if it had more than 500 URLs (the limit lowered)."""
    manifest = Manifest(site.out, stamp)
    files, state = sitemap_files(manifest, site.archive.store, site.archive.settings,
                                 site.out, limit=500, **options)
    return dict(files), state, manifest


def test_large_sitemap_becomes_an_index_of_parts(site: Site):
    files, state, manifest = large_sitemap(site)
    manifest.close()
    index = etree.fromstring(files.pop("sitemap.xml"))
    files.pop("robots.txt")
    assert index.tag == f"{SITEMAP_NS}sitemapindex"
    parts = [el.text.removeprefix(SITE_URL + "/") for el in index.iter(f"{SITEMAP_NS}loc")]
    assert parts == list(files)  # every part made is listed, in the order made
    # Parts are ranges of paths: the front and about pages, a year of news, stories,
    # entities and sources by their first two characters; a part past the limit is cut.
    assert parts[0] == "sitemap-pages.xml"
    assert "sitemap-news-2016.xml" in parts and "sitemap-stories.xml" in parts
    assert any(p.startswith("sitemap-entities-de") for p in parts)
    locs = []
    for name in parts:
        found = [el.text for el in etree.fromstring(files[name]).iter(f"{SITEMAP_NS}loc")]
        assert 0 < len(found) <= 500
        key = name.removeprefix("sitemap-").removesuffix(".xml")
        for loc in found:  # each URL is in the part its path says
            part = bucket(loc.removeprefix(SITE_URL + "/"))
            assert key == part or (key.rsplit("-", 1)[0] == part and key[-1].isdigit())
        locs += found
    whole = etree.parse(str(site.out / "sitemap.xml"))
    assert sorted(locs) == sorted(el.text for el in whole.iter(f"{SITEMAP_NS}loc"))
    assert len(locs) == len(set(locs))
    assert sum(n for kept in state["parts"].values() for _, _, n in kept) == len(locs)


def test_sitemap_parts_are_ranges_of_paths():
    assert bucket("index.html") == bucket("about.html") == "pages"
    assert bucket("news/2016/01/index.html") == bucket("news/2016/01/19/index.html") == \
        bucket("news/2016/12/31/some-event.html") == "news-2016"
    assert bucket("stories/syrian-civil-war.html") == "stories"
    assert bucket("entities/deir-ez-zor.html") == "entities-de"
    assert bucket("entities/x.html") == "entities-x"  # a one-character slug
    assert bucket("sources/5f76f297beb726ac.html") == "sources-5f"
    for unlisted in ("search.html", "entities/deir-ez-zor/page/2.html",
                     "stories/syrian-civil-war/feed.html", "news/2016/index.html"):
        assert bucket(unlisted) is None


def test_large_sitemap_remakes_only_the_parts_a_change_reaches(site: Site):
    first, state, manifest = large_sitemap(site, "2099-01-01T00:00:00Z", whole=True)
    manifest.save_state({"sitemap": json.dumps(state)})
    manifest.close()
    # A later build changed one entity's page and one day's page.
    slug = site.archive.store.entity_slugs()["Deir ez-Zor"]
    later = Manifest(site.out, "2099-02-01T00:00:00Z")
    later.record(urls.file_for(urls.entity_path(slug), "html"), "changed")
    later.record(urls.file_for(urls.day_path(date(2016, 1, 19)), "html"), "changed")
    later.close()
    again, _, other = large_sitemap(site, "2099-02-02T00:00:00Z", whole=True)
    other.close()
    files, state, manifest = large_sitemap(site, "2099-02-02T00:00:00Z")
    assert set(files) == {f"sitemap-entities-{slug[:2]}.xml", "sitemap-news-2016.xml",
                          "sitemap.xml", "robots.txt"}
    for name, content in files.items():  # the same as remade whole
        assert content == again[name]
        if name.startswith("sitemap-"):
            assert content != first[name] and b"2099-02-01T00:00:00Z" in content
    assert state["stamp"] == "2099-02-02T00:00:00Z"
    # Nothing changed since: no part to remake; the index is the same.
    manifest.save_state({"sitemap": json.dumps(state)})
    manifest.close()
    files, _, manifest = large_sitemap(site, "2099-02-03T00:00:00Z")
    manifest.close()
    assert set(files) == {"sitemap.xml", "robots.txt"}
    assert files["sitemap.xml"] == again["sitemap.xml"]


def test_sitemap_is_made_whole_when_its_limit_changed(site: Site):
    """The test above left the state of a lowered limit: the real one remakes it all."""
    manifest = Manifest(site.out)
    real, state = sitemap_files(manifest, site.archive.store, site.archive.settings,
                                site.out)
    manifest.close()
    assert "parts" not in state and dict(real)["sitemap.xml"].count(b"<url>") > 500


# -- search -------------------------------------------------------------------------------

def test_search_index_and_page(site: Site):
    bundle = site.out / "pagefind"
    for name in ("pagefind.js", "pagefind-ui.js", "pagefind-ui.css", "pagefind-entry.json"):
        assert (bundle / name).is_file(), name
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    pages = sum(lang["page_count"] for lang in entry["languages"].values())
    assert pages == site.first.extras["search_index"]
    assert pages >= len(site.archive.store.event_slugs())  # every event page at least
    assert any((bundle / "fragment").iterdir()) and any((bundle / "index").iterdir())
    for lang in entry["languages"].values():  # the entry names index files that exist
        assert (bundle / f"pagefind.{lang['hash']}.pf_meta").is_file()
    page = (site.out / "search.html").read_text(encoding="utf-8")
    # Its script (copied with the site) loads Pagefind's UI from the bundle the page names
    # when no live server answers (tests/test_search_page.py runs it in Chromium).
    assert '<script src="/static/search.js" defer></script>' in page
    assert 'data-bundle="/pagefind/"' in page and (site.out / "static" / "search.js").is_file()
    assert "<noscript>" in page and "JavaScript" in page
    assert not list(site.out.glob(".newscontext/pagefind-new*"))  # staging cleaned up


# -- an edited event ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def edited(site: Site, tmp_path_factory):
    """The site after an incremental build that follows a rewording of one event."""
    archive = site.archive
    event = jihadi(archive)
    slug = archive.store.entity_slugs()["Syrian Civil War"]  # the event's story: a subject
    feed = site.out / "entities" / slug / "feed.atom"
    before = parse(feed)
    before_rss = parse(site.out / "entities" / slug / "feed.xml")
    stamp = reword(archive, tmp_path_factory.mktemp("edit"))
    report = archive.build(site.out)
    return event, before, before_rss, parse(feed), parse(site.out / "entities" / slug /
                                                         "feed.xml"), stamp, report


def test_edited_event_keeps_its_guid_and_shows_as_updated(edited):
    event, before, before_rss, after, after_rss, stamp, report = edited
    assert not report.full
    (old,) = [e for e in before.entries if e.id == guid(event.id)]
    (new,) = [e for e in after.entries if e.id == guid(event.id)]
    assert "died in a November airstrike in Raqqa" in new.title
    assert "confirms the death" in old.title
    assert new.published == old.published  # first seen: unchanged
    assert new.updated != old.updated
    assert datetime(*new.updated_parsed[:6], tzinfo=UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ") == stamp  # the revision of the latest version
    assert after.feed.updated_parsed >= new.updated_parsed
    assert new.link != old.link and new.link.endswith(
        "/isil-says-that-militant-jihadi-john-died-in-a-november-airstrike-in-raqqa.html")
    (old_rss,) = [e for e in before_rss.entries if e.id == guid(event.id)]
    (new_rss,) = [e for e in after_rss.entries if e.id == guid(event.id)]
    assert old_rss.published == new_rss.published and new_rss.guidislink is False


def test_edit_updates_only_the_feeds_it_reaches(site: Site, edited):
    report = edited[-1]
    # The root feeds plus those of the event's story and entities, not every timeline.
    assert 0 < report.feeds < 20
    assert report.extras["search_index"] > 0  # its page changed: indexed again
    fragments = list((site.out / "pagefind" / "fragment").iterdir())
    assert len(fragments) == report.extras["search_index"]  # the old bundle's files removed
    now = snapshot(site.out)
    changed = {name for name in now if name in site.before and now[name] != site.before[name]}
    slug = site.archive.store.entity_slugs()["Syrian Civil War"]
    assert f"entities/{slug}/feed.atom" in changed
    untouched = [name for name in site.before
                 if name.startswith("entities/") and name not in changed]
    assert len(untouched) > 100
    locs = (site.out / "sitemap.xml").read_text(encoding="utf-8")
    assert "isil-says-that-militant-jihadi-john" in locs
    assert "isil-confirms-the-death-of-militant-jihadi-john" not in locs  # now a redirect
