"""The JSON API (mounted at /api/v1 by the live server): events filtered, searched and
paged; events whole; entities and stories with their facts; one search over them all.

Every answer is JSON. What a client sends is checked before the archive is read: an
unknown or repeated parameter, a value of the wrong kind, a cursor that is not one of
this query's answers 400 with the parameter named; an unknown id 404s; a query that runs
past `serve_query_timeout` is stopped and answers 503. The archive is opened read-only
and each request reads it in one transaction, so an answer never shows half an update.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..model import ArchivedEvent
from ..portal.categories import canonical as canonical_category
from ..portal.titles import normalize_title
from ..settings import Settings
from ..site import urls
from ..site.pages import Pages
from ..store import Store, fts, query
from .openapi import openapi_document
from .states import WAIT, Made, Makers, State, States, Unavailable

PREFIX = "/api/v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SEARCH_LIMIT = 20  # events a search answers by default (a page of results)
SEARCH_MAX = 100
SUBJECTS_SHOWN = 5  # subjects a search answers before its events
MAX_NAME = 300  # characters of an entity, story or category name (titles are at most 255)


class BadRequest(Exception):
    """A request the API cannot answer as asked; names the parameter at fault."""

    def __init__(self, parameter: str | None, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Param:
    """One query parameter: how it is read, checked and described (openapi.py)."""

    name: str
    kind: str  # date, bool, int, sort, text, cursor
    description: str
    repeat: bool = False
    minimum: int = 1
    maximum: int = MAX_LIMIT
    default: Any = None
    choices: tuple[str, ...] = ()
    max_length: int = fts.MAX_QUERY
    required: bool = False


CURSOR = Param("cursor", "cursor", "Where the previous answer stopped: its `next`, as given.")
EVENT_PARAMS = (
    Param("from", "date", "Only events on or after this day (YYYY-MM-DD)."),
    Param("to", "date", "Only events on or before this day (YYYY-MM-DD)."),
    Param("q", "text", "Full-text search: every word must occur in the event's wording now "
          "or before, or in the title or description of an article it cites."),
    Param("advanced", "bool", "Read `q` as an FTS5 query (phrases, OR, NOT, NEAR, prefix*, "
          "columns text: earlier: sources:) instead of plain words.", default=False),
    Param("entity", "text", "Only events with this entity in their context: a title as the "
          "portal links it, its canonical title, or its slug. Repeat: events with all of "
          "them.", repeat=True, max_length=MAX_NAME),
    Param("story", "text", "Only events under this story heading: as written, or its slug. "
          "Repeat: events under all of them.", repeat=True, max_length=MAX_NAME),
    Param("category", "text", "Only events in this category (one of the portal's ten, or an "
          "earlier name of one). Repeat: events in any of them.", repeat=True,
          max_length=MAX_NAME),
    Param("removed", "bool", "List events the portal no longer shows too.", default=False),
    Param("sort", "sort", "Order: date (oldest first), -date (newest first, the default "
          "without q), relevance (best match first, the default with q; only with q).",
          choices=("date", "-date", "relevance")),
    Param("limit", "int", "Events per answer.", default=DEFAULT_LIMIT),
    CURSOR,
)
SUBJECT_PARAMS = (
    Param("q", "text", "Only names starting with this (any case).", max_length=MAX_NAME),
    Param("limit", "int", "Names per answer.", default=DEFAULT_LIMIT),
    CURSOR,
)
SEARCH_PARAMS = (
    Param("q", "text", "What to search for: words (every one must occur), the last one may "
          "be the start of a name.", required=True),
    Param("advanced", "bool", "Read `q` as an FTS5 query.", default=False),
    Param("limit", "int", "Events in the answer (subjects come first, up to five).",
          default=SEARCH_LIMIT, maximum=SEARCH_MAX),
)
NO_PARAMS: tuple[Param, ...] = ()
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse(request: Request, params: tuple[Param, ...]) -> dict[str, Any]:
    """The query parameters checked and converted: lists for repeatable ones, defaults
    for absent ones. Raises BadRequest naming the first parameter at fault."""
    known = {p.name: p for p in params}
    given: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        if name not in known:
            allowed = ", ".join(known) or "none"
            raise BadRequest(name, f"unknown parameter {name!r} (this path takes: {allowed})")
        given.setdefault(name, []).append(value)
    out: dict[str, Any] = {}
    for param in params:
        values = given.get(param.name)
        if not values:
            if param.required:
                raise BadRequest(param.name, f"{param.name}: required")
            out[param.name] = [] if param.repeat else param.default
            continue
        if len(values) > 1 and not param.repeat:
            raise BadRequest(param.name, f"{param.name}: given {len(values)} times, takes one")
        read = [_value(param, value) for value in values]
        out[param.name] = read if param.repeat else read[0]
    return out


def _value(param: Param, raw: str) -> Any:
    name = param.name
    if param.kind == "date":
        try:
            if not _DATE.fullmatch(raw):
                raise ValueError
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise BadRequest(name, f"{name}: {raw[:40]!r} is not a date like 2016-01-19") \
                from None
    if param.kind == "bool":
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0"):
            return False
        raise BadRequest(name, f"{name}: {raw[:40]!r} is not true or false")
    if param.kind == "int":
        if not re.fullmatch(r"[0-9]{1,9}", raw) or not (
                param.minimum <= int(raw) <= param.maximum):
            raise BadRequest(name, f"{name}: {raw[:40]!r} is not a whole number from "
                             f"{param.minimum} to {param.maximum}")
        return int(raw)
    if param.kind == "sort":
        if raw not in param.choices:
            raise BadRequest(name, f"{name}: {raw[:40]!r} is not one of "
                             f"{', '.join(param.choices)}")
        return raw
    if not raw.strip():
        raise BadRequest(name, f"{name}: empty")
    if len(raw) > param.max_length:
        raise BadRequest(name, f"{name}: longer than {param.max_length} characters")
    return raw


# -- cursors: opaque to clients, checked on return ------------------------------------------

def _fingerprint(kind: str, args: dict[str, Any]) -> str:
    """What a cursor is bound to: the path and every parameter but the cursor and limit."""
    data = json.dumps([kind, {k: v for k, v in sorted(args.items())
                              if k not in ("cursor", "limit")}], ensure_ascii=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def _encode_cursor(fingerprint: str, key: list) -> str:
    raw = json.dumps({"f": fingerprint, "k": key}, ensure_ascii=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, fingerprint: str,
                   check: Callable[[list], bool]) -> list | None:
    """The key a cursor carries, when it is one this query gave; else BadRequest."""
    if cursor is None:
        return None
    bad = BadRequest("cursor", "cursor: not a cursor of this query (give `next` as "
                     "answered, with the same other parameters)")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if (not isinstance(data, dict) or set(data) != {"f", "k"} or data["f"] != fingerprint
            or not isinstance(data["k"], list) or not check(data["k"])):
        raise bad
    try:  # a lone surrogate (\ud800 in the JSON) is no text SQLite can be given
        json.dumps(data["k"], ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise bad from None
    return data["k"]


def _date_key(key: list) -> bool:
    """(day, position, id): a day of the calendar, a position a day can have. A search orders
    its matches by a number made of both, so what could not be one is refused here."""
    if not (len(key) == 3 and isinstance(key[0], str) and _DATE.fullmatch(key[0]) is not None
            and type(key[1]) is int and 0 <= key[1] < query.POSITIONS and isinstance(key[2], str)):
        return False
    try:
        date.fromisoformat(key[0])
    except ValueError:
        return False
    return True


def _score_key(key: list) -> bool:
    """(score, id): a score is a finite float (an int beyond a float's range is not)."""
    score = key[0] if len(key) == 2 else None
    if type(score) is int:
        score = float(score) if abs(score) < 2**1000 else None
    return type(score) is float and math.isfinite(score) and isinstance(key[1], str)


def _title_key(key: list) -> bool:
    return len(key) == 1 and isinstance(key[0], str)


# -- answers --------------------------------------------------------------------------------

def _body(data: Any) -> bytes:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # a lone surrogate (no character) cannot be UTF-8: it becomes "?"
    return body.encode("utf-8", "replace")


def _json(data: Any, status: int = 200) -> Response:
    return Response(_body(data), status, media_type="application/json")


def _error(status: int, message: str, parameter: str | None = None) -> Response:
    return _json({"error": message, "parameter": parameter, "status": status}, status)


class Api:
    """The API's handlers over the finished state of the archive a worker serves (the
    pages' rule, web/states.py; the live server gives the pages' own `states`). Several
    requests are answered at once, each on its own read-only connection in a read
    transaction on that state; an answer made is kept for the state (within a quarter of
    `serve_cache_mb`) and sent again as made."""

    def __init__(self, db: Path, settings: Settings, states: States | None = None):
        self.settings = settings
        self.states = states if states is not None else States(db, settings)
        self.site = settings.site_url.rstrip("/")
        self._local = threading.local()

    @property
    def store(self) -> Store:
        """The store of the connection the calling thread reads (inside `_read`)."""
        return self._local.reading.store

    def close(self) -> None:
        self.states.close()

    async def answer(self, request: Request, params: tuple[Param, ...],
                     handler: Callable[..., Any]) -> Response:
        try:
            args = _parse(request, params)
            # the query as sent: the order of repeated parameters is in the cursors given
            key = repr((handler.__name__, sorted(request.path_params.items()),
                        request.query_params.multi_items()))
            body = await run_in_threadpool(self._read, handler, request.path_params, args,
                                           key)
        except BadRequest as exc:
            return _error(400, exc.message, exc.parameter)
        except fts.QueryError as exc:
            return _error(400, f"q: {exc}", "q")
        except NotFound as exc:
            return _error(404, str(exc))
        except Unavailable as exc:
            return _error(503, f"the archive cannot be read now: {exc}")
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                return _error(503, "the query took too long and was stopped; narrow it")
            raise
        return Response(body, media_type="application/json")

    def _read(self, handler: Callable[..., Any], path: dict, args: dict, key: str) -> bytes:
        """The answer's body: as kept for the current state, or made by the handler on a
        connection of that state under the query deadline."""
        state = self.states.current()
        kept = self._answers(state).get(key)  # no connection needed
        if kept is not None:
            return kept[0][1]  # type: ignore[index]
        # made by one thread at a time: the others asking meanwhile get its answer or error
        return state.keep("api makers", Makers).once(
            key, WAIT + self.settings.serve_query_timeout,
            lambda: self._made_now(handler, path, args, key))

    def _made_now(self, handler: Callable[..., Any], path: dict, args: dict, key: str
                  ) -> bytes:
        """The answer made on a connection of the current state, and kept for it."""
        with self.states.reading() as (reading, state):
            made = self._answers(state)
            self._local.reading, self._local.state = reading, state
            try:
                with reading.store.deadline(self.settings.serve_query_timeout):
                    body = _body(handler(**path, args=args))
            finally:
                self._local.reading = self._local.state = None
            made.put(key, ("application/json", body))
            return body

    def _answers(self, state: State) -> Made:
        """The answers kept for a state."""
        return state.keep("answers", lambda: Made(self.settings.serve_cache_mb * 1_000_000 // 4))

    # -- pieces -----------------------------------------------------------------------------

    def _page(self, path: str | None) -> tuple[str | None, str | None]:
        """(site path, absolute URL of its HTML page) of a page path."""
        if path is None:
            return None, None
        return path, f"{self.site}{path}.html"

    def _pages(self) -> Pages:
        """The page model, for which subjects and stories have a page: its tables are read
        as asked and kept with the connection for its state, so a hub subject's count is
        not counted again for every answer."""
        reading = self._local.reading  # the same page model as the live pages on it
        return reading.keep("pages", lambda: Pages(reading.store, self.settings))

    def _kept(self, name: str, make: Callable[[], Any]) -> Any:
        """What is read once for the state and shared by its connections (`State.keep`)."""
        return self._local.state.keep(name, make)

    def _index(self) -> query.EventIndex:
        """What orders a search's matches (about 1 s to read at 150,000 events)."""
        return self._kept("index", lambda: query.EventIndex(self.store.conn))

    def _subject(self, pages: Pages, title: str) -> dict:
        """A subject as answers name it: its page, or none (a subject of one event has no
        page: path and url null, as its mentions on the site link to Wikipedia)."""
        ref = pages.entity_ref(title)
        path, url = self._page(None if "://" in ref.path else ref.path)
        return {"title": title, "slug": pages.entity_slug.get(title), "path": path, "url": url}

    def _refs(self, titles: list[str]) -> list[dict]:
        pages = self._pages()
        pages.want_subjects(titles)
        return [self._subject(pages, title) for title in titles]

    def _events(self, events: list[ArchivedEvent]) -> list[dict]:
        """Events as the list answers them: `export events` plus page and context."""
        ids = [a.id for a in events]
        where = self.store.event_slugs(ids)
        contexts = self.store.contexts(ids)
        pages = self._pages()
        pages.want_subjects({t for i in ids for t in contexts.get(i, ())})
        out = []
        for archived in events:
            data = archived.to_export()
            place = where.get(archived.id)
            data["path"], data["url"] = self._page(urls.event_path(*place) if place else None)
            data["context"] = [self._subject(pages, title)
                               for title in contexts.get(archived.id, [])]
            out.append(data)
        return out

    def _entity_data(self, facts: dict) -> dict:
        page = self._subject(self._pages(), facts["title"])
        path, url = page["path"], page["url"]
        return {"title": facts["title"], "slug": facts["slug"], "path": path, "url": url,
                "api": f"{PREFIX}/entities/{quote(facts['slug'])}",
                "wikipedia": urls.wikipedia_url(facts["title"]),
                "wikidata": facts["wikidata"], "pageid": facts["pageid"],
                "disambiguation": facts["disambiguation"], "events": facts["events"],
                "first": facts["first"], "last": facts["last"], "labels": facts["labels"]}

    def _story_data(self, facts: dict) -> dict:
        # A heading that is one link has its subject's page; a story of no event, none.
        # Which subject a heading is: the page model's rule (Store.story_subjects).
        pages = self._pages()
        moved = pages.moved("story", facts["title"])
        path, url = self._page(moved.path if moved is not None else
                               urls.story_path(facts["slug"])
                               if pages.timeline_pages("story", facts["title"]) else None)
        subject = pages.story_subject.get(facts["title"])
        ids = query.entity_ids(self.store.conn, [subject]) if subject else {}
        entity = subject if subject in ids else None
        wikidata, pageid = ids.get(subject, (None, None)) if subject else (None, None)
        return {"title": facts["title"], "slug": facts["slug"], "path": path, "url": url,
                "api": f"{PREFIX}/stories/{quote(facts['slug'])}",
                "entity": entity,
                "wikipedia": urls.wikipedia_url(entity) if entity else None,
                "wikidata": wikidata, "pageid": pageid,
                "events": facts["events"], "first": facts["first"], "last": facts["last"]}

    def _categories(self, names: list[str]) -> list[str] | None:
        """The stored headings standing for these categories (None: any category)."""
        if not names:
            return None
        wanted = {canonical_category(name) for name in names}
        stored = self._kept("categories", lambda: query.stored_categories(self.store.conn))
        return [heading for heading in stored if canonical_category(heading) in wanted]

    # -- handlers ---------------------------------------------------------------------------

    def events(self, args: dict) -> dict:
        conn = self.store.conn
        sort = args["sort"] or ("relevance" if args["q"] else "-date")
        if sort == "relevance" and not args["q"]:
            raise BadRequest("sort", "sort: relevance needs q")
        if args["from"] and args["to"] and args["from"] > args["to"]:
            raise BadRequest("to", f"to: {args['to']} is before from {args['from']}")
        entities = []
        for name in args["entity"]:
            title = query.find_entity(conn, _spellings(name))
            if title is None:
                raise BadRequest("entity", f"entity: no entity {name[:80]!r} in the archive")
            entities.append(title)
        stories = []
        for name in args["story"]:
            title = query.find_story(conn, _spellings(name))
            if title is None:
                raise BadRequest("story", f"story: no story {name[:80]!r} in the archive")
            stories.append(title)
        fts_query = None
        if args["q"]:
            fts_query = fts.prepare(args["q"], advanced=args["advanced"])
        fingerprint = _fingerprint("events", {**args, "sort": sort})
        after = _decode_cursor(args["cursor"], fingerprint,
                               _score_key if sort == "relevance" else _date_key)
        if args["q"] and fts_query is None:  # no word to look for: nothing matches
            return {"events": [], "next": None}
        wanted = query.EventQuery(
            first=args["from"], last=args["to"], fts=fts_query, advanced=args["advanced"],
            entities=entities, stories=stories, categories=self._categories(args["category"]),
            removed=args["removed"], sort=sort)
        limit = args["limit"]
        rows = query.list_events(conn, wanted, after, limit + 1,
                                 self._index() if fts_query is not None else None)
        more = len(rows) > limit
        rows = rows[:limit]
        items = self._events([archived for archived, _ in rows])
        if fts_query is not None:
            marked = fts.snippets(conn, fts_query, [a.id for a, _ in rows],
                                  advanced=args["advanced"])
            for item, (archived, key) in zip(items, rows, strict=True):
                item["snippet"] = marked.get(archived.id)
                if sort == "relevance":
                    item["score"] = -key[0]
        return {"events": items,
                "next": _encode_cursor(fingerprint, rows[-1][1]) if more else None}

    def event(self, id: str, args: dict) -> dict:
        store = self.store
        archived = store.event(id)
        if archived is None:
            raise NotFound(f"no event {id[:80]!r} in the archive")
        (data,) = self._events([archived])
        data["first_seen"] = archived.first_seen
        data["removed_at"] = archived.removed_at if archived.removed else None
        event = archived.event
        articles = store.source_articles(s.url for s in event.sources)
        sources = []
        for source in event.sources:
            row = articles.get(source.url)
            item: dict[str, Any] = {"url": source.url, "name": source.name, "hash": None,
                                    "fetch_status": None, "fetched_at": None,
                                    "final_url": None, "archived_from": None,
                                    "article": None}
            if row is not None:
                item.update(hash=row["hash"], fetch_status=row["fetch_status"],
                            fetched_at=row["fetched_at"], final_url=row["final_url"],
                            archived_from=row["archived_from"])
                if row["article_status"] is not None:
                    shown = row["article_status"] in ("complete", "teaser", "paywalled")
                    path, url = self._page(urls.source_path(row["hash"]) if shown else None)
                    item["article"] = {
                        "status": row["article_status"], "path": path, "url": url,
                        "og_title": row["og_title"], "og_description": row["og_description"],
                        "og_image": row["og_image"], "og_site_name": row["og_site_name"],
                        "og_published": row["og_published"], "title": row["title"],
                        "subtitle": row["subtitle"], "author": row["author"],
                        "published": row["published"]}
            sources.append(item)
        data["sources"] = sources
        data["versions"] = [
            {"seq": v.seq, "revid": v.revid, "timestamp": v.timestamp, "text": v.text,
             "category": canonical_category(v.category), "stories": list(v.stories),
             "sources": [{"url": s.url, "name": s.name} for s in v.sources]}
            for v in store.versions(id)]
        ranked = store.related(id)
        others = [item.id for item in ranked] + ([archived.moved_to] if archived.moved_to
                                                 else [])
        headlines = store.headlines(others)
        where = store.event_slugs(others)
        related = []
        for item in ranked:
            if item.id not in headlines:
                continue
            text, day = headlines[item.id]
            path, url = self._page(urls.event_path(*where[item.id]) if item.id in where
                                   else None)
            related.append({"id": item.id, "date": day.isoformat(), "text": text,
                            "path": path, "url": url, "score": item.score,
                            "shared": list(item.shared)})
        data["related"] = related
        moved = archived.moved_to
        if moved and moved in headlines:
            path, url = self._page(urls.event_path(*where[moved]) if moved in where else None)
            data["moved_to"] = {"id": moved, "text": headlines[moved][0], "path": path,
                                "url": url}
        else:
            data["moved_to"] = None
        return data

    def entities(self, args: dict) -> dict:
        conn = self.store.conn
        fingerprint = _fingerprint("entities", args)
        after = _decode_cursor(args["cursor"], fingerprint, _title_key)
        titles = query.entity_titles(conn, args["q"], after[0] if after else None,
                                     args["limit"] + 1)
        more = len(titles) > args["limit"]
        titles = titles[: args["limit"]]
        facts = query.entities(conn, titles)
        return {"entities": [self._entity_data(facts[t]) for t in titles if t in facts],
                "next": _encode_cursor(fingerprint, [titles[-1]]) if more else None}

    def entity(self, slug: str, args: dict) -> dict:
        conn = self.store.conn
        title = query.entity_by_slug(conn, slug)
        facts = query.entities(conn, [title]) if title else {}
        if title not in facts:
            raise NotFound(f"no entity with the slug {slug[:80]!r}")
        return self._entity_data(facts[title])

    def stories(self, args: dict) -> dict:
        conn = self.store.conn
        fingerprint = _fingerprint("stories", args)
        after = _decode_cursor(args["cursor"], fingerprint, _title_key)
        titles = query.story_titles(conn, args["q"], after[0] if after else None,
                                    args["limit"] + 1)
        more = len(titles) > args["limit"]
        titles = titles[: args["limit"]]
        facts = query.stories(conn, titles)
        return {"stories": [self._story_data(facts[t]) for t in titles if t in facts],
                "next": _encode_cursor(fingerprint, [titles[-1]]) if more else None}

    def story(self, slug: str, args: dict) -> dict:
        conn = self.store.conn
        title = query.story_by_slug(conn, slug)
        facts = query.stories(conn, [title]) if title else {}
        if title not in facts:
            raise NotFound(f"no story with the slug {slug[:80]!r}")
        return self._story_data(facts[title])

    def search(self, args: dict) -> dict:
        """Subjects whose name (or a label) matches first, then the best events."""
        conn = self.store.conn
        advanced = args["advanced"]
        text = args["q"]
        subject_query = fts.prepare(text, advanced=advanced, prefix_last=True)
        event_query = fts.prepare(text, advanced=advanced)
        results: list[dict] = []
        errors = []
        hits: list[fts.SubjectHit] = []
        if subject_query is not None:
            try:
                hits = fts.subjects(conn, subject_query, SUBJECTS_SHOWN, advanced=advanced)
            except fts.QueryError as exc:  # a column only events have: no subject
                errors.append(exc)
        entities = query.entities(conn, [h.title for h in hits if h.kind == "entity"])
        stories = query.stories(conn, [h.title for h in hits if h.kind == "story"])
        for hit in hits:
            facts = (entities if hit.kind == "entity" else stories).get(hit.title)
            if facts is not None:
                data = (self._entity_data(facts) if hit.kind == "entity"
                        else self._story_data(facts))
                results.append({"kind": hit.kind, **data, "snippet": hit.snippet})
        if event_query is not None:
            try:
                rows = query.list_events(conn, query.EventQuery(
                    fts=event_query, advanced=advanced, sort="relevance"), None,
                    args["limit"], self._index())
            except fts.QueryError as exc:
                errors.append(exc)
                rows = []
            marked = fts.snippets(conn, event_query, [a.id for a, _ in rows],
                                  advanced=advanced) if rows else {}
            for item, (archived, key) in zip(self._events([a for a, _ in rows]), rows,
                                             strict=True):
                results.append({"kind": "event", **item, "snippet": marked.get(archived.id),
                                "score": -key[0]})
        if len(errors) == 2 or (errors and subject_query is None):
            raise errors[0]
        return {"query": text, "results": results}


def _spellings(name: str) -> list[str]:
    """A name as given, and as MediaWiki normalises a title (`syrian_Army` -> `Syrian Army`)."""
    normal = normalize_title(name)
    return [name, normal] if normal and normal != name else [name]


def create_api(db: Path, settings: Settings, states: States | None = None) -> Starlette:
    """The API as an ASGI app, its routes relative to where it is mounted (/api/v1), on
    `states` (the live pages'), or states of its own. The archive is opened read-only at
    the first request; `app.state.api.close()` closes it."""
    api = Api(db, settings, states)
    document = openapi_document(settings.site_url.rstrip("/") + PREFIX, EVENT_PARAMS,
                                SUBJECT_PARAMS, SEARCH_PARAMS)

    def route(path: str, params: tuple[Param, ...], handler: Callable[..., Any]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await api.answer(request, params, handler)

        return Route(path, endpoint, methods=["GET"], name=handler.__name__)

    async def openapi(request: Request) -> Response:
        return _json(document)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "no such path in the API (see /api/v1/openapi.json)" \
            if exc.status_code == 404 else exc.detail
        response = _error(exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    app = Starlette(
        routes=[
            route("/events", EVENT_PARAMS, api.events),
            route("/events/{id}", NO_PARAMS, api.event),
            route("/entities", SUBJECT_PARAMS, api.entities),
            route("/entities/{slug}", NO_PARAMS, api.entity),
            route("/stories", SUBJECT_PARAMS, api.stories),
            route("/stories/{slug}", NO_PARAMS, api.story),
            route("/search", SEARCH_PARAMS, api.search),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        middleware=[Middleware(CORSMiddleware, allow_origins=["*"],
                               allow_methods=["GET", "HEAD"], allow_headers=["*"],
                               expose_headers=["ETag", "Last-Modified"])],
        exception_handlers={HTTPException: http_error},
    )
    app.state.api = api
    return app
