"""Settings: where the archive lives and how politely we talk to other servers.

Defaults suit a cron job on one machine; every field can be set from the environment
(`NEWSCONTEXT_<FIELD>` upper case), and the CLI overrides the ones it has options for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from platformdirs import user_data_dir

from . import __version__


def default_db_path() -> Path:
    """`$NEWSCONTEXT_DB`, else `newscontext.sqlite3` in the user's data directory."""
    env = os.environ.get("NEWSCONTEXT_DB")
    if env:
        return Path(env)
    return Path(user_data_dir("newscontext")) / "newscontext.sqlite3"


@dataclass
class Settings:
    db: Path = field(default_factory=default_db_path)
    # Wikimedia asks API clients to identify themselves with a contact.
    user_agent: str = (
        f"newscontext/{__version__} (https://github.com/newscontext/newscontext; "
        "open news archive bot)"
    )
    api_url: str = "https://en.wikipedia.org/w/api.php"
    # Titles per request: the Action API's limit for ordinary clients.
    api_batch: int = 50
    # Wikimedia's advice for bots: back off when replication lag exceeds 5 seconds.
    api_maxlag: int = 5
    api_retries: int = 5
    api_timeout: float = 30.0
    # Longest single wait between retries, whatever a Retry-After header asks for.
    api_max_backoff: float = 120.0
    # First wait (seconds) before a retry when the server names none; doubles per try.
    # A setting so tests can make it tiny.
    api_backoff_base: float = 1.0

    # A suspect revision of a day page (a blanking, a truncation) waits this many hours
    # before it is applied, and is never applied if a newer revision comes first: vandalism
    # on the portal is usually reverted within minutes.
    hold_hours: float = 24.0

    # Hours between two runs of Pagefind by the robot (`update`): it reads every indexed page
    # again (minutes at portal scale, most of a cycle), so the static search may lag new
    # events by this long. `build` indexes whenever pages changed; 0: so does `update`.
    search_index_hours: float = 24.0

    # Seconds the operator's publish command (`update --publish-command`) may take: an
    # rsync or object-store sync of one cycle's changes is seconds, a hung one is a fault.
    publish_timeout: float = 600.0

    # Processes for the heavy stages (relate, build): the machines we plan for have 2 cores.
    workers: int = 2
    # A subject (a Wikipedia title linked in events) gets a page of its own from this many
    # events; below, its mentions link to its Wikipedia article: most subjects are found
    # once, and a page listing one event repeats the event's own page.
    subject_min_events: int = 2
    # The static search (Pagefind) offers this many subjects as filters, those in most
    # events. Its UI lists every value of a filter: every subject would be tens of
    # thousands of check boxes at portal scale, and a search would take a minute.
    search_filter_subjects: int = 100
    # A story or subject whose newest event is older than this (before the archive's newest
    # day) keeps the feeds it had, no longer made: nobody waits for its news, and at archive
    # scale such feeds would be a third of the site's files.
    feed_active_days: int = 365
    # Where the published site lives: JSON and XML pages carry absolute URLs under it.
    site_url: str = "http://127.0.0.1:8000"
    # Source articles' full text belongs to their publishers: shown only if the operator
    # chooses to (exports and the database always hold it).
    publish_full_text: bool = False

    # -- fetching source articles (sources/fetch.py) -----------------------------------------
    # Requests in flight at once over all hosts: enough to keep a crawl busy while each host
    # sees only one request at a time.
    fetch_concurrency: int = 16
    # Requests in flight at once to one host, and the pause (seconds) between the starts of
    # two requests to it: one at a time, one a second, is what small news sites tolerate.
    fetch_per_host: int = 1
    fetch_host_delay: float = 1.0
    # Longest one attempt (connect, headers and body) may take, in seconds.
    fetch_timeout: float = 30.0
    # Retries of a request answered 429 or 503, or timed out.
    fetch_retries: int = 2
    # First wait (seconds) before such a retry when the server names none; doubles per try.
    fetch_backoff_base: float = 2.0
    # Longest wait a Retry-After may ask for; a server asking more is tried again next crawl.
    fetch_max_backoff: float = 120.0
    fetch_max_redirects: int = 10
    # News pages are rarely above 2 MB; ten times that is not an article.
    fetch_max_bytes: int = 20_000_000
    # The SSRF guard refuses loopback addresses too; the tests' local server needs them.
    fetch_allow_loopback: bool = False

    # -- the crawl stage (sources/crawl.py) ------------------------------------------------
    # A failed source is tried again after 1, 2, 4, ... days (servers come back, rate limits
    # end) and given up after this many attempts in all, so dead links stop costing requests.
    crawl_retry_days: float = 1.0
    crawl_max_attempts: int = 5

    # -- cover pictures (sources/images.py) ---------------------------------------------------
    # Fetch each archived article's og:image and keep a small copy (about 640 px wide, WebP)
    # for the site; off for operators who want no pictures fetched.
    crawl_images: bool = True
    # Pictures of articles archived before (by an older version, or whose picture failed
    # in a way worth retrying) fetched per crawl: old archives get theirs a batch at a time.
    crawl_image_backfill: int = 200
    # A cover picture is rarely above 2 MB; a body larger than this is not fetched whole.
    image_max_bytes: int = 10_000_000
    # Pixels a picture may declare (a 10,000 x 5,000 photo): a small PNG can declare a
    # canvas that would take gigabytes to decode, so larger ones are refused unread.
    image_max_pixels: int = 50_000_000
    # Pages show the publisher's own picture URL instead of the archive's copy (still with
    # alt text, credit and, when known, its size). Off: readers' browsers then ask no
    # publisher for anything, and a picture that goes away stays on the page.
    hotlink_images: bool = False

    # -- archived copies of dead sources (sources/wayback.py) ----------------------------------
    # Look dead sources up in the Wayback Machine; off for operators who must not use it.
    wayback: bool = True
    wayback_cdx_url: str = "https://web.archive.org/cdx/search/cdx"
    # Where raw captures live: <wayback_web_url>/<timestamp>id_/<url>.
    wayback_web_url: str = "https://web.archive.org/web"
    # Captures tried per dead source (closest to the event's date first) before giving up.
    wayback_tries: int = 3

    # -- `serve`, static and live (httpd.py) ---------------------------------------------------
    # Connections open at once. At the bound a new client takes the place of the connection
    # that has waited longest for a request (idle or trickling), or gets 503 if all are busy.
    # Lowered at start to what the open-files limit allows (a connection may hold a socket
    # and the file it sends), so the server never runs out of file descriptors.
    serve_max_connections: int = 1000
    # Seconds a client has to send a whole request head, from connecting or from the first
    # byte after a keep-alive pause: slowloris clients trickle heads to hold connections.
    serve_request_timeout: float = 10.0
    # Seconds an idle keep-alive connection stays open (uvicorn's default). Behind a proxy
    # that keeps upstream connections, make it longer than the proxy's idle timeout.
    serve_keep_alive: float = 5.0
    # Seconds a client may take none of an answer before it is closed: a slow reader holds a
    # connection and an open file (nginx's send_timeout is 60).
    serve_send_timeout: float = 30.0
    # -- the live server (`serve` without a folder: web/live.py) ------------------------------
    # Worker processes: rendering is CPU-bound Python, one core per process; the machines we
    # plan for have 2 cores (set 1 where `update` must keep a core of its own).
    serve_workers: int = 2
    # Cache-Control: seconds a cache (a CDN, a browser) may use a page before revalidating
    # it (a conditional GET, answered 304 while the archive is unchanged), and may go on
    # using it while it revalidates or while the server fails.
    serve_max_age: int = 60
    serve_stale_seconds: int = 3600
    # Seconds the queries of one live request (a page, an API call, a search) may run
    # before they are stopped with 503: a query a client made expensive must not hold a
    # worker, and a page that takes this long is wrong anyway.
    serve_query_timeout: float = 5.0
    # Megabytes of pages a live worker keeps made for the archive's current state, a quarter
    # more of API answers and a sixteenth more of 404s (one asked again is sent without
    # being made again; all are dropped when the state moves).
    serve_cache_mb: int = 64

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then `NEWSCONTEXT_*` variables, then explicit overrides (non-None)."""
        settings = cls()
        for spec in fields(cls):
            raw = os.environ.get(f"NEWSCONTEXT_{spec.name.upper()}")
            if raw is not None and spec.name != "db":
                current = getattr(settings, spec.name)
                setattr(settings, spec.name, _parse(raw, type(current), spec.name))
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, Path(value) if name == "db" else value)
        return settings


def _parse(raw: str, kind: type, name: str) -> object:
    """An environment value as the field's type; booleans accept 1/0, true/false, yes/no."""
    if kind is bool:
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"NEWSCONTEXT_{name.upper()}={raw!r} is not a yes/no value")
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"NEWSCONTEXT_{name.upper()}={raw!r}: {exc}") from exc
