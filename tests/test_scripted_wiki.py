"""The scripted wiki tells the truth: the robot's tests stand on it.

Its script is checked as data (a month of real text, every kind of edit the issue names,
increasing revision ids, the same month every time) and with the project's own parser (each
invented edit changes what it says, vandalism trips the hold rule and nothing else does).
Its server is checked over HTTP with the project's own client: pages as of the clock, the
blanking only for its five minutes, the faults at their times, and a month of `ingest --api`
runs every two hours.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from mwapi import LoggedRequest
from scripted_wiki import (
    BLANKED_AT,
    BLANKED_DAY,
    CLIENT_TIMEOUT,
    DAY_MOVES,
    DAY_TEXTS,
    DELETIONS,
    END,
    FAULTS,
    FIXTURES,
    START,
    TRUNCATED_DAY,
    TRUNCATED_TO,
    Fault,
    Script,
    ScriptedEdit,
    ScriptedWiki,
    build_month,
    html_to_wikitext,
    month,
    real_text,
)

from newscontext import Archive, Settings, matching
from newscontext.cli import main
from newscontext.model import Event
from newscontext.portal.api import DayResult, PortalAPI
from newscontext.portal.html import parse_html
from newscontext.portal.wikitext import parse_wikitext

SECOND = timedelta(seconds=1)
INVENTED = ("reword", "source", "restory")


@pytest.fixture(name="wiki")
def wiki_fixture() -> Iterator[ScriptedWiki]:
    """The month without API trouble, for tests of what the pages say."""
    with ScriptedWiki(month().calm()) as running:
        yield running


@pytest.fixture(name="troubled")
def troubled_fixture() -> Iterator[ScriptedWiki]:
    """The month with its API trouble."""
    with ScriptedWiki() as running:
        yield running


def client(wiki: ScriptedWiki) -> PortalAPI:
    """The project's client, set as `wiki.env()` sets a newscontext process."""
    return PortalAPI(Settings(api_url=wiki.url, api_timeout=CLIENT_TIMEOUT,
                              api_backoff_base=0.01))


def fetch(wiki: ScriptedWiki, days: list[date], known: dict[date, int] | None = None,
          api: PortalAPI | None = None) -> dict[date, DayResult]:
    """The days as the project's client sees them now (through `api` if given)."""
    if api is None:
        with client(wiki) as own:
            return fetch(wiki, days, known, own)
    return {result.date: result for result in api.fetch_days(days, known or {})}


def revid(result: DayResult) -> int | None:
    return result.revision.revid if result.revision else None


def text(edit: ScriptedEdit | None) -> str | None:
    return month().contents[edit.revid] if edit else None


def edit(kind: str) -> ScriptedEdit:
    """The script's only edit of `kind`."""
    (found,) = month().of_kind(kind)
    return found


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def _material(event: Event) -> tuple:
    return event.text, tuple(event.sources), tuple(story.text for story in event.stories)


# --- the script as data ---------------------------------------------------------------------


def test_the_month_is_the_same_every_time() -> None:
    first, second = build_month(), build_month()
    assert first == second  # every edit, every text, every fault
    assert first is not second and first.edits[-1].revid > first.edits[0].revid
    other = build_month(seed="another month")  # the seed is what makes the edits
    assert other.contents != first.contents
    assert Counter(e.kind for e in other.edits if e.kind not in INVENTED) == \
        Counter(e.kind for e in first.edits if e.kind not in INVENTED)


def test_a_page_a_day_made_of_real_text() -> None:
    script = month()
    assert len(script.days) == 30 and script.days[0] == date(2016, 1, 13)
    assert all((b - a).days == 1 for a, b in pairwise(script.days))
    for day, names in zip(script.days, DAY_TEXTS, strict=True):
        created, *rest = script.edits_of(day)
        assert created.kind == "create" and created.parentid == 0
        # Created in the evening of its day, as editors do.
        assert _midnight(day) + timedelta(hours=18) <= created.at < _midnight(day + timedelta(1))
        # Every real revision of the fixtures is served byte for byte (header re-dated).
        reals = [script.contents[e.revid] for e in rest if e.kind == "real"]
        assert reals == [real_text(name, day) for name in names]
    # The real days keep every byte but the header's date.
    with (FIXTURES / "wikitext/2016-01-19.wiki").open(encoding="utf-8", newline="") as file:
        assert real_text("wikitext/2016-01-19.wiki", date(2016, 1, 19)) == file.read()
    assert real_text("wikitext/2017-09-04.wiki", date(2016, 2, 7)).startswith(
        "{{Current events|year=2016|month=02|day=7|content=")


