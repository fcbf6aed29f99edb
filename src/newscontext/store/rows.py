"""What the store's mixins share: how an event's parts are kept in its row (JSON columns)
and read back, the SQL of an event's first-seen time, and a table's slugs as taken.

Kept apart from `Store` so that every mixin module can import them without importing the
package that assembles the mixins.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date

from ..model import ArchivedEvent, Event, Link, Source, Story


def _links_json(links: Iterable[Link]) -> str:
    return json.dumps([{"target": x.target, "label": x.label} for x in links], ensure_ascii=False)


def _stories_json(stories: Iterable[Story]) -> str:
    return json.dumps(
        [{"text": s.text, "links": [{"target": x.target, "label": x.label} for x in s.links]}
         for s in stories],
        ensure_ascii=False,
    )


def _sources_json(sources: Iterable[Source]) -> str:
    return json.dumps([{"url": x.url, "name": x.name} for x in sources], ensure_ascii=False)


def _links(raw: str) -> list[Link]:
    return [Link(item["target"], item["label"]) for item in json.loads(raw)]


def _stories(raw: str) -> tuple[Story, ...]:
    return tuple(
        Story(item["text"], tuple(Link(x["target"], x["label"]) for x in item["links"]))
        for item in json.loads(raw)
    )


def _sources(raw: str) -> list[Source]:
    return [Source(item["url"], item["name"]) for item in json.loads(raw)]


# An event's first-seen time, from its versions (`{id}`: the SQL naming the event): the
# earliest of their times, unknown (NULL) when its first version's is. That version came
# from an input without a time (a file): the event was seen before any time known.
_FIRST_SEEN = (
    "(SELECT CASE WHEN (SELECT f.timestamp FROM event_versions f WHERE f.event_id = {id} "
    "ORDER BY f.seq LIMIT 1) IS NOT NULL THEN MIN(v.timestamp) END "
    "FROM event_versions v WHERE v.event_id = {id})"
)

_EVENT_COLUMNS = (
    "id, date, position, category, stories, text, links, sources, removed, removed_at, "
    "moved_to, first_seen"
)


def _event_from_row(row: sqlite3.Row) -> ArchivedEvent:
    event = Event(
        date=date.fromisoformat(row["date"]),
        category=row["category"],
        stories=_stories(row["stories"]),
        text=row["text"],
        links=_links(row["links"]),
        sources=_sources(row["sources"]),
    )
    return ArchivedEvent(
        id=row["id"], event=event, position=row["position"], removed=bool(row["removed"]),
        removed_at=row["removed_at"], moved_to=row["moved_to"], first_seen=row["first_seen"],
    )


class _TakenSlugs:
    """The slugs of a table (UNIQUE, so indexed) and those given since, asked one at a
    time: a new title needs one or two looked up, not the whole table read."""

    def __init__(self, conn: sqlite3.Connection, table: str):
        self._conn, self._table = conn, table
        self._added: set[str] = set()

    def __contains__(self, slug: object) -> bool:
        return slug in self._added or self._conn.execute(
            f"SELECT 1 FROM {self._table} WHERE slug = ?", (slug,)).fetchone() is not None

    def add(self, slug: str) -> None:
        self._added.add(slug)
