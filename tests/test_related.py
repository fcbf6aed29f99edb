"""Entities, contexts and related events on the real fixture days."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT

from newscontext import Archive, Settings
from newscontext.related import BASELINE, DEFAULT, Contexts, precision_at_k, rank, related_lists

SOHR = "The Syrian Observatory for Human Rights claims that scores of Syrian Army troops"
# The seed event page's `_Context:_` list for this event.
SEED_CONTEXT = ["Deir ez-Zor", "Islamic State of Iraq and the Levant", "Syrian Army",
                "Syrian Civil War", "Syrian Observatory for Human Rights"]


@pytest.fixture(scope="module")
def related_archive(tmp_path_factory) -> Archive:
    path = tmp_path_factory.mktemp("related") / "archive.sqlite3"
    archive = Archive(Settings(db=path))
    archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
    archive.resolve()
    archive.relate()
    yield archive
    archive.close()


def event_with(archive: Archive, prefix: str):
    (found,) = [a for a in archive.events() if a.event.text.startswith(prefix)]
    return found


def test_context_is_the_seed_pages_context(related_archive: Archive):
    sohr = event_with(related_archive, SOHR)
    assert related_archive.context(sohr.id) == SEED_CONTEXT


def test_context_is_sorted_case_insensitively_without_duplicates(related_archive: Archive):
    for archived in list(related_archive.events())[:200]:
        context = related_archive.context(archived.id)
        assert context == sorted(set(context), key=lambda t: (t.casefold(), t))


def test_entities_export(related_archive: Archive):
    entities = {e.title: e for e in related_archive.entities()}
    isil = entities["Islamic State of Iraq and the Levant"]
    assert set(isil.labels) >= {"ISIL", "Islamic State of Iraq and the Levant"}
    assert isil.slug == "islamic-state-of-iraq-and-the-levant"
    assert isil.events == sum(
        1 for a in related_archive.events() if not a.removed
        and "Islamic State of Iraq and the Levant" in related_archive.context(a.id))
    assert entities["Hôtel Ritz Paris"].slug == "hotel-ritz-paris"
    slugs = [e.slug for e in entities.values()]
    assert len(slugs) == len(set(slugs))
    assert all(e.events >= 0 and e.to_export()["title"] == e.title for e in entities.values())


def test_related_lists_are_well_formed(related_archive: Archive):
    lists = dict(related_archive.related_lists())
    assert len(lists) == sum(1 for a in related_archive.events() if not a.removed)
    nonempty = 0
    for event_id, items in lists.items():
        ids = [item.id for item in items]
        assert event_id not in ids and len(ids) == len(set(ids)) <= 10
        scores = [item.score for item in items]
        assert scores == sorted(scores, reverse=True)
        mine = set(related_archive.context(event_id))
        for item in items:
            assert item.shared and set(item.shared) <= mine
            assert set(item.shared) <= set(related_archive.context(item.id))
            assert list(item.shared) == sorted(item.shared, key=lambda t: (t.casefold(), t))
        nonempty += bool(items)
    assert nonempty > 0.8 * len(lists)  # the rest share no entity with any other event


def test_seed_related_event_comes_first(related_archive: Archive):
    """The seed page's first related event shares all five context titles."""
    sohr = event_with(related_archive, SOHR)
    first = related_archive.related(sohr.id)[0]
    other = related_archive.store.event(first.id)
    assert other.event.text.startswith("At least 75 Syrian Army soldiers and pro-Assad")
    assert list(first.shared) == SEED_CONTEXT


def test_relate_again_writes_nothing(related_archive: Archive):
    assert related_archive.relate().changed == 0


def test_who_shows_an_event_follows_the_lists(related_archive: Archive):
    """`related_mentioning` (which pages show an event's title) answers from an index kept
    with the lists; it must agree with the lists themselves, also after one changes."""
    store = related_archive.store
    lists = dict(store.iter_related())
    sohr = event_with(related_archive, SOHR).id
    shown = {event_id for event_id, items in lists.items() if any(r.id == sohr for r in items)}
    assert shown and store.related_mentioning([sohr]) == shown
    some = sorted(lists)[:40]
    assert store.related_mentioning(some) == {
        event_id for event_id, items in lists.items() if any(r.id in some for r in items)}
    viewer = sorted(shown)[0]
    raw = dict(store.conn.execute("SELECT event_id, items FROM related").fetchall())
    edited = [i for i in json.loads(raw[viewer]) if i["id"] != sohr]
    with store.transaction():  # the viewer's list no longer shows the event
        assert store.replace_related({**raw, viewer: json.dumps(edited)}.items()) == 1
    assert store.related_mentioning([sohr]) == shown - {viewer}
    with store.transaction():  # and back
        assert store.replace_related(raw.items()) == 1
    assert store.related_mentioning([sohr]) == shown