def test_revision_ids_increase_with_time_and_chain_per_page() -> None:
    script = month()
    assert [e.at for e in script.edits] == sorted(e.at for e in script.edits)
    revids = [e.revid for e in script.edits]
    assert revids == sorted(revids) and len(set(revids)) == len(revids)
    for day in script.days:
        history = script.edits_of(day)
        assert [e.parentid for e in history] == [0] + [e.revid for e in history[:-1]]
        # Editors touch a day until it is ten days old.
        assert all(e.at - _midnight(day) <= timedelta(days=10) for e in history)
    assert all(script.start <= e.at < script.end for e in script.edits)


def test_every_kind_of_edit_the_issue_names_is_there() -> None:
    script = month()
    kinds = {e.kind for e in script.edits}
    assert {"create", "grow", "real", *INVENTED, "move-out", "move-in", "blank", "revert",
            "truncate", "fix"} <= kinds
    assert all(sum(e.kind == kind for e in script.edits) >= 20 for kind in INVENTED)
    # A blanking reverted five minutes later to the very text before it.
    blank, revert = edit("blank"), edit("revert")
    assert (blank.day, blank.at, blank.size) == (BLANKED_DAY, BLANKED_AT, 0)
    assert revert.at - blank.at == timedelta(minutes=5) and revert.parentid == blank.revid
    assert script.contents[revert.revid] == script.contents[blank.parentid]
    # A truncation to the first 3,000 bytes, fixed two days later.
    cut, fix = edit("truncate"), edit("fix")
    assert cut.day == TRUNCATED_DAY
    assert len(script.contents[cut.parentid].encode()) > TRUNCATED_TO >= cut.size
    assert script.contents[cut.parentid].startswith(script.contents[cut.revid])
    assert fix.at - cut.at >= timedelta(days=2)
    assert [e.kind for e in script.edits_of(cut.day) if cut.at <= e.at <= fix.at] == \
        ["truncate", "fix"]
    assert script.contents[fix.revid] == script.contents[cut.parentid]
    assert script.vandalism == {blank.revid, cut.revid}
    # Events moved between days: out of one, into the other minutes later.
    for source, target, at in DAY_MOVES:
        out = next(e for e in script.edits_of(source) if e.kind == "move-out")
        into = next(e for e in script.edits_of(target) if e.kind == "move-in")
        assert out.at == at and timedelta(0) < into.at - out.at < timedelta(minutes=10)
    assert {fault.kind for fault in script.faults} == {"maxlag", "429", "500", "timeout",
                                                        "outage"}
    assert len(script.deletions) == 1


def test_each_scripted_edit_does_what_it_says() -> None:
    """Read by the project's parser and matched as ingest matches: an invented edit changes
    one event, which keeps its identity; a move carries one event; vandalism removes half
    the day's events or all (the robot's hold rule) and no other edit does."""
    script = month()
    moved_out: dict[date, Event] = {}
    pages: dict[date, list[Event]] = {}  # each day's events before the edit
    for scripted in script.edits:  # in time order: a move is out of one day, then into one
        day = scripted.day
        parsed = parse_wikitext(day, script.contents[scripted.revid])
        assert parsed.warnings == [], (scripted, parsed.warnings[:3])
        before, now = pages.get(day), parsed.events
        pages[day] = now
        if before is None:
            assert scripted.kind == "create" and now
            continue
        pairs = matching.match(before, now)
        lost, gained = len(before) - len(pairs), len(now) - len(pairs)
        changed = [j for j, i in pairs.items() if _material(before[i]) != _material(now[j])]
        where = f"{scripted.kind} of {day} at {scripted.at}: {scripted.note}"
        would_hold = (lost >= len(before) / 2 and lost >= 3) or (before and not now)
        assert bool(would_hold) == scripted.vandalism, where
        if scripted.kind in INVENTED:
            assert (lost, gained, len(changed)) == (0, 0, 1), where
        elif scripted.kind in ("grow", "revert", "fix"):
            assert lost == 0 and gained > 0, where
        elif scripted.kind == "real":  # the whole day, or a later real revision of it
            assert lost == 0, where
        elif scripted.kind == "move-out":
            assert (lost, gained) == (1, 0), where
            (gone,) = [before[i] for i in range(len(before)) if i not in pairs.values()]
            moved_out[day] = gone
        elif scripted.kind == "move-in":
            assert (lost, gained) == (0, 1), where
            (came,) = [now[j] for j in range(len(now)) if j not in pairs]
            source = next(s for s, t, _ in DAY_MOVES if t == day)
            mover = moved_out.pop(source)
            assert matching.score(mover, came, same_day=False) >= matching.MIN_MOVE_SCORE
    assert moved_out == {}


