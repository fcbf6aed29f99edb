"""Day pages and link targets from the MediaWiki Action API: the only module that talks to it.

Days go in batches of titles. A batch holding days we already have first asks `prop=info`
(cheap) for every title's latest revision id, so days whose revision we hold are neither
downloaded nor parsed again; one `prop=revisions` request then fetches the others.
Requests carry `maxlag` and are retried with backoff, as Wikimedia asks of bots; a batch
that keeps failing becomes per-day errors and the run goes on with the next batch.

Link targets (article titles) are resolved the same way, in batches with `redirects=1` and
`prop=info|pageprops`: each title's final page after normalisation and redirects, its page
id, Wikidata item and disambiguation flag. A batch that keeps failing becomes one TitleError.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from ..model import PageRevision, TitleInfo
from ..settings import Settings
from .titles import day_of_title, day_title

log = logging.getLogger("newscontext.api")

# Day titles are made and read in .titles; re-exported here for callers of this module.
__all__ = ["DayResult", "PortalAPI", "TitleError", "TitleInfo", "day_of_title", "day_title"]

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DayResult:
    """What the API said about one requested day: its revision, or why there is none."""

    date: date
    revision: PageRevision | None = None
    unchanged: bool = False  # latest revid equals the known one: content not fetched
    missing: bool = False  # the page does not exist
    error: str | None = None  # names the day and the reason


@dataclass(frozen=True, slots=True)
class TitleError:
    """A batch of titles the API could not answer (after retries), and why."""

    titles: tuple[str, ...]
    message: str


@dataclass
class _Answer:
    """The page set of a query, merged over its continuations."""

    normalized: dict[str, str] = field(default_factory=dict)  # asked title -> normalised
    redirects: dict[str, JSON] = field(default_factory=dict)  # redirect title -> its entry
    interwiki: dict[str, str] = field(default_factory=dict)  # title -> interwiki prefix
    pages: dict[str, JSON] = field(default_factory=dict)  # page title -> page

    def add(self, query: JSON) -> None:
        for change in query.get("normalized", []):
            self.normalized[change["from"]] = change["to"]
        for redirect in query.get("redirects", []):
            self.redirects[redirect["from"]] = redirect
        for link in query.get("interwiki", []):
            self.interwiki[link["title"]] = link.get("iw", "")
        for page in query.get("pages", []):
            merged = self.pages.setdefault(page["title"], {})
            revisions = merged.get("revisions", []) + page.get("revisions", [])
            pageprops = merged.get("pageprops", {}) | page.get("pageprops", {})
            merged.update(page)
            if revisions:
                merged["revisions"] = revisions
            if pageprops:
                merged["pageprops"] = pageprops


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

    def resolve_titles(self, titles: Iterable[str]) -> Iterator[TitleInfo | TitleError]:
        """Where each distinct title leads, in request order, batch by batch.

        Titles should come normalised (`titles.normalize_title`); each TitleInfo keeps its
        title exactly as passed. `canonical` is the page reached after the API's
        normalisation and redirects (a redirect's `#fragment` dropped); a missing or invalid
        page, or an interwiki link, is `missing` and keeps its own title, except that a
        redirect to a missing page gives the redirect's target. A batch the API does not
        answer comes back as one TitleError, and the next batch is still asked. Text that
        cannot be a title (empty, or holding "|") is not asked: it comes back at once as
        missing, ahead of the batch being gathered.
        """
        wanted = list(dict.fromkeys(titles))
        size = max(1, self._settings.api_batch)
        log.info("%d titles from %s, %d per batch", len(wanted), self._settings.api_url, size)
        batch: list[str] = []
        for title in wanted:
            if not title.strip() or "|" in title:
                # Not a title (and "|" would split the request): nothing to ask.
                log.warning("not a page title, not asked: %r", title)
                yield TitleInfo(title, title, missing=True)
                continue
            batch.append(title)
            if len(batch) == size:
                yield from self._resolve_batch(batch)
                batch = []
        if batch:
            yield from self._resolve_batch(batch)

    def _resolve_batch(self, titles: list[str]) -> list[TitleInfo | TitleError]:
        try:
            answer = self._answer(
                {
                    "prop": "info|pageprops",
                    "ppprop": "wikibase_item|disambiguation",
                    "redirects": "1",
                    "titles": "|".join(titles),
                }
            )
        except _RequestFailed as exc:
            error = TitleError(tuple(titles), str(exc))
            log.error("%d titles (%s .. %s): %s", len(titles), titles[0], titles[-1], exc)
            return [error]
        results: list[TitleInfo | TitleError] = []
        unlisted: list[str] = []
        for title in titles:
            info = _title_info(title, answer)
            if info is None:
                unlisted.append(title)
            else:
                results.append(info)
        if unlisted:
            error = TitleError(tuple(unlisted), "the API did not list these titles")
            log.error("%s: %s", ", ".join(unlisted), error.message)
            results.append(error)
        infos = [result for result in results if isinstance(result, TitleInfo)]
        log.info(
            "%d titles (%s .. %s): %d redirected, %d missing, %d unanswered",
            len(titles),
            titles[0],
            titles[-1],
            sum(info.canonical != info.title for info in infos if not info.missing),
            sum(info.missing for info in infos),
            len(unlisted),
        )
        return results

    def _query(self, params: dict[str, str]) -> dict[str, JSON]:
        """Pages of a query keyed by the title we asked for, merged over continuations."""
        answer = self._answer(params)
        asked_as = {after: before for before, after in answer.normalized.items()}
        return {asked_as.get(title, title): page for title, page in answer.pages.items()}

    def _answer(self, params: dict[str, str]) -> _Answer:
        """A query's page set, following `continue` until the API has said everything."""
        answer = _Answer()
        request = params
        while True:
            body = self._get(request)
            answer.add(body.get("query", {}))
            if "continue" not in body:
                return answer
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


def _title_info(title: str, answer: _Answer) -> TitleInfo | None:
    """What the answer says about one asked title; None if the API did not mention it."""
    name = answer.normalized.get(title, title)
    if title in answer.interwiki or name in answer.interwiki:
        return TitleInfo(title, title, missing=True)
    chain = [name]
    current = name
    while current in answer.redirects:
        redirect = answer.redirects[current]
        target = redirect["to"]
        if redirect.get("tointerwiki"):  # a redirect to another wiki: no page here
            return TitleInfo(title, target, missing=True)
        if target in chain:  # the API stops there too and lists no page
            log.warning("%s: redirect loop %s", title, " -> ".join([*chain, target]))
            return TitleInfo(title, name)
        chain.append(target)
        current = target
    page = answer.pages.get(current)
    if page is None:
        return None
    if page.get("missing") or page.get("invalid"):
        canonical = current if current != name else title
        return TitleInfo(title, canonical, missing=True)
    props = page.get("pageprops", {})
    return TitleInfo(
        title,
        page["title"],
        pageid=page.get("pageid"),
        wikidata=props.get("wikibase_item") or None,
        disambiguation="disambiguation" in props,
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
