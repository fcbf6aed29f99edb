"""The archive's SQLite schema and its migrations (the only place that defines tables)."""

from __future__ import annotations

import sqlite3

# Each entry migrates the schema from version i to i+1; never edit a released entry.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE revisions (
        id          INTEGER PRIMARY KEY,
        date        TEXT NOT NULL,          -- the day page's date, YYYY-MM-DD
        revid       INTEGER,                -- MediaWiki revision id, when the input says
        timestamp   TEXT,                   -- revision time, UTC ISO 8601, when known
        format      TEXT NOT NULL,          -- 'wikitext' or 'html'
        origin      TEXT NOT NULL,          -- file path, export file, or api:<title>
        sha256      TEXT NOT NULL,          -- of the raw text: same text = same revision
        content     BLOB NOT NULL,          -- raw text, zlib-compressed
        ingested_at TEXT NOT NULL,
        applied     INTEGER NOT NULL DEFAULT 0,  -- 1 once its events were merged
        UNIQUE (date, sha256)
    );
    CREATE INDEX revisions_by_revid ON revisions (revid);

    CREATE TABLE days (
        date        TEXT PRIMARY KEY,
        revision_id INTEGER NOT NULL REFERENCES revisions (id),  -- what the events reflect
        revid       INTEGER,
        timestamp   TEXT,
        updated_at  TEXT NOT NULL
    );

    CREATE TABLE events (
        id          TEXT PRIMARY KEY,       -- stable across rewording and moves
        date        TEXT NOT NULL,
        position    INTEGER NOT NULL,       -- portal order within the day
        category    TEXT,
        stories     TEXT NOT NULL,          -- JSON [{"text", "links": [{"target","label"}]}]
        text        TEXT NOT NULL,
        links       TEXT NOT NULL,          -- JSON [{"target","label"}]
        sources     TEXT NOT NULL,          -- JSON [{"url","name"}]
        removed     INTEGER NOT NULL DEFAULT 0,
        removed_at  TEXT,
        moved_to    TEXT,                   -- the event it became on another day, if known
        first_seen  TEXT NOT NULL,
        revision_id INTEGER NOT NULL REFERENCES revisions (id),  -- last revision it was in
        change_seq  INTEGER NOT NULL        -- bumped on every change, for incremental stages
    );
    CREATE INDEX events_by_date ON events (date, position);
    CREATE INDEX events_by_change ON events (change_seq);

    CREATE TABLE event_versions (
        event_id    TEXT NOT NULL REFERENCES events (id),
        seq         INTEGER NOT NULL,       -- 1 = first version
        revision_id INTEGER NOT NULL REFERENCES revisions (id),
        revid       INTEGER,
        timestamp   TEXT NOT NULL,          -- revision time, or ingest time if unknown
        date        TEXT NOT NULL,
        category    TEXT,
        stories     TEXT NOT NULL,
        text        TEXT NOT NULL,
        links       TEXT NOT NULL,
        sources     TEXT NOT NULL,
        PRIMARY KEY (event_id, seq)
    );

    CREATE TABLE warnings (
        revision_id INTEGER NOT NULL REFERENCES revisions (id),
        date        TEXT NOT NULL,
        line        INTEGER NOT NULL,
        message     TEXT NOT NULL,
        text        TEXT NOT NULL
    );
    CREATE INDEX warnings_by_revision ON warnings (revision_id);

    CREATE TABLE errors (                  -- inputs that could not be read at all
        id          INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        place       TEXT NOT NULL,          -- file, day or URL
        message     TEXT NOT NULL
    );

    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('change_seq', '0');
    """,
    """
    CREATE TABLE titles (                  -- what the wiki says about a link target
        title       TEXT PRIMARY KEY,       -- normalised, as written
        canonical   TEXT NOT NULL,          -- after redirects; the title itself if none
        pageid      INTEGER,
        wikidata    TEXT,
        disambiguation INTEGER NOT NULL DEFAULT 0,
        missing     INTEGER NOT NULL DEFAULT 0,
        origin      TEXT NOT NULL,          -- 'api' or the redirect table file
        resolved_at TEXT NOT NULL
    );

    CREATE TABLE entities (
        title       TEXT PRIMARY KEY,       -- canonical title
        slug        TEXT NOT NULL UNIQUE,   -- assigned once, never changes
        wikidata    TEXT,
        pageid      INTEGER,
        disambiguation INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE event_entities (           -- an event's context, with how it was written
        event_id    TEXT NOT NULL REFERENCES events (id),
        entity      TEXT NOT NULL REFERENCES entities (title),
        label       TEXT NOT NULL,          -- the words linked ('' for none)
        in_text     INTEGER NOT NULL,       -- linked in the sentence
        in_story    INTEGER NOT NULL,       -- linked in a story heading above it
        PRIMARY KEY (event_id, entity, label)
    ) WITHOUT ROWID;
    CREATE INDEX event_entities_by_entity ON event_entities (entity);

    CREATE TABLE related (                 -- one row per event: its ranked list
        event_id    TEXT PRIMARY KEY REFERENCES events (id),
        items       TEXT NOT NULL           -- JSON [{"id", "score", "shared": [titles]}]
    ) WITHOUT ROWID;

    -- change_seq up to which event_entities is current; -1 = rebuild everything
    INSERT INTO meta (key, value) VALUES ('entities_seq', '-1');
    """,
    """
    CREATE TABLE sources (                 -- every distinct cited URL and its fetching
        url         TEXT PRIMARY KEY,
        hash        TEXT NOT NULL UNIQUE,   -- public id: /sources/<hash>
        status      TEXT NOT NULL DEFAULT 'pending',
            -- pending, fetched, not_found, blocked, paywalled, timeout, too_large,
            -- not_html, refused, error (archived: fetched from the Wayback Machine)
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,                  -- a failed source is retried after this (backoff)
        fetched_at  TEXT,
        http_status INTEGER,
        final_url   TEXT,
        redirects   TEXT,                   -- JSON [url, ...] followed to reach final_url
        content_sha256 TEXT REFERENCES blobs (sha256),
        archived_from TEXT,                 -- the Wayback capture it came from, if any
        message     TEXT                    -- why it failed, for people
    );
    CREATE INDEX sources_due ON sources (status, next_attempt);

    CREATE TABLE blobs (                   -- fetched bodies, compressed, content-addressed
        sha256      TEXT PRIMARY KEY,
        content     BLOB NOT NULL,          -- zlib
        content_type TEXT,
        size        INTEGER NOT NULL        -- uncompressed bytes
    );

    CREATE TABLE articles (                -- what was extracted from a fetched source
        url         TEXT PRIMARY KEY REFERENCES sources (url),
        final_url   TEXT,
        og_title    TEXT, og_description TEXT, og_image TEXT, og_site_name TEXT,
        og_published TEXT,
        title       TEXT, subtitle TEXT, author TEXT, published TEXT,
        text        TEXT NOT NULL DEFAULT '',
        status      TEXT NOT NULL,          -- complete, teaser, paywalled, empty
        extracted_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE event_slugs (             -- every path an event was published at
        date        TEXT NOT NULL,
        slug        TEXT NOT NULL,
        event_id    TEXT NOT NULL REFERENCES events (id),
        current     INTEGER NOT NULL,       -- 0: an old path, kept as a redirect
        PRIMARY KEY (date, slug)
    ) WITHOUT ROWID;
    CREATE INDEX event_slugs_by_event ON event_slugs (event_id);

    CREATE TABLE stories (                 -- story headings, with slugs that never change
        title       TEXT PRIMARY KEY,       -- the heading's plain text
        slug        TEXT NOT NULL UNIQUE
    );

    ALTER TABLE related ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
    INSERT INTO meta (key, value) VALUES ('related_seq', '0');
    """,
    """
    -- an incremental build asks which lists changed: without it, a scan of every list
    CREATE INDEX related_by_change ON related (change_seq);

    CREATE TABLE related_shown (           -- which events each related list shows
        shown_id    TEXT NOT NULL,          -- an event shown in ...
        event_id    TEXT NOT NULL,          -- ... this event's list
        PRIMARY KEY (shown_id, event_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO related_shown (shown_id, event_id)
        SELECT json_extract(j.value, '$.id'), r.event_id FROM related r, json_each(r.items) j;
    """,
    """
    -- suspect revisions (a blanking, a truncation) are held, not applied, until they have
    -- stayed the day's newest revision for a settle time (see ingest.py)
    ALTER TABLE revisions ADD COLUMN held TEXT;        -- why it was held; NULL: never held
    ALTER TABLE revisions ADD COLUMN hold_state TEXT;  -- held, released, superseded
    CREATE INDEX revisions_held ON revisions (hold_state) WHERE hold_state = 'held';
    -- the newest revision seen of the day (applied or held): what the wiki shows now, with
    -- the wiki's id and time of it (one stored text may stand for several wiki revisions)
    ALTER TABLE days ADD COLUMN latest_id INTEGER REFERENCES revisions (id);
    ALTER TABLE days ADD COLUMN latest_revid INTEGER;
    ALTER TABLE days ADD COLUMN latest_timestamp TEXT;
    UPDATE days SET latest_id = revision_id, latest_revid = revid, latest_timestamp = timestamp;
    """,
    """
    -- Times are the wiki's own. A revision without one (a .wiki or .html file) gives its
    -- versions, and the events it added or removed, an unknown time (NULL), never the time
    -- the archive read it. An event's first_seen is the earliest time among its versions,
    -- unknown when its first version's is (it was seen before any time known). SQLite
    -- cannot drop NOT NULL in place: both tables are rebuilt, in this one transaction,
    -- their foreign keys checked once at its end (rows move out and back).
    PRAGMA defer_foreign_keys = ON;

    CREATE TABLE event_versions_new (
        event_id    TEXT NOT NULL REFERENCES events (id),
        seq         INTEGER NOT NULL,       -- 1 = first version
        revision_id INTEGER NOT NULL REFERENCES revisions (id),
        revid       INTEGER,
        timestamp   TEXT,                   -- the revision's time, UTC ISO 8601; NULL: unknown
        date        TEXT NOT NULL,
        category    TEXT,
        stories     TEXT NOT NULL,
        text        TEXT NOT NULL,
        links       TEXT NOT NULL,
        sources     TEXT NOT NULL,
        PRIMARY KEY (event_id, seq)
    );
    -- A version of a revision without a time was stamped with the time it was read: unknown.
    -- One whose revision learnt its time later (the same text from the API) takes that time.
    INSERT INTO event_versions_new (event_id, seq, revision_id, revid, timestamp, date,
                                    category, stories, text, links, sources)
        SELECT v.event_id, v.seq, v.revision_id, v.revid,
               CASE WHEN r.id IS NULL THEN v.timestamp
                    WHEN r.timestamp IS NULL THEN NULL
                    WHEN v.timestamp = r.ingested_at THEN r.timestamp
                    ELSE v.timestamp END,
               v.date, v.category, v.stories, v.text, v.links, v.sources
        FROM event_versions v LEFT JOIN revisions r ON r.id = v.revision_id;
    DROP TABLE event_versions;
    ALTER TABLE event_versions_new RENAME TO event_versions;

    -- events has children (versions, contexts, related lists, slugs): its rows are set
    -- aside and put back under the same name, so every reference finds its row again.
    CREATE TEMP TABLE events_before AS SELECT * FROM events;
    DROP TABLE events;
    CREATE TABLE events (
        id          TEXT PRIMARY KEY,       -- stable across rewording and moves
        date        TEXT NOT NULL,
        position    INTEGER NOT NULL,       -- portal order within the day
        category    TEXT,
        stories     TEXT NOT NULL,          -- JSON [{"text", "links": [{"target","label"}]}]
        text        TEXT NOT NULL,
        links       TEXT NOT NULL,          -- JSON [{"target","label"}]
        sources     TEXT NOT NULL,          -- JSON [{"url","name"}]
        removed     INTEGER NOT NULL DEFAULT 0,
        removed_at  TEXT,                   -- the removing revision's time; NULL: unknown
        moved_to    TEXT,                   -- the event it became on another day, if known
        first_seen  TEXT,                   -- its first revision's time; NULL: unknown
        revision_id INTEGER NOT NULL REFERENCES revisions (id),  -- last revision it was in
        change_seq  INTEGER NOT NULL        -- bumped on every change, for incremental stages
    );
    -- A removal stamped with the time a revision without a time was read (its ingest, or
    -- the day's last update) is unknown, unless a revision of that day had that very time.
    -- Every event gets a change number: its page shows these times (and says whether it
    -- was removed), so the next build publishes it again.
    UPDATE meta SET value = CAST(value AS INTEGER) + 1
        WHERE key = 'change_seq' AND EXISTS (SELECT 1 FROM temp.events_before);
    INSERT INTO events (id, date, position, category, stories, text, links, sources, removed,
                        removed_at, moved_to, first_seen, revision_id, change_seq)
        SELECT e.id, e.date, e.position, e.category, e.stories, e.text, e.links, e.sources,
               e.removed,
               CASE WHEN e.removed_at IN (
                        SELECT r.ingested_at FROM revisions r
                        WHERE r.date = e.date AND r.timestamp IS NULL
                        UNION SELECT d.updated_at FROM days d
                        WHERE d.date = e.date AND d.timestamp IS NULL)
                    AND e.removed_at NOT IN (
                        SELECT r.timestamp FROM revisions r
                        WHERE r.date = e.date AND r.timestamp IS NOT NULL
                        UNION SELECT d.timestamp FROM days d
                        WHERE d.date = e.date AND d.timestamp IS NOT NULL
                        UNION SELECT d.latest_timestamp FROM days d
                        WHERE d.date = e.date AND d.latest_timestamp IS NOT NULL)
                    THEN NULL ELSE e.removed_at END,
               e.moved_to,
               (SELECT CASE WHEN (SELECT f.timestamp FROM event_versions f
                                  WHERE f.event_id = e.id ORDER BY f.seq LIMIT 1) IS NOT NULL
                       THEN MIN(v.timestamp) END
                FROM event_versions v WHERE v.event_id = e.id),
               e.revision_id,
               (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'change_seq')
        FROM temp.events_before e;
    DROP TABLE temp.events_before;
    CREATE INDEX events_by_date ON events (date, position);
    CREATE INDEX events_by_change ON events (change_seq);
    """,
]


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to the newest schema, one transaction per step. The version is
    read inside each step's write transaction, so processes opening a new archive at once
    migrate it once (the others wait, then find it done)."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(MIGRATIONS):
                conn.execute("COMMIT")
                return
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """A script's statements, split where SQLite says one is complete."""
    statements, pending = [], ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    return statements
