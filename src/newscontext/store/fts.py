"""Full-text search: what a reader's words find among events and subjects (SQLite FTS5).

The index (schema 8) has one row per event (its wording now, its earlier wordings, the
titles and descriptions of the articles it cites) and one per subject (an entity's title
and the words linked to it; a story heading). Triggers note the rows a change touches;
`flush` (Store.transaction, before it commits) remakes them, so the index changes in the
transaction that changes the archive; `reindex` makes it all again.

A reader's query is words, not syntax: each word is searched as written (quotes, `AND`,
`NEAR(`, `*` included), every word must occur. `advanced=True` hands the query to FTS5 as
it is (phrases, `OR`, `NOT`, `NEAR`, prefixes `syr*`, columns `text:` `earlier:`
`sources:`, `name:` `labels:`); a query FTS5 cannot read raises QueryError.
"""

from __future__ import annotations

import html
import re
import sqlite3
from dataclasses import dataclass

import numpy as np

# bm25 weights of the columns: an event's wording now counts most, its earlier wordings
# less (they were found wanting), the articles it cites least (they say more than it).
EVENT_WEIGHTS = (1.0, 0.5, 0.3)  # text, earlier, sources
SUBJECT_WEIGHTS = (4.0, 1.0)  # name, labels
# The recency lift: a match on the archive's newest day counts (1 + RECENCY) times, one
# RECENCY_DAYS older (1 + RECENCY / 2), ten of them older barely more than once.
RECENCY = 1.0
RECENCY_DAYS = 365.0
MAX_QUERY = 500  # characters: a longer query is a paste, not a search
SNIPPET_WORDS = 24

MARK, END = "\x02", "\x03"  # XML forbids both, so archived text never holds them
_SURROGATES = re.compile("[\ud800-\udfff]")


class QueryError(ValueError):
    """A query the search cannot run: malformed FTS5 syntax (advanced mode), or too long.
    The message is for the person who wrote it."""


def escape(query: str, *, prefix_last: bool = False) -> str | None:
    """The FTS5 query matching every word of `query` as a word: each whitespace-separated
    piece becomes a quoted string (FTS5 reads no operator inside one; its own tokenizer
    splits it), `prefix_last` lets the last piece be the start of a word. None when the
    query has no word at all."""
    pieces = _SURROGATES.sub("", query).replace("\x00", " ").split()
    if not any(any(ch.isalnum() for ch in piece) for piece in pieces):
        return None
    quoted = ['"' + piece.replace('"', '""') + '"' for piece in pieces]
    if prefix_last and any(ch.isalnum() for ch in pieces[-1]):
        quoted[-1] += "*"
    return " ".join(quoted)


def prepare(query: str, *, advanced: bool, prefix_last: bool = False) -> str | None:
    """The FTS5 query for a reader's query in either mode (None: it can match nothing)."""
    if len(query) > MAX_QUERY:
        raise QueryError(f"the query is longer than {MAX_QUERY} characters")
    if not advanced:
        return escape(query, prefix_last=prefix_last)
    query = _SURROGATES.sub("", query).replace("\x00", " ")
    return query if query.strip() else None


