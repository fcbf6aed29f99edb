"""The reads of the JSON API: filtered, paged event lists and the subjects' facts.

Pages are keyed, not numbered: a list resumes after the key of the last row it gave (date,
place on the day and id; or score and id), so a page is as fast deep in the archive as at
its start and no row is skipped or repeated while the archive grows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ..model import ArchivedEvent
from . import _EVENT_COLUMNS, _event_from_row
from .fts import EVENT_HITS, RECENCY, RECENCY_DAYS, match_rows, run


@dataclass
class EventQuery:
    """What a list of events is filtered and ordered by. Entities and stories are all
    required (an event about every one); categories are alternatives (headings as stored)."""

    first: str | None = None  # YYYY-MM-DD, inclusive
    last: str | None = None
    fts: str | None = None  # an FTS5 query (store.fts.prepare)
    advanced: bool = False
    entities: list[str] = field(default_factory=list)  # canonical titles
    stories: list[str] = field(default_factory=list)  # headings
    categories: list[str] | None = None  # stored headings; None: any
    removed: bool = False  # removed events too
    sort: str = "-date"  # date, -date, relevance (with fts)


# A subject with more events than this is a hub: its newest events are found by walking the
# events by date and checking each (a few dozen steps), not by reading all of its events and
# sorting them (COVID-19 pandemic at 150,000 events: 18,000 rows sorted for 50).
HUB_EVENTS = 2000
POSITIONS = 1_000_000  # an event's place in its day is below this: date and place as one number

# By date: the ORDER BY and the condition of the rows after a cursor's key (k0, k1, k2).
DATE_ORDERS = {
    "date": ("e.date, e.position, e.id", "(e.date, e.position, e.id) > (:k0, :k1, :k2)"),
    "-date": ("e.date DESC, e.position DESC, e.id DESC",
              "(e.date, e.position, e.id) < (:k0, :k1, :k2)"),
}


def _filters(query: EventQuery, hubs: frozenset[str] = frozenset()
             ) -> tuple[list[str], dict[str, object]]:
    where: list[str] = []
    params: dict[str, object] = {}
    if query.first:
        where.append("e.date >= :first")
        params["first"] = query.first
    if query.last:
        where.append("e.date <= :last")
        params["last"] = query.last
    if not query.removed:
        where.append("e.removed = 0")
    for n, title in enumerate(query.entities):
        where.append(f"EXISTS (SELECT 1 FROM event_entities x WHERE x.event_id = e.id "
                     f"AND x.entity = :ent{n})" if title in hubs else
                     f"e.id IN (SELECT event_id FROM event_entities WHERE entity = :ent{n})")
        params[f"ent{n}"] = title
    for n, title in enumerate(query.stories):
        where.append(f"e.id IN (SELECT event_id FROM event_stories WHERE title = :story{n})")
        params[f"story{n}"] = title
    if query.categories is not None:
        where.append("e.category IN (SELECT value FROM json_each(:categories))")
        params["categories"] = json.dumps(query.categories, ensure_ascii=False)
    return where, params


class EventIndex:
    """What ordering a search's matches needs, per row of the search index (its rowid):
    the event's day (julian day number), its place on the day, whether it is removed, and
    the archive's newest day. Read once for a state of the archive (a read transaction) and
    kept with it, so a query matching tens of thousands of events orders them without
    reading their rows: only the page it answers is read."""

    def __init__(self, conn: sqlite3.Connection):
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples: 150,000 rows at archive scale
        rows = cursor.execute(
            "SELECT k.id, julianday(e.date), e.position, e.removed FROM search_keys k "
            "JOIN events e ON e.id = k.ref WHERE k.kind = 'event'").fetchall()
        cursor.close()
        table = np.array(rows, dtype=np.float64).reshape(-1, 4)
        size = int(table[:, 0].max()) + 1 if len(table) else 0
        rowid = table[:, 0].astype(np.int64)
        self.day = np.full(size, np.nan)
        self.day[rowid] = table[:, 1]
        self.position = np.zeros(size, dtype=np.int64)
        self.position[rowid] = table[:, 2].astype(np.int64)
        self.removed = np.zeros(size, dtype=bool)
        self.removed[rowid] = table[:, 3] != 0
        newest = conn.execute("SELECT julianday(MAX(date)) FROM events").fetchone()[0]
        self.newest = float(newest) if newest is not None else 0.0


def _julian(day: str) -> float:
    """SQLite's julianday() of a YYYY-MM-DD day (its midnight)."""
    return date.fromisoformat(day).toordinal() + 1721424.5