def test_ranking_never_below_the_first_systems_rule(related_archive: Archive):
    events = {a.id: a.event for a in related_archive.events()}
    for hide in (False, True):
        ctx = related_archive.contexts(hide_stories=hide)
        stories = [events[i].stories[-1].text if events[i].stories else None for i in ctx.ids]
        ours = precision_at_k(rank(ctx, DEFAULT), stories)[0]
        first = precision_at_k(rank(ctx, BASELINE), stories)[0]
        assert ours >= first > 0


def test_hub_pruning_matches_the_exact_ranking(related_archive: Archive):
    """With hubs at df > 5 most lists must equal the exact product's (no hubs)."""
    ctx = related_archive.contexts()
    exact = rank(ctx, DEFAULT, hub_df=10**9).lists()
    pruned = rank(ctx, DEFAULT, hub_df=5).lists()
    assert (np.asarray(ctx.context.sum(axis=0)).ravel() > 5).sum() >= 10  # hubs exist
    same = sum(1 for a, b in zip(exact, pruned, strict=True)
               if [x for x, _ in a] == [x for x, _ in b])
    overlap = np.mean([len({x for x, _ in a} & {x for x, _ in b}) / len(a)
                       for a, b in zip(exact, pruned, strict=True) if a])
    assert same / len(exact) > 0.8 and overlap > 0.95
    # Scores of pairs both find are identical: hub weights are added exactly.
    for a, b in zip(exact, pruned, strict=True):
        scores_b = dict(b)
        for other, score in a:
            if other in scores_b:
                assert scores_b[other] == pytest.approx(score, abs=1e-3)


def test_redirect_table_merges_titles_and_keeps_slugs(tmp_path: Path):
    table = tmp_path / "redirects.tsv"
    table.write_text(
        "# from\tto\n"
        "Islamic State of Iraq and the Levant\tIslamic State\n"
        "ISIL\tIslamic State\n"
        "this line has no tab\n"
        "U.S. Supreme Court\tSupreme Court of the United States\n",
        encoding="utf-8",
    )
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths([WIKITEXT / "2016-01-16.wiki", WIKITEXT / "2016-01-19.wiki"])
        archive.resolve()
        before = {e.title: e.slug for e in archive.entities()}
        report = archive.resolve(redirects=table)
        assert report.redirects == 2 and report.changed == 2
        assert any("redirects.tsv line 4" in error for error in report.errors)
        sohr = event_with(archive, SOHR)
        assert "Islamic State" in archive.context(sohr.id)
        assert "Islamic State of Iraq and the Levant" not in archive.context(sohr.id)
        entities = {e.title: e for e in archive.entities()}
        assert set(entities["Islamic State"].labels) >= {"ISIL",
                                                         "Islamic State of Iraq and the Levant"}
        assert "Islamic State of Iraq and the Levant" not in entities
        for title, slug in before.items():
            if title in entities:
                assert entities[title].slug == slug  # slugs never change
        archive.relate()
        shared = {t for item in archive.related(sohr.id) for t in item.shared}
        assert "Islamic State" in shared


def test_contexts_build_and_shared_titles_sorted_case_insensitively():
    ctx = Contexts.build([("a", 1, "beta", 1, 0), ("a", 1, "Alpha", 1, 0), ("a", 1, "gamma", 0, 1),
                          ("b", 2, "beta", 0, 1), ("b", 2, "Alpha", 1, 0), ("b", 2, "gamma", 1, 1)])
    column = {title: n for n, title in enumerate(ctx.titles)}
    assert ctx.context[0, column["beta"]] == 1 and ctx.story[1, column["beta"]] == 1
    assert ctx.story[0, column["beta"]] == 0 and ctx.text[1, column["gamma"]] == 1
    ((first, items), _) = related_lists(ctx)
    assert first == "a" and items[0].id == "b"
    assert items[0].shared == ("Alpha", "beta", "gamma")


def test_cli_resolve_relate_and_exports(tmp_path: Path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "newscontext", "--db",
                               str(tmp_path / "c.sqlite3"), *map(str, args)],
                              capture_output=True, text=True, env=env, check=True)

    run("ingest", WIKITEXT)
    assert "new entities" in run("resolve").stderr
    assert "related links" in run("relate").stderr
    entities = [json.loads(x) for x in run("export", "entities").stdout.splitlines()]
    assert set(entities[0]) == {"title", "slug", "labels", "wikidata", "events"}
    related = [json.loads(x) for x in run("export", "related").stdout.splitlines()]
    assert related and all(set(r) == {"id", "related"} for r in related)
    assert all(set(item) == {"id", "score", "shared"} for r in related for item in r["related"])
    assert (FIXTURES / "wikitimes" / "SOURCE.txt").exists()


