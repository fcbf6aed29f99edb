"""Archived copies of dead sources, from the Wayback Machine.

Many cited pages are gone years later. The Wayback Machine's CDX API lists the captures of a
URL; asked with `closest=<day>&sort=closest`, it lists the captures nearest to the event
first, which show the article as the portal's editors read it. The raw capture
(`<timestamp>id_/<url>`: the page as it was served, without the archive's toolbar or
rewritten links) is then fetched through `fetch.py` like any page. Both are documented APIs
of the Internet Archive rather than sites we crawl, so robots.txt does not apply; the
per-host limits and Retry-After do.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime

import httpx

from ..settings import Settings
from .fetch import Fetcher, FetchResult

log = logging.getLogger("newscontext.wayback")

__all__ = ["Capture", "find_capture"]

# The CDX API answers JSON (older deployments say text/plain).
_CDX_TYPES = ("application/json", "text/plain")


@dataclass(frozen=True, slots=True)
class Capture:
    """A readable capture of a dead source: where it was read from and what it gave."""

    url: str  # the raw capture's URL: the source's archived_from
    original: str  # the URL the archive captured (the page's own URL, for its links)
    timestamp: str  # YYYYMMDDhhmmss
    result: FetchResult


async def find_capture(fetcher: Fetcher, settings: Settings, url: str,
                       day: date) -> Capture | str:
    """The capture of `url` closest to `day` that can be fetched as HTML, or why there is
    none (a message for the source's record)."""
    query = httpx.URL(settings.wayback_cdx_url, params={
        "url": url, "output": "json", "fl": "timestamp,original",
        "filter": "statuscode:200", "closest": day.strftime("%Y%m%d"), "sort": "closest",
        "limit": str(settings.wayback_tries),
    })
    answer = await fetcher.fetch(str(query), accept=_CDX_TYPES, robots=False)
    if not answer.ok or answer.content is None:
        return f"Wayback lookup failed: {answer.outcome} ({answer.message})"
    try:
        captures = _rows(json.loads(answer.content))
    except ValueError as exc:  # bad JSON, or no timestamp/original column
        return f"Wayback lookup answered something else than CDX JSON: {exc}"
    if not captures:
        return "no Wayback capture"
    # Nearest first, whatever order the server used.
    target = datetime(day.year, day.month, day.day)
    captures.sort(key=lambda row: abs((row[0] - target).total_seconds()))
    problems = []
    for _, timestamp, original in captures[: settings.wayback_tries]:
        raw = f"{settings.wayback_web_url.rstrip('/')}/{timestamp}id_/{original}"
        result = await fetcher.fetch(raw, robots=False)
        if result.ok:
            log.info("%s: read from the Wayback Machine capture of %s", url, timestamp)
            return Capture(url=raw, original=original, timestamp=timestamp, result=result)
        problems.append(f"{timestamp}: {result.outcome}")
    return "no readable Wayback capture (" + ", ".join(problems) + ")"


def _rows(data: object) -> list[tuple[datetime, str, str]]:
    """(time, timestamp, original) of each capture in a CDX JSON answer: a header row,
    then one row per capture."""
    if not isinstance(data, list) or not data or not isinstance(data[0], list):
        return []
    header, *rows = data
    at, orig = header.index("timestamp"), header.index("original")
    found = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(header):
            continue  # the blank row before a resume key, or garbage
        try:
            when = datetime.strptime(str(row[at]), "%Y%m%d%H%M%S")
        except ValueError:
            continue
        found.append((when, str(row[at]), str(row[orig])))
    return found