def list_events(conn: sqlite3.Connection, query: EventQuery, after: list | None,
                limit: int, index: EventIndex | None = None
                ) -> list[tuple[ArchivedEvent, list]]:
    """Up to `limit` events after the key `after` (None: from the start), each with its
    key. With an FTS query only matching events are listed; `relevance` orders them by
    score (see store.fts). `index`: the state's EventIndex (read here when not given)."""
    if query.fts is not None:
        return _search(conn, query, after, limit, index or EventIndex(conn))
    hubs = frozenset(title for title in query.entities if query.sort != "relevance"
                     and conn.execute(
                         "SELECT COUNT(*) FROM (SELECT 1 FROM event_entities WHERE entity = ? "
                         "LIMIT ?)", (title, HUB_EVENTS + 1)).fetchone()[0] > HUB_EVENTS)
    # A hub alone among the filters: walk the events by date (every filter is a hub's).
    walk = bool(hubs) and len(hubs) == len(query.entities) and not query.stories
    where, params = _filters(query, hubs if walk else frozenset())
    params["limit"] = limit
    order, key = DATE_ORDERS[query.sort]
    if after is not None:
        params.update({f"k{n}": value for n, value in enumerate(after)})
        where.append(key)
    table = "events e INDEXED BY events_by_date" if walk else "events e"
    rows = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM {table}{_where(where)} "
                        f"ORDER BY {order} LIMIT :limit", params).fetchall()
    return [(_event_from_row(row), [row["date"], row["position"], row["id"]]) for row in rows]


FIRST_BATCH = 64  # matches checked against the filters at once, doubling up to LAST_BATCH
LAST_BATCH = 8192


def _search(conn: sqlite3.Connection, query: EventQuery, after: list | None, limit: int,
            index: EventIndex) -> list[tuple[ArchivedEvent, list]]:
    """The matches of an FTS query in the listing's order, from the index's rowids and
    scores alone: every match is ordered (bm25 with the recency lift, or day and place),
    then the filters are asked of the matches in that order, a batch at a time, until the
    page is full; only the page's events are read. The same answers as scoring and sorting
    every matching row in SQL (`EVENT_HITS`), tests/test_api_server.py checks."""
    assert query.fts is not None
    relevance = query.sort == "relevance"
    rowids, bm = match_rows(conn, query.fts, scored=relevance, advanced=query.advanced)
    known = rowids < len(index.day)  # (every row is known: the index is of this state)
    rowids = rowids[known]
    bm = bm[known] if bm is not None else None
    day = index.day[rowids]
    keep = ~np.isnan(day)
    if not query.removed:
        keep &= ~index.removed[rowids]
    if query.first:
        keep &= day >= _julian(query.first)
    if query.last:
        keep &= day <= _julian(query.last)
    if relevance:
        assert bm is not None
        primary = bm * (1.0 + RECENCY / (1.0 + (index.newest - day) / RECENCY_DAYS))
    else:  # day and place as one exact number (a day is x.5, a place < 1,000,000)
        primary = day * POSITIONS + index.position[rowids]
        if query.sort == "-date":
            primary = -primary
    newest_first = query.sort == "-date"
    bound = _bound(after, relevance, newest_first) if after is not None else None
    if bound is not None:
        keep &= primary >= bound  # those equal to it: by id, below
    rowids, primary = rowids[keep], primary[keep]
    order = np.argsort(primary, kind="stable")
    where, params = _filters(query)
    filtered = bool(query.entities or query.stories or query.categories is not None)
    found: list[tuple[float, str]] = []
    start, batch = 0, FIRST_BATCH
    while start < len(order):
        if len(found) >= limit and primary[order[start]] > found[limit - 1][0]:
            break  # the page is full, its last key's ties included
        chunk = order[start: start + batch]
        start += len(chunk)
        batch = min(batch * 2, LAST_BATCH)
        wanted = [int(r) for r in rowids[chunk]]
        ids = dict(conn.execute(
            "SELECT k.id, k.ref FROM search_keys k "
            + ("JOIN events e ON e.id = k.ref " if filtered else "")
            + "WHERE k.id IN (SELECT value FROM json_each(:rowids))"
            + ("".join(f" AND {w}" for w in where) if filtered else ""),
            {**(params if filtered else {}), "rowids": json.dumps(wanted)}).fetchall())
        for rowid, key in zip(wanted, primary[chunk].tolist(), strict=True):
            event_id = ids.get(rowid)
            if event_id is None:
                continue
            if bound is not None and key == bound and (
                    event_id >= after[-1] if newest_first else event_id <= after[-1]):
                continue  # at or before the cursor's event
            found.append((key, event_id))
    # ties of the primary key: by id (newest first: the larger id first)
    found.sort(key=lambda pair: pair[1], reverse=newest_first)
    found.sort(key=lambda pair: pair[0])
    found = found[:limit]
    rows = {row["id"]: row for row in conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps([event_id for _, event_id in found]),))}
    out = []
    for key, event_id in found:
        row = rows[event_id]
        out.append((_event_from_row(row), [key, event_id] if relevance
                    else [row["date"], row["position"], row["id"]]))
    return out


