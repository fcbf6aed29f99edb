"""Static build: every page in every format, written only when its content changed.

The first build renders everything. Later builds ask the store what changed since the last
complete build (events, related lists, articles) and render only the pages those changes
can reach: the events' own pages, their days, months, stories and entities, the pages that
show them as related, and the old paths of reworded events (as redirects). A manifest of
content hashes keeps unchanged files untouched. Files are replaced atomically; the build's
state is saved only after every file is written, so a killed build leaves every file whole
and the next build redoes what the killed one had not finished.

Pages that stop existing are deleted: a story or an entity left with no event (its last
mention reworded away, or moved to another story) loses its pages and feeds, a timeline that
shrinks loses its last numbered pages, and a source no event cites any more loses its page.
The manifest keeps a tombstone for each deleted file (so the sitemap and a publish learn of
it). A full build deletes every file of an earlier build that it did not make. Event pages
are never deleted: a removed event keeps its page, and an old path its redirect.

A page whose rendering fails (whatever text it holds) is reported, one line naming it, and
skipped; the build goes on, and the next build tries that page again. Build processes hold
no lock and die with the build that started them, so a killed build never blocks the next.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path

from ..lock import Busy, FileLock
from ..settings import Settings
from ..store import Store
from ..workers import fork_pool
from . import redirects, urls
from .manifest import STATE_DIR, Manifest, Writer
from .model import Page, RedirectPage
from .pages import FRONT_DAYS, Pages
from .render import SiteInfo, render
from .render.feeds import FeedMaker
from .timelines import page_rows
from .urls import slugify, unique_slug

log = logging.getLogger("newscontext.build")

STATIC = Path(__file__).parent / "render" / "static"
# Folders whose files a full build leaves alone: the search index replaces its own files
# (and a build without search keeps the last index).
KEEP = ("pagefind/", "media/")  # media/: picture copies, written by their extra (media.py)
DAY_FIRST = 1 << 30  # a plan key's position that comes before every event of the day


@dataclass
class BuildReport:
    full: bool = False
    pages: int = 0
    feeds: int = 0  # stories and entities whose feeds were made
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    seconds: float = 0.0
    extras: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # one line per page not made


# A page to build, named so it can be listed, compared and sent to another process.
Job = tuple


class Shared:
    """What a build's extras share, made once per build when one first asks for it: the
    redirect map (`_redirects` lists it, the sitemap leaves its old paths out; it reads
    every story heading, subject and old path). The map is kept in the site's state folder
    under `key` (a digest of the archive's change counter, the site's and the store's code,
    the window and the settings), so a build after which nothing changed reads it back
    instead of making it again."""

    KEPT = "redirect-map.json"

    def __init__(self, store: Store, settings: Settings, outdir: Path | None = None,
                 key: str = ""):
        self.store = store
        self.settings = settings
        self.kept = outdir / STATE_DIR / self.KEPT if outdir is not None and key else None
        self.key = key
        self._redirect_map: dict[str, str] | None = None

    def redirect_map(self) -> dict[str, str]:
        """Old path -> current path (see `redirects.redirect_map`)."""
        if self._redirect_map is None:
            self._redirect_map = self._read_kept()
        if self._redirect_map is None:
            self._redirect_map = redirects.redirect_map(self.store, self.settings)
            self._keep(self._redirect_map)
        return self._redirect_map

    def _read_kept(self) -> dict[str, str] | None:
        if self.kept is None:
            return None
        try:
            data = json.loads(self.kept.read_bytes())
        except (OSError, ValueError):
            return None  # none yet, or unreadable: made again
        if not isinstance(data, dict) or data.get("key") != self.key:
            return None
        found = data.get("map")
        return found if isinstance(found, dict) else None

    def _keep(self, found: dict[str, str]) -> None:
        """Kept for the next build; one that cannot be kept is made again then."""
        if self.kept is None:
            return
        aside = self.kept.with_name(self.KEPT + ".new")
        try:
            aside.write_text(json.dumps({"key": self.key, "map": found}, ensure_ascii=False),
                             encoding="utf-8")
            os.replace(aside, self.kept)  # whole or not at all: a killed build leaves the old
        except OSError as exc:
            log.warning("%s: cannot keep the redirect map: %s", self.kept, exc.strerror or exc)
            aside.unlink(missing_ok=True)


# A build extra: a step after the pages (the sitemap, `_redirects`, ...) that writes its
# files through the build's writer and returns a count for the report.
Extra = Callable[[Store, Settings, Path, Writer, Shared], int]


class Plan:
    """Which pages a build renders, derived from the store."""

    def __init__(self, store: Store, pages: Pages, manifest: Manifest | None = None):
        self.store = store
        self.pages = pages
        self.manifest = manifest  # what an earlier build made: for `gone`
        self.counts = dict(pages.day_counts())
        self.days = [date.fromisoformat(d) for d in self.counts]
        self._day_index = {d: i for i, d in enumerate(self.days)}
        self._cited: dict[str, list[tuple[str, str, str]]] | None = None
        self._some_cited: dict[str, list[tuple[str, str, str]]] = {}
        self.gone: list[str] = []  # files of pages that no longer exist (found by `changed`)
        self.kept_feeds: list[list[str]] = []  # feeds of quiet timelines, left as they are

    @property
    def cited(self) -> dict[str, list[tuple[str, str, str]]]:
        """Fetched source URL -> the events citing it (read once per build)."""
        if self._cited is None:
            self._cited = self.store.cited_sources()
        return self._cited

    def citing(self, url: str) -> list[tuple[str, str, str]]:
        """The events citing a source (read with others for an incremental build)."""
        if self._cited is None and url in self._some_cited:
            return self._some_cited[url]
        return self.cited.get(url, [])

    def neighbours(self, day: date) -> tuple[date | None, date | None]:
        i = self._day_index[day]
        return (self.days[i - 1] if i else None,
                self.days[i + 1] if i + 1 < len(self.days) else None)

    def months(self) -> list[tuple[int, int]]:
        return sorted({(d.year, d.month) for d in self.days})

    def years(self) -> list[int]:
        return sorted({d.year for d in self.days})

    def year_counts(self) -> list[tuple[int, int]]:
        """(year, live events) of every year with events, oldest first."""
        totals: dict[int, int] = {}
        for day in self.days:
            totals[day.year] = totals.get(day.year, 0) + self.counts[day.isoformat()]
        return sorted(totals.items())

    def has(self, job: Job) -> bool:
        """Whether `everything` plans this page, asked of one page (the live server answers
        a path with it) without reading the whole archive. Keep the two in step: the live
        server's tests compare its answers with every file a full build writes."""
        kind = job[0]
        if kind in ("front", "about") or job[:2] == ("feed", "root"):
            return True
        if kind == "day":
            return job[1] in self._day_index
        if kind == "month":
            return any((d.year, d.month) == (job[1], job[2]) for d in self.days)
        if kind == "year":
            return any(d.year == job[1] for d in self.days)
        if kind == "event":
            return job[1] in self.pages.event_where
        if kind in ("story", "entity"):
            return job[2] in self.pages.timeline_pages(kind, job[1])
        if kind == "feed":
            return bool(self.pages.timeline_pages(job[1], job[2]))
        if kind == "source":
            return bool(self.citing(job[1]))
        if kind == "moved":
            return self.pages.moved(job[1], job[2]) is not None
        return False

    def everything(self) -> Iterator[Job]:
        """Every page. The pages listing events (days, stories, entities) come in the order
        of the newest event each lists, newest first, a day before the timelines of its
        events: the pages listing the same events come together, while a build process still
        keeps those events' listings made (ITEMS_KEPT), so few are made twice. Event pages
        go with their day, so that any run of the plan holds pages of every kind."""
        self.pages.read_everything()
        yield from self.fixed()
        dated: list[tuple[tuple[str, int], Job]] = []
        for day in self.days:
            dated.append(((day.isoformat(), DAY_FIRST), ("day", day)))
        for event_id, (day, _) in self.pages.event_where.items():
            dated.append(((day, DAY_FIRST), ("event", event_id)))
        for name in self.pages.story_slug:
            dated += self._dated_timeline("story", name)
        entities = self.pages.entity_slug
        for name, day, position in self.store.entities_newest_event():
            if name in entities:
                dated += self._dated_timeline("entity", name, (day, position))
        dated.sort(key=itemgetter(0), reverse=True)  # stable: the order above within a key
        yield from (job for _, job in dated)
        for year, month in self.months():
            yield ("month", year, month)
        for year in self.years():
            yield ("year", year)
        for url in self.cited:
            yield ("source", url)
        yield from self.redirects(None)
        for name in self.pages.story_slug:  # stories that are their subject's page
            if self.pages.moved("story", name):
                yield ("moved", "story", name)
        for name in self.pages.entity_subject:  # titles now another subject's
            if self.pages.moved("entity", name):
                yield ("moved", "entity", name)

    def _dated_timeline(self, kind: str, name: str, newest: tuple[str, int] | None = None
                        ) -> list[tuple[tuple[str, int], Job]]:
        """A timeline's pages, each with the (date, position) of the newest event it lists;
        the feeds go with the main page. `newest`: the timeline's newest event, known."""
        pages = self.pages.timeline_pages(kind, name)
        if not pages:  # a story whose events all moved to other headings
            return []
        numbered = pages[1:]
        rows = self.pages.timeline_rows(kind, name) if numbered or newest is None else []
        if rows:
            newest = rows[0][1:]
        key = newest or ("", 0)
        dated: list[tuple[tuple[str, int], Job]] = [(key, (kind, name, None))]
        if self.recent(key[0]):
            dated.append((key, ("feed", kind, name)))
        else:  # kept as an earlier build made it, if one did
            self.kept_feeds.append(self._feed_files(kind, name))
        for page in numbered:
            dated.append((page_rows(rows, page)[0][1:], (kind, name, page)))
        return dated

    def fixed(self) -> Iterator[Job]:
        """The pages any change reaches: the front and about pages and the root feeds."""
        yield ("front",)
        yield ("about",)
        yield ("feed", "root", "")

    def redirects(self, days: Iterable[str] | None) -> Iterator[Job]:
        for day, slug, event_id in self.store.old_event_paths(days):
            yield ("redirect", urls.event_path(day, slug), event_id)

    def changed(self, events: set[str], extra_event_pages: set[str],
                new_articles: Iterable[str] = ()) -> Iterator[Job]:
        """The pages that changed events and newly archived articles can reach; the files
        of pages they make cease to exist are added to `gone`."""
        yield from self.fixed()
        days = {date.fromisoformat(d) for d in self.store.slug_dates(events)}
        for event_id in events:
            archived = self.store.event(event_id)
            if archived is not None:
                days.add(archived.event.date)
        touched_years = {d.year for d in days}  # a day left with no event changes its year too
        days = {d for d in days if d in self._day_index}
        near = set(days)
        for day in days:  # a new day changes its neighbours' previous/next links
            near.update(d for d in self.neighbours(day) if d)
        for day in sorted(near):
            yield ("day", day)
        months = {(d.year, d.month) for d in near}
        for year, month in self.months():
            if (year, month) in months or any(
                    abs((year * 12 + month) - (y * 12 + m)) == 1 for y, m in months):
                yield ("month", year, month)
        # A year's page shows its days' counts; a year new or gone changes its neighbours'
        # previous/next links (the neighbouring days are in `near`).
        touched_years |= {d.year for d in near}
        for year in self.years():
            if year in touched_years:
                yield ("year", year)
        for event_id in sorted(events | extra_event_pages):
            if event_id in self.pages.event_where:
                yield ("event", event_id)
        yield from self._timelines(events)
        yield from self._sources(events, new_articles)
        yield from self.redirects(sorted(d.isoformat() for d in days))

    def touched(self, events: set[str]) -> tuple[set[str], set[str]]:
        """The stories and entities whose pages list these events, or did before."""
        stories: set[str] = set()
        entities: set[str] = set()
        for event_id in events:
            archived = self.store.event(event_id)
            if archived is None:
                continue
            stories.update(s.text for s in archived.event.stories)
            entities.update(self.store.context(event_id))
            for version in self.store.versions(event_id)[-2:]:
                # A story or entity the event has just left lists it no more.
                stories.update(version.stories)
                entities.update(self.store.canonical(version.targets))
                entities.update(version.targets)  # an entity a title stood for until resolved
        return stories, entities

    def reach_of_new_pages(self, events: set[str]) -> set[str]:
        """The events whose listings must be made again because a subject they mention has
        just gained or lost its page (at `subject_min_events`): every mention of it now
        links to the page, or to Wikipedia."""
        if self.manifest is None:
            return set()
        _, entities = self.touched(events)
        self.pages.want_subjects(entities)
        reach: set[str] = set()
        for name in sorted(entities):
            slug = self.pages.entity_slug.get(name)
            if slug is None:
                continue
            had = bool(self.manifest.existing(urls.file_for(urls.entity_path(slug), "html")))
            if had != self.pages.has_page(name):
                reach.update(row[0] for row in self.store.events_with_entity(name))
        return reach - events

    def reach_of_new_filters(self, changed: Iterable[str]) -> tuple[set[str], list[Job]]:
        """The event pages, and the subjects' own pages, to make again because these
        subjects entered or left the search's subject filters (they are the most frequent
        subjects: new events change which they are)."""
        changed = set(changed)
        events: set[str] = set()
        jobs: list[Job] = []
        self.pages.want_subjects(changed)
        for name in sorted(changed):
            events.update(row[0] for row in self.store.events_with_entity(name))
            if self.pages.has_page(name):
                jobs.append(("entity", name, None))
        return events, jobs

    def _timelines(self, events: set[str]) -> Iterator[Job]:
        stories, entities = self.touched(events)
        for kind, names, slugs in (("story", stories, self.pages.story_slug),
                                   ("entity", entities, self.pages.entity_slug)):
            slugs.want(names)
            for name in sorted(n for n in names if n in slugs):
                yield from self._timeline_pages(kind, name)

    def recent(self, day: str) -> bool:
        """Whether a timeline whose newest event is of `day` has its feeds made: a subject
        quiet for longer than `feed_active_days` keeps the feeds it had (no reader waits
        for their news; at archive scale they would be a third of the site's files)."""
        if not self.days:
            return True
        horizon = self.days[-1] - timedelta(days=self.pages.settings.feed_active_days)
        return day >= horizon.isoformat()

    def _feed_files(self, kind: str, name: str) -> list[str]:
        slug = (self.pages.story_slug if kind == "story" else self.pages.entity_slug)[name]
        main = (urls.story_path if kind == "story" else urls.entity_path)(slug)
        return [urls.feed_path(main, ext).lstrip("/") for ext in ("xml", "atom")]

    def _timeline_pages(self, kind: str, name: str) -> Iterator[Job]:
        """Every page of the timeline (each carries the timeline's count, chart and pager,
        which any change to it alters), then its feeds (of a recent timeline); the files of
        pages it no longer has (all of them when it has no event left) are gone."""
        pages = self.pages.timeline_pages(kind, name)
        for page in pages:
            yield (kind, name, page)
        rows = self.pages.timeline_rows(kind, name) if pages else []
        if rows and self.recent(rows[0][1]):
            yield ("feed", kind, name)
        slug = (self.pages.story_slug if kind == "story" else self.pages.entity_slug)[name]
        make = urls.story_path if kind == "story" else urls.entity_path
        main = make(slug)
        kept = {urls.file_for(make(slug, page), fmt) for page in pages for fmt in urls.FORMATS}
        if pages:
            kept |= {urls.feed_path(main, ext).lstrip("/") for ext in ("xml", "atom")}
        if self.pages.moved(kind, name):  # its address leads to another subject's page
            yield ("moved", kind, name)
            kept |= {urls.file_for(main, fmt) for fmt in urls.FORMATS}
        self._forget(kept, f"{main.lstrip('/')}.", f"{main.lstrip('/')}/")

    def _sources(self, events: set[str], new_articles: Iterable[str]) -> Iterator[Job]:
        """Source pages list the events citing them: those of the changed events' sources
        (as cited now and before) and of new articles are made again, or gone when no
        event cites them any more."""
        wanted = set(new_articles)
        for event_id in events:
            archived = self.store.event(event_id)
            if archived is not None:
                wanted.update(source.url for source in archived.event.sources)
            for version in self.store.versions(event_id)[-2:]:
                wanted.update(source.url for source in version.sources)
        if not wanted:
            return
        self._some_cited = self.store.cited_sources(wanted)
        known = self.store.source_articles(wanted)
        for url in sorted(wanted):
            if url in self._some_cited:
                yield ("source", url)
            elif url in known:
                main = urls.source_path(known[url]["hash"]).lstrip("/")
                self._forget(set(), f"{main}.")

    def _forget(self, kept: set[str], *prefixes: str) -> None:
        """The files an earlier build made under these prefixes, but `kept`, are gone."""
        if self.manifest is not None:
            self.gone += [path for prefix in prefixes for path in self.manifest.existing(prefix)
                          if path not in kept]


