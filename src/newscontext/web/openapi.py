"""The API's OpenAPI 3.1 document: every path, parameter and answer, made from the same
parameter table the API checks requests with (web/api.py), so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    from .api import Param


def _nullable(kind: str, **extra: Any) -> dict:
    return {"type": [kind, "null"], **extra}


_STR = {"type": "string"}
_DAY = {"type": "string", "format": "date"}
_REF = {  # a link to a page of the site: its path (append .html .md .json .xml) and URL
    "type": "object",
    "required": ["title", "slug", "path", "url"],
    "properties": {"title": _STR, "slug": _nullable("string"), "path": _nullable("string"),
                   "url": _nullable("string")},
}
_LINK = {"type": "object", "required": ["target", "label"],
         "properties": {"target": _STR, "label": _STR}}
_SOURCE = {"type": "object", "required": ["url", "name"],
           "properties": {"url": _STR, "name": _STR}}
_ARTICLE = {
    "type": ["object", "null"],
    "required": ["status", "path", "url", "og_title", "og_description", "og_image",
                 "og_site_name", "og_published", "title", "subtitle", "author", "published"],
    "properties": {
        "status": {"type": "string", "description": "complete, teaser, paywalled or empty"},
        "path": _nullable("string", description="the archive's page of the article"),
        "url": _nullable("string"),
        **{name: _nullable("string") for name in (
            "og_title", "og_description", "og_image", "og_site_name", "og_published",
            "title", "subtitle", "author", "published")},
    },
}
_EVENT_FIELDS = {
    "id": {"type": "string", "description": "stable across rewording and moves"},
    "date": _DAY,
    "category": _nullable("string", description="one of the portal's current ten names "
                          "(a heading it does not know as written)"),
    "stories": {"type": "array", "items": _STR, "description": "story headings, outermost "
                "first"},
    "text": _STR,
    "links": {"type": "array", "items": _LINK},
    "sources": {"type": "array", "items": _SOURCE},
    "removed": {"type": "boolean", "description": "the portal no longer shows it"},
    "path": _nullable("string", description="its page on the site (null before the site "
                      "gave it one)"),
    "url": _nullable("string", description="its HTML page"),
    "context": {"type": "array", "items": _REF, "description": "the entities it is about"},
    "snippet": _nullable("string", description="with q: HTML, the text escaped, matched words "
                         "in <mark>"),
    "score": {"type": "number", "description": "with q sorted by relevance: higher is better"},
}
EVENT = {"type": "object",
         "required": ["id", "date", "category", "stories", "text", "links", "sources",
                      "removed", "path", "url", "context"],
         "properties": _EVENT_FIELDS}
EVENT_DETAIL = {
    "type": "object",
    "required": [*EVENT["required"], "first_seen", "removed_at", "versions", "related",
                 "moved_to"],
    "properties": {
        **_EVENT_FIELDS,
        "first_seen": _nullable("string", description="its first revision's time (null: "
                                "unknown)"),
        "removed_at": _nullable("string"),
        "sources": {"type": "array", "items": {
            "type": "object",
            "required": ["url", "name", "hash", "fetch_status", "fetched_at", "final_url",
                         "archived_from", "article"],
            "properties": {"url": _STR, "name": _STR, "hash": _nullable("string"),
                           "fetch_status": _nullable("string"),
                           "fetched_at": _nullable("string"),
                           "final_url": _nullable("string"),
                           "archived_from": _nullable("string"), "article": _ARTICLE}}},
        "versions": {"type": "array", "items": {
            "type": "object",
            "required": ["seq", "revid", "timestamp", "text", "category", "stories", "sources"],
            "properties": {"seq": {"type": "integer"}, "revid": _nullable("integer"),
                           "timestamp": _nullable("string"), "text": _STR,
                           "category": _nullable("string"),
                           "stories": {"type": "array", "items": _STR},
                           "sources": {"type": "array", "items": _SOURCE}}}},
        "related": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "date", "text", "path", "url", "score", "shared"],
            "properties": {"id": _STR, "date": _DAY, "text": _STR,
                           "path": _nullable("string"), "url": _nullable("string"),
                           "score": {"type": "number"},
                           "shared": {"type": "array", "items": _STR}}}},
        "moved_to": {"type": ["object", "null"], "required": ["id", "text", "path", "url"],
                     "properties": {"id": _STR, "text": _STR, "path": _nullable("string"),
                                    "url": _nullable("string")}},
    },
}
_SUBJECT_FIELDS = {
    "title": _STR, "slug": _STR,
    "path": _nullable("string", description="its page on the site (null: it has none, as a "
                      "subject of one event)"),
    "url": _nullable("string", description="its HTML page"),
    "api": {"type": "string", "description": "this subject in the API"},
    "wikipedia": _nullable("string", description="its Wikipedia article"),
    "wikidata": _nullable("string", description="its Wikidata item (Q...)"),
    "pageid": _nullable("integer", description="its Wikipedia page id"),
    "events": {"type": "integer", "minimum": 0, "description": "events the portal shows"},
    "first": _nullable("string", format="date"),
    "last": _nullable("string", format="date"),
}
ENTITY = {
    "type": "object",
    "required": [*_SUBJECT_FIELDS, "disambiguation", "labels"],
    "properties": {**_SUBJECT_FIELDS, "disambiguation": {"type": "boolean"},
                   "labels": {"type": "array", "items": _STR,
                              "description": "the words linked to it, most used first"}},
}
STORY = {
    "type": "object",
    "required": [*_SUBJECT_FIELDS, "entity"],
    "properties": {**_SUBJECT_FIELDS,
                   "entity": _nullable("string", description="the entity the heading links "
                                       "to, when it is one link")},
}
ERROR = {"type": "object", "required": ["error", "parameter", "status"],
         "properties": {"error": _STR, "parameter": _nullable("string"),
                        "status": {"type": "integer"}}}
_NEXT = _nullable("string", description="the cursor of the next answer; null: the last")


def _kind(schema: dict, kind: str) -> dict:
    return {**schema, "required": ["kind", *schema["required"], "snippet"],
            "properties": {"kind": {"const": kind}, **schema["properties"],
                           "snippet": _nullable("string")}}


SEARCH = {
    "type": "object", "required": ["query", "results"],
    "properties": {"query": _STR, "results": {"type": "array", "items": {"anyOf": [
        _kind(ENTITY, "entity"), _kind(STORY, "story"), _kind(EVENT, "event")]}}},
}


def _parameter(param: Param) -> dict:
    if param.kind == "date":
        schema: dict[str, Any] = {"type": "string", "format": "date",
                                  "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    elif param.kind == "bool":
        schema = {"type": "boolean", "default": param.default}
    elif param.kind == "int":
        schema = {"type": "integer", "minimum": param.minimum, "maximum": param.maximum,
                  "default": param.default}
    elif param.kind == "sort":
        schema = {"type": "string", "enum": list(param.choices)}
    elif param.kind == "cursor":
        schema = {"type": "string", "minLength": 1}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": param.max_length,
                  "pattern": r"\S"}
    if param.repeat:
        schema = {"type": "array", "items": schema}
    out = {"name": param.name, "in": "query", "description": param.description,
           "required": param.required, "schema": schema}
    if param.repeat:
        out.update(style="form", explode=True)
    return out


def _answers(schema: dict, description: str, *, missing: bool = False) -> dict:
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    out = {"200": {"description": description,
                   "content": {"application/json": {"schema": schema}}},
           "400": {"description": "a parameter is unknown, repeated or wrong (named)", **ref},
           "503": {"description": "the query ran too long and was stopped", **ref}}
    if missing:
        out["404"] = {"description": "no such id or slug", **ref}
    return out


def _get(summary: str, params: Iterable[Param], answers: dict,
         path_param: str | None = None) -> dict:
    parameters = [_parameter(p) for p in params]
    if path_param:
        parameters.insert(0, {"name": path_param, "in": "path", "required": True,
                              "schema": {"type": "string", "minLength": 1}})
    return {"get": {"summary": summary, "parameters": parameters, "responses": answers}}


def openapi_document(server: str, event_params: Iterable[Param],
                     subject_params: Iterable[Param], search_params: Iterable[Param]) -> dict:
    subject_params = list(subject_params)

    def listing(key: str, item: str) -> dict:
        return {"type": "object", "required": [key, "next"],
                "properties": {key: {"type": "array",
                                     "items": {"$ref": f"#/components/schemas/{item}"}},
                               "next": _NEXT}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "newscontext API", "version": __version__,
                 "description": "Wikipedia's Current Events Portal as an open news archive: "
                 "events, their versions, sources and context, entities and stories, and "
                 "full-text search. Open data: CORS *, no key."},
        "servers": [{"url": server}],
        "paths": {
            "/events": _get("Events filtered, searched and paged", event_params,
                            _answers(listing("events", "Event"), "events and the next cursor")),
            "/events/{id}": _get("One event whole: versions, sources with their archived "
                                 "articles, context, related events", [],
                                 _answers({"$ref": "#/components/schemas/EventDetail"},
                                          "the event", missing=True), "id"),
            "/entities": _get("Entities by title", subject_params,
                              _answers(listing("entities", "Entity"), "entities")),
            "/entities/{slug}": _get("One entity", [], _answers(
                {"$ref": "#/components/schemas/Entity"}, "the entity", missing=True), "slug"),
            "/stories": _get("Stories by heading", subject_params,
                             _answers(listing("stories", "Story"), "stories")),
            "/stories/{slug}": _get("One story", [], _answers(
                {"$ref": "#/components/schemas/Story"}, "the story", missing=True), "slug"),
            "/search": _get("Subjects and events matching words: subjects first",
                            search_params, _answers({"$ref": "#/components/schemas/Search"},
                                                    "what matched")),
            "/openapi.json": {"get": {"summary": "This document", "parameters": [],
                                      "responses": {"200": {
                                          "description": "OpenAPI 3.1",
                                          "content": {"application/json": {
                                              "schema": {"type": "object"}}}}}}},
        },
        "components": {"schemas": {"Event": EVENT, "EventDetail": EVENT_DETAIL,
                                   "Entity": ENTITY, "Story": STORY, "Search": SEARCH,
                                   "Error": ERROR}},
    }