def _bound(after: list, relevance: bool, newest_first: bool) -> float:
    bound = float(after[0]) if relevance else _julian(after[0]) * POSITIONS + after[1]
    return -bound if newest_first else bound


def list_events_by_sql(conn: sqlite3.Connection, query: EventQuery, after: list | None,
                       limit: int) -> list[tuple[ArchivedEvent, list]]:
    """What `list_events` answers for an FTS query, by scoring and sorting every matching
    row in SQL: slower (tens of thousands of rows read for a common word), kept as the
    reference the tests compare with."""
    assert query.fts is not None
    where, params = _filters(query)
    params["limit"] = limit
    if query.sort == "relevance":
        order, key = "score, e.id", "(score, e.id) > (:k0, :k1)"
    else:
        order, key = DATE_ORDERS[query.sort]
    if after is not None:
        params.update({f"k{n}": value for n, value in enumerate(after)})
    params.update(q=query.fts, lift=RECENCY, days=RECENCY_DAYS)
    if after is not None and query.sort == "relevance":
        sql = (f"SELECT * FROM ({EVENT_HITS}{_where(where)}) e "
               f"WHERE {key} ORDER BY {order} LIMIT :limit")
    else:
        if after is not None:
            where.append(key)
        sql = f"{EVENT_HITS}{_where(where)} ORDER BY {order} LIMIT :limit"
    rows = run(conn, sql, params, advanced=query.advanced)
    return [(_event_from_row(row), [row["score"], row["id"]] if query.sort == "relevance"
             else [row["date"], row["position"], row["id"]]) for row in rows]


def _where(where: list[str]) -> str:
    return (" WHERE " + " AND ".join(where)) if where else ""


def stored_categories(conn: sqlite3.Connection) -> list[str]:
    """Every category heading the events have, as stored."""
    return [row[0] for row in conn.execute(
        "SELECT DISTINCT category FROM events WHERE category IS NOT NULL")]


# -- subjects --------------------------------------------------------------------------------

def find_entity(conn: sqlite3.Connection, names: list[str]) -> str | None:
    """The entity a name stands for: its canonical title, a title as the portal linked it
    (redirects followed), or its slug; the first of `names` (spellings of one name) found."""
    for name in names:
        row = conn.execute(
            "SELECT title FROM entities WHERE title = ?1 UNION ALL "
            "SELECT n.title FROM titles t JOIN entities n ON n.title = t.canonical "
            "WHERE t.title = ?1 UNION ALL SELECT title FROM entities WHERE slug = ?1 "
            "LIMIT 1", (name,)).fetchone()
        if row:
            return row[0]
    return None


def find_story(conn: sqlite3.Connection, names: list[str]) -> str | None:
    """The story heading a name stands for: the heading as written, or its slug."""
    for name in names:
        row = conn.execute(
            "SELECT title FROM stories WHERE title = ?1 UNION ALL "
            "SELECT title FROM stories WHERE slug = ?1 LIMIT 1", (name,)).fetchone()
        if row:
            return row[0]
    return None


