"""How good are related-event lists? Precision at 10 against the portal's own stories.

Two real data sets: the fixture day pages (ingested as the product ingests them) and the
WikiTimes parse of 2015-09-01..10 (third-party, with stories and resolved entities). For
each, every event whose innermost story has other events is scored: how many of its 10
related events belong to the same story. Once with story headings in the context (easy:
the story is an entity) and once with them hidden (only the sentence's links count).

    python benchmarks/related_eval.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import unquote

from newscontext import Archive, Settings
from newscontext.portal.titles import normalize_title
from newscontext.related import (
    BASELINE,
    DEFAULT,
    Contexts,
    Method,
    precision_at_k,
    rank,
    word_matrix,
)
from newscontext.site.urls import slugify

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"

METHODS = [
    BASELINE,
    Method(name="idf", story_boost=0.0, time_boost=0.0),
    Method(name="idf+story", time_boost=0.0),
    Method(name="idf+time", story_boost=0.0),
    DEFAULT,
    replace(DEFAULT, name="idf+story+time, 7-day scale", time_scale=7.0),
    replace(DEFAULT, name="idf+story+time, 365-day scale", time_scale=365.0),
    replace(DEFAULT, name="idf+story+strong time", time_boost=1.0),
    replace(DEFAULT, name="idf+story+time+text x2", text_weight=2.0),
    replace(DEFAULT, name="idf+story+time+text x5", text_weight=5.0),
    replace(DEFAULT, name="idf+story+time+text x15", text_weight=15.0),
]


def fixture_days(hide_stories: bool) -> tuple[Contexts, list[str | None]]:
    """The fixture days through the real pipeline: ingest, entities, contexts."""
    with tempfile.TemporaryDirectory() as tmp, \
            Archive(Settings(db=Path(tmp) / "eval.sqlite3")) as archive:
        # Older HTML snapshots first, so the newer wikitext of the same days wins.
        archive.ingest_paths([FIXTURES / "html-parse-api", FIXTURES / "wikitext",
                              FIXTURES / "html-kiwicopple"])
        archive.resolve()
        ctx = archive.contexts(hide_stories=hide_stories)
        events = {a.id: a.event for a in archive.events()}
    stories = []
    paths = []
    for event_id in ctx.ids:
        event = events[event_id]
        stories.append(event.stories[-1].text if event.stories else None)
        day = event.date
        paths.append(f"/news/{day.year}/{day.month:02d}/{day.day}/{slugify(event.text)}")
    ctx.paths = paths  # the first system's tie-break: its own path strings
    ctx.words = word_matrix([events[i].text for i in ctx.ids])
    return ctx, stories


def wikitimes(hide_stories: bool) -> tuple[Contexts, list[str | None]]:
    """WikiTimes events: entities are resolved article titles; the story is an entity too."""
    records = json.loads((FIXTURES / "wikitimes" / "wikitimes_CEP_2015-09-01_to_10.json")
                         .read_text(encoding="utf-8"))
    rows = []
    stories: list[str | None] = []
    paths = []

    def title(url: str) -> str:
        return normalize_title(unquote(url.rsplit("/wiki/", 1)[-1]))

    for record in records:
        day = date.fromisoformat(record["date"])
        story = record.get("belongsToStory") or {}
        stories.append(story.get("name"))
        paths.append(f"/news/{day.year}/{day.month:02d}/{day.day}/"
                     f"{slugify(record['description'])}")
        entities = {title(e["wikiURL"]): (1, 0) for e in record.get("entity", [])}
        if story.get("wikipediaUrl"):
            in_text, _ = entities.get(title(story["wikipediaUrl"]), (0, 0))
            entities[title(story["wikipediaUrl"])] = (in_text, 1)
        if not entities:
            entities = {"": (0, 0)}  # keeps the event as a row with no context
        for name, (in_text, in_story) in sorted(entities.items()):
            if name:
                rows.append((record["id"], day.toordinal(), name, in_text, in_story))
            else:
                rows.append((record["id"], day.toordinal(), f"(none {record['id']})", 0, 0))
    ctx = Contexts.build(rows, hide_stories=hide_stories)
    order = {record["id"]: n for n, record in enumerate(records)}
    ctx.paths = [paths[order[i]] for i in ctx.ids]
    ctx.words = word_matrix([records[order[i]]["description"] for i in ctx.ids])
    return ctx, [stories[order[i]] for i in ctx.ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    datasets = [("fixture days", fixture_days), ("WikiTimes 2015-09", wikitimes)]
    header = f"{'method':34} " + " ".join(
        f"{name[:17] + (' hidden' if hide else ' shown'):>25}"
        for name, _ in datasets for hide in (False, True))
    print(f"P@{args.k} (normalised P@{args.k} in brackets): share of related events in the "
          "same innermost story")
    print(header)
    loaded = {(name, hide): loader(hide) for name, loader in datasets for hide in (False, True)}
    baseline: dict[tuple[str, bool], float] = {}
    for method in METHODS:
        cells = []
        for name, _ in datasets:
            for hide in (False, True):
                ctx, stories = loaded[(name, hide)]
                p, normalised, _ = precision_at_k(rank(ctx, method, args.k), stories,
                                                        args.k)
                baseline.setdefault((name, hide), p)
                ratio = p / baseline[(name, hide)] if baseline[(name, hide)] else float("nan")
                cells.append(f"{p:.3f} ({normalised:.3f}) x{ratio:.2f}")
        print(f"{method.name:34} " + " ".join(f"{cell:>25}" for cell in cells))
    for (name, hide), (ctx, stories) in loaded.items():
        if not hide:
            scored = precision_at_k(rank(ctx, BASELINE, args.k), stories, args.k)[2]
            print(f"{name}: {len(ctx.ids)} events, {len(ctx.titles)} entities, "
                  f"{scored} events scored")


if __name__ == "__main__":
    main()
