"""The store's side of publishing: events' paths (slugs kept, old ones as redirects),
stories' and entities' slugs, what a page lists and what changed since a build, and the
live server's lookups of what a path names.

A mixin of `Store` (it uses `self.conn`). Only reads and the slugs' own tables are written
here: a build asks, the site's code decides what to make of the answers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Container, Iterable
from datetime import date

from ..model import Story
from ..site.urls import MAX_SLUG
from .rows import _stories, _TakenSlugs


class PublishingStore:
    """Paths and slugs, what pages list, and what a path names."""

    conn: sqlite3.Connection

    # -- publishing --------------------------------------------------------------------------

    def event_slugs(self, event_ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """Event id -> (date, slug) of its current path (of every event, or of these)."""
        sql = "SELECT event_id, date, slug FROM event_slugs WHERE current = 1"
        if event_ids is None:
            rows = self.conn.execute(sql)
        else:
            rows = self.conn.execute(sql + " AND event_id IN (SELECT value FROM json_each(?))",
                                     (json.dumps(list(event_ids)),))
        return {row[0]: (row[1], row[2]) for row in rows}

    def old_event_paths(self, days: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        """(date, slug, event id) of paths an event was published at before."""
        sql = "SELECT date, slug, event_id FROM event_slugs WHERE current = 0"
        if days is None:
            return [tuple(row) for row in self.conn.execute(sql + " ORDER BY date, slug")]
        days = list(days)
        marks = ",".join("?" * len(days))
        return [tuple(row) for row in self.conn.execute(
            f"{sql} AND date IN ({marks}) ORDER BY date, slug", days)]

    def assign_event_slugs(self, day: date, make_slug: Callable[[str, Container[str]], str],
                           slugify: Callable[..., str]) -> set[str]:
        """Give the day's events their paths: an event keeps its slug while its wording
        still yields it; a reworded (or moved) event gets a new one and its old path is
        kept as a redirect. A slug once used on a day is never given to another event.
        Returns the ids whose path changed."""
        iso = day.isoformat()
        used = {row[0]: row[1] for row in self.conn.execute(
            "SELECT slug, event_id FROM event_slugs WHERE date = ?", (iso,))}
        current = {row[0]: row[1] for row in self.conn.execute(
            "SELECT event_id, slug FROM event_slugs WHERE date = ? AND current = 1", (iso,))}
        taken = set(used) | {"index"}  # the day page's own name
        changed: set[str] = set()

        def fits(slug: str, text: str) -> bool:
            """The slug this wording gives, alone or with the suffix it needed that day."""
            if slug == slugify(text):
                return True
            base, _, number = slug.rpartition("-")
            return number.isdigit() and base == slugify(text, MAX_SLUG - len(number) - 1)

        for event_id, text in self.conn.execute(
            "SELECT id, text FROM events WHERE date = ? ORDER BY position, id", (iso,)
        ).fetchall():
            mine = current.get(event_id)
            if mine and fits(mine, text):
                continue
            # A path this event had before on this day comes back when its wording does.
            again = next((slug for slug, owner in used.items()
                          if owner == event_id and fits(slug, text)), None)
            slug = again or make_slug(text, taken)
            taken.add(slug)
            self.conn.execute("UPDATE event_slugs SET current = 0 WHERE event_id = ?",
                              (event_id,))
            self.conn.execute(
                "INSERT INTO event_slugs (date, slug, event_id, current) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (date, slug) DO UPDATE SET current = 1",
                (iso, slug, event_id),
            )
            changed.add(event_id)
        return changed

    def story_slugs(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Story heading -> slug (of every story, or of these)."""
        return self._slugs("stories", titles)

    def _slugs(self, table: str, titles: Iterable[str] | None) -> dict[str, str]:
        sql = f"SELECT title, slug FROM {table}"
        if titles is None:
            return dict(self.conn.execute(sql).fetchall())
        return dict(self.conn.execute(f"{sql} WHERE title IN (SELECT value FROM json_each(?))",
                                      (json.dumps(list(titles)),)).fetchall())

    def assign_story_slugs(self, make_slug: Callable[[str, Container[str]], str],
                           event_ids: Iterable[str] | None = None) -> int:
        """Slugs for story headings that have none yet (under any event, or under these);
        existing slugs never change."""
        taken = _TakenSlugs(self.conn, "stories")
        rows = []
        sql = ("SELECT DISTINCT json_extract(s.value, '$.text') "
               "FROM events e, json_each(e.stories) s")
        params: tuple[str, ...] = ()
        if event_ids is not None:
            sql += " WHERE e.id IN (SELECT value FROM json_each(?))"
            params = (json.dumps(list(event_ids)),)
        titles = [title for (title,) in self.conn.execute(sql, params).fetchall() if title]
        known = self.story_slugs(titles)
        for title in titles:
            if title not in known:
                slug = make_slug(title, taken)
                taken.add(slug)
                rows.append((title, slug))
        self.conn.executemany("INSERT INTO stories (title, slug) VALUES (?, ?)", rows)
        return len(rows)

    def events_with_story(self, title: str) -> list[tuple[str, str, int]]:
        """(id, date, position) of the events under a story heading (removed ones too:
        their pages stay), newest first."""
        return self.story_members([title]).get(title, [])

    def story_members(self, titles: Iterable[str] | None = None
                      ) -> dict[str, list[tuple[str, str, int]]]:
        """Story heading -> its events (as events_with_story), for many stories in one
        pass over the events (a query per story would read every event each time)."""
        wanted = None if titles is None else set(titles)
        sql = ("SELECT DISTINCT json_extract(s.value, '$.text'), e.id, e.date, e.position "
               "FROM events e, json_each(e.stories) s ")
        params: list[str] = []
        if wanted is not None and len(wanted) <= 20:
            # A few stories (an incremental build): only events whose stored headings hold
            # one of the titles as a JSON string are opened, not every event's headings.
            sql += "WHERE " + " OR ".join("instr(e.stories, ?) > 0" for _ in wanted) + " "
            params = [json.dumps(title, ensure_ascii=False) for title in wanted]
        members: dict[str, list[tuple[str, str, int]]] = {}
        for story, event_id, day, position in self.conn.execute(
            sql + "ORDER BY e.date DESC, e.position DESC, e.id DESC", params
        ):
            if wanted is None or story in wanted:
                members.setdefault(story, []).append((event_id, day, position))
        return members

    def events_with_entity(self, title: str) -> list[tuple[str, str]]:
        """(id, date) of the events whose context holds an entity (removed ones too),
        newest first."""
        return [tuple(row) for row in self.conn.execute(
            "SELECT DISTINCT e.id, e.date, e.position FROM event_entities x "
            "JOIN events e ON e.id = x.event_id WHERE x.entity = ? "
            "ORDER BY e.date DESC, e.position DESC, e.id DESC", (title,))]

    def entity_headlines(self, title: str) -> tuple[set[str], list[list[Story]]]:
        """The events a subject heads (its link is in their story headings), and those
        events' chains of headings (to find its sub-stories)."""
        rows = self.conn.execute(
            "SELECT DISTINCT e.id, e.stories FROM event_entities x JOIN events e "
            "ON e.id = x.event_id WHERE x.entity = ? AND x.in_story = 1", (title,)).fetchall()
        return {row[0] for row in rows}, [_stories(row[1]) for row in rows]

    def story_headings(self, event_ids: Iterable[str]) -> list[list[Story]]:
        """The chains of story headings of these events (outermost first)."""
        return [_stories(row[0]) for row in self.conn.execute(
            "SELECT stories FROM events WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(event_ids)),))]

    def canonical_titles(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Title -> the title it stands for, for the titles the archive knows (of these)."""
        sql = "SELECT title, canonical FROM titles"
        if titles is None:
            return dict(self.conn.execute(sql).fetchall())
        return dict(self.conn.execute(f"{sql} WHERE title IN (SELECT value FROM json_each(?))",
                                      (json.dumps(list(titles)),)).fetchall())

    def plain_headings(self, headings: Iterable[str] | None = None) -> dict[str, int]:
        """Story headings written, on some event, as other than one link (their story has
        a page of its own): heading -> 1."""
        sql = "SELECT DISTINCT heading FROM event_headings WHERE one_link = 0"
        return {row[0]: 1 for row in self._of_headings(sql, headings)}

    def _of_headings(self, sql: str, headings: Iterable[str] | None,
                     suffix: str = "") -> sqlite3.Cursor:
        """`sql` over event_headings (`heading` among these, when given), then `suffix`."""
        if headings is None:
            return self.conn.execute(sql + suffix)
        return self.conn.execute(
            f"{sql} AND heading IN (SELECT value FROM json_each(?)){suffix}",
            (json.dumps(list(headings)),))

    def moved_entities(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Entity title -> the title it now stands for, for entities whose title became a
        redirect or a folded spelling of another (of every entity, or of these)."""
        sql = ("SELECT n.title, t.canonical FROM entities n JOIN titles t ON t.title = n.title "
               "WHERE t.canonical != n.title")
        if titles is None:
            return dict(self.conn.execute(sql).fetchall())
        return dict(self.conn.execute(f"{sql} AND n.title IN (SELECT value FROM json_each(?))",
                                      (json.dumps(list(titles)),)).fetchall())

    def story_subjects(self, headings: Iterable[str] | None = None) -> dict[str, str]:
        """Story heading -> the subject (canonical entity) it is, for headings that are one
        link and nothing else ("[[Syrian Civil War]]"): their page is the subject's. Where
        a heading was linked to different titles, its newest event's link counts."""
        rows = self._of_headings(
            "SELECT heading, target, MAX(date || printf('%010d', position) || event_id) "
            "FROM event_headings WHERE one_link = 1", headings, " GROUP BY heading")
        newest = {heading: target for heading, target, _ in rows}
        canonical = dict(self.conn.execute(
            "SELECT title, canonical FROM titles WHERE title IN (SELECT value FROM json_each(?))",
            (json.dumps([t for t in newest.values() if t is not None]),)))
        return {heading: canonical.get(target) or target for heading, target in newest.items()}

    def entities_newest_event(self) -> list[tuple[str, str, int]]:
        """(entity, date, position) of every entity's newest event (removed ones too), newest
        first: a full build plans the pages listing the same events together."""
        return [(entity, newest[:10], int(newest[10:])) for entity, newest in self.conn.execute(
            "SELECT x.entity, MAX(e.date || printf('%06d', e.position)) AS newest "
            "FROM event_entities x JOIN events e ON e.id = x.event_id "
            "GROUP BY x.entity ORDER BY newest DESC, x.entity")]

    def entity_event_counts(self, titles: Iterable[str] | None = None) -> dict[str, int]:
        """Entity -> how many events (removed ones too) have it in their context (every
        entity, or these). Every entity's from `entity_counts`; these counted from their
        rows (an index lookup each, also in a window, where `entity_counts` is a view that
        counts the whole window)."""
        if titles is None:
            return dict(self.conn.execute("SELECT entity, events FROM entity_counts"))
        return dict(self.conn.execute(
            "SELECT entity, COUNT(DISTINCT event_id) FROM event_entities "
            "WHERE entity IN (SELECT value FROM json_each(?)) GROUP BY entity",
            (json.dumps(list(titles)),)))

    def frequent_entities(self, count: int) -> list[str]:
        """The `count` entities in most events, most first (ties by title)."""
        return [row[0] for row in self.conn.execute(
            "SELECT entity FROM entity_counts ORDER BY events DESC, entity LIMIT ?",
            (max(count, 0),))]

    def changed_events(self, since: int) -> list[str]:
        return [row[0] for row in self.conn.execute(
            "SELECT id FROM events WHERE change_seq > ?", (since,))]

    def changed_related(self, since: int) -> list[str]:
        return [row[0] for row in self.conn.execute(
            "SELECT event_id FROM related WHERE change_seq > ?", (since,))]

    def related_mentioning(self, event_ids: Iterable[str]) -> set[str]:
        """Events whose related list shows one of these events (its title is on them)."""
        return {row[0] for row in self.conn.execute(
            "SELECT DISTINCT event_id FROM related_shown "
            "WHERE shown_id IN (SELECT value FROM json_each(?))", (json.dumps(list(event_ids)),))}

    def slug_dates(self, event_ids: Iterable[str]) -> set[str]:
        """Every day an event was ever published under (moves leave the old day behind)."""
        return {row[0] for row in self.conn.execute(
            "SELECT DISTINCT date FROM event_slugs "
            "WHERE event_id IN (SELECT value FROM json_each(?))", (json.dumps(list(event_ids)),))}

    def articles_since(self, stamp: str) -> list[str]:
        """Source URLs whose article was (re-)extracted, or its cover picture kept, at or
        after a time (a build's start: times have whole seconds, and what was written in
        the second a build started may have come after it read the archive)."""
        return [row[0] for row in self.conn.execute(
            "SELECT url FROM articles WHERE extracted_at >= ? UNION "
            "SELECT a.url FROM images i JOIN articles a ON a.og_image = i.url "
            "WHERE i.fetched_at >= ? AND i.copy_sha256 IS NOT NULL", (stamp, stamp))]

    def events_citing(self, source_urls: Iterable[str]) -> set[str]:
        """Events citing one of these URLs (one pass over the events, however many URLs)."""
        urls = list(source_urls)
        if not urls:
            return set()  # no new article: no pass over the events
        return {row[0] for row in self.conn.execute(
            "SELECT DISTINCT e.id FROM events e, json_each(e.sources) j "
            "WHERE json_extract(j.value, '$.url') IN (SELECT value FROM json_each(?))",
            (json.dumps(urls),))}

    def cited_sources(self, urls: Iterable[str] | None = None
                      ) -> dict[str, list[tuple[str, str, str]]]:
        """Fetched source URL -> [(event id, event text, outlet)] citing it (of every
        source, or of these)."""
        result: dict[str, list[tuple[str, str, str]]] = {}
        where, params = "", ()
        if urls is not None:
            where = "WHERE a.url IN (SELECT value FROM json_each(?)) "
            params = (json.dumps(list(urls)),)
        for url, event_id, text, name in self.conn.execute(
            "SELECT json_extract(j.value, '$.url'), e.id, e.text, json_extract(j.value, '$.name') "
            "FROM events e, json_each(e.sources) j JOIN articles a "
            f"ON a.url = json_extract(j.value, '$.url') {where}ORDER BY e.date, e.position",
            params,
        ):
            result.setdefault(url, []).append((event_id, text, name))
        return result

    def cooccurring(self, event_ids: list[str], exclude: str, limit: int) -> list[tuple[str, int]]:
        """The entities most often found with these events (besides `exclude`)."""
        rows = self.conn.execute(
            "SELECT x.entity, COUNT(DISTINCT x.event_id) AS n FROM event_entities x "
            "WHERE x.event_id IN (SELECT value FROM json_each(?)) AND x.entity != ? "
            "GROUP BY x.entity ORDER BY n DESC, x.entity LIMIT ?",
            (json.dumps(event_ids), exclude, limit)).fetchall()
        return [(row[0], row[1]) for row in rows]

    def entity_slugs(self, titles: Iterable[str] | None = None) -> dict[str, str]:
        """Entity title -> slug (of every entity, or of these)."""
        return self._slugs("entities", titles)

    # -- the live server: what a path names (slugs and hashes are UNIQUE, so indexed) ------

    def event_at(self, day: str, slug: str) -> tuple[str, bool] | None:
        """(event id, whether it is the event's current path) of a day's slug."""
        row = self.conn.execute("SELECT event_id, current FROM event_slugs "
                                "WHERE date = ? AND slug = ?", (day, slug)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def titled(self, table: str, slug: str) -> str | None:
        """The story heading (`stories`) or entity title (`entities`) with this slug."""
        if table not in ("stories", "entities"):
            raise ValueError(table)
        row = self.conn.execute(f"SELECT title FROM {table} WHERE slug = ?", (slug,)).fetchone()
        return row[0] if row else None

    def source_url(self, hash_: str) -> str | None:
        row = self.conn.execute("SELECT url FROM sources WHERE hash = ?", (hash_,)).fetchone()
        return row[0] if row else None

    def unpublished_event(self) -> str | None:
        """An event without a current path (ingested since the last build), if any."""
        row = self.conn.execute(
            "SELECT id FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_slugs s "
            "WHERE s.event_id = e.id AND s.current = 1) LIMIT 1").fetchone()
        return row[0] if row else None

    def state_marks(self) -> tuple:
        """What tells one state of the archive from another, cheaply: every counter in
        meta, how many paths, stories and entities there are, and the newest writes."""
        marks: list[object] = sorted(tuple(row) for row in self.conn.execute(
            "SELECT key, value FROM meta"))
        for sql in ("SELECT COUNT(*), SUM(current) FROM event_slugs",
                    "SELECT (SELECT COUNT(*) FROM stories), (SELECT COUNT(*) FROM entities)"):
            marks.append(tuple(self.conn.execute(sql).fetchone()))
        return (*marks, self.newest_writes())

    def newest_writes(self) -> tuple[str | None, ...]:
        """The time (ISO 8601, UTC) of the newest ingest, resolve, fetch, extraction and
        cover picture fetch."""
        return tuple(self.conn.execute(
            "SELECT (SELECT MAX(ingested_at) FROM revisions), "
            "(SELECT MAX(resolved_at) FROM titles), (SELECT MAX(fetched_at) FROM sources), "
            "(SELECT MAX(extracted_at) FROM articles), "
            "(SELECT MAX(fetched_at) FROM images)").fetchone())

    def source_articles(self, urls: Iterable[str]) -> dict[str, sqlite3.Row]:
        """Source URL -> its fetch record joined with its article (if any)."""
        urls = list(dict.fromkeys(urls))
        if not urls:
            return {}
        marks = ",".join("?" * len(urls))
        rows = self.conn.execute(
            f"SELECT s.url, s.hash, s.status AS fetch_status, s.fetched_at, s.final_url, "
            f"s.archived_from, a.og_title, a.og_description, a.og_image, a.og_site_name, "
            f"a.og_published, a.title, a.subtitle, a.author, a.published, a.text, "
            f"a.status AS article_status FROM sources s LEFT JOIN articles a ON a.url = s.url "
            f"WHERE s.url IN ({marks})", urls).fetchall()
        return {row["url"]: row for row in rows}

    def source_media(self, urls: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """Source URL -> its article's (Open Graph description, image), for the sources
        that have an article: what event listings show, without the article's text."""
        return {row[0]: (row[1], row[2]) for row in self.conn.execute(
            "SELECT url, og_description, og_image FROM articles "
            "WHERE url IN (SELECT value FROM json_each(?))", (json.dumps(list(urls)),))}

    def day_counts(self) -> list[tuple[str, int]]:
        """(date, live events) of every day with events, oldest first."""
        return [tuple(row) for row in self.conn.execute(
            "SELECT date, SUM(removed = 0) FROM events GROUP BY date ORDER BY date")]