def render_job(pages: Pages, plan: Plan, job: Job) -> Page:
    kind = job[0]
    if kind == "front":
        shown = plan.days[-FRONT_DAYS:][::-1]
        return pages.front([(d, plan.neighbours(d)) for d in shown], plan.year_counts())
    if kind == "about":
        return pages.about()
    if kind == "day":
        return pages.day(job[1], plan.neighbours(job[1]))
    if kind == "month":
        year, month = job[1], job[2]
        counts = [(d, plan.counts[d.isoformat()]) for d in plan.days
                  if (d.year, d.month) == (year, month)]
        months = plan.months()
        i = months.index((year, month))
        return pages.month(year, month, counts, months[i - 1] if i else None,
                           months[i + 1] if i + 1 < len(months) else None)
    if kind == "year":
        counts = [(d, plan.counts[d.isoformat()]) for d in plan.days if d.year == job[1]]
        years = plan.years()
        i = years.index(job[1])
        return pages.year(job[1], counts, years[i - 1] if i else None,
                          years[i + 1] if i + 1 < len(years) else None)
    if kind == "event":
        return pages.event(job[1])
    if kind in ("story", "entity"):
        return pages.timeline(kind, job[1], job[2])
    if kind == "source":
        cited = plan.citing(job[1])
        return pages.source(job[1], [(i, t) for i, t, _ in cited],
                            cited[0][2] if cited else None)
    if kind == "redirect":
        target = pages.event_where.get(job[2])
        destination = urls.event_path(*target) if target else urls.FRONT
        return RedirectPage(path=job[1], title="Moved", target=destination)
    if kind == "moved":
        moved = pages.moved(job[1], job[2])
        if moved is None:
            raise KeyError(job[2])  # no longer another's page: the next build sees it
        make, slugs = ((urls.story_path, pages.story_slug) if job[1] == "story"
                       else (urls.entity_path, pages.entity_slug))
        return RedirectPage(path=make(slugs[job[2]]), title="Moved", target=moved.path)
    raise ValueError(f"unknown page kind {kind!r}")


