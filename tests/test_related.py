"""Entities, contexts and related events on the real fixture days."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT
from hypothesis import given, settings
from hypothesis import strategies as st

from newscontext import Archive, Settings
from newscontext.related import (
    BASELINE,
    DEFAULT,
    Change,
    Contexts,
    Method,
    full_pass,
    idf_weights,
    precision_at_k,
    rank,
    related_lists,
    update_pass,
)
from newscontext.related_state import state_path
from newscontext.site.urls import unique_slug

SOHR = "The Syrian Observatory for Human Rights claims that scores of Syrian Army troops"
# The seed event page's `_Context:_` list for this event, with its redirect "Islamic State of
# Iraq and the Levant" resolved (the shipped redirect table leads it to "Islamic State").
SEED_CONTEXT = ["Deir ez-Zor", "Islamic State", "Syrian Army",
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
    isil = entities["Islamic State"]
    assert set(isil.labels) >= {"ISIL", "Islamic State of Iraq and the Levant"}
    assert isil.slug == "islamic-state"
    assert "Islamic State of Iraq and the Levant" not in entities  # a redirect of it
    assert isil.events == sum(
        1 for a in related_archive.events() if not a.removed
        and "Islamic State" in related_archive.context(a.id))
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
        # The shipped table had these two rows: the file's are taken, nothing moves.
        assert report.redirects == 2 and report.changed == 0
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
    assert "every list ranked" in run("relate").stderr
    assert "0 lists ranked, 0 changed" in run("relate").stderr  # nothing changed since
    assert "every list ranked, 0 changed" in run("relate", "--full").stderr
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
        state_path(archive.settings.db).unlink()  # such an archive had no kept pass either
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


# -- incremental passes ------------------------------------------------------------------

Events = dict[str, tuple[int, dict[str, int]]]  # id -> (ordinal date, {title: flags})


def canonical(events: Events) -> Contexts:
    """Contexts as the store gives them: rows by (date, id), titles sorted."""
    ids = sorted(events, key=lambda i: (events[i][0], i))
    titles = sorted({title for _, context in events.values() for title in context})
    column = {title: n for n, title in enumerate(titles)}
    rows = np.array([(row, column[title], flags) for row, i in enumerate(ids)
                     for title, flags in events[i][1].items()], dtype=np.int64).reshape(-1, 3)
    return Contexts.from_arrays(ids, [events[i][0] for i in ids], titles, rows)


def triples(ctx: Contexts) -> set[tuple[str, str, int]]:
    """(event id, title, flags) of every context entry (a kept pass may hold titles no
    live event has any more: no entries, no effect)."""
    flags = (ctx.text + 2 * ctx.story).tocoo()
    return {(ctx.ids[r], ctx.titles[c], int(f))
            for r, c, f in zip(flags.row, flags.col, flags.data, strict=True)}


def random_events(rng, count: int, universe: int, days: int) -> Events:
    """Events whose entities follow a skewed popularity, as real ones do (hubs and rare)."""
    popularity = 1.0 / np.arange(1, universe + 1) ** 1.1
    popularity /= popularity.sum()
    events: Events = {}
    for _ in range(count):
        size = int(rng.integers(0, 6))
        titles = rng.choice(universe, size=min(size, universe), replace=False, p=popularity)
        events[f"{rng.integers(16**8):08x}"] = (
            int(rng.integers(0, days)),
            {f"T{t}": int(rng.choice([1, 2, 3], p=[0.6, 0.2, 0.2])) for t in titles})
    return events


def edited(seed: int, count: int, edits: int, balanced: bool
           ) -> tuple[Events, Events, list[str], Change]:
    """Random events, the same after a random change, and the change as the store gives
    it: events reworded (same context), relinked, moved to another day, removed, added,
    with new titles; with `balanced`, as many go as come."""
    rng = np.random.default_rng(seed)
    before = random_events(rng, count, 30, 25)
    after = dict(before)
    fresh = random_events(rng, edits, 40, 25)  # may bring new titles
    names = sorted(before)
    for n, (event_id, new) in enumerate(fresh.items()):
        what = rng.integers(4)
        if what == 0 or not names:  # a new event
            after[event_id] = new
        elif what == 1:  # removed
            after.pop(names[int(rng.integers(len(names)))], None)
        elif what == 2:  # relinked and perhaps moved to another day
            after[names[int(rng.integers(len(names)))]] = new
        else:  # a change that leaves its context as it was
            target = names[int(rng.integers(len(names)))]
            after.setdefault(target, before[target])
        if balanced and n % 2:  # the event count holds still
            while len(after) > len(before):
                after.pop(sorted(after)[int(rng.integers(len(after)))])
    changed = sorted({i for i in before.keys() | after.keys()
                      if before.get(i) != after.get(i)} | set(names[:1]))
    titles = sorted({t for i in changed if i in after for t in after[i][1]})
    column = {t: n for n, t in enumerate(titles)}
    change = Change(changed, [i in after for i in changed],
                    [after.get(i, before.get(i))[0] for i in changed], titles,
                    np.array([(n, column[t], f) for n, i in enumerate(changed) if i in after
                              for t, f in after[i][1].items()], dtype=np.int64).reshape(-1, 3))
    return before, after, changed, change


HUBS = {"hub_df": 4, "hub_window": 2}  # small: hubs, weak rows and hub windows are common


@pytest.mark.parametrize("method", [DEFAULT, replace(DEFAULT, idf_step=0.5),
                                    Method(name="count", idf=False, time_boost=0.0)])
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(2, 90),
       edits=st.integers(1, 12), balanced=st.booleans())
def test_an_incremental_pass_gives_what_a_full_pass_gives(method, seed, count, edits, balanced):
    """After any change, ranking only the rows the change can reach gives the same lists,
    and the same per-row facts, as a full pass."""
    before, after, changed, change = edited(seed, count, edits, balanced)
    lists, kept = full_pass(canonical(before), method, workers=1, **HUBS)
    stored = dict(lists)
    shown = {i for i, items in stored.items() if any(c in items for c in changed)}
    result = update_pass(kept, change, shown, method, workers=1, **HUBS)
    if not after:
        assert result is None
        return
    full_lists, full = full_pass(canonical(after), method, workers=1, **HUBS)
    if result is None:  # only when the event count crossed a step of the weights
        assert method.idf and len(after) != len(before)
        return
    items, done, ranked = result
    stored.update(items)
    assert {i: stored[i] for i in after} == dict(full_lists)
    assert all(stored[i] == "[]" for i in changed if i not in after)
    assert triples(done.ctx) == triples(full.ctx) and done.ctx.ids == full.ctx.ids
    for name in ("pre_kth", "pre_count", "weak", "links"):
        assert np.array_equal(getattr(done, name), getattr(full, name)), name
    assert ranked <= len(after)


def edited_day(folder: Path) -> Path:
    """2016-01-19 as a later revision: one event gone, one relinked, one new (the event
    count holds still, so the rarity weights keep their step)."""
    day = (WIKITEXT / "2016-01-19.wiki").read_text(encoding="utf-8")
    gone = next(x for x in day.splitlines() if "[[Jihadi John]]" in x)
    revised = day.replace(gone + "\n", "").replace(
        "near the city of [[Deir ez-Zor]]", "near the city of [[Raqqa]]").replace(
        "*[[Iraqi Civil War (2014–2017)]]\n",
        "**[[Russia]]n airstrikes hit [[Deir ez-Zor]] and [[Raqqa]], the [[Syrian Observatory "
        "for Human Rights]] says. [http://example.org/strikes (Example)]\n"
        "*[[Iraqi Civil War (2014–2017)]]\n")
    assert revised.count("\n**") == day.count("\n**")
    path = folder / "2016-01-19.wiki"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(revised, encoding="utf-8")
    return path


def stored_lists(archive: Archive) -> dict[str, str]:
    return dict(archive.store.conn.execute("SELECT event_id, items FROM related").fetchall())


FIXTURE_INPUTS = [HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE]


def test_relate_after_a_day_changed_ranks_little_and_equals_a_full_pass(tmp_path: Path):
    """The real fixture days: relate, a day changes, relate ranks only what the change can
    reach, and the lists are those of an archive built and related from scratch."""
    revision = edited_day(tmp_path / "r2")
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths(FIXTURE_INPUTS)
        archive.resolve()
        first = archive.relate()
        assert first.full and first.ranked == first.events
        assert archive.relate().ranked == 0  # nothing changed: nothing ranked
        report = archive.ingest_paths([revision])
        assert report.removed == 1 and report.changed >= 1
        archive.resolve()
        after = archive.relate()
        assert not after.full and 0 < after.ranked < after.events / 4 and after.changed > 0
        incremental = stored_lists(archive)
        assert archive.relate(full=True).changed == 0  # a full pass finds nothing to do
    with Archive(Settings(db=tmp_path / "fresh.sqlite3")) as fresh:
        fresh.ingest_paths(FIXTURE_INPUTS)
        fresh.ingest_paths([revision])
        fresh.resolve()
        assert fresh.relate().full
        assert stored_lists(fresh) == incremental


def test_relate_is_full_when_the_event_count_crosses_a_step(tmp_path: Path):
    """Weights use the event count rounded down to 1% steps: a change that moves the count
    past a step moves every weight, and `relate` ranks every list again."""
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths([WIKITEXT / f"2016-01-1{n}.wiki" for n in range(3, 9)])
        archive.resolve()
        archive.relate()
        archive.ingest_paths([WIKITEXT / "2016-01-19.wiki"])  # far more than 1% more
        archive.resolve()
        report = archive.relate()
        assert report.full and report.ranked == report.events


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 10**8), share=st.floats(0, 1))
def test_weights_are_within_a_step_of_the_exact_rarity(n, share):
    """The bound the rounded weights keep: within log(1 + idf_step) of log(N / df)."""
    df = max(1, round(n * share))
    weight = float(idf_weights(np.array([df]), n, DEFAULT)[0])
    exact = max(math.log(n / df), 1e-3)
    assert abs(weight - exact) < math.log1p(DEFAULT.idf_step) + 1e-6


def test_a_kept_pass_that_is_stale_or_broken_is_not_used(tmp_path: Path):
    """A run killed after storing its lists but before keeping its pass, or a kept file
    cut short, leads to a full pass that finds the lists right, not to wrong lists."""
    db = tmp_path / "a.sqlite3"
    revision = edited_day(tmp_path / "r2")
    with Archive(Settings(db=db)) as archive:
        archive.ingest_paths(FIXTURE_INPUTS)
        archive.resolve()
        archive.relate()
        kept = state_path(db).read_bytes()
        archive.ingest_paths([revision])
        archive.relate()
        right = stored_lists(archive)
        state_path(db).write_bytes(kept)  # as if killed before keeping the new pass
        again = archive.relate()
        assert again.full and again.changed == 0 and stored_lists(archive) == right
        state_path(db).write_bytes(kept[: len(kept) // 2])
        again = archive.relate()
        assert again.full and again.changed == 0
        assert not archive.relate().full  # and the pass is kept again


def test_an_incremental_relate_reads_no_table_whole(tmp_path: Path):
    """After a small change `relate` finds what to read by key: no statement it runs scans
    the events, their contexts or the related lists (keeping `related_shown` in step once
    scanned it for every list written)."""
    revision = edited_day(tmp_path / "r2")
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths(FIXTURE_INPUTS)
        archive.resolve()
        archive.relate()
        archive.ingest_paths([revision])
        with archive.store.transaction():
            archive.store.rebuild_entities(unique_slug)
        statements: list[str] = []
        conn = archive.store.conn
        conn.set_trace_callback(statements.append)
        try:
            assert archive.relate().changed > 0
        finally:
            conn.set_trace_callback(None)
        scans = set()
        for sql in statements:
            if sql.split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {sql}"):
                    if detail.startswith("SCAN ") and "VIRTUAL TABLE" not in detail:
                        scans.add(f"{detail}: {sql[:80]}")
        assert len(statements) > 5 and not scans