def test_resolve_through_the_api_merges_redirects(tmp_path: Path, fake_wiki):
    settings = Settings(db=tmp_path / "api.sqlite3", api_url=fake_wiki.url)
    with Archive(settings) as archive:
        archive.ingest_paths([WIKITEXT / "2016-01-19.wiki"])
        report = archive.resolve(api=True)
        assert report.errors == [] and report.redirects > 0
        asked = {t for r in fake_wiki.requests for t in r.titles if "pageprops" in
                 r.params.get("prop", "")}
        sohr = event_with(archive, SOHR)
        context = archive.context(sohr.id)
        assert "Islamic State" in context
        assert "Islamic State of Iraq and the Levant" not in context
        again = archive.resolve(api=True)  # every title known: nothing asked again
        assert again.resolved == 0
        assert {t for r in fake_wiki.requests for t in r.titles
                if "pageprops" in r.params.get("prop", "")} == asked
        entities = {e.title: e for e in archive.entities()}
        assert entities["Pakistan"].wikidata == "Q843" and entities["Paris"].wikidata == "Q90"


def test_a_removed_events_list_is_emptied_as_a_recorded_change(tmp_path: Path):
    """`relate` empties the list of an event that left the portal and records it as a change
    (a build takes it off the page); an archive whose such lists were deleted unrecorded
    (before this was so) gets them recorded by its next `relate`."""
    day = (WIKITEXT / "2016-01-19.wiki").read_text(encoding="utf-8")
    line = next(x for x in day.splitlines() if "[[Jihadi John]]" in x)
    revision = tmp_path / "r2" / "2016-01-19.wiki"
    revision.parent.mkdir()
    revision.write_text(day.replace(line + "\n", ""), encoding="utf-8")
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        store = archive.store
        archive.ingest_paths([WIKITEXT / "2016-01-19.wiki", WIKITEXT / "2016-01-16.wiki"])
        archive.resolve()
        archive.relate()
        (jihadi,) = [a.id for a in archive.events() if "Jihadi John" in a.event.text]
        assert archive.related(jihadi)
        seq = store.meta_int("related_seq")
        assert archive.ingest_paths([revision]).removed == 1
        assert archive.relate().changed > 1  # its list, and those that showed it
        assert jihadi in store.changed_related(seq) and archive.related(jihadi) == []
        assert store.related_mentioning([jihadi]) == set()
        assert jihadi not in dict(archive.related_lists())  # the export: live events only
        assert archive.relate().changed == 0
        with store.transaction():  # as `relate` left a removed event before
            store.conn.execute("DELETE FROM related WHERE event_id = ?", (jihadi,))
        seq = store.meta_int("related_seq")
        assert archive.relate().changed == 1
        assert store.changed_related(seq) == [jihadi]


def _relate_in_two(ctx: Contexts) -> None:
    """In a forked test process: rank with two processes (killed before they finish)."""
    from newscontext.related import related_json

    related_json(ctx, workers=2)


def test_relate_processes_die_with_relate(related_archive: Archive):
    """`relate` shares a large archive's ranking with forked processes; killed (SIGKILL),
    it takes them with it (they would live on, blocked, each holding its memory)."""
    import multiprocessing
    import os
    import signal
    import time

    from processes import alive, children

    from newscontext.related import Contexts

    small = related_archive.contexts()
    ids, titles = small.ids, small.titles
    rows = np.column_stack([small.context.tocoo().row, small.context.tocoo().col,
                            np.ones(small.context.nnz, dtype=np.int64)])
    copies = -(-20_000 // len(ids))  # the archive repeated: as many events as take two
    big = Contexts.from_arrays(
        [f"{i}-{n}" for n in range(copies) for i in ids], np.tile(small.dates, copies), titles,
        np.vstack([rows + np.array([n * len(ids), 0, 0]) for n in range(copies)]))
    relate = multiprocessing.get_context("fork").Process(target=_relate_in_two, args=(big,))
    relate.start()
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and relate.is_alive():
            time.sleep(0.02)
            workers = children(relate.pid)
        assert len(workers) == 2 and relate.is_alive(), "killed while both rank"
        os.kill(relate.pid, signal.SIGKILL)
        relate.join(10)
        deadline = time.monotonic() + 5
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(alive, workers))
    finally:
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)