def run(conn: sqlite3.Connection, sql: str, params: dict | tuple, *,
        advanced: bool) -> list[sqlite3.Row]:
    """Run a statement holding a MATCH; in advanced mode FTS5's complaints about the query
    become QueryError (they may come while rows are read, not only at the start).
    "interrupted" (a deadline) is never the query's fault and passes through."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if advanced and "interrupted" not in message:
            raise QueryError(f"not a search query FTS5 can read: {message}") from None
        raise


def marked(snippet: str | None) -> str | None:
    """A snippet as HTML: its text escaped, the matched words in <mark>."""
    if snippet is None:
        return None
    return (html.escape(snippet, quote=False).replace(MARK, "<mark>")
            .replace(END, "</mark>"))


@dataclass(frozen=True, slots=True)
class EventHit:
    id: str
    score: float  # bm25 with the recency lift: lower is better
    snippet: str | None = None


@dataclass(frozen=True, slots=True)
class SubjectHit:
    kind: str  # entity or story
    title: str
    score: float
    snippet: str | None


# The events a query matches, each with its score: bm25 lifted for recency against the
# archive's newest day. `{where}` adds the listing's filters on `e`.
EVENT_HITS = (
    "WITH hit AS MATERIALIZED ("
    f"  SELECT k.ref AS id, bm25(fts_events, {', '.join(map(str, EVENT_WEIGHTS))}) AS bm "
    "  FROM fts_events JOIN search_keys k ON k.id = fts_events.rowid "
    "  WHERE fts_events MATCH :q), "
    "newest AS (SELECT julianday(MAX(date)) AS day FROM events) "
    "SELECT e.*, hit.bm * (1.0 + :lift / (1.0 + (newest.day - julianday(e.date)) / :days)) "
    "  AS score "
    "FROM hit JOIN events e ON e.id = hit.id, newest "
)


def snippets(conn: sqlite3.Connection, fts_query: str, event_ids: list[str], *,
             advanced: bool) -> dict[str, str]:
    """The marked snippets of these events for a query (made only for the page shown:
    a snippet reads and tokenizes the row)."""
    if not event_ids:
        return {}
    marks = ",".join("?" * len(event_ids))
    rows = run(conn, (
        f"SELECT k.ref, snippet(fts_events, -1, '{MARK}', '{END}', '…', {SNIPPET_WORDS}) "
        "FROM fts_events JOIN search_keys k ON k.id = fts_events.rowid "
        f"WHERE fts_events MATCH ? AND k.kind = 'event' AND k.ref IN ({marks})"),
        (fts_query, *event_ids), advanced=advanced)
    return {row[0]: marked(row[1]) for row in rows}


def subjects(conn: sqlite3.Connection, fts_query: str, limit: int, *,
             advanced: bool) -> list[SubjectHit]:
    """Entities and stories whose name or labels match, best first (those with events)."""
    rows = run(conn, (
        "SELECT k.kind, k.ref, "
        f"bm25(fts_subjects, {', '.join(map(str, SUBJECT_WEIGHTS))}) AS score, "
        f"highlight(fts_subjects, 0, '{MARK}', '{END}') AS name "
        "FROM fts_subjects JOIN search_keys k ON k.id = fts_subjects.rowid "
        "WHERE fts_subjects MATCH :q AND (k.kind = 'story' OR EXISTS "
        "(SELECT 1 FROM event_entities x WHERE x.entity = k.ref)) "
        "ORDER BY score, k.ref, k.kind LIMIT :limit"),
        {"q": fts_query, "limit": limit}, advanced=advanced)
    return [SubjectHit(row[0], row[1], row[2], marked(row[3])) for row in rows]


def flush(conn: sqlite3.Connection) -> None:
    """Remake the rows of the index the transaction's changes noted (fts_pending), in
    one statement per kind: FTS5 writes each statement's rows as one segment, so a row
    written per trigger would cost a segment (and later merges) each."""
    # (a search of the primary key, not a scan: incremental stages read no table whole)
    if conn.execute("SELECT 1 FROM fts_pending WHERE kind >= '' LIMIT 1").fetchone() is None:
        return
    conn.execute("INSERT INTO fts_event_queue (event_id) "
                 "SELECT ref FROM fts_pending WHERE kind = 'event'")
    conn.execute("INSERT INTO fts_subject_queue (kind, ref) "
                 "SELECT kind, ref FROM fts_pending WHERE kind != 'event'")
    conn.execute("DELETE FROM fts_pending")


def reindex(conn: sqlite3.Connection) -> dict[str, int]:
    """Make the whole index again from the archive (in the caller's transaction): what
    the triggers keep current, made at once. Returns the rows made of each kind."""
    conn.execute("DELETE FROM fts_pending")
    conn.execute("DELETE FROM fts_events")
    conn.execute("DELETE FROM fts_subjects")
    conn.execute("DELETE FROM search_keys")
    conn.execute("DELETE FROM event_sources")
    conn.execute("DELETE FROM event_stories")
    conn.execute(
        "INSERT OR IGNORE INTO event_sources (url, event_id) "
        "SELECT json_extract(j.value, '$.url'), e.id FROM events e, json_each(e.sources) j "
        "WHERE json_extract(j.value, '$.url') IS NOT NULL")
    conn.execute(
        "INSERT OR IGNORE INTO event_stories (title, event_id) "
        "SELECT json_extract(s.value, '$.text'), e.id FROM events e, json_each(e.stories) s "
        "WHERE json_extract(s.value, '$.text') IS NOT NULL")
    conn.execute("INSERT INTO fts_event_queue (event_id) SELECT id FROM events ORDER BY id")
    conn.execute("INSERT INTO fts_subject_queue (kind, ref) SELECT 'entity', title FROM "
                 "entities UNION ALL SELECT 'story', title FROM stories")
    for table in ("fts_events", "fts_subjects"):  # one b-tree per table: smaller, faster
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
    return dict(conn.execute("SELECT kind, COUNT(*) FROM search_keys GROUP BY kind").fetchall())


def match_rows(conn: sqlite3.Connection, fts_query: str, *, scored: bool,
               advanced: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The rowids of the events a query matches, and their bm25 (lower is better) when
    `scored`: read as plain tuples (tens of thousands for a common word)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    score = f", bm25(fts_events, {', '.join(map(str, EVENT_WEIGHTS))})" if scored else ""
    try:
        rows = cursor.execute(f"SELECT rowid{score} FROM fts_events WHERE fts_events MATCH ?",
                              (fts_query,)).fetchall()
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if advanced and "interrupted" not in message:
            raise QueryError(f"not a search query FTS5 can read: {message}") from None
        raise
    finally:
        cursor.close()
    if not scored:
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)), None
    table = np.array(rows, dtype=np.float64).reshape(-1, 2)
    return table[:, 0].astype(np.int64), table[:, 1]