def entities(conn: sqlite3.Connection, titles: list[str]) -> dict[str, dict]:
    """Entity title -> its facts: slug, Wikidata item, page id, disambiguation, how many
    live events have it in their context, the first and last of their days, its labels
    (the words linked to it, most used first)."""
    found: dict[str, dict] = {}
    for row in conn.execute(
        "SELECT n.title, n.slug, n.wikidata, n.pageid, n.disambiguation, "
        "COUNT(DISTINCT e.id) AS events, MIN(e.date) AS first, MAX(e.date) AS last "
        "FROM entities n LEFT JOIN event_entities x ON x.entity = n.title "
        "LEFT JOIN events e ON e.id = x.event_id AND e.removed = 0 "
        "WHERE n.title IN (SELECT value FROM json_each(?)) GROUP BY n.title",
        (json.dumps(titles, ensure_ascii=False),)):
        found[row["title"]] = {
            "title": row["title"], "slug": row["slug"], "wikidata": row["wikidata"],
            "pageid": row["pageid"], "disambiguation": bool(row["disambiguation"]),
            "events": row["events"], "first": row["first"], "last": row["last"], "labels": []}
    for entity, label in conn.execute(
        "SELECT entity, label FROM event_entities WHERE label != '' AND entity IN "
        "(SELECT value FROM json_each(?)) GROUP BY entity, label "
        "ORDER BY entity, COUNT(*) DESC, label", (json.dumps(titles, ensure_ascii=False),)):
        if entity in found and label != entity:
            found[entity]["labels"].append(label)
    return found


def _titles(conn: sqlite3.Connection, table: str, members: str, prefix: str | None,
            after: str | None, limit: int) -> list[str]:
    """Titles of `table` (entities, stories) with events (`members`: the table linking a
    title to its events), in order, starting with `prefix` (any case), after `after`."""
    where = [f"EXISTS (SELECT 1 FROM {members})"]
    params: dict[str, object] = {"limit": limit}
    if prefix:
        where.append(r"t.title LIKE :prefix ESCAPE '\'")
        params["prefix"] = (prefix.replace("\\", "\\\\").replace("%", r"\%")
                            .replace("_", r"\_") + "%")
    if after is not None:
        where.append("t.title > :after")
        params["after"] = after
    return [row[0] for row in conn.execute(
        f"SELECT t.title FROM {table} t WHERE {' AND '.join(where)} "
        "ORDER BY t.title LIMIT :limit", params)]


def entity_titles(conn: sqlite3.Connection, prefix: str | None, after: str | None,
                  limit: int) -> list[str]:
    """Titles of entities with events, in order, starting with `prefix` (any case),
    after the title `after`."""
    return _titles(conn, "entities", "event_entities x WHERE x.entity = t.title", prefix,
                   after, limit)


def stories(conn: sqlite3.Connection, titles: list[str]) -> dict[str, dict]:
    """Story heading -> its facts: slug, how many live events are under it, the first and
    last of their days. (Which subject a heading is, when it is one link, is the page
    model's: `Store.story_subjects`.)"""
    return {row["title"]: dict(row) for row in conn.execute(
        "SELECT s.title, s.slug, COUNT(e.id) AS events, MIN(e.date) AS first, "
        "MAX(e.date) AS last FROM stories s LEFT JOIN event_stories x ON x.title = s.title "
        "LEFT JOIN events e ON e.id = x.event_id AND e.removed = 0 "
        "WHERE s.title IN (SELECT value FROM json_each(?)) GROUP BY s.title",
        (json.dumps(titles, ensure_ascii=False),))}


def entity_ids(conn: sqlite3.Connection, titles: list[str]) -> dict[str, tuple]:
    """Entity title -> (Wikidata item, page id), for these titles that are entities."""
    return {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT title, wikidata, pageid FROM entities WHERE title IN "
        "(SELECT value FROM json_each(?))", (json.dumps(titles, ensure_ascii=False),))}


def story_titles(conn: sqlite3.Connection, prefix: str | None, after: str | None,
                 limit: int) -> list[str]:
    """Story headings with events, in order, starting with `prefix` (any case)."""
    return _titles(conn, "stories", "event_stories x WHERE x.title = t.title", prefix,
                   after, limit)


def entity_by_slug(conn: sqlite3.Connection, slug: str) -> str | None:
    row = conn.execute("SELECT title FROM entities WHERE slug = ?", (slug,)).fetchone()
    return row[0] if row else None


def story_by_slug(conn: sqlite3.Connection, slug: str) -> str | None:
    row = conn.execute("SELECT title FROM stories WHERE slug = ?", (slug,)).fetchone()
    return row[0] if row else None
