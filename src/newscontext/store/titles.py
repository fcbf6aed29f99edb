"""The store's side of what is known about titles, as `resolve` needs it to layer the
redirect tables, the API and the spelling fold (archive.py says in which order).

A mixin of `Store` (it uses `self.conn`). Rows of the `titles` table carry their origin:
'api', a redirect table file's path, 'shipped:redirects.tsv', or 'fold' (a spelling folded
into another by rule; such a row keeps what the API said about the title, e.g. `missing`).
"""

from __future__ import annotations

import sqlite3
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

    def title_rows(self) -> dict[str, TitleRow]:
        """Every row of the titles table, by title."""
        return {row[0]: TitleRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]),
                                 bool(row[6]))
                for row in self.conn.execute(
                    "SELECT title, canonical, origin, pageid, wikidata, disambiguation, missing "
                    "FROM titles")}

    def target_links(self) -> dict[str, int]:
        """How many live events link each link target, in the sentence or a story heading
        above it (each event counted once a target)."""
        return dict(self.conn.execute(
            "SELECT target, COUNT(DISTINCT id) FROM ("
            "  SELECT e.id, json_extract(j.value, '$.target') AS target "
            "  FROM events e, json_each(e.links) j WHERE e.removed = 0 "
            "  UNION ALL SELECT e.id, json_extract(l.value, '$.target') FROM events e, "
            "  json_each(e.stories) s, json_each(json_extract(s.value, '$.links')) l "
            "  WHERE e.removed = 0"
            ") WHERE target IS NOT NULL AND target != '' GROUP BY target").fetchall())
