"""The store's side of what is known about titles, as `resolve` needs it to layer the
redirect tables, the API and the spelling fold (archive.py says in which order).

A mixin of `Store` (it uses `self.conn`). Rows of the `titles` table carry their origin:
'api', a redirect table file's path, 'shipped:redirects.tsv', or 'fold' (a spelling folded
into another by rule; such a row keeps what the API said about the title, e.g. `missing`).

Link targets and their counts come from `event_links`, which triggers keep in step with the
events (schema 10), never from a scan of every event's JSON; `resolve_pending` lists the
targets whose events changed since resolve last ran and `fold_keys` each title's fold key,
so that a resolve after a small change folds again only the groups the change reaches.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

# Origins of title rows other than a redirect file's path.
API = "api"
FOLD = "fold"
SHIPPED_PREFIX = "shipped:"


@dataclass(frozen=True, slots=True)
class TitleRow:
    """One row of the titles table."""

    title: str
    canonical: str
    origin: str
    pageid: int | None
    wikidata: str | None
    disambiguation: bool
    missing: bool

    @property
    def asked(self) -> bool:
        """The API has answered about this title (a folded title keeps its answer)."""
        return self.origin == API or (self.origin == FOLD and self.missing)


class TitlesStore:
    """Title knowledge and link counts for `resolve`."""

    conn: sqlite3.Connection

    def title_rows(self, titles: Collection[str] | None = None) -> dict[str, TitleRow]:
        """The rows of the titles table (of these titles only, if given), by title."""
        if titles is None:
            return _rows(self.conn.execute(_ROWS))
        return _rows(self.conn.execute(
            f"{_ROWS} WHERE title IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(titles)),)))

    def title_rows_about(self, titles: Collection[str]) -> dict[str, TitleRow]:
        """The rows of these titles and the rows that lead to one of them."""
        return _rows(self.conn.execute(
            f"{_ROWS} WHERE title IN (SELECT value FROM json_each(:t)) "
            f"UNION {_ROWS} WHERE canonical IN (SELECT value FROM json_each(:t))",
            {"t": json.dumps(sorted(titles))}))

    def link_targets(self, titles: Collection[str] | None = None) -> set[str]:
        """Every link target written in an event (removed ones too) or in a story heading
        above one; of these titles only, if given."""
        if titles is None:
            return {row[0] for row in self.conn.execute("SELECT DISTINCT target FROM event_links")}
        return {row[0] for row in self.conn.execute(
            "SELECT DISTINCT target FROM event_links "
            "WHERE target IN (SELECT value FROM json_each(?))", (json.dumps(sorted(titles)),))}

    def target_count(self) -> int:
        return self.conn.execute("SELECT COUNT(DISTINCT target) FROM event_links").fetchone()[0]

    def target_links(self, titles: Collection[str] | None = None) -> dict[str, int]:
        """How many live events link each link target, in the sentence or a story heading
        above it (each event counted once a target). Every target is there, 0 for those only
        removed events link; of these titles only, if given."""
        sql = "SELECT target, SUM(live) FROM event_links"
        if titles is None:
            return dict(self.conn.execute(f"{sql} GROUP BY target").fetchall())
        return dict(self.conn.execute(
            f"{sql} WHERE target IN (SELECT value FROM json_each(?)) GROUP BY target",
            (json.dumps(sorted(titles)),)).fetchall())

    def unasked_targets(self) -> list[str]:
        """The link targets the API has not answered about (TitleRow.asked), sorted: those
        only a table or the fold knows are asked too, so that the API's answer can win."""
        return sorted(row[0] for row in self.conn.execute(
            "SELECT DISTINCT l.target FROM event_links l LEFT JOIN titles t ON t.title = l.target "
            "WHERE t.title IS NULL OR NOT (t.origin = ? OR (t.origin = ? AND t.missing))",
            (API, FOLD)))

    # -- what the fold knows between runs --------------------------------------------------

    def fold_state(self) -> str | None:
        """The fold rule the kept fold state was made by (None: there is none)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'fold_rule'").fetchone()
        return row[0] if row else None

    def pending_targets(self) -> set[str]:
        """The targets whose events changed since resolve last ran."""
        return {row[0] for row in self.conn.execute("SELECT title FROM resolve_pending")}

    def add_pending_targets(self, titles: Iterable[str]) -> None:
        self.conn.executemany("INSERT OR IGNORE INTO resolve_pending (title) VALUES (?)",
                              [(t,) for t in titles])

    def missing_fold_keys(self, titles: Collection[str]) -> set[str]:
        """Those of these titles whose fold key is not kept yet."""
        known = {row[0] for row in self.conn.execute(
            "SELECT title FROM fold_keys WHERE title IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(titles)),))}
        return set(titles) - known

    def add_fold_keys(self, keys: Mapping[str, str]) -> None:
        self.conn.executemany("INSERT OR IGNORE INTO fold_keys (title, key) VALUES (?, ?)",
                              sorted(keys.items()))

    def titles_keyed(self, keys: Collection[str]) -> set[str]:
        """Every kept title whose fold key is one of these."""
        return {row[0] for row in self.conn.execute(
            "SELECT title FROM fold_keys WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(keys)),))}

    def save_fold(self, keys: Collection[str] | None, folded: Collection[str], rule: str,
                  fold_keys: Mapping[str, str] | None = None) -> int:
        """Note what the fold of the groups with these keys (of all, with None; then
        `fold_keys` replaces every kept key) found folded, empty the pending targets and
        record the rule; returns how many spellings are folded now, in every group."""
        if keys is None:
            self.conn.execute("DELETE FROM fold_keys")
            self.conn.executemany("INSERT INTO fold_keys (title, key) VALUES (?, ?)",
                                  sorted((fold_keys or {}).items()))
            self.conn.execute("UPDATE fold_keys SET folded = title IN "
                              "(SELECT value FROM json_each(?))", (json.dumps(sorted(folded)),))
        else:
            self.conn.execute(
                "UPDATE fold_keys SET folded = title IN (SELECT value FROM json_each(?)) "
                "WHERE key IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(folded)), json.dumps(sorted(keys))))
        self.conn.execute("DELETE FROM resolve_pending")
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('fold_rule', ?)",
                          (rule,))
        return self.conn.execute("SELECT COUNT(*) FROM fold_keys WHERE folded").fetchone()[0]


_ROWS = ("SELECT title, canonical, origin, pageid, wikidata, disambiguation, missing "
         "FROM titles")  # what `_rows` reads


def _rows(cursor: sqlite3.Cursor) -> dict[str, TitleRow]:
    return {row[0]: TitleRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]))
            for row in cursor}
