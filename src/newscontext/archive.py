"""Archive: the public entry point. Owns the settings and the store and runs the stages."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .ingest import Ingester, IngestReport, held_line, utc_now
from .lock import FileLock, archive_lock
from .model import (
    ArchivedEvent,
    Article,
    Entity,
    Event,
    EventVersion,
    ParseWarning,
    Related,
    TitleInfo,
)
from .portal.inputs import InputError, read_paths
from .related import DEFAULT, Change, Contexts, Method, entity_counts, full_pass, update_pass
from .related_state import load_state, save_state, state_key, state_path
from .settings import Settings
from .site.urls import unique_slug
from .store import Store
from .store.titles import API

P = ParamSpec("P")
R = TypeVar("R")


def writes(method: Callable[P, R]) -> Callable[P, R]:
    """Run an Archive method that writes under the archive's write lock: two writers (two
    `ingest`, an `ingest` beside an `update`) take turns instead of failing each other's
    transactions. Re-entrant, so a robot cycle holds it across all its stages."""

    @functools.wraps(method)
    def locked(*args: P.args, **kwargs: P.kwargs) -> R:
        archive = args[0]
        assert isinstance(archive, Archive)
        with archive.writing:
            return method(*args, **kwargs)

    return locked

if TYPE_CHECKING:  # crawling needs httpx and the extractor: imported when it runs
    from .repair import RepairReport
    from .site.build import BuildReport
    from .sources.crawl import CrawlReport, Progress


@dataclass
class ResolveReport:
    """What `resolve` learnt: titles asked about, redirects found, entities made."""

    targets: int = 0
    resolved: int = 0
    redirects: int = 0
    changed: int = 0
    folded: int = 0  # titles made one with another spelling by rule (portal/fold.py)
    new_entities: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class RelateReport:
    events: int = 0
    entities: int = 0
    related: int = 0
    changed: int = 0  # events whose list changed
    ranked: int = 0  # lists computed (all of them in a full pass)
    full: bool = True  # every list was ranked
    seconds: float = 0.0


@dataclass
class ReindexReport:
    """What `reindex` made: rows of the search index of each kind."""

    events: int = 0
    entities: int = 0
    stories: int = 0
    seconds: float = 0.0


class Archive:
    """A news archive in one SQLite file.

    >>> with Archive(Settings(db=path)) as archive:
    ...     archive.ingest_paths([Path("days/")])
    """

    def __init__(self, settings: Settings | None = None, *, create: bool = True):
        """`create=False` for readers: a missing archive is an error (StoreError), not a
        new empty one."""
        self.settings = settings or Settings.from_env()
        self.store = Store(self.settings.db, create=create)
        db = Path(self.settings.db)
        self.writing = FileLock(archive_lock(db), f"the archive {db}")

    def close(self) -> None:
        self.writing.release()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest ----------------------------------------------------------------------------

    @writes
    def ingest_paths(self, paths: Iterable[Path]) -> IngestReport:
        """Ingest `.wiki`, `.xml` and `.html` day pages from files and folders."""
        ingester = Ingester(self.store, self.settings.hold_hours)
        self._repair_if_stale(ingester)
        for item in read_paths(paths):
            if isinstance(item, InputError):
                ingester.error(item.place, item.message)
            else:
                ingester.add(item)
        return ingester.finish()

    @writes
    def ingest_api(self, first: date, last: date) -> IngestReport:
        """Fetch the day pages of a date range from the MediaWiki API; days whose revision
        is already in the archive are not fetched again."""
        from .portal.api import PortalAPI  # httpx is only needed when talking to the API

        if last < first:
            raise ValueError(f"--to {last} is before --from {first}")
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        ingester = Ingester(self.store, self.settings.hold_hours)
        self._repair_if_stale(ingester)
        known = self.store.known_revids(first, last)
        with PortalAPI(self.settings) as api:
            for result in api.fetch_days(days, known):
                if result.error:
                    ingester.error("api", result.error)  # the message names the day
                elif result.revision is not None:
                    ingester.add(result.revision)
                elif result.unchanged:
                    ingester.report.unchanged += 1
                elif result.missing:
                    ingester.report.missing.append(result.date)
        return ingester.finish()

    @writes
    def repair(self) -> RepairReport:
        """Re-derive every event, and each of its versions, from the raw revisions with the
        current parsers: ids and versions stay, changed events are published again. Ingest
        does it first by itself when the archive was read by older parsers."""
        from .repair import repair

        report = repair(self.store)
        for error in report.errors:
            self.store_error("repair", error)
        return report

    def _repair_if_stale(self, ingester: Ingester) -> None:
        """Before new revisions are matched with the archived events, bring those to what
        the current parsers read (see repair.py); the count goes into the ingest report."""
        from .repair import needs_repair

        if needs_repair(self.store):
            report = self.repair()
            ingester.report.repaired = report.events
            ingester.report.errors += report.errors

    # -- entities and related events ---------------------------------------------------------

    @writes
    def resolve(self, *, api: bool = False, redirects: Path | None = None,
                full: bool = False) -> ResolveReport:
        """Make every link target a canonical entity. What a title leads to comes from, the
        first that knows winning: the MediaWiki API (with `api`; titles it has not answered
        about are asked, its answers kept), a redirect table file (`redirects`: its rows add
        to and override the shipped table's, and stay in the archive), the redirect table
        shipped with newscontext (always read), and last the spelling fold by rule among the
        titles none of them redirects (portal/fold.py). Then every event's context is
        recomputed where what its titles lead to changed; entity slugs never change.

        The fold is worked out again only for the spelling groups a change reaches (the
        targets whose events changed since the last run, the titles saved now: see
        resolution.py); for every group with `full`, on a new or upgraded archive and when
        the fold rule changed. Both give the same rows."""
        from .portal.fold import rule_id
        from .resolution import (
            Table,
            every_spelling,
            fold_infos,
            fold_keys,
            group_targets,
            reached_titles,
        )

        store = self.store
        report = ResolveReport(targets=store.target_count())
        table = Table.load(redirects)
        report.errors += table.problems
        tabled = store.link_targets(table.redirects.keys())
        learnt = list(table.infos(tabled, store.title_rows(tabled)).items())
        if api:
            from .portal.api import PortalAPI, TitleError

            infos: list[TitleInfo] = []
            with PortalAPI(self.settings) as client:
                for item in client.resolve_titles(store.unasked_targets()):
                    if isinstance(item, TitleError):
                        report.errors.append(f"{', '.join(item.titles[:3])}...: {item.message}")
                    else:
                        infos.append(item)
            learnt.append((API, infos))
        now = utc_now()
        rule = rule_id()
        with store.transaction():
            saved = {info.title for _, infos in learnt for info in infos}
            before = store.title_rows(saved)
            for origin, infos in learnt:
                report.resolved += len(infos)
                report.redirects += sum(1 for i in infos if i.canonical != i.title)
                report.changed += store.save_titles(infos, origin, now)
            if full or store.fold_state() != rule:
                keys = None
                rows = store.title_rows()
                counts = store.target_links()
                targets = sorted(counts)
                every = fold_keys(every_spelling(targets, rows))
            else:
                changed = store.pending_targets() | saved
                seen = reached_titles(changed, before, store.title_rows(changed))
                store.add_fold_keys(fold_keys(store.missing_fold_keys(seen)))
                keys = set(fold_keys(seen).values())
                members = store.titles_keyed(keys)
                rows = store.title_rows_about(members)
                counts = store.target_links(members | rows.keys())
                targets = group_targets(counts, rows, members)
                every = None
            folded, changes = fold_infos(targets, rows, counts)
            for origin, infos in changes.items():
                report.changed += store.save_titles(infos, origin, now)
            report.folded = store.save_fold(keys, folded.keys(), rule, every)
            # A fold row turned back into the API's answer: its group is looked at next time.
            store.add_pending_targets(info.title for info in changes.get(API, ()))
            report.new_entities = store.rebuild_entities(unique_slug)
        for error in report.errors:
            self.store_error("resolve", error)
        return report

    @writes
    def relate(self, method: Method = DEFAULT, k: int = 10, *, full: bool = False
               ) -> RelateReport:
        """Bring every event's related list up to date. After a change only the lists it
        can reach are ranked again, from what the last run kept beside the archive (see
        related.update_pass and related_state.py); with `full`, or when nothing usable was
        kept, or when the event count crossed a step of the rarity weights, every list is.
        Both give the same lists."""
        started = time.perf_counter()
        with self.store.transaction():
            self.store.rebuild_entities(unique_slug)
        seq = self.store.meta_int("entities_seq")
        path = state_path(self.settings.db)
        kept = None if full else load_state(path, state_key(self.store.related_token(),
                                                             method, k))
        update = None
        since = -1
        if kept is not None:
            previous, since = kept
            change = Change(*self.store.changed_contexts(since))
            if not change.ids:  # nothing changed since
                update = [], previous, 0
            else:
                update = update_pass(previous, change, self.store.related_mentioning(change.ids),
                                     method, k, workers=self.settings.workers)
        if update is None:
            ctx = self.contexts()
            lists, done = full_pass(ctx, method, k, workers=self.settings.workers)
            ranked = len(ctx.ids)
            with self.store.transaction():
                changed = self.store.replace_related(lists)
        else:
            lists, done, ranked = update
            with self.store.transaction():
                changed = self.store.update_related(lists)
        if update is None or changed or since != seq:  # else the kept file is still right
            save_state(path, state_key(self.store.related_token(), method, k), seq, done)
        return RelateReport(events=len(done.ctx.ids),
                            entities=int((entity_counts(done.ctx) > 0).sum()),
                            related=int(done.links.sum()), changed=changed, ranked=ranked,
                            full=update is None, seconds=time.perf_counter() - started)

    @writes
    def contexts(self, *, hide_stories: bool = False) -> Contexts:
        """Every live event's context (links and story links, redirects resolved) as
        matrices, from the context table (brought up to date first)."""
        with self.store.transaction():
            self.store.rebuild_entities(unique_slug)
        ids, dates, titles, rows = self.store.context_rows()
        return Contexts.from_arrays(ids, dates, titles, rows, hide_stories=hide_stories)

    @writes
    def reindex(self) -> ReindexReport:
        """Make the full-text search index again from the archive, in one transaction.
        The stages keep it current; this is for an index damaged or made differently."""
        from .store.fts import reindex

        started = time.perf_counter()
        with self.store.transaction():
            rows = reindex(self.store.conn)
        return ReindexReport(events=rows.get("event", 0), entities=rows.get("entity", 0),
                             stories=rows.get("story", 0),
                             seconds=time.perf_counter() - started)

    @writes
    def store_error(self, place: str, message: str) -> None:
        with self.store.transaction():
            self.store.add_error(place, message, utc_now())

    def entities(self) -> Iterator[Entity]:
        return self.store.iter_entities()

    def context(self, event_id: str) -> list[str]:
        return self.store.context(event_id)

    def related(self, event_id: str) -> list[Related]:
        return self.store.related(event_id)

    def related_lists(self) -> Iterator[tuple[str, list[Related]]]:
        return self.store.iter_related()

    # -- reading ---------------------------------------------------------------------------

    def events(self) -> Iterator[ArchivedEvent]:
        return self.store.iter_events()

    def day(self, day: date) -> list[ArchivedEvent]:
        return self.store.events_of_day(day)

    def versions(self, event_id: str) -> list[EventVersion]:
        return self.store.versions(event_id)

    def warnings(self) -> list[ParseWarning]:
        return self.store.current_warnings()

    def stats(self) -> dict:
        return {
            "totals": self.store.totals(),
            "years": self.store.counts_per_year(),
            "warnings": self.store.current_warnings(),
            "errors": self.store.errors(),
            "held": [held_line(r) for r in self.store.held_revisions()],
        }

    # -- source articles -------------------------------------------------------------------

    @writes
    def crawl(self, since: date | None = None, limit: int | None = None,
              progress: Progress | None = None) -> CrawlReport:
        """Fetch the articles the events cite: sources never tried, and failed ones whose
        backoff is over; only those of events on or after `since`, at most `limit`."""
        from .sources.crawl import crawl

        return crawl(self.store, self.settings, since, limit, progress)

    def articles(self) -> Iterator[Article]:
        return self.store.iter_articles()

    def article_for(self, url: str) -> Article | None:
        return self.store.article(url)

    def event_media(self, event: Event) -> tuple[str | None, str | None]:
        """An event's description and cover image (see site.pictures.event_media)."""
        from .site.pictures import event_media

        return event_media(self.store, event.sources)

    # -- the static site -------------------------------------------------------------------

    def build(self, outdir: Path, full: bool = False, search: bool = True,
              search_every: float = 0.0, formats: tuple[str, ...] | None = None,
              since: date | None = None) -> BuildReport:
        """Build the static site into `outdir`: the pages that changed since the last build
        (every page with `full`), the feeds, the sitemap, the redirect map, the search page
        and, with `search`, the search index (when its pages changed, and the last index is
        `search_every` hours old). `formats`: of every page (default: all four); `since`:
        only the days from then on."""
        from .site.build import build  # Jinja2 and feedgen load only for a build
        from .site.media import media
        from .site.notfound import not_found_page
        from .site.redirects import redirects
        from .site.render.search import search_extra, search_page
        from .site.render.sitemap import sitemap

        extras = [media, sitemap, redirects, not_found_page,
                  search_extra(full, search_every) if search else search_page]  # search: last
        return build(self.store, self.settings, Path(outdir), full=full, extras=extras,
                     since=since, **({"formats": formats} if formats else {}))
