"""The crawl stage: fetch the articles the events cite, once, politely, and keep them.

Every distinct cited URL becomes a source (`/sources/<hash>`). A crawl fetches the sources
that are due (never tried, or failed and past their backoff), newest events first, many hosts
at once but each host gently (see fetch.py); a dead one is looked up in the Wayback Machine.
The body is kept compressed and content-addressed, the article is extracted from it, and
everything about one source is committed in one transaction: a crawl killed at any moment
loses only the sources in flight, and the next crawl picks them up.

An archived article's cover picture (its og:image) is fetched right after it and kept as a
small copy (images.py), in a transaction of its own: a picture that fails is one log line
and never fails its article. Pictures of articles archived before are fetched at the end of
a crawl, `crawl_image_backfill` at most, so existing archives get theirs over a few runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import chain, zip_longest
from pathlib import Path
from urllib.parse import urlsplit

from ..ingest import utc_now
from ..settings import Settings
from ..store import Store
from ..store.articles import DueSource
from .extract import Extraction, extract
from .fetch import DEAD, Fetcher, FetchResult
from .images import MAX_ATTEMPTS, RETRY, STORED, ImageResult, fetch_image
from .wayback import Capture, find_capture

log = logging.getLogger("newscontext.crawl")

__all__ = [
    "CrawlReport", "FetchFailed", "PageRefused", "Progress", "crawl", "extract_file",
    "extract_url", "source_hash",
]

# Called after each source: (done, total, url, status).
Progress = Callable[[int, int, str, str], None]

# Sources in flight per global request slot: a source waiting for its host's turn holds no
# slot, so a few more than the slots keep every slot busy.
_IN_FLIGHT_PER_SLOT = 4


def source_hash(url: str) -> str:
    """A source's public id: the first 16 hex digits of the SHA-256 of its URL."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass
class CrawlReport:
    """What one crawl did: sources found, fetched, and how each attempt ended (by status:
    fetched, archived, not_found, ...)."""

    registered: int = 0  # new sources found in the events
    due: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    given_up: int = 0  # failed for the last time: never tried again
    images: Counter[str] = field(default_factory=Counter)  # cover pictures, by status
    seconds: float = 0.0


class FetchFailed(Exception):
    """A page that could not be fetched; `result` says why."""

    def __init__(self, result: FetchResult) -> None:
        super().__init__(f"{result.url}: {result.outcome} ({result.message})")
        self.result = result


class PageRefused(Exception):
    """A local page not extracted: larger than a crawl would fetch, or unreadable."""


def extract_url(url: str, settings: Settings) -> Extraction:
    """Fetch one page politely (robots.txt, SSRF guard, limits) and extract it."""

    async def fetch() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url)

    result = asyncio.run(fetch())
    if not result.ok or result.content is None:
        raise FetchFailed(result)
    return extract(result.content, url, result.final_url, content_type=result.content_type)