@pytest.mark.parametrize("name", sorted({name for names in DAY_TEXTS for name in names
                                         if name.endswith(".html")}))
def test_html_written_back_as_wikitext_reads_the_same(name: str) -> None:
    day = date.fromisoformat(Path(name).stem)
    markup = (FIXTURES / name).read_text(encoding="utf-8")
    from_html = parse_html(day, markup)
    from_wikitext = parse_wikitext(day, html_to_wikitext(day, markup))
    assert from_wikitext.warnings == []
    assert [(e.category, e.text, e.stories, e.links, e.sources) for e in from_wikitext.events] \
        == [(e.category, e.text, e.stories, e.links, e.sources) for e in from_html.events]
    assert len(from_html.events) >= 8


def test_expected_truth_holds_vandalism_until_it_settles() -> None:
    script = month()
    blank, cut = edit("blank"), edit("truncate")
    hold = timedelta(hours=24)
    assert script.current(blank.day, blank.at) == blank
    assert script.shown(blank.day, blank.at, hold).revid == blank.parentid
    assert script.shown(cut.day, cut.at + hold - SECOND, hold).revid == cut.parentid
    assert script.shown(cut.day, cut.at + hold, hold) == cut  # still there: it settled
    assert script.shown(cut.day, edit("fix").at, hold) == edit("fix")
    deletion = DELETIONS[0]
    assert script.current(deletion.day, deletion.at) is None
    assert script.shown(deletion.day, deletion.at, hold) is not None  # the archive keeps it


# --- the server, through the project's client ------------------------------------------------


def test_the_wiki_answers_as_of_its_clock(wiki: ScriptedWiki) -> None:
    first = month().days[0]
    created = month().edits_of(first)[0]
    assert fetch(wiki, [first])[first].missing  # nothing exists at the start
    wiki.at(created.at - SECOND)
    assert fetch(wiki, [first])[first].missing
    wiki.at(created.at)
    result = fetch(wiki, [first])[first]
    assert revid(result) == created.revid
    assert result.revision.text == month().contents[created.revid]
    assert result.revision.timestamp == created.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Mid-month, every day of the window is exactly what the script says is current.
    wiki.at(datetime(2016, 1, 31, 12, tzinfo=UTC))
    window = wiki.window()
    results = fetch(wiki, window)
    for day in window:
        expected = wiki.current(day)
        if expected is None:
            assert results[day].missing, day
        else:
            assert revid(results[day]) == expected.revid, day
    deleted = DELETIONS[0].day
    assert wiki.current(deleted) is None and results[deleted].missing
    assert sum(results[day].revision is not None for day in window) >= 9
    # The clock only moves forward.
    with pytest.raises(ValueError, match="forward"):
        wiki.at(START)


def test_revision_ids_only_grow_as_the_clock_moves(wiki: ScriptedWiki) -> None:
    days = list(month().days)
    seen: dict[date, int] = {}  # what the client has fetched
    script: dict[date, int] = {}  # what the script says is new since the last look
    changes, expected = 0, 0
    with client(wiki) as api:
        for moment in month().run_times(timedelta(hours=12)):
            wiki.at(moment)
            changes += _changed(wiki, fetch(wiki, days, seen, api), seen)
            for day in days:
                current = wiki.current(day)
                if current is not None and script.get(day) != current.revid:
                    script[day], expected = current.revid, expected + 1
    assert changes == expected > 100 and seen == script


def _changed(wiki: ScriptedWiki, results: dict[date, DayResult], seen: dict[date, int]) -> int:
    """How many days have a new revision; each must be newer than the one seen before."""
    changes = 0
    for day, result in results.items():
        assert result.error is None
        if result.revision is not None:
            assert result.revision.revid > seen.get(day, 0)
            assert result.revision.revid == wiki.current(day).revid
            seen[day] = result.revision.revid
            changes += 1
    return changes


