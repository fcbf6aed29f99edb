"""The store's side of titles and entities as the pages show them: what was learnt about
titles, and every event's context (the canonical entities it links, with their labels).

A mixin of `Store` (it uses `self.conn`, and the change counter and meta of `Store`
itself). `rebuild_entities` remakes only the contexts of events changed since it last ran
(`entities_seq` in meta); slugs of existing entities never change.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Container, Iterable, Iterator

from ..model import Entity, TitleInfo
from .rows import _TakenSlugs


class EntitiesStore:
    """Titles learnt, entities and events' contexts."""

    conn: sqlite3.Connection
    next_change: Callable[[], int]  # Store's (store/__init__.py)
    meta_int: Callable[[str], int]  # Store's
    _set_meta: Callable[[str, object], None]  # Store's

    # -- titles and entities ---------------------------------------------------------------

    def save_titles(self, infos: Iterable[TitleInfo], origin: str, at: str) -> int:
        """Upsert what was learnt about titles; returns how many canonical titles changed."""
        rows = [(i.title, i.canonical, i.pageid, i.wikidata, int(i.disambiguation),
                 int(i.missing), origin, at) for i in infos]
        before = dict(self.conn.execute(
            "SELECT title, canonical FROM titles WHERE title IN (SELECT value FROM json_each(?))",
            (json.dumps([row[0] for row in rows]),)).fetchall())
        self.conn.executemany(
            "INSERT INTO titles (title, canonical, pageid, wikidata, disambiguation, missing, "
            "origin, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (title) DO UPDATE "
            "SET canonical = excluded.canonical, pageid = excluded.pageid, "
            "wikidata = excluded.wikidata, disambiguation = excluded.disambiguation, "
            "missing = excluded.missing, origin = excluded.origin, "
            "resolved_at = excluded.resolved_at",
            rows,
        )
        moved = [row[0] for row in rows if before.get(row[0], row[0]) != row[1]]
        if moved:
            # The events linking these titles show other entities now: publish them again
            # (and rebuild_entities remakes their contexts: only theirs can change).
            self.conn.execute(
                "UPDATE events SET change_seq = ? WHERE id IN (SELECT event_id FROM event_links "
                "WHERE target IN (SELECT value FROM json_each(?)))",
                (self.next_change(), json.dumps(moved)))
        return len(moved)

    _CONTEXT_SQL = (
        "SELECT x.id, COALESCE(t.canonical, x.target), x.label, MAX(x.in_text), "
        "MAX(x.in_story) FROM ("
        "  SELECT e.id, json_extract(j.value, '$.target') AS target, "
        "         json_extract(j.value, '$.label') AS label, 1 AS in_text, 0 AS in_story "
        "  FROM events e, json_each(e.links) j WHERE e.change_seq > :since "
        "  UNION ALL "
        "  SELECT e.id, json_extract(l.value, '$.target'), json_extract(l.value, '$.label'), 0, 1 "
        "  FROM events e, json_each(e.stories) s, json_each(json_extract(s.value, '$.links')) l "
        "  WHERE e.change_seq > :since"
        ") x LEFT JOIN titles t ON t.title = x.target "
        "WHERE x.target IS NOT NULL AND x.target != '' "
        "GROUP BY x.id, COALESCE(t.canonical, x.target), x.label"
    )

    def _count_events(self, everything: bool) -> None:
        """Keep `entity_counts` (schema 12) as event_entities now counts: every entity's
        count made again, or those of the entities the changed events had or have."""
        conn = self.conn
        if everything:
            conn.execute("DELETE FROM entity_counts")
            conn.execute("INSERT INTO entity_counts (entity, events) SELECT entity, "
                         "COUNT(DISTINCT event_id) FROM event_entities GROUP BY entity")
            return
        conn.execute("INSERT OR IGNORE INTO temp.recount SELECT entity FROM temp.ctx")
        conn.execute("DELETE FROM entity_counts WHERE entity IN (SELECT entity FROM temp.recount)")
        conn.execute("INSERT INTO entity_counts (entity, events) SELECT entity, "
                     "COUNT(DISTINCT event_id) FROM event_entities "
                     "WHERE entity IN (SELECT entity FROM temp.recount) GROUP BY entity")
        conn.execute("DELETE FROM temp.recount")

    def rebuild_entities(self, make_slug: Callable[[str, Container[str]], str]) -> int:
        """Bring every event's context up to date: only events changed since the last run
        (a title that leads elsewhere now marks the events linking it changed: save_titles),
        every event on a new archive. Slugs of existing entities never change. Returns the
        number of new entities."""
        conn = self.conn
        since = self.meta_int("entities_seq")
        latest = self.meta_int("change_seq")
        if since >= latest:
            return 0
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS ctx (event_id, entity, label, in_text, "
                     "in_story)")
        conn.execute("DELETE FROM temp.ctx")
        conn.execute(f"INSERT INTO temp.ctx {self._CONTEXT_SQL}", {"since": since})
        taken = _TakenSlugs(conn, "entities")
        rows = []
        for (title,) in conn.execute(
            "SELECT DISTINCT entity FROM temp.ctx WHERE entity NOT IN "
            "(SELECT title FROM entities) ORDER BY entity"
        ).fetchall():
            slug = make_slug(title, taken)
            taken.add(slug)
            rows.append((title, slug))
        conn.executemany("INSERT INTO entities (title, slug) VALUES (?, ?)", rows)
        # The canonical page's own row knows it best; any row that reached it will do.
        conn.execute(
            "UPDATE entities SET wikidata = t.wikidata, pageid = t.pageid, "
            "disambiguation = t.disambiguation FROM (SELECT canonical, wikidata, pageid, "
            "disambiguation, ROW_NUMBER() OVER (PARTITION BY canonical ORDER BY "
            "title != canonical, wikidata IS NULL) AS pick FROM titles) t "
            "WHERE t.pick = 1 AND t.canonical = entities.title"
        )
        # The entities the events leave lose labels: the search index takes that too.
        if since < 0:
            conn.execute("INSERT OR IGNORE INTO fts_pending (kind, ref) SELECT DISTINCT "
                         "'entity', entity FROM event_entities")
            conn.execute("DELETE FROM event_entities")
        else:
            conn.execute("INSERT OR IGNORE INTO fts_pending (kind, ref) SELECT DISTINCT "
                         "'entity', entity FROM event_entities WHERE event_id IN "
                         "(SELECT id FROM events WHERE change_seq > ?)", (since,))
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS recount (entity TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM temp.recount")
            conn.execute("INSERT OR IGNORE INTO temp.recount SELECT entity FROM event_entities "
                         "WHERE event_id IN (SELECT id FROM events WHERE change_seq > ?)",
                         (since,))
            conn.execute("DELETE FROM event_entities WHERE event_id IN "
                         "(SELECT id FROM events WHERE change_seq > ?)", (since,))
        conn.execute("INSERT INTO event_entities (event_id, entity, label, in_text, in_story) "
                     "SELECT event_id, entity, COALESCE(label, ''), in_text, in_story "
                     "FROM temp.ctx")
        self._count_events(everything=since < 0)
        # Their labels may have changed: the search index takes them now (schema 8).
        conn.execute("INSERT OR IGNORE INTO fts_pending (kind, ref) "
                     "SELECT DISTINCT 'entity', entity FROM temp.ctx")
        conn.execute("DELETE FROM temp.ctx")
        self._set_meta("entities_seq", latest)
        return len(rows)

    def iter_entities(self) -> Iterator[Entity]:
        """Every entity with an event, by title, with its labels (most used first);
        `events` counts events still on the portal."""
        labels: dict[str, list[str]] = {}
        for entity, label in self.conn.execute(
            "SELECT entity, label FROM event_entities WHERE label != '' "
            "GROUP BY entity, label ORDER BY entity, COUNT(*) DESC, label"
        ):
            labels.setdefault(entity, []).append(label)
        rows = self.conn.execute(
            "SELECT n.title, n.slug, n.wikidata, COUNT(DISTINCT e.id) AS events FROM entities n "
            "JOIN event_entities x ON x.entity = n.title "
            "LEFT JOIN events e ON e.id = x.event_id AND e.removed = 0 "
            "GROUP BY n.title ORDER BY n.title"
        )
        for row in rows:
            yield Entity(row["title"], row["slug"], tuple(labels.get(row["title"], ())),
                         row["wikidata"], row["events"])

    def context(self, event_id: str) -> list[str]:
        """An event's context: its canonical entities, sorted case-insensitively."""
        return self.contexts([event_id]).get(event_id, [])

    def contexts(self, event_ids: Iterable[str]) -> dict[str, list[str]]:
        """The contexts of many events in one query (events without one are left out)."""
        found: dict[str, set[str]] = {}
        for event_id, entity in self.conn.execute(
            "SELECT event_id, entity FROM event_entities "
            "WHERE event_id IN (SELECT value FROM json_each(?))", (json.dumps(list(event_ids)),)):
            found.setdefault(event_id, set()).add(entity)
        return {event_id: sorted(titles, key=lambda title: (title.casefold(), title))
                for event_id, titles in found.items()}
