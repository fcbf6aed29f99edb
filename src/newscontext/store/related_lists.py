"""The store's side of related events: events' contexts read as integers for ranking
(newscontext/related.py ranks them), and the related lists it stores, with who shows whom.

A mixin of `Store` (it uses `self.conn`, and the meta of `Store` itself). Named apart from
newscontext/related.py, which computes the lists: this module only reads and writes them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date

import numpy as np

from ..model import Related


class RelatedListsStore:
    """Contexts for ranking, related lists and `related_shown`."""

    conn: sqlite3.Connection
    meta_int: Callable[[str], int]  # Store's (store/__init__.py)
    _set_meta: Callable[[str, object], None]  # Store's

    # -- related events --------------------------------------------------------------------

    def context_rows(self) -> tuple[list[str], list[int], list[str], np.ndarray]:
        """Every live event's context as integers, for ranking at scale: event ids and
        ordinal dates ordered by date, then id (not by place on the day, which moves without
        a change: a ranking must not depend on it), entity titles sorted, and an (n, 3) array
        of (event index, entity index, flags: 1 linked in the sentence, 2 in a story
        heading). Reads the context table (see rebuild_entities)."""
        ids: list[str] = []
        dates: list[int] = []
        index: dict[str, int] = {}
        for event_id, day in self.conn.execute(
            "SELECT id, date FROM events WHERE removed = 0 ORDER BY date, id"
        ):
            index[event_id] = len(ids)
            ids.append(event_id)
            dates.append(date.fromisoformat(day).toordinal())
        live = [(index[event_id], entity, flags) for event_id, entity, flags in self.conn.execute(
            f"{self._CONTEXT_ROWS} GROUP BY event_id, entity") if event_id in index]
        titles = sorted({entity for _, entity, _ in live})
        column = {title: n for n, title in enumerate(titles)}
        data = np.fromiter((value for row, entity, flags in live
                            for value in (row, column[entity], flags)), dtype=np.int64)
        return ids, dates, titles, data.reshape(-1, 3)

    # one row per (event, entity), flags as context_rows gives them
    _CONTEXT_ROWS = ("SELECT event_id, entity, MAX(in_text) + 2 * MAX(in_story) "
                     "FROM event_entities")

    def changed_contexts(self, since: int
                         ) -> tuple[list[str], list[bool], list[int], list[str], np.ndarray]:
        """The events changed after the change counter `since`, live or not: ids, whether
        live, ordinal dates, and their contexts as in context_rows (indexes into these ids
        and titles). Only these events are read: what an incremental `relate` needs."""
        ids: list[str] = []
        live: list[bool] = []
        dates: list[int] = []
        for event_id, day, removed in sorted(tuple(row) for row in self.conn.execute(
            "SELECT id, date, removed FROM events WHERE change_seq > ?", (since,))):
            ids.append(event_id)
            live.append(not removed)
            dates.append(date.fromisoformat(day).toordinal())
        index = {event_id: n for n, event_id in enumerate(ids)}
        column: dict[str, int] = {}
        data = [(index[event_id], column.setdefault(entity, len(column)), flags)
                for event_id, entity, flags in self.conn.execute(
                    f"{self._CONTEXT_ROWS} WHERE event_id IN (SELECT value FROM json_each(?)) "
                    "GROUP BY event_id, entity", (json.dumps(ids),))]
        return ids, live, dates, list(column), np.array(data, dtype=np.int64).reshape(-1, 3)

    def related_token(self) -> str:
        """Changes whenever a related list is written: what `relate` keeps beside the
        archive is valid only for the lists as they were when it was kept."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'related_token'").fetchone()
        return row[0] if row else ""

    def replace_related(self, lists: Iterable[tuple[str, str]]) -> int:
        """Store every event's related list (as JSON); only lists that changed are written.
        The list of an event not given (a removed one) is emptied, not deleted: a change
        like any other, so a build takes it off the event's page. (A removed event without
        a list gets an empty one too: its list was deleted unrecorded before, and its page
        may still show it.) Only the list of an event merged into another (no page) goes.
        Returns how many changed."""
        current = dict(self.conn.execute("SELECT event_id, items FROM related").fetchall())
        seen = set()
        changed = []
        for event_id, encoded in lists:
            seen.add(event_id)
            if current.get(event_id) != encoded:
                changed.append((event_id, encoded))
        events = {row[0] for row in self.conn.execute("SELECT id FROM events")}
        changed += [(event_id, "[]") for event_id in sorted(events - seen)
                    if current.get(event_id) != "[]"]
        gone = sorted(current.keys() - events)
        self._write_related(changed, gone, current)
        return len(changed) + len(gone)

    def update_related(self, lists: Iterable[tuple[str, str]]) -> int:
        """Store these events' related lists (as JSON), every other list left as it is;
        only lists that changed are written. Returns how many changed."""
        lists = list(lists)
        current = dict(self.conn.execute(
            "SELECT event_id, items FROM related "
            "WHERE event_id IN (SELECT value FROM json_each(?))",
            (json.dumps([event_id for event_id, _ in lists]),)).fetchall())
        changed = [(event_id, items) for event_id, items in lists
                   if current.get(event_id) != items]
        self._write_related(changed, [], current)
        return len(changed)

    def _write_related(self, changed: list[tuple[str, str]], gone: list[str],
                       before: dict[str, str]) -> None:
        if changed:
            seq = self.meta_int("related_seq") + 1
            self._set_meta("related_seq", seq)
            self.conn.executemany(
                "INSERT OR REPLACE INTO related (event_id, items, change_seq) VALUES (?, ?, ?)",
                [(event_id, items, seq) for event_id, items in changed],
            )
        self.conn.executemany("DELETE FROM related WHERE event_id = ?", [(e,) for e in gone])
        if changed or gone:
            self._set_meta("related_token", uuid.uuid4().hex)
        self._index_shown([event_id for event_id, _ in changed], gone, before)

    def _index_shown(self, changed: list[str], gone: list[str], before: dict[str, str]) -> None:
        """Keep `related_shown` (who shows whom) in step with the lists just written: the
        pairs of their lists as they were go (found by key, not by a scan of the table),
        the pairs of the new ones come in."""
        pairs, unreadable = [], []
        for event_id in changed + gone:
            try:
                pairs += [(item["id"], event_id) for item in json.loads(before.get(event_id)
                                                                        or "[]")]
            except (ValueError, TypeError, KeyError):  # a list broken by hand: a scan finds it
                unreadable.append((event_id,))
        self.conn.executemany(
            "DELETE FROM related_shown WHERE shown_id = ? AND event_id = ?", pairs)
        self.conn.executemany("DELETE FROM related_shown WHERE event_id = ?", unreadable)
        self.conn.execute(
            "INSERT OR IGNORE INTO related_shown (shown_id, event_id) "
            "SELECT json_extract(j.value, '$.id'), r.event_id FROM related r, json_each(r.items) j "
            "WHERE r.event_id IN (SELECT value FROM json_each(?))", (json.dumps(changed),))

    @staticmethod
    def _related(raw: str | None) -> list[Related]:
        return [Related(i["id"], i["score"], tuple(i["shared"])) for i in json.loads(raw or "[]")]

    def related(self, event_id: str) -> list[Related]:
        row = self.conn.execute(
            "SELECT items FROM related WHERE event_id = ?", (event_id,)
        ).fetchone()
        return self._related(row[0] if row else None)

    def iter_related(self) -> Iterator[tuple[str, list[Related]]]:
        """Every live event's related list, in portal order (empty lists included)."""
        cursor = self.conn.execute(
            "SELECT e.id, r.items FROM events e LEFT JOIN related r ON r.event_id = e.id "
            "WHERE e.removed = 0 ORDER BY e.date, e.position, e.id"
        )
        for event_id, items in cursor:
            yield event_id, self._related(items)
