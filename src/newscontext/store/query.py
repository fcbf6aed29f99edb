"""The reads of the JSON API: filtered, paged event lists and the subjects' facts.

Pages are keyed, not numbered: a list resumes after the key of the last row it gave (date,
place on the day and id; or score and id), so a page is as fast deep in the archive as at
its start and no row is skipped or repeated while the archive grows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from ..model import ArchivedEvent
from . import _EVENT_COLUMNS, _event_from_row
from .fts import EVENT_HITS, RECENCY, RECENCY_DAYS, run


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


def list_events(conn: sqlite3.Connection, query: EventQuery, after: list | None,
                limit: int) -> list[tuple[ArchivedEvent, list]]:
    """Up to `limit` events after the key `after` (None: from the start), each with its
    key. With an FTS query only matching events are listed; `relevance` orders them by
    score (see store.fts)."""
    hubs = frozenset(title for title in query.entities if query.fts is None
                     and query.sort != "relevance" and conn.execute(
                         "SELECT COUNT(*) FROM (SELECT 1 FROM event_entities WHERE entity = ? "
                         "LIMIT ?)", (title, HUB_EVENTS + 1)).fetchone()[0] > HUB_EVENTS)
    # A hub alone among the filters: walk the events by date (every filter is a hub's).
    walk = bool(hubs) and len(hubs) == len(query.entities) and not query.stories
    where, params = _filters(query, hubs if walk else frozenset())
    params["limit"] = limit
    if query.sort == "relevance":
        order, key = "score, e.id", "(score, e.id) > (:k0, :k1)"
    elif query.sort == "date":
        order, key = ("e.date, e.position, e.id",
                      "(e.date, e.position, e.id) > (:k0, :k1, :k2)")
    else:
        order, key = ("e.date DESC, e.position DESC, e.id DESC",
                      "(e.date, e.position, e.id) < (:k0, :k1, :k2)")
    if after is not None:
        params.update({f"k{n}": value for n, value in enumerate(after)})
    if query.fts is not None:
        params.update(q=query.fts, lift=RECENCY, days=RECENCY_DAYS)
        if after is not None and query.sort == "relevance":
            # the score is a column of the result: filter on it outside
            sql = (f"SELECT * FROM ({EVENT_HITS}{_where(where)}) e "
                   f"WHERE {key} ORDER BY {order} LIMIT :limit")
        else:
            if after is not None:
                where.append(key)
            sql = f"{EVENT_HITS}{_where(where)} ORDER BY {order} LIMIT :limit"
        rows = run(conn, sql, params, advanced=query.advanced)
    else:
        if after is not None:
            where.append(key)
        table = "events e INDEXED BY events_by_date" if walk else "events e"
        rows = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM {table}{_where(where)} "
                            f"ORDER BY {order} LIMIT :limit", params).fetchall()
    out = []
    for row in rows:
        if query.sort == "relevance":
            row_key = [row["score"], row["id"]]
        else:
            row_key = [row["date"], row["position"], row["id"]]
        out.append((_event_from_row(row), row_key))
    return out


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
    last of their days, and the Wikipedia article it stands for (when the heading is one
    link) with that article's entity facts (Wikidata item, page id)."""
    found: dict[str, dict] = {}
    for row in conn.execute(
        "SELECT s.title, s.slug, COUNT(e.id) AS events, MIN(e.date) AS first, "
        "MAX(e.date) AS last, (SELECT m.stories FROM event_stories y "
        "  JOIN events m ON m.id = y.event_id WHERE y.title = s.title "
        "  ORDER BY m.date DESC, m.position DESC LIMIT 1) AS headings "
        "FROM stories s LEFT JOIN event_stories x ON x.title = s.title "
        "LEFT JOIN events e ON e.id = x.event_id AND e.removed = 0 "
        "WHERE s.title IN (SELECT value FROM json_each(?)) GROUP BY s.title",
        (json.dumps(titles, ensure_ascii=False),)):
        article = None
        for heading in json.loads(row["headings"] or "[]"):
            if heading.get("text") == row["title"] and len(heading.get("links", [])) == 1:
                article = heading["links"][0]["target"]
        found[row["title"]] = {"title": row["title"], "slug": row["slug"],
                               "events": row["events"], "first": row["first"],
                               "last": row["last"], "article": article}
    articles = [story["article"] for story in found.values() if story["article"]]
    canonical = dict(conn.execute(
        "SELECT t.title, n.title FROM titles t JOIN entities n ON n.title = t.canonical "
        "WHERE t.title IN (SELECT value FROM json_each(?1)) UNION ALL "
        "SELECT title, title FROM entities WHERE title IN (SELECT value FROM json_each(?1))",
        (json.dumps(articles, ensure_ascii=False),)).fetchall())
    facts = {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT title, wikidata, pageid FROM entities WHERE title IN "
        "(SELECT value FROM json_each(?))",
        (json.dumps(list(canonical.values()), ensure_ascii=False),))}
    for story in found.values():
        entity = canonical.get(story["article"]) if story["article"] else None
        story["entity"] = entity
        story["wikidata"], story["pageid"] = facts.get(entity, (None, None))
    return found


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
