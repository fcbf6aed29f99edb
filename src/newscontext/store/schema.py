"""The archive's SQLite schema and its migrations (the only place that defines tables)."""

from __future__ import annotations

import sqlite3

# A trigger's statements that list the link targets an event (NEW) writes and mark them for
# `resolve`: the same on insert and on update (part of a released migration: never edit).
_LINKS_OF_NEW = """        INSERT OR IGNORE INTO event_links (target, event_id, live)
            SELECT t, NEW.id, NEW.removed = 0 FROM (
                SELECT json_extract(j.value, '$.target') AS t FROM json_each(NEW.links) j
                UNION ALL SELECT json_extract(l.value, '$.target') FROM json_each(NEW.stories) s,
                    json_each(json_extract(s.value, '$.links')) l)
            WHERE t IS NOT NULL AND t != '';
        INSERT OR IGNORE INTO resolve_pending (title)
            SELECT target FROM event_links WHERE event_id = NEW.id;"""

# The story headings an event (NEW) is under, as `event_headings` keeps them (part of a
# released migration: never edit).
_HEADINGS_OF_NEW = """        INSERT OR IGNORE INTO event_headings
                (heading, event_id, one_link, target, date, position)
            SELECT json_extract(s.value, '$.text'), NEW.id,
                json_array_length(s.value, '$.links') = 1 AND
                    json_extract(s.value, '$.links[0].label') = json_extract(s.value, '$.text'),
                json_extract(s.value, '$.links[0].target'), NEW.date, NEW.position
            FROM json_each(NEW.stories) s WHERE json_extract(s.value, '$.text') IS NOT NULL;"""

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
    """
    -- Full-text search (store/fts.py reads it). Kept current by the triggers below, so every
    -- stage that writes events, versions, articles or subjects updates it in the same
    -- transaction; `newscontext reindex` rebuilds it. A later migration that rebuilds
    -- `events`, `event_versions` or `articles` (DROP TABLE) drops their triggers: it must
    -- create them again.
    CREATE TABLE event_sources (            -- which events cite a URL (json_each is a scan)
        url         TEXT NOT NULL,
        event_id    TEXT NOT NULL,
        PRIMARY KEY (url, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX event_sources_by_event ON event_sources (event_id);
    CREATE TABLE event_stories (            -- which events a story heading is over
        title       TEXT NOT NULL,
        event_id    TEXT NOT NULL,
        PRIMARY KEY (title, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX event_stories_by_event ON event_stories (event_id);

    CREATE TABLE fts_pending (              -- rows of the index to remake before the commit
        kind        TEXT NOT NULL,          -- event, entity, story
        ref         TEXT NOT NULL,
        PRIMARY KEY (kind, ref)
    ) WITHOUT ROWID;

    CREATE TABLE search_keys (              -- what each row of the search indexes stands for
        id          INTEGER PRIMARY KEY,    -- the row's rowid in fts_events or fts_subjects
        kind        TEXT NOT NULL,          -- event, entity, story
        ref         TEXT NOT NULL,          -- the event id, entity title, story heading
        UNIQUE (kind, ref)
    );

    -- One row per event: its wording now, its earlier wordings (a reworded event is found
    -- by its old words) and the titles and descriptions of the articles it cites.
    CREATE VIRTUAL TABLE fts_events USING fts5 (
        text, earlier, sources, tokenize = 'porter unicode61 remove_diacritics 2');
    -- One row per entity (its title and the words linked to it) and per story heading.
    CREATE VIRTUAL TABLE fts_subjects USING fts5 (
        name, labels, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');

    -- Inserting an event id here (re)makes its row, or drops it when the event is gone.
    CREATE VIEW fts_event_queue (event_id) AS SELECT id FROM events WHERE 0;
    CREATE TRIGGER fts_event_refresh INSTEAD OF INSERT ON fts_event_queue BEGIN
        DELETE FROM fts_events WHERE rowid =
            (SELECT id FROM search_keys WHERE kind = 'event' AND ref = NEW.event_id);
        INSERT OR IGNORE INTO search_keys (kind, ref)
            SELECT 'event', id FROM events WHERE id = NEW.event_id;
        INSERT INTO fts_events (rowid, text, earlier, sources)
            SELECT k.id, e.text,
                (SELECT group_concat(t, char(10)) FROM (SELECT DISTINCT v.text AS t
                    FROM event_versions v WHERE v.event_id = e.id AND v.text != e.text)),
                (SELECT group_concat(t, char(10)) FROM (SELECT DISTINCT t FROM (
                    SELECT a.title AS t, s.url AS u FROM event_sources s
                        JOIN articles a ON a.url = s.url WHERE s.event_id = e.id
                    UNION ALL SELECT a.og_title, s.url FROM event_sources s
                        JOIN articles a ON a.url = s.url WHERE s.event_id = e.id
                    UNION ALL SELECT a.subtitle, s.url FROM event_sources s
                        JOIN articles a ON a.url = s.url WHERE s.event_id = e.id
                    UNION ALL SELECT a.og_description, s.url FROM event_sources s
                        JOIN articles a ON a.url = s.url WHERE s.event_id = e.id)
                    WHERE t IS NOT NULL AND t != ''))
            FROM events e JOIN search_keys k ON k.kind = 'event' AND k.ref = e.id
            WHERE e.id = NEW.event_id;
        DELETE FROM search_keys WHERE kind = 'event' AND ref = NEW.event_id
            AND NOT EXISTS (SELECT 1 FROM events WHERE id = NEW.event_id);
    END;

    -- Inserting (kind, title) here (re)makes a subject's row.
    CREATE VIEW fts_subject_queue (kind, ref) AS SELECT kind, ref FROM search_keys WHERE 0;
    CREATE TRIGGER fts_subject_refresh INSTEAD OF INSERT ON fts_subject_queue BEGIN
        DELETE FROM fts_subjects WHERE rowid =
            (SELECT id FROM search_keys WHERE kind = NEW.kind AND ref = NEW.ref);
        INSERT OR IGNORE INTO search_keys (kind, ref) SELECT NEW.kind, NEW.ref
            WHERE (NEW.kind = 'entity' AND EXISTS (SELECT 1 FROM entities WHERE title = NEW.ref))
               OR (NEW.kind = 'story' AND EXISTS (SELECT 1 FROM stories WHERE title = NEW.ref));
        INSERT INTO fts_subjects (rowid, name, labels)
            SELECT k.id, NEW.ref, CASE WHEN NEW.kind = 'entity' THEN
                (SELECT group_concat(label, char(10)) FROM (SELECT DISTINCT label
                    FROM event_entities WHERE entity = NEW.ref AND label NOT IN ('', NEW.ref)))
                END
            FROM search_keys k WHERE k.kind = NEW.kind AND k.ref = NEW.ref;
    END;

    CREATE TRIGGER fts_event_added AFTER INSERT ON events BEGIN
        INSERT OR IGNORE INTO event_sources (url, event_id)
            SELECT json_extract(j.value, '$.url'), NEW.id FROM json_each(NEW.sources) j
            WHERE json_extract(j.value, '$.url') IS NOT NULL;
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('event', NEW.id);
    END;
    CREATE TRIGGER fts_event_changed AFTER UPDATE OF id, text, sources ON events
    WHEN OLD.id IS NOT NEW.id OR OLD.text IS NOT NEW.text OR OLD.sources IS NOT NEW.sources
    BEGIN
        DELETE FROM event_sources WHERE event_id = OLD.id;
        INSERT OR IGNORE INTO event_sources (url, event_id)
            SELECT json_extract(j.value, '$.url'), NEW.id FROM json_each(NEW.sources) j
            WHERE json_extract(j.value, '$.url') IS NOT NULL;
        INSERT OR IGNORE INTO fts_pending (kind, ref)
            SELECT 'event', OLD.id WHERE OLD.id IS NOT NEW.id;
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('event', NEW.id);
    END;
    CREATE TRIGGER event_stories_added AFTER INSERT ON events BEGIN
        INSERT OR IGNORE INTO event_stories (title, event_id)
            SELECT json_extract(s.value, '$.text'), NEW.id FROM json_each(NEW.stories) s
            WHERE json_extract(s.value, '$.text') IS NOT NULL;
    END;
    CREATE TRIGGER event_stories_changed AFTER UPDATE OF id, stories ON events
    WHEN OLD.id IS NOT NEW.id OR OLD.stories IS NOT NEW.stories BEGIN
        DELETE FROM event_stories WHERE event_id = OLD.id;
        INSERT OR IGNORE INTO event_stories (title, event_id)
            SELECT json_extract(s.value, '$.text'), NEW.id FROM json_each(NEW.stories) s
            WHERE json_extract(s.value, '$.text') IS NOT NULL;
    END;
    CREATE TRIGGER fts_event_deleted AFTER DELETE ON events BEGIN
        DELETE FROM event_sources WHERE event_id = OLD.id;
        DELETE FROM event_stories WHERE event_id = OLD.id;
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('event', OLD.id);
    END;

    -- A version with the event's present wording adds nothing to its row (see `earlier`).
    CREATE TRIGGER fts_version_added AFTER INSERT ON event_versions
    WHEN NEW.text IS NOT (SELECT text FROM events WHERE id = NEW.event_id) BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('event', NEW.event_id);
    END;
    CREATE TRIGGER fts_version_changed AFTER UPDATE OF event_id, text ON event_versions
    WHEN OLD.event_id IS NOT NEW.event_id OR OLD.text IS NOT NEW.text BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref) SELECT 'event', OLD.event_id
            WHERE OLD.event_id IS NOT NEW.event_id;
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('event', NEW.event_id);
    END;
    CREATE TRIGGER fts_version_deleted AFTER DELETE ON event_versions BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('event', OLD.event_id);
    END;

    -- INSERT OR REPLACE (save_article) fires no delete trigger: the insert one redoes the rows.
    CREATE TRIGGER fts_article_added AFTER INSERT ON articles BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref)
            SELECT 'event', event_id FROM event_sources WHERE url = NEW.url;
    END;
    CREATE TRIGGER fts_article_changed AFTER UPDATE ON articles BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref)
            SELECT 'event', event_id FROM event_sources WHERE url IN (OLD.url, NEW.url);
    END;
    CREATE TRIGGER fts_article_deleted AFTER DELETE ON articles BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref)
            SELECT 'event', event_id FROM event_sources WHERE url = OLD.url;
    END;

    -- Entities' labels change with contexts: rebuild_entities notes the entities it saw.
    CREATE TRIGGER fts_entity_added AFTER INSERT ON entities BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('entity', NEW.title);
    END;
    CREATE TRIGGER fts_story_added AFTER INSERT ON stories BEGIN
        INSERT OR IGNORE INTO fts_pending (kind, ref) VALUES ('story', NEW.title);
    END;

    -- An archive made before: indexed now, once.
    INSERT OR IGNORE INTO event_sources (url, event_id)
        SELECT json_extract(j.value, '$.url'), e.id FROM events e, json_each(e.sources) j
        WHERE json_extract(j.value, '$.url') IS NOT NULL;
    INSERT OR IGNORE INTO event_stories (title, event_id)
        SELECT json_extract(s.value, '$.text'), e.id FROM events e, json_each(e.stories) s
        WHERE json_extract(s.value, '$.text') IS NOT NULL;
    INSERT INTO fts_event_queue (event_id) SELECT id FROM events;
    INSERT INTO fts_subject_queue (kind, ref)
        SELECT 'entity', title FROM entities UNION ALL SELECT 'story', title FROM stories;
    """,
    """
    -- Cover pictures (sources/images.py): each article's og:image fetched once and kept as
    -- one small copy. A column is added, not the table rebuilt: a rebuilt `articles` would
    -- lose its search triggers.
    ALTER TABLE articles ADD COLUMN og_image_alt TEXT;   -- og:image:alt or twitter:image:alt

    CREATE TABLE images (                   -- one row per picture URL an article gave
        url         TEXT PRIMARY KEY,       -- as articles.og_image holds it
        status      TEXT NOT NULL,          -- stored; or why not: not_found, blocked,
            -- not_image, too_large, too_small, unreadable, timeout, refused, error
        attempts    INTEGER NOT NULL DEFAULT 0,
        fetched_at  TEXT NOT NULL,
        width       INTEGER,                -- of the picture as the publisher serves it
        height      INTEGER,
        copy_sha256 TEXT REFERENCES image_copies (sha256),  -- NULL unless stored
        message     TEXT                    -- why it failed, for people
    );
    CREATE INDEX images_by_copy ON images (copy_sha256);
    CREATE INDEX images_by_fetch ON images (fetched_at);
    CREATE INDEX articles_by_image ON articles (og_image);  -- the articles a picture is of

    CREATE TABLE image_copies (             -- the small copies, content-addressed
        sha256      TEXT PRIMARY KEY,       -- of content: its file's name on the site
        content     BLOB NOT NULL,          -- as served (WebP: compressed already)
        media_type  TEXT NOT NULL,
        width       INTEGER NOT NULL,
        height      INTEGER NOT NULL,
        made_at     TEXT NOT NULL
    );                                      -- (a rowid table: its rows are large)
    """,
    f"""
    -- What `resolve` reads instead of every event's JSON (store/titles.py): the link targets
    -- each event writes, kept by the triggers below in the same transaction as the event;
    -- the targets whose events changed since resolve last ran; each title's fold key.
    CREATE TABLE event_links (              -- which events write a link target
        target      TEXT NOT NULL,          -- in the sentence or a story heading above it
        event_id    TEXT NOT NULL,
        live        INTEGER NOT NULL,       -- 1 while the event is on the portal
        PRIMARY KEY (target, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX event_links_by_event ON event_links (event_id);
    CREATE TABLE resolve_pending (          -- targets whose events changed since resolve ran
        title       TEXT PRIMARY KEY
    ) WITHOUT ROWID;
    CREATE TABLE fold_keys (                -- portal/fold.py's key of the titles resolve saw
        title       TEXT PRIMARY KEY,
        key         TEXT NOT NULL,
        folded      INTEGER NOT NULL DEFAULT 0   -- as a spelling, it folds into another now
    ) WITHOUT ROWID;
    CREATE INDEX fold_keys_by_key ON fold_keys (key);
    CREATE INDEX titles_by_canonical ON titles (canonical);

    CREATE TRIGGER event_links_added AFTER INSERT ON events BEGIN
{_LINKS_OF_NEW}
    END;
    CREATE TRIGGER event_links_changed AFTER UPDATE OF id, links, stories, removed ON events
    WHEN OLD.id IS NOT NEW.id OR OLD.links IS NOT NEW.links OR OLD.stories IS NOT NEW.stories
        OR OLD.removed IS NOT NEW.removed BEGIN
        INSERT OR IGNORE INTO resolve_pending (title)
            SELECT target FROM event_links WHERE event_id = OLD.id;
        DELETE FROM event_links WHERE event_id = OLD.id;
{_LINKS_OF_NEW}
    END;
    CREATE TRIGGER event_links_deleted AFTER DELETE ON events BEGIN
        INSERT OR IGNORE INTO resolve_pending (title)
            SELECT target FROM event_links WHERE event_id = OLD.id;
        DELETE FROM event_links WHERE event_id = OLD.id;
    END;

    -- An archive made before: its targets listed now, once; its first resolve is a full one
    -- (no 'fold_rule' in meta yet).
    INSERT OR IGNORE INTO event_links (target, event_id, live)
        SELECT t, id, removed = 0 FROM (
            SELECT e.id, e.removed, json_extract(j.value, '$.target') AS t
            FROM events e, json_each(e.links) j
            UNION ALL SELECT e.id, e.removed, json_extract(l.value, '$.target')
            FROM events e, json_each(e.stories) s, json_each(json_extract(s.value, '$.links')) l)
        WHERE t IS NOT NULL AND t != '';
    """,
    f"""
    -- Every event's story headings in a narrow table kept by triggers (store/publishing.py):
    -- which subject a heading that is one link stands for (its newest event's link) and
    -- which headings are written otherwise, read without parsing every event's JSON.
    CREATE TABLE event_headings (
        heading     TEXT NOT NULL,          -- as written
        event_id    TEXT NOT NULL,
        one_link    INTEGER NOT NULL,       -- 1: the heading is one link, its label the text
        target      TEXT,                   -- the first link's target
        date        TEXT NOT NULL,          -- the event's, to find a heading's newest event
        position    INTEGER NOT NULL,
        PRIMARY KEY (heading, one_link, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX event_headings_by_event ON event_headings (event_id);

    CREATE TRIGGER event_headings_added AFTER INSERT ON events BEGIN
{_HEADINGS_OF_NEW}
    END;
    CREATE TRIGGER event_headings_changed AFTER UPDATE OF id, stories, date, position ON events
    WHEN OLD.id IS NOT NEW.id OR OLD.stories IS NOT NEW.stories OR OLD.date IS NOT NEW.date
        OR OLD.position IS NOT NEW.position BEGIN
        DELETE FROM event_headings WHERE event_id = OLD.id;
{_HEADINGS_OF_NEW}
    END;
    CREATE TRIGGER event_headings_deleted AFTER DELETE ON events BEGIN
        DELETE FROM event_headings WHERE event_id = OLD.id;
    END;

    INSERT OR IGNORE INTO event_headings (heading, event_id, one_link, target, date, position)
        SELECT json_extract(s.value, '$.text'), e.id,
            json_array_length(s.value, '$.links') = 1 AND
                json_extract(s.value, '$.links[0].label') = json_extract(s.value, '$.text'),
            json_extract(s.value, '$.links[0].target'), e.date, e.position
        FROM events e, json_each(e.stories) s WHERE json_extract(s.value, '$.text') IS NOT NULL;
    """,
    """
    -- How many events each entity is in (removed ones too), kept with event_entities by the
    -- one code that writes it (store/entities.py): the most frequent subjects are the
    -- search's subject filter, read from the index instead of counting every context.
    CREATE TABLE entity_counts (
        entity      TEXT PRIMARY KEY,
        events      INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX entity_counts_by_events ON entity_counts (events DESC, entity);
    INSERT INTO entity_counts (entity, events)
        SELECT entity, COUNT(DISTINCT event_id) FROM event_entities GROUP BY entity;
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