PARALLEL_FROM = 500  # pages: below this, starting processes costs more than it saves
_WORK: tuple | None = None  # what forked build processes read


def split(jobs: list[Job], count: int) -> list[list[Job]]:
    """The jobs shared between `count` processes: each takes a run of the plan, as many jobs
    as the others (the pages of a run list the same events, whose listings a process keeps
    made; see Plan.everything)."""
    return [jobs[len(jobs) * n // count : len(jobs) * (n + 1) // count] for n in range(count)]


def describe(job: Job, pages: Pages | None = None) -> str:
    """A job as a reader would name its page: its path (without a format) where the slug
    tables know it, and what it shows."""
    kind = job[0]
    if kind == "feed":
        if job[1] == "root":
            return f"{urls.FEED_RSS} and {urls.FEED_ATOM}"
        return f"feeds of the {job[1]} {job[2]!r}"
    if kind in ("front", "about"):
        return urls.FRONT if kind == "front" else urls.ABOUT
    if kind == "day":
        return urls.day_path(job[1])
    if kind == "month":
        return urls.month_path(job[1], job[2])
    if kind == "year":
        return urls.year_path(job[1])
    if kind == "redirect":
        return f"{job[1]} (redirect)"
    if kind == "moved":
        return f"the {job[1]} {job[2]!r} (a redirect to its subject)"
    path = None
    with contextlib.suppress(Exception):  # the store may be what failed
        if kind == "event" and pages is not None:
            where = pages.event_where.get(job[1])
            path = urls.event_path(*where) if where else None
        elif kind in ("story", "entity") and pages is not None:
            slug = (pages.story_slug if kind == "story" else pages.entity_slug).get(job[1])
            make = urls.story_path if kind == "story" else urls.entity_path
            path = make(slug, job[2]) if slug else None
    what = f"{kind} {job[1]!r}"
    if kind in ("story", "entity") and job[2]:
        what += f" page {job[2]}"
    return f"{path} ({what})" if path else what


def _reason(exc: BaseException, limit: int = 300) -> str:
    """The exception on one short printable line."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A failure: the job to try again and the line that reports it.
Failure = tuple[Job, str]


def encode_jobs(jobs: Iterable[Job]) -> str:
    """Jobs as JSON (kept in the build state; a day is {"date": ISO})."""
    return json.dumps([[{"date": part.isoformat()} if isinstance(part, date) else part
                        for part in job] for job in jobs], ensure_ascii=False)


def decode_jobs(text: str) -> list[Job]:
    return [tuple(date.fromisoformat(part["date"]) if isinstance(part, dict) else part
                  for part in job) for job in json.loads(text)]


def _render_jobs(pages: Pages, plan: Plan, jobs: list[Job], formats: tuple[str, ...],
                 site: SiteInfo, writer: Writer, settings: Settings
                 ) -> tuple[int, int, list[Failure]]:
    """Render and write the jobs' files; returns how many pages and feeds were made, and
    the failures: whatever a page holds, one that cannot be made is left out (its files as
    they were) and the others are made."""
    done = made = 0
    failed: list[Failure] = []
    feeds: FeedMaker | None = None
    batch: list[tuple[str, bytes]] = []
    for job in jobs:
        try:
            if job[0] == "feed":
                feeds = feeds or FeedMaker(pages.store, settings, pages)
                if job[1] == "root":
                    batch += feeds.root()
                else:
                    batch += feeds.timeline(job[1], job[2])
                    made += 1
            else:
                page = render_job(pages, plan, job)
                batch += [(urls.file_for(page.path, fmt), render(page, fmt, site))
                          for fmt in formats]  # every format or none: a page stays whole
                done += 1
        except KeyError as exc:  # a page whose subject vanished mid-build: next build
            log.warning("skipped %s: %s", job, exc)
            continue
        except Exception as exc:  # reported; tried again next build
            line = f"{describe(job, pages)}: {_reason(exc)}"
            log.debug("cannot make %s", line, exc_info=True)
            failed.append((job, line))
            continue
        if len(batch) >= 400:
            writer.write_many(batch)
            batch.clear()
    writer.write_many(batch)
    return done, made, failed


def _build_share(index: int) -> tuple[tuple[int, int, list[Failure]], int, int]:
    """One process's part of a build (see `split`), from its own store connection,
    recording what it wrote in the manifest itself (a file's record is true once the
    file is written; the build's state is saved by the main process, last)."""
    assert _WORK is not None
    stack = contextlib.ExitStack()
    db, settings, outdir, formats, site, shares, stamp, full, window, filters = _WORK
    store = Store(db)
    manifest = Manifest(outdir, stamp)
    try:
        stack.enter_context(store.window(window))
        pages = Pages(store, settings, filters)
        if full:
            pages.read_everything()  # as the main process did to plan it
        plan = Plan(store, pages)
        writer = Writer(outdir, manifest)
        writer.full = full
        done = _render_jobs(pages, plan, shares[index], formats, site, writer,
                            settings)
        return done, writer.written, writer.unchanged
    finally:
        stack.close()
        manifest.close()
        store.close()


def build(store: Store, settings: Settings, outdir: Path, *, full: bool = False,
          formats: tuple[str, ...] = urls.FORMATS, since: date | None = None,
          extras: Iterable[Extra] = ()) -> BuildReport:
    """Build the site into `outdir`; see the module docstring. `since`: a site of the days
    from then on only (the archive as if it began that day)."""
    started = time.perf_counter()
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / STATE_DIR).mkdir(exist_ok=True)
    lock = folder_lock(outdir)
    try:  # one build at a time per folder (a cron run may overlap a manual one)
        lock.acquire(wait=False)
    except Busy:
        raise BuildBusy(f"another build is writing {outdir}; try again when it ends") from None
    try:
        return _build(store, settings, outdir, full=full, formats=formats, since=since,
                      extras=extras, started=started)
    finally:
        lock.release()


def folder_lock(outdir: Path) -> FileLock:
    """The lock of a site folder: held by a build, and by a publish while it lists the
    build's files."""
    return FileLock(outdir / STATE_DIR / "lock", str(outdir))


def _fingerprint(root: Path, suffixes: tuple[str, ...]) -> str:
    """A digest of the files under `root` with these suffixes, names and contents."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in suffixes:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def renderer() -> str:
    """A fingerprint of what makes the pages: this package's site code, templates and static
    files (a build after an upgrade that changed them is full)."""
    return _fingerprint(Path(__file__).parent, (".py", ".html", ".css", ".js", ".json"))


@functools.cache
def store_code() -> str:
    """A fingerprint of the store's code: what the redirect map reads is its queries."""
    return _fingerprint(Path(__file__).parent.parent / "store", (".py",))


class BuildError(RuntimeError):
    """A build that could not finish; the next one completes it."""


class BuildBusy(BuildError):
    """Another build holds the output folder."""


def _build(store: Store, settings: Settings, outdir: Path, *, full: bool,
           formats: tuple[str, ...], since: date | None, extras: Iterable[Extra],
           started: float) -> BuildReport:
    manifest = Manifest(outdir)
    state = manifest.state()
    # A full build killed before its end is done again in full: its deletions come last.
    # Other formats or another window than the last build's: every page is made again (and
    # the files no longer made are deleted).
    # And after an upgrade that changes how pages are made (the site's code, templates or
    # style): pages no change reaches would otherwise keep the old making.
    chosen, window = ",".join(formats), since.isoformat() if since else ""
    full = (full or not state or state.get("full") == "pending"
            or state.get("formats", ",".join(urls.FORMATS)) != chosen
            or state.get("since", "") != window
            or state.get("renderer") != renderer())
    if full:
        manifest.forget_made()
        if state:
            manifest.save_state({"full": "pending"})
    change_seq = store.meta_int("change_seq")
    related_seq = store.meta_int("related_seq")
    stamp = manifest.stamp
    last_seq = int(state.get("change_seq", -1))
    with store.transaction():
        store.rebuild_entities(unique_slug)
        changed: set[str] = set()
        cited: set[str] = set()
        new_articles: list[str] = []
        if full:  # every page is rendered: no need to know what changed
            store.assign_story_slugs(unique_slug)
            days = [date.fromisoformat(d) for d, _ in store.day_counts()]
        else:
            changed = set(store.changed_events(last_seq))
            store.assign_story_slugs(unique_slug, changed)  # new headings come with changes
            new_articles = store.articles_since(state.get("articles", ""))
            cited = store.events_citing(new_articles)
            days = sorted({date.fromisoformat(d) for d in store.slug_dates(changed)}
                          | {day for _, day in store.headlines(changed).values()})
        moved: set[str] = set()
        for day in days:
            moved |= store.assign_event_slugs(day, unique_slug, slugify)
    with store.window(since):  # reads see the window's events only
        pages = Pages(store, settings)
        plan = Plan(store, pages, manifest)
        filters = sorted(pages.filter_subjects())  # of the window's events
        if full:
            jobs = list(plan.everything())
        else:
            # Subjects whose filter mark may have changed: entered or left the set since the
            # last complete build, or since one that died after writing some of its pages
            # (noted before any page is written: a killed build's pages may show either).
            unsure = sorted(set(json.loads(state.get("search_filters_unsure", "[]")))
                            | (set(json.loads(state.get("search_filters", "[]")))
                               ^ set(filters)))
            manifest.save_state({"search_filters_unsure": json.dumps(unsure,
                                                                      ensure_ascii=False)})
            events = changed | cited | moved
            events |= plan.reach_of_new_pages(events)
            extra = set(store.changed_related(int(state.get("related_seq", 0))))
            extra |= store.related_mentioning(events)
            refiltered, subject_pages = plan.reach_of_new_filters(unsure)
            jobs = list(dict.fromkeys([*plan.changed(events, extra | refiltered, new_articles),
                                       *subject_pages]))
            planned = set(jobs)  # and the pages the last build could not make, again:
            jobs += [job for job in decode_jobs(state.get("failed", "[]")) if job not in planned]
        site = SiteInfo(url=settings.site_url.rstrip("/"), generated=stamp)
        writer = Writer(outdir, manifest)
        writer.full = full
        report = BuildReport(full=full)
        failed: list[Failure] = []
        if settings.workers > 1 and len(jobs) >= PARALLEL_FROM:
            # Pages are independent: each process renders, writes and records its share.
            global _WORK
            _WORK = (store.path, settings, outdir, formats, site, split(jobs, settings.workers),
                     manifest.stamp, full, since, pages.filter_subjects())
            try:
                # Processes that die with the build and do not hold its lock (see workers.py).
                with fork_pool(settings.workers) as pool:
                    for done, written, unchanged in pool.map(_build_share, range(settings.workers)):
                        report.pages += done[0]
                        report.feeds += done[1]
                        failed += done[2]
                        writer.written += written
                        writer.unchanged += unchanged
            except BrokenProcessPool:  # one was killed (out of memory, an operator)
                raise BuildError("a build process died before its pages were made; the next "
                                 "build completes this one") from None
            finally:
                _WORK = None
        else:
            report.pages, report.feeds, failed = _render_jobs(pages, plan, jobs, formats, site,
                                                              writer, settings)
        writer.write_many([(f"static/{p.name}", p.read_bytes()) for p in sorted(STATIC.glob("*"))
                           if p.is_file()])
        if full:  # the feeds of quiet timelines stay as an earlier build made them
            manifest.note_made([path for files in plan.kept_feeds for path in files])
        # Deleted before the extras: the sitemap lists what is left.
        writer.remove(manifest.not_made(KEEP) if full else sorted(set(plan.gone)))
        shared = Shared(store, settings, outdir, hashlib.sha256(json.dumps(
            [change_seq, renderer(), store_code(), window, repr(settings)]).encode()).hexdigest())
        for extra_step in extras:
            report.extras[extra_step.__name__] = extra_step(store, settings, outdir, writer,
                                                            shared)
    report.failed = [line for _, line in failed]
    manifest.save_state({"change_seq": change_seq, "related_seq": related_seq,
                         "articles": stamp, "built_at": datetime.now(UTC).isoformat(),
                         "full": "done", "formats": chosen, "since": window,
                         "renderer": renderer(),
                         "search_filters": json.dumps(filters, ensure_ascii=False),
                         "search_filters_unsure": "[]",
                         "failed": encode_jobs(dict.fromkeys(job for job, _ in failed))})
    manifest.close()
    report.written, report.unchanged = writer.written, writer.unchanged
    report.deleted = writer.deleted
    report.seconds = time.perf_counter() - started
    return report