def extract_file(path: Path, settings: Settings, url: str | None = None) -> Extraction:
    """Extract a saved page, under the size limit a crawl fetches pages with
    (`fetch_max_bytes`): the extractor's time and memory grow faster than a page's size, and
    a page the crawl would refuse is not one to read here either."""
    limit = settings.fetch_max_bytes
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            data = file.read(limit + 1) if size <= limit else b""  # never more than that
    except OSError as exc:
        raise PageRefused(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if size > limit or len(data) > limit:
        raise PageRefused(
            f"{path}: {max(size, len(data)):,} bytes, more than the {limit:,} a page may have "
            "(NEWSCONTEXT_FETCH_MAX_BYTES); not extracted"
        )
    return extract(data, url or path.resolve().as_uri())


def crawl(store: Store, settings: Settings, since: date | None = None,
          limit: int | None = None, progress: Progress | None = None) -> CrawlReport:
    """Register new sources, then fetch the due ones (those cited by events on or after
    `since`; at most `limit`)."""
    started = time.perf_counter()
    report = CrawlReport()
    new = store.new_source_urls()
    with store.transaction():
        store.add_sources((url, source_hash(url)) for url in new)
    report.registered = len(new)
    due = store.due_sources(utc_now(), since, limit)
    report.due = len(due)
    backfill = settings.crawl_images and settings.crawl_image_backfill > 0
    if due or backfill:
        asyncio.run(_Crawl(store, settings, report, progress).run(due))
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Page:
    """What a source gave: the live fetch, and the capture read instead when it was dead."""

    live: FetchResult
    capture: Capture | None = None
    wayback_message: str | None = None

    @property
    def body(self) -> FetchResult | None:
        if self.capture is not None:
            return self.capture.result
        return self.live if self.live.ok else None


class _Crawl:
    def __init__(self, store: Store, settings: Settings, report: CrawlReport,
                 progress: Progress | None) -> None:
        self.store = store
        self.settings = settings
        self.report = report
        self.progress = progress
        self.done = 0
        self.pictures: set[str] = set()  # picture URLs fetched (or in flight) this crawl
        # Extraction is CPU work: off the event loop so fetches go on, one page at a time
        # because the extractor's libraries are not known to be thread-safe.
        self.extractor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")

    async def run(self, due: list[DueSource]) -> None:
        window = asyncio.Semaphore(max(1, self.settings.fetch_concurrency) * _IN_FLIGHT_PER_SLOT)
        try:
            async with Fetcher(self.settings) as fetcher:
                async with asyncio.TaskGroup() as group:
                    for source in _interleave_hosts(due):
                        await window.acquire()
                        task = group.create_task(self.one(fetcher, source, len(due)))
                        task.add_done_callback(lambda _: window.release())
                if self.settings.crawl_images and self.settings.crawl_image_backfill > 0:
                    await self.backfill(fetcher, window)
        finally:
            self.extractor.shutdown(wait=True)

    async def backfill(self, fetcher: Fetcher, window: asyncio.Semaphore) -> None:
        """The pictures of articles archived before (or whose picture may work now)."""
        wanted = [url for url in self.store.due_images(
            RETRY, MAX_ATTEMPTS, self.settings.crawl_image_backfill + len(self.pictures))
            if url not in self.pictures][: self.settings.crawl_image_backfill]
        async with asyncio.TaskGroup() as group:
            for url in wanted:
                await window.acquire()
                task = group.create_task(self.picture(fetcher, url))
                task.add_done_callback(lambda _: window.release())

    async def picture(self, fetcher: Fetcher, url: str) -> None:
        """Fetch one cover picture (`url` as the article gave it) and record how it ended.
        Whatever happens, the article and the crawl go on."""
        if url in self.pictures:
            return
        self.pictures.add(url)
        try:
            result = await fetch_image(fetcher, html.unescape(url), self.settings)
        except Exception as exc:  # a fault of ours must not stop the crawl either
            log.warning("picture %s: %s: %s", url, type(exc).__name__, exc)
            result = ImageResult(url, "error", message=f"{type(exc).__name__}: {exc}")
        with self.store.transaction():
            self.store.save_image(url, status=result.status, at=utc_now(),
                                  width=result.width, height=result.height,
                                  copy=result.copy, message=result.message)
        self.report.images[result.status] += 1
        if result.status == STORED:
            log.info("picture %s: %d x %d, copy %d x %d, %d bytes", url, result.width,
                     result.height, result.copy.width, result.copy.height,
                     len(result.copy.content))
        else:
            log.warning("picture %s: %s (%s)", url, result.status, result.message)

    async def one(self, fetcher: Fetcher, source: DueSource, total: int) -> None:
        page = _Page(await fetcher.fetch(source.url))
        if page.live.outcome in DEAD and self.settings.wayback:
            found = await find_capture(fetcher, self.settings, source.url, source.first_date)
            if isinstance(found, Capture):
                page.capture = found
            else:
                page.wayback_message = found
        extraction = None
        body = page.body
        if body is not None and body.content is not None:
            base = page.capture.original if page.capture else body.final_url
            work = partial(extract, body.content, source.url, base,
                           content_type=body.content_type)
            extraction = await asyncio.get_running_loop().run_in_executor(self.extractor, work)
        status = self.record(source, page, extraction)
        self.done += 1
        log.info("%s %s", status, source.url)
        if self.progress is not None:
            self.progress(self.done, total, source.url, status)
        image = extraction.og.image if extraction is not None else None
        if (image and self.settings.crawl_images and status in ("fetched", "archived")
                and not self.store.image_tried(image, RETRY, MAX_ATTEMPTS)):
            await self.picture(fetcher, image)

    def record(self, source: DueSource, page: _Page, extraction: Extraction | None) -> str:
        """Everything about one source in one transaction; returns its new status."""
        live, body, at = page.live, page.body, utc_now()
        settings = self.settings
        with self.store.transaction():
            if body is not None and body.content is not None and extraction is not None:
                status = "archived" if page.capture else "fetched"
                message = None
                if page.capture:
                    message = f"live page {live.outcome}: {live.message}"
                sha = self.store.put_blob(body.content, body.content_type)
                self.store.record_fetch(
                    source.url, status=status, at=at, http_status=live.status,
                    final_url=live.final_url, redirects=live.redirects, content_sha256=sha,
                    archived_from=page.capture.url if page.capture else None, message=message)
                self.store.save_article(source.url, extraction, at)
            else:
                status = str(live.outcome)
                attempts = source.attempts + 1
                next_attempt = None
                if attempts < settings.crawl_max_attempts:
                    wait = timedelta(days=settings.crawl_retry_days * 2 ** (attempts - 1))
                    next_attempt = (datetime.now(UTC) + wait).strftime("%Y-%m-%dT%H:%M:%SZ")
                else:
                    self.report.given_up += 1
                message = "; ".join(filter(None, [live.message, page.wayback_message]))
                self.store.record_fetch(
                    source.url, status=status, at=at, http_status=live.status,
                    final_url=live.final_url, redirects=live.redirects,
                    next_attempt=next_attempt, message=message or None)
        self.report.statuses[status] += 1
        return status


def _interleave_hosts(sources: list[DueSource]) -> list[DueSource]:
    """Round-robin over hosts (each host's sources in their order), so that concurrent
    fetches go to different hosts instead of queueing behind one."""
    by_host: dict[str, list[DueSource]] = {}
    for source in sources:
        by_host.setdefault(_host(source.url), []).append(source)
    rounds = zip_longest(*by_host.values())
    return [source for source in chain.from_iterable(rounds) if source is not None]


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # malformed; fetching it will say so
        return ""
