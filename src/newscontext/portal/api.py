"""Day pages from the MediaWiki Action API: the only module that talks to it.

Days go in batches of titles. A batch holding days we already have first asks `prop=info`
(cheap) for every title's latest revision id, so days whose revision we hold are neither
downloaded nor parsed again; one `prop=revisions` request then fetches the others.
Requests carry `maxlag` and are retried with backoff, as Wikimedia asks of bots; a batch
that keeps failing becomes per-day errors and the run goes on with the next batch.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from ..model import PageRevision
from ..settings import Settings
from .titles import day_of_title, day_title

log = logging.getLogger("newscontext.api")

# Day titles are made and read in .titles; re-exported here for callers of this module.
__all__ = ["DayResult", "PortalAPI", "day_of_title", "day_title"]

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DayResult:
    """What the API said about one requested day: its revision, or why there is none."""

    date: date
    revision: PageRevision | None = None
    unchanged: bool = False  # latest revid equals the known one: content not fetched
    missing: bool = False  # the page does not exist
    error: str | None = None  # names the day and the reason


class _RequestFailed(Exception):
    """A request that failed for good: retries used up, or an error retrying cannot fix."""


class PortalAPI:
    """A polite client for the portal's day pages.

    Pass `client` to share a connection pool (or transport); it is then not closed here.
    """

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self._settings = settings
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client()

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def fetch_days(
        self, days: Iterable[date], known_revids: Mapping[date, int]
    ) -> Iterator[DayResult]:
        """One result per distinct requested day, in request order, batch by batch.

        A day whose latest revid equals `known_revids[day]` comes back `unchanged` without
        its content. Results are yielded as each batch completes, so a caller can store
        them while later batches are still being fetched.
        """
        wanted = list(dict.fromkeys(days))
        size = max(1, self._settings.api_batch)
        log.info("%d days from %s, %d titles per batch", len(wanted), self._settings.api_url, size)
        for start in range(0, len(wanted), size):
            yield from self._fetch_batch(wanted[start : start + size], known_revids)

    def _fetch_batch(self, days: list[date], known_revids: Mapping[date, int]) -> list[DayResult]:
        titles = {day_title(day): day for day in days}
        results: dict[date, DayResult] = {}
        if not any(day in known_revids for day in days):
            # Nothing held yet: asking for revision ids first would only cost a request.
            results = self._fetch_content(titles)
            ordered = [results[day] for day in days]
            _log_batch(days, ordered)
            return ordered
        try:
            info = self._query({"prop": "info", "titles": "|".join(titles)})
        except _RequestFailed as exc:
            results = {day: _failed(day, f"page info: {exc}") for day in days}
        else:
            changed: list[str] = []
            for title, day in titles.items():
                page = info.get(title)
                if page is None:
                    results[day] = _failed(day, "page info: the API did not list the page")
                elif page.get("missing"):
                    results[day] = DayResult(day, missing=True)
                elif "lastrevid" in page and known_revids.get(day) == page["lastrevid"]:
                    results[day] = DayResult(day, unchanged=True)
                else:
                    changed.append(title)
            if changed:
                results.update(self._fetch_content({title: titles[title] for title in changed}))
        ordered = [results[day] for day in days]
        _log_batch(days, ordered)
        return ordered

    def _fetch_content(self, titles: dict[str, date]) -> dict[date, DayResult]:
        """The latest revision of each title, in one request (plus continuations)."""
        try:
            pages = self._query(
                {
                    "prop": "revisions",
                    "rvprop": "ids|timestamp|content",
                    "rvslots": "main",
                    "titles": "|".join(titles),
                }
            )
        except _RequestFailed as exc:
            return {day: _failed(day, f"content: {exc}") for day in titles.values()}
        return {
            day: _revision_result(day, title, pages.get(title)) for title, day in titles.items()
        }

    def _query(self, params: dict[str, str]) -> dict[str, JSON]:
        """Pages of a query keyed by the title we asked for, merged over continuations."""
        pages: dict[str, JSON] = {}
        asked_as: dict[str, str] = {}
        request = params
        while True:
            body = self._get(request)
            query = body.get("query", {})
            for change in query.get("normalized", []):
                asked_as[change["to"]] = change["from"]
            for page in query.get("pages", []):
                title = asked_as.get(page["title"], page["title"])
                merged = pages.setdefault(title, {})
                revisions = merged.get("revisions", []) + page.get("revisions", [])
                merged.update(page)
                if revisions:
                    merged["revisions"] = revisions
            if "continue" not in body:
                return pages
            request = {**params, **body["continue"]}

    def _get(self, params: dict[str, str]) -> JSON:
        """One API request, retried on lag, overload and network trouble."""
        settings = self._settings
        full = {
            "action": "query",
            "format": "json",
            "formatversion": "2",
            "maxlag": str(settings.api_maxlag),
            **params,
        }
        tries = max(1, settings.api_retries)
        reason = ""
        for attempt in range(1, tries + 1):
            retry_after: str | None = None
            try:
                response = self._client.get(
                    settings.api_url,
                    params=full,
                    headers={"User-Agent": settings.user_agent},
                    timeout=settings.api_timeout,
                )
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    reason = f"HTTP {response.status_code} {response.reason_phrase}"
                    retry_after = response.headers.get("Retry-After")
                elif response.status_code != 200:
                    raise _RequestFailed(f"HTTP {response.status_code} {response.reason_phrase}")
                else:
                    body = _json(response)
                    error = body.get("error")
                    if error is None:
                        if "warnings" in body:  # e.g. a deprecated parameter: worth knowing
                            log.warning("API warnings: %s", body["warnings"])
                        return body
                    reason = f"API error {error.get('code')}: {error.get('info')}"
                    if error.get("code") != "maxlag":
                        raise _RequestFailed(reason)
                    retry_after = response.headers.get("Retry-After")
            if attempt < tries:
                wait = self._backoff(attempt, retry_after)
                log.warning("%s; try %d of %d in %.1f s", reason, attempt + 1, tries, wait)
                time.sleep(wait)
        raise _RequestFailed(f"{reason} (gave up after {tries} tries)")

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        """The server's Retry-After (seconds) if it gave one, else exponential; both capped."""
        settings = self._settings
        wait = settings.api_backoff_base * 2 ** (attempt - 1)
        if retry_after is not None:
            # An HTTP date is ignored: Wikimedia sends seconds.
            with contextlib.suppress(ValueError):
                wait = max(0.0, float(retry_after))
        return min(wait, settings.api_max_backoff)