def test_the_blanking_is_there_for_five_minutes_only(wiki: ScriptedWiki) -> None:
    blank = edit("blank")
    day = blank.day
    wiki.at(blank.at - SECOND)
    assert revid(fetch(wiki, [day])[day]) == blank.parentid
    wiki.at(blank.at)
    shown = fetch(wiki, [day])[day]
    assert revid(shown) == blank.revid and shown.revision.text == ""
    wiki.at(blank.at + timedelta(minutes=5) - SECOND)
    assert revid(fetch(wiki, [day])[day]) == blank.revid
    wiki.at(blank.at + timedelta(minutes=5))
    back = fetch(wiki, [day])[day]
    assert revid(back) == edit("revert").revid
    assert back.revision.text == month().contents[blank.parentid]
    assert datetime(2016, 1, 26, 14, tzinfo=UTC) in month().run_times()  # a run sees it


def test_the_truncation_stays_two_days_then_is_fixed(wiki: ScriptedWiki) -> None:
    cut, fix = edit("truncate"), edit("fix")
    day = cut.day
    wiki.at(cut.at)
    truncated = fetch(wiki, [day])[day].revision
    assert truncated.revid == cut.revid and len(truncated.text.encode()) <= TRUNCATED_TO
    wiki.at(fix.at - SECOND)
    assert revid(fetch(wiki, [day])[day]) == cut.revid
    wiki.at(fix.at)
    assert fetch(wiki, [day])[day].revision.text == month().contents[cut.parentid]


def test_the_deleted_page_is_missing_until_restored(wiki: ScriptedWiki) -> None:
    deletion = DELETIONS[0]
    day = deletion.day
    wiki.at(deletion.at - SECOND)
    before = revid(fetch(wiki, [day])[day])
    assert before == wiki.current(day).revid
    wiki.at(deletion.at)
    assert fetch(wiki, [day], {day: before})[day].missing
    assert deletion.restored is not None
    wiki.at(deletion.restored - SECOND)
    assert fetch(wiki, [day])[day].missing
    wiki.at(deletion.restored)
    assert fetch(wiki, [day], {day: before})[day].unchanged  # the same history is back


def test_a_tests_own_edit_comes_at_the_clocks_time(wiki: ScriptedWiki) -> None:
    blank = edit("blank")
    wiki.at(blank.at + timedelta(minutes=1))
    own = wiki.add_revision(blank.title, "vandal again")
    assert own.revid > month().edits[-1].revid and own.parentid == blank.revid
    assert own.timestamp == wiki.newscontext_now()
    assert fetch(wiki, [blank.day])[blank.day].revision.text == "vandal again"
    wiki.at(blank.at + timedelta(minutes=5))  # the script's revert still comes after it
    assert revid(fetch(wiki, [blank.day])[blank.day]) == edit("revert").revid


def test_faults_fire_at_their_times_and_the_client_recovers(troubled: ScriptedWiki) -> None:
    """Walks the fault schedule in order: a second before each fault the wiki answers
    cleanly; at its time the next requests misbehave as scripted, and the client, retrying,
    still gets every day right. During the outage every day fails; after it, none."""
    wiki = troubled
    for fault in FAULTS:
        wiki.at(fault.at - SECOND)
        assert [r.fault for r in _fetch_window(wiki)[1]] == [None], fault
        wiki.at(fault.at)
        assert wiki.fired[-1] == fault
        started = time.monotonic()
        results, logged = _fetch_window(wiki)
        took = time.monotonic() - started
        if fault.kind == "outage":
            assert all(result.error for result in results.values())
            assert {(r.fault, r.status) for r in logged} == {("outage", 503)}
            wiki.at(fault.end - SECOND)
            assert all(result.error for result in _fetch_window(wiki)[0].values())
            wiki.at(fault.end)
            results, logged = _fetch_window(wiki)
            assert [r.fault for r in logged] == [None]
        else:
            fired = [(r.fault, r.status) for r in logged if r.fault]
            assert fired == [_LOGGED[fault.kind]] * fault.count, fault
            assert len(logged) == fault.count + 1  # then answered
            if fault.kind in ("maxlag", "429"):
                assert took >= 0.99 * fault.count  # Retry-After: 1 obeyed
            if fault.kind == "timeout":
                assert took >= CLIENT_TIMEOUT
        for day, result in results.items():
            expected = wiki.current(day)
            assert result.error is None, (fault, result.error)
            assert revid(result) == (expected.revid if expected else None), (fault, day)
    assert wiki.fired == list(FAULTS)


