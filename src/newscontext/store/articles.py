"""The store's side of source articles: cited URLs, their fetching, bodies and extractions.

A mixin of `Store` (it uses `self.conn`). The crawl writes each source in its own
transaction: its outcome, its body (compressed, content-addressed: the same page cited
twice is kept once) and what was extracted from it. An article's cover picture is fetched
once per picture URL and kept as one small copy, content-addressed too (`image_copies`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ..model import Article

if TYPE_CHECKING:
    from ..sources.extract import Extraction


@dataclass(frozen=True, slots=True)
class DueSource:
    """A source to fetch now, with the day of the first event citing it (the day its page
    was surely live: a web archive's capture closest to it is the one to read)."""

    url: str
    hash: str
    attempts: int
    first_date: date


@dataclass(frozen=True, slots=True)
class SourcePicture:
    """A source article's cover picture, as pages show it: the publisher's URL (as the
    article gave it), its alt text and headline, its size when fetched, and the small copy
    when one is kept (`copy`: the copy's sha256)."""

    url: str
    alt: str | None
    headline: str | None
    site_name: str | None
    status: str | None  # of its fetch (images.status); None: not fetched yet
    width: int | None
    height: int | None
    copy: str | None
    copy_type: str | None
    copy_width: int | None
    copy_height: int | None


@dataclass(frozen=True, slots=True)
class ImageCopy:
    """A small copy of a picture as the site serves it."""

    sha256: str
    content: bytes
    media_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class SourceState:
    """Where fetching one source stands."""

    url: str
    hash: str
    status: str
    attempts: int
    next_attempt: str | None
    fetched_at: str | None
    http_status: int | None
    final_url: str | None
    redirects: tuple[str, ...]
    content_sha256: str | None
    archived_from: str | None
    message: str | None


# Each cited URL with the first and last day of the events citing it.
_CITED = (
    "SELECT json_extract(j.value, '$.url') AS url, MIN(e.date) AS first, MAX(e.date) AS last "
    "FROM events e, json_each(e.sources) j GROUP BY 1"
)

_ARTICLE_SQL = (
    "SELECT a.*, s.hash, s.fetched_at, s.archived_from FROM articles a "
    "JOIN sources s ON s.url = a.url"
)


def _article(row: sqlite3.Row) -> Article:
    return Article(
        url=row["url"], hash=row["hash"], status=row["status"], final_url=row["final_url"],
        fetched_at=row["fetched_at"], og_title=row["og_title"],
        og_description=row["og_description"], og_image=row["og_image"],
        og_image_alt=row["og_image_alt"],
        og_site_name=row["og_site_name"], og_published=row["og_published"],
        title=row["title"], subtitle=row["subtitle"], author=row["author"],
        published=row["published"], text=row["text"], archived_from=row["archived_from"],
    )


class ArticlesStore:
    """Sources, blobs and articles."""

    conn: sqlite3.Connection

    def new_source_urls(self) -> list[str]:
        """Cited URLs (of any event, removed ones too) not yet registered as sources."""
        return [row[0] for row in self.conn.execute(
            f"SELECT c.url FROM ({_CITED}) c WHERE c.url IS NOT NULL AND c.url != '' "
            "AND c.url NOT IN (SELECT url FROM sources) ORDER BY c.url"
        )]

    def add_sources(self, sources: Iterable[tuple[str, str]]) -> None:
        """Register (url, hash) pairs as pending sources; known URLs are left alone."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO sources (url, hash) VALUES (?, ?)", list(sources)
        )

    def due_sources(self, now: str, since: date | None = None,
                    limit: int | None = None) -> list[DueSource]:
        """Sources to fetch: never tried, or failed and past their backoff. Sources of the
        newest events come first: they are the likeliest to still be online."""
        rows = self.conn.execute(
            f"SELECT s.url, s.hash, s.attempts, c.first FROM sources s "
            f"JOIN ({_CITED}) c ON c.url = s.url "
            "WHERE (s.status = 'pending' OR (s.next_attempt IS NOT NULL "
            "AND s.next_attempt <= :now)) AND c.last >= :since "
            "ORDER BY c.last DESC, s.url LIMIT :limit",
            {"now": now, "since": since.isoformat() if since else "",
             "limit": -1 if limit is None else limit},
        )
        return [DueSource(row[0], row[1], row[2], date.fromisoformat(row[3])) for row in rows]

    def put_blob(self, content: bytes, content_type: str | None) -> str:
        """Keep a fetched body (zlib); returns its sha256. A body already kept is not
        stored again."""
        sha = hashlib.sha256(content).hexdigest()
        self.conn.execute(
            "INSERT OR IGNORE INTO blobs (sha256, content, content_type, size) "
            "VALUES (?, ?, ?, ?)",
            (sha, zlib.compress(content, 6), content_type, len(content)),
        )
        return sha

    def blob(self, sha256: str) -> bytes | None:
        """A kept body, uncompressed: stages re-run from it without the network."""
        row = self.conn.execute(
            "SELECT content FROM blobs WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return zlib.decompress(row[0]) if row else None

    def record_fetch(
        self, url: str, *, status: str, at: str, http_status: int | None,
        final_url: str | None, redirects: Iterable[str], next_attempt: str | None = None,
        content_sha256: str | None = None, archived_from: str | None = None,
        message: str | None = None,
    ) -> None:
        """One more attempt at a source and how it ended (next_attempt: when to try again
        after a failure; None when it succeeded or was given up)."""
        self.conn.execute(
            "UPDATE sources SET status = ?, attempts = attempts + 1, next_attempt = ?, "
            "fetched_at = ?, http_status = ?, final_url = ?, redirects = ?, "
            "content_sha256 = ?, archived_from = ?, message = ? WHERE url = ?",
            (status, next_attempt, at, http_status, final_url,
             json.dumps(list(redirects), ensure_ascii=False), content_sha256, archived_from,
             message, url),
        )

    def save_article(self, url: str, extraction: Extraction, at: str) -> None:
        og, article = extraction.og, extraction.article
        self.conn.execute(
            "INSERT OR REPLACE INTO articles (url, final_url, og_title, og_description, "
            "og_image, og_site_name, og_published, title, subtitle, author, published, text, "
            "status, extracted_at, og_image_alt) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (url, extraction.final_url, og.title, og.description, og.image, og.site_name,
             og.published, article.title, article.subtitle, article.author, article.published,
             article.text, extraction.status, at, og.image_alt),
        )

    def source_state(self, url: str) -> SourceState | None:
        row = self.conn.execute("SELECT * FROM sources WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return SourceState(
            url=row["url"], hash=row["hash"], status=row["status"], attempts=row["attempts"],
            next_attempt=row["next_attempt"], fetched_at=row["fetched_at"],
            http_status=row["http_status"], final_url=row["final_url"],
            redirects=tuple(json.loads(row["redirects"] or "[]")),
            content_sha256=row["content_sha256"], archived_from=row["archived_from"],
            message=row["message"],
        )

    def article(self, url: str) -> Article | None:
        row = self.conn.execute(f"{_ARTICLE_SQL} WHERE a.url = ?", (url,)).fetchone()
        return _article(row) if row else None

    def iter_articles(self) -> Iterator[Article]:
        """Every extracted article, by URL."""
        for row in self.conn.execute(f"{_ARTICLE_SQL} ORDER BY a.url"):
            yield _article(row)

    # -- cover pictures ----------------------------------------------------------------------

    def due_images(self, retry: Iterable[str], max_attempts: int,
                   limit: int | None = None) -> list[str]:
        """Picture URLs of archived articles not fetched yet (or failed in a way worth
        another try, `retry` statuses, fewer than `max_attempts` times), those of the
        newest events first: what a crawl fetches for articles archived before it."""
        retry = list(retry)
        marks = ",".join("?" * len(retry)) or "NULL"
        return [row[0] for row in self.conn.execute(
            "SELECT a.og_image, MAX(e.date) AS last FROM articles a "
            "JOIN event_sources s ON s.url = a.url JOIN events e ON e.id = s.event_id "
            "LEFT JOIN images i ON i.url = a.og_image "
            "WHERE a.og_image IS NOT NULL AND a.og_image != '' AND (i.url IS NULL OR "
            f"(i.status IN ({marks}) AND i.attempts < ?)) "
            "GROUP BY a.og_image ORDER BY last DESC, a.og_image LIMIT ?",
            [*retry, max_attempts, -1 if limit is None else limit])]

    def image_tried(self, url: str, retry: Iterable[str], max_attempts: int) -> bool:
        """Whether a picture URL needs no fetch now: kept, or failed for good."""
        row = self.conn.execute("SELECT status, attempts FROM images WHERE url = ?",
                                (url,)).fetchone()
        return row is not None and not (row[0] in set(retry) and row[1] < max_attempts)

    def save_image(self, url: str, *, status: str, at: str, width: int | None = None,
                   height: int | None = None, copy: ImageCopy | None = None,
                   message: str | None = None) -> None:
        """How fetching a picture ended, with its small copy when one was made (a copy
        already kept under its hash is not stored again)."""
        if copy is not None:
            self.conn.execute(
                "INSERT OR IGNORE INTO image_copies (sha256, content, media_type, width, "
                "height, made_at) VALUES (?, ?, ?, ?, ?, ?)",
                (copy.sha256, copy.content, copy.media_type, copy.width, copy.height, at))
        self.conn.execute(
            "INSERT INTO images (url, status, attempts, fetched_at, width, height, "
            "copy_sha256, message) VALUES (?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (url) DO "
            "UPDATE SET status = excluded.status, attempts = attempts + 1, "
            "fetched_at = excluded.fetched_at, width = excluded.width, "
            "height = excluded.height, copy_sha256 = excluded.copy_sha256, "
            "message = excluded.message",
            (url, status, at, width, height, copy.sha256 if copy else None, message))

    def image_copy(self, sha256: str) -> ImageCopy | None:
        row = self.conn.execute(
            "SELECT sha256, content, media_type, width, height FROM image_copies "
            "WHERE sha256 = ?", (sha256,)).fetchone()
        return ImageCopy(row[0], bytes(row[1]), row[2], row[3], row[4]) if row else None

    def image_copy_names(self) -> list[tuple[str, str]]:
        """(sha256, media type) of every small copy kept, by hash."""
        return [tuple(row) for row in self.conn.execute(
            "SELECT sha256, media_type FROM image_copies ORDER BY sha256")]

    def source_pictures(self, urls: Iterable[str]) -> dict[str, SourcePicture]:
        """Source URL -> its article's cover picture, for the sources whose article has
        one: with its small copy, when kept."""
        return {row[0]: SourcePicture(*row[1:]) for row in self.conn.execute(
            "SELECT a.url, a.og_image, a.og_image_alt, COALESCE(a.title, a.og_title), "
            "a.og_site_name, i.status, i.width, i.height, c.sha256, c.media_type, c.width, "
            "c.height "
            "FROM articles a LEFT JOIN images i ON i.url = a.og_image "
            "LEFT JOIN image_copies c ON c.sha256 = i.copy_sha256 "
            "WHERE a.url IN (SELECT value FROM json_each(?)) AND a.og_image IS NOT NULL "
            "AND a.og_image != ''", (json.dumps(list(urls)),))}