def _json(response: httpx.Response) -> JSON:
    try:
        body = response.json()
    except ValueError as exc:
        raise _RequestFailed(f"the response is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise _RequestFailed("the response is not a JSON object")
    return body


def _failed(day: date, reason: str) -> DayResult:
    return DayResult(day, error=f"{day.isoformat()} ({day_title(day)}): {reason}")


def _revision_result(day: date, title: str, page: JSON | None) -> DayResult:
    """The DayResult for one page of a `prop=revisions` answer."""
    if page is None:
        return _failed(day, "content: the API did not list the page")
    if page.get("missing"):  # deleted since the info request
        return DayResult(day, missing=True)
    if not page.get("revisions"):
        return _failed(day, "content: the API returned no revision")
    revision = page["revisions"][-1]  # titles mode gives only the latest revision
    main = revision.get("slots", {}).get("main", {})
    if "content" not in main:
        return _failed(day, f"content: revision {revision.get('revid')} has no readable text")
    if main.get("contentmodel", "wikitext") != "wikitext":
        return _failed(day, f"content: content model is {main['contentmodel']}, not wikitext")
    try:
        stamp = datetime.fromisoformat(revision["timestamp"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return _failed(day, f"content: bad timestamp {revision.get('timestamp')!r}")
    return DayResult(
        day,
        revision=PageRevision(
            date=day,
            text=main["content"],
            format="wikitext",
            origin=f"api:{title}",
            revid=revision.get("revid"),
            timestamp=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ),
    )


def _log_batch(days: list[date], results: list[DayResult]) -> None:
    fetched = sum(result.revision is not None for result in results)
    unchanged = sum(result.unchanged for result in results)
    missing = sum(result.missing for result in results)
    failed = [result for result in results if result.error]
    log.info(
        "%s..%s: %d fetched, %d unchanged, %d missing, %d failed",
        days[0].isoformat(),
        days[-1].isoformat(),
        fetched,
        unchanged,
        missing,
        len(failed),
    )
    for result in failed:
        log.error("%s", result.error)