# How each fault shows in the wiki's request log: (fault, HTTP status).
_LOGGED = {"maxlag": ("maxlag", 200), "429": ("fail", 429), "500": ("fail", 500),
           "timeout": ("hang", 200)}


def _fetch_window(wiki: ScriptedWiki) -> tuple[dict[date, DayResult], list[LoggedRequest]]:
    """Every day of the window fetched afresh (one request when all goes well), and the
    requests that took."""
    already = len(wiki.requests)
    results = fetch(wiki, wiki.window())
    return results, wiki.requests[already:]


def test_faults_the_clock_does_not_stand_in_do_not_fire(troubled: ScriptedWiki) -> None:
    """A clock jumping over fault windows meets none of them; a fault left unused ends with
    its window; standing still arms nothing twice."""
    wiki, (first, second) = troubled, FAULTS[:2]
    wiki.at(first.at + timedelta(minutes=30))
    wiki.at(first.at + timedelta(minutes=31))
    assert wiki.fired == [first]
    wiki.at(first.end)  # the window ends unused
    assert [r.fault for r in _fetch_window(wiki)[1]] == [None]
    wiki.at(second.end)  # jumps over the 429
    wiki.at(END)  # and over the rest
    assert wiki.fired == [first]
    assert [r.fault for r in _fetch_window(wiki)[1]] == [None]


def test_a_script_of_ones_own() -> None:
    """Tests can script their own trouble on the month's pages (a 500 storm at START+1h)."""
    storm = Fault(START + timedelta(hours=1), "500", count=50)
    script: Script = replace(month(), faults=(storm,))
    with ScriptedWiki(script) as wiki:
        wiki.advance(hours=1)
        results = fetch(wiki, [script.days[0]])
        assert results[script.days[0]].error is not None  # retries used up
        assert wiki.fired == [storm]
    assert month().faults == FAULTS  # the month itself is untouched


# --- the smoke run: a month of `ingest --api` every two hours --------------------------------


@pytest.mark.slow
def test_a_month_of_ingest_runs_every_two_hours(troubled: ScriptedWiki, tmp_path: Path) -> None:
    """`newscontext ingest --api --from D-10 --to D` at every two-hour mark, with
    NEWSCONTEXT_NOW set: after each run the archive has seen the wiki's current revision of
    every day of its window and shows what a correct robot shows (vandalism held until it
    has stood 24 hours); only the run in the outage fails; no event is ever lost."""
    wiki, db, runner = troubled, tmp_path / "archive.sqlite3", CliRunner()
    known: set[str] = set()
    failed = []
    for moment in month().run_times():
        wiki.at(moment)
        env = wiki.env()
        assert env["NEWSCONTEXT_NOW"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        first, last = wiki.window()[0], wiki.window()[-1]
        args = ["--db", str(db), "ingest", "--api", "--from", str(first), "--to", str(last)]
        result = runner.invoke(main, args, env=env)
        down = any(f.kind == "outage" and f.covers(moment) for f in FAULTS)
        assert result.exit_code == (2 if down else 0), (moment, result.output)
        if down:
            failed.append(moment)
            continue
        with Archive(Settings(db=db), create=False) as archive:
            for day in wiki.window():
                current, row = wiki.current(day), archive.store.day(day)
                if current is None:  # not created yet, or deleted
                    continue
                assert row is not None and current.revid in (row.revid, row.latest_revid)
                applied = wiki.script.contents[row.revid]  # (a revert is the same text)
                assert applied == text(wiki.shown(day)), (moment, day)
            ids = archive.store.event_ids()
        assert known <= ids, moment  # nothing the portal once said is deleted
        known = ids
    assert failed == [datetime(2016, 2, 4, 6, tzinfo=UTC)]
    assert wiki.fired == list(FAULTS)  # every fault met a run
    assert {r.fault for r in wiki.requests} == {None, "maxlag", "fail", "hang", "outage"}
    assert len(known) > 500
