"""A scripted wiki: a month of real portal editing, replayed on a simulated clock.

The robot (`newscontext update`, every two hours) must keep the site right through weeks of
what editors, vandals and Wikimedia's servers do. This module is its proving ground: the
FakeWiki of mwapi.py (a real HTTP server on 127.0.0.1) answers every day page as of a clock
the test moves (`wiki.advance(hours=2)`, `wiki.at(moment)`), from a script of revisions:

- 30 day pages, 2016-01-13 .. 2016-02-11, each made of real portal text: the real days of
  2016-01-13..19, then real days of other years re-dated (their header names the new date;
  their sentences keep their own years). Rendered HTML days are written back as wikitext
  (`html_to_wikitext`; its output parses to the same events as the HTML).
- A page is created in the evening of its day with the first part of its events and grows
  to the real text by the next evening. Where the fixtures hold two real revisions of a day
  (March 2026: rendered HTML of an earlier one, wikitext of a later one) the later one
  follows as the real edit it was.
- For up to ten days after, invented edits, made from the real text by seeded
  transformations: rewordings (a toll updated, a phrase copy-edited), added sources, events
  moved to another story.
- Scripted at fixed times: events moved between days (removed from one day, added to the
  next minutes later), a blanking reverted after five minutes, a truncation to the first
  3,000 bytes that stays two days until it is fixed, a page deleted for a day and restored,
  and API trouble: maxlag, 429 with Retry-After, 500s, a request that hangs past the
  client's timeout, and a two-hour outage.

Everything is deterministic: `build_month()` twice gives equal scripts. The script is data
(`Script.edits`, `Script.faults`, `Script.deletions`) so that tests can pick kill points,
and it knows the expected truth at any moment (`current`, `shown`, `vandalism`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
from mwapi import PAGEID_BASE, FakeWiki, Revision, fixture_title

FIXTURES = Path(__file__).parent / "fixtures"
SEED = "newscontext scripted month 1"

# The real text of each day page of the month, oldest revision first (paths under fixtures/).
# fmt: off
DAY_TEXTS: tuple[tuple[str, ...], ...] = (
    # 2016-01-13 .. 19: the real days themselves (';Category' era).
    ("wikitext/2016-01-13.wiki",), ("wikitext/2016-01-14.wiki",), ("wikitext/2016-01-15.wiki",),
    ("wikitext/2016-01-16.wiki",), ("wikitext/2016-01-17.wiki",), ("wikitext/2016-01-18.wiki",),
    ("wikitext/2016-01-19.wiki",),
    # 2016-01-20 .. 26: September 2025, rendered by the parse API ("'''Category'''" era).
    ("html-parse-api/2025-09-14.html",), ("html-parse-api/2025-09-15.html",),
    ("html-parse-api/2025-09-16.html",), ("html-parse-api/2025-09-17.html",),
    ("html-parse-api/2025-09-18.html",), ("html-parse-api/2025-09-19.html",),
    ("html-parse-api/2025-09-20.html",),
    # 2016-01-27 .. 02-02: May 2021, captured daily by a newsletter.
    ("html-kiwicopple/2021-05-01.html",), ("html-kiwicopple/2021-05-02.html",),
    ("html-kiwicopple/2021-05-03.html",), ("html-kiwicopple/2021-05-04.html",),
    ("html-kiwicopple/2021-05-05.html",), ("html-kiwicopple/2021-05-06.html",),
    ("html-kiwicopple/2021-05-07.html",),
    # 2016-02-03 .. 06: March 2026, an earlier real revision and a later one of each day.
    ("html-parse-api/2026-03-06.html", "wikitext/2026-03-06.wiki"),
    ("html-parse-api/2026-03-07.html", "wikitext/2026-03-07.wiki"),
    ("html-parse-api/2026-03-08.html", "wikitext/2026-03-08.wiki"),
    ("html-parse-api/2026-03-09.html", "wikitext/2026-03-09.wiki"),
    # 2016-02-07 .. 11: single days of 2010-2019 (';Category' era).
    ("wikitext/2017-09-04.wiki",), ("wikitext/2019-08-11.wiki",),
    ("wikitext-2003-2015/2014-12-16.wiki",), ("wikitext-2003-2015/2012-02-10.wiki",),
    ("wikitext-2003-2015/2010-12-08.wiki",),
)
# fmt: on
FIRST_DAY = date(2016, 1, 13)
START = datetime(2016, 1, 13, tzinfo=UTC)  # the clock starts before any page exists
# The last page grows until the evening after its day; the month ends the midnight after.
END = datetime.combine(FIRST_DAY + timedelta(days=len(DAY_TEXTS) + 1), datetime.min.time(), UTC)
EDIT_WINDOW = timedelta(days=10)  # editors touch days up to ten days old
FIRST_REVID = 699_800_000  # about where English Wikipedia's revision ids were in January 2016


def _t(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2016, month, day, hour, minute, second, tzinfo=UTC)


# Vandalism: the blanking spans 14:00 (a robot run every two hours from START sees it); the
# truncation stays two days, longer than the robot's 24-hour settle time.
BLANKED_DAY, BLANKED_AT = date(2016, 1, 24), _t(1, 26, 13, 57, 12)
BLANKED_FOR = timedelta(minutes=5)
TRUNCATED_DAY, TRUNCATED_AT = date(2016, 1, 16), _t(1, 19, 9, 14, 40)
TRUNCATED_FOR, TRUNCATED_TO = timedelta(days=2, minutes=26), 3_000  # bytes
# An event removed from one day and added to another `MOVE_GAP` later; the second move spans
# 16:00, so a run sees the event gone before it reappears.
DAY_MOVES: tuple[tuple[date, date, datetime], ...] = (
    (date(2016, 1, 20), date(2016, 1, 21), _t(1, 23, 11, 20, 5)),
    (date(2016, 1, 27), date(2016, 1, 28), _t(1, 30, 15, 58, 30)),
    (date(2016, 2, 4), date(2016, 2, 3), _t(2, 7, 8, 41)),
)
MOVE_GAP = timedelta(minutes=3)


@dataclass(frozen=True)
class Deletion:
    """A day page deleted at `at` (missing to the API) and restored with its history."""

    day: date
    at: datetime
    restored: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return self.at <= moment and (self.restored is None or moment < self.restored)


@dataclass(frozen=True)
class Fault:
    """API trouble from `at` for `lasts`: while the clock stands in that window the first
    `count` requests misbehave (an outage: every request). Two hours, so that a robot
    running every two hours meets each fault once; a clock that jumps over the window never
    meets it, and what a window leaves unused ends with it."""

    at: datetime
    kind: str  # "maxlag", "429", "500", "timeout" or "outage"
    count: int = 1
    lasts: timedelta = timedelta(hours=2)

    @property
    def end(self) -> datetime:
        return self.at + self.lasts

    def covers(self, moment: datetime) -> bool:
        return self.at <= moment < self.end


DELETIONS = (Deletion(date(2016, 1, 29), _t(1, 31, 10, 20), _t(2, 1, 15, 45)),)
FAULTS = (
    Fault(_t(1, 15, 7, 10), "maxlag", count=2),
    Fault(_t(1, 18, 15, 20), "429"),
    Fault(_t(1, 21, 3, 40), "500", count=2),
    Fault(_t(1, 26, 11, 5), "timeout"),
    Fault(_t(2, 4, 5, 0), "outage"),
    Fault(_t(2, 8, 19, 30), "maxlag", count=1),
)
RETRY_AFTER = "1"  # seconds, as Wikimedia sends; the least it can say
CLIENT_TIMEOUT = 1.0  # seconds: NEWSCONTEXT_API_TIMEOUT for clients of the scripted wiki
HANG_SECONDS = 3.0  # a hanging request is answered this late: well past CLIENT_TIMEOUT
VANDAL_KINDS = frozenset({"blank", "truncate"})


@dataclass(frozen=True)
class ScriptedEdit:
    """One saved revision of a day page. Kinds: create, grow, real (a real revision
    exactly), reword, source, restory (moved to another story), move-out, move-in (between
    days), blank, revert, truncate, fix."""

    at: datetime
    day: date
    kind: str
    revid: int
    parentid: int
    size: int  # bytes, as the API's `length`
    note: str  # what changed, for a reader of a failing test

    @property
    def title(self) -> str:
        return fixture_title(self.day)

    @property
    def vandalism(self) -> bool:
        return self.kind in VANDAL_KINDS


@dataclass(frozen=True)
class Script:
    """The month as data: every edit, its content, the faults and the deletions."""

    start: datetime
    end: datetime
    days: tuple[date, ...]
    origins: tuple[tuple[str, ...], ...]  # per day, the fixture files it is made of
    edits: tuple[ScriptedEdit, ...]  # in time order; revids increase with time
    contents: dict[int, str]  # revid -> wikitext
    faults: tuple[Fault, ...]
    deletions: tuple[Deletion, ...]

    @functools.cached_property
    def vandalism(self) -> frozenset[int]:
        """Revision ids of blankings and truncations: held by a correct robot."""
        return frozenset(edit.revid for edit in self.edits if edit.vandalism)

    def edits_of(self, day: date) -> list[ScriptedEdit]:
        return [edit for edit in self.edits if edit.day == day]

    def of_kind(self, kind: str) -> list[ScriptedEdit]:
        return [edit for edit in self.edits if edit.kind == kind]

    def revision(self, edit: ScriptedEdit) -> Revision:
        """The revision as the API serves it."""
        stamp = edit.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return Revision(edit.revid, edit.parentid, stamp, self.contents[edit.revid])

    def pages(self) -> dict[str, list[Revision]]:
        """Every day page with its whole history, for FakeWiki."""
        return {fixture_title(day): [self.revision(e) for e in self.edits_of(day)]
                for day in self.days}

    def deleted(self, day: date, moment: datetime) -> bool:
        return any(d.day == day and d.covers(moment) for d in self.deletions)

    def current(self, day: date, moment: datetime) -> ScriptedEdit | None:
        """The day's latest revision at `moment`; None before it exists or while deleted."""
        if self.deleted(day, moment):
            return None
        history = [edit for edit in self.edits_of(day) if edit.at <= moment]
        return history[-1] if history else None

    def shown(self, day: date, moment: datetime, hold: timedelta) -> ScriptedEdit | None:
        """The revision a correct robot that ran at `moment` shows for `day`: the current
        one, unless it is vandalism current for less than `hold` (then the last good one
        before it). Measured from the revision's timestamp: a robot that measures from when
        it first saw it applies a lasting truncation up to one run later. A deleted page
        keeps what it showed."""
        history = [edit for edit in self.edits_of(day) if edit.at <= moment]
        if history and (not history[-1].vandalism or moment - history[-1].at >= hold):
            return history[-1]
        return self.last_good(day, moment)

    def last_good(self, day: date, moment: datetime) -> ScriptedEdit | None:
        """The day's latest revision at `moment` that is not vandalism."""
        good = [e for e in self.edits_of(day) if e.at <= moment and not e.vandalism]
        return good[-1] if good else None

    def calm(self) -> Script:
        """The same month without API trouble."""
        return dataclasses.replace(self, faults=())

    def run_times(self, every: timedelta = timedelta(hours=2)) -> list[datetime]:
        """The robot's wake-ups: START, START + every, ... up to END."""
        count = int((self.end - self.start) / every)
        return [self.start + n * every for n in range(count + 1)]


class ScriptedWiki(FakeWiki):
    """FakeWiki answering as of `now`: use as `with ScriptedWiki() as wiki:`
    (`ScriptedWiki(month().calm())` for one without API trouble).

    Faults fire while the clock stands in their window; the clock only moves forward (make
    a new wiki to start over: the month is built once per process).
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script if script is not None else month()
        self.now = self.script.start
        self._stamp = _stamp(self.now)
        self.fired: list[Fault] = []  # faults the clock has stood in, in order
        self._armed: list[Fault] = []  # faults whose window the clock stands in
        self._days = {fixture_title(day): day for day in self.script.days}
        super().__init__(pages=self.script.pages())
        for n, day in enumerate(self.script.days):  # page ids in order of creation
            self._pageids[fixture_title(day)] = PAGEID_BASE + n

    # --- the clock ---------------------------------------------------------------------

    def at(self, moment: datetime) -> datetime:
        """Move the clock to `moment` (UTC): faults whose window it leaves end, those whose
        window it enters are armed."""
        if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
            raise ValueError(f"{moment} is not a UTC time")
        if moment < self.now:
            raise ValueError(f"the clock only moves forward: {self.now} -> {moment}")
        with self._lock:
            self.now, self._stamp = moment, _stamp(moment)
        for fault in [f for f in self._armed if not f.covers(moment)]:
            self._armed.remove(fault)
            self._set(fault, 0)
        for fault in self.script.faults:
            if fault.covers(moment) and fault not in self._armed:
                self._armed.append(fault)
                self.fired.append(fault)
                self._set(fault, fault.count)
        return moment

    def advance(self, **delta: float) -> datetime:
        """`advance(hours=2)`: move the clock on by a timedelta's keywords."""
        return self.at(self.now + timedelta(**delta))

    def newscontext_now(self) -> str:
        """`now` as NEWSCONTEXT_NOW wants it: 2016-02-03T14:00:00Z."""
        return self._stamp

    def env(self) -> dict[str, str]:
        """Environment for a newscontext process talking to this wiki at `now`: the API
        URL, the clock, and timeouts and backoff short enough for tests."""
        return {
            "NEWSCONTEXT_API_URL": self.url,
            "NEWSCONTEXT_NOW": self.newscontext_now(),
            "NEWSCONTEXT_API_TIMEOUT": str(CLIENT_TIMEOUT),
            "NEWSCONTEXT_API_BACKOFF_BASE": "0.01",
        }

    # --- the expected truth at `now` ---------------------------------------------------

    def current(self, day: date) -> ScriptedEdit | None:
        return self.script.current(day, self.now)

    def shown(self, day: date, hold: timedelta = timedelta(hours=24)) -> ScriptedEdit | None:
        return self.script.shown(day, self.now, hold)

    def window(self, days: int = 10) -> list[date]:
        """The days the robot fetches by default at `now`: `days` days up to today."""
        today = self.now.date()
        return [today - timedelta(days=n) for n in range(days, -1, -1)]

    def add_revision(self, title: str, content: str) -> Revision:
        """A test's own edit at `now` (a vandal of its own, say): its revision id is above
        every scripted one, and the script's later edits of the page still follow it."""
        with self._lock:
            revisions = self.pages.setdefault(title, [])
            self._pageids.setdefault(title, PAGEID_BASE + len(self._pageids))
            newest = max(revision.revid for page in self.pages.values() for revision in page)
            shown = [revision for revision in revisions if revision.timestamp <= self._stamp]
            revision = Revision(newest + 1, shown[-1].revid if shown else 0, self._stamp, content)
            revisions.insert(len(shown), revision)
            return revision

    # --- answering ---------------------------------------------------------------------

    def history(self, title: str) -> list[Revision]:
        """Revisions saved by `now`, none while the page is deleted."""
        revisions = self.pages.get(title, [])
        day = self._days.get(title)
        if day is not None and self.script.deleted(day, self.now):
            return []
        return [revision for revision in revisions if revision.timestamp <= self._stamp]

    def _set(self, fault: Fault, count: int) -> None:
        """Turn the FakeWiki knob of `fault` to `count` requests (0: off)."""
        if fault.kind == "maxlag":
            self.answer_maxlag(count, retry_after=RETRY_AFTER)
        elif fault.kind == "429":
            self.fail_requests(count, status=429, retry_after=RETRY_AFTER)
        elif fault.kind == "500":
            self.fail_requests(count, status=500, retry_after=None)
        elif fault.kind == "timeout":
            self.hang_requests(count, HANG_SECONDS)
        elif fault.kind == "outage":
            self.outage(503 if count else None)
        else:
            raise ValueError(f"unknown fault kind {fault.kind!r}")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- building the month ------------------------------------------------------------------


@functools.cache
def month() -> Script:
    """The month, built once per process (a Script is not changed by its users)."""
    return build_month()


@dataclass(order=True)
class _Step:
    """A planned edit; `arg` is what the kind needs (a text, a move's key)."""

    at: datetime
    day: date
    kind: str
    arg: Any = field(default=None, compare=False)


def build_month(seed: str = SEED) -> Script:
    """Plan every day's edits and the scripted ones, then play them in time order."""
    days = tuple(FIRST_DAY + timedelta(days=n) for n in range(len(DAY_TEXTS)))
    busy = _busy_windows()
    plan: list[_Step] = []
    for day, names in zip(days, DAY_TEXTS, strict=True):
        texts = [(name, real_text(name, day)) for name in names]
        plan += _day_plan(day, texts, busy.get(day, []), random.Random(f"{seed}:{day}:plan"))
    plan += _scripted_plan()
    edits, contents = _play(sorted(plan), seed)
    ordered = sorted(FAULTS, key=lambda fault: fault.at)
    for earlier, later in itertools.pairwise(ordered):
        if later.at < earlier.end:  # they would turn the same knobs
            raise AssertionError(f"faults overlap: {earlier} and {later}")
    return Script(START, END, days, DAY_TEXTS, tuple(edits), contents, FAULTS, DELETIONS)


def real_text(name: str, day: date) -> str:
    """A fixture day as the wikitext of `day`'s page (exact bytes but for the header)."""
    path = FIXTURES / name
    with path.open(encoding="utf-8", newline="") as file:  # newline="": the bytes as stored
        text = file.read()
    if path.suffix == ".html":
        return html_to_wikitext(day, text)
    return redate(text, day)


def redate(text: str, day: date) -> str:
    """The page's `{{Current events|year=..|month=..|day=..|` header naming `day`."""
    header = f"{{{{Current events|year={day.year}|month={day.month:02}|day={day.day}|"
    new, count = re.subn(r"\{\{Current events\|year=\d+\|month=\d+\|day=\d+\|",
                         lambda _: header, text, count=1)
    if not count:
        raise ValueError(f"no {{{{Current events}}}} header in the text for {day}")
    return new


def _busy_windows() -> dict[date, list[tuple[datetime, datetime]]]:
    """Per day, when scripted edits happen: invented edits keep an hour away from them (and
    the truncated, blanked or deleted page is left alone until it is fixed)."""
    margin = timedelta(hours=1)
    busy: dict[date, list[tuple[datetime, datetime]]] = {}

    def add(day: date, first: datetime, last: datetime) -> None:
        busy.setdefault(day, []).append((first - margin, last + margin))

    add(BLANKED_DAY, BLANKED_AT, BLANKED_AT + BLANKED_FOR)
    add(TRUNCATED_DAY, TRUNCATED_AT, TRUNCATED_AT + TRUNCATED_FOR)
    for deletion in DELETIONS:
        add(deletion.day, deletion.at, deletion.restored or END)
    for source, target, at in DAY_MOVES:
        add(source, at, at + MOVE_GAP)
        add(target, at, at + MOVE_GAP)
    return busy


def _day_plan(day: date, texts: list[tuple[str, str]], busy: list[tuple[datetime, datetime]],
              rng: random.Random) -> list[_Step]:
    """A day page's life: created in the evening with 40% of its first real revision's
    events, 70% overnight, all of them by the next evening; a later real revision the day
    after; then invented edits until it is ten days old."""
    midnight = datetime.combine(day, datetime.min.time(), UTC)

    def moment(hour: int, spread_minutes: int, day_offset: int = 0) -> datetime:
        offset = timedelta(days=day_offset, hours=hour,
                           seconds=rng.randrange(spread_minutes * 60))
        return midnight + offset

    (first_name, first), *later = texts
    steps = [
        _Step(moment(18, 300), day, "create", (first, 0.4, first_name)),
        _Step(moment(2, 360, 1), day, "grow", (first, 0.7, first_name)),
        _Step(moment(12, 480, 1), day, "real", (first, first_name)),
    ]
    for n, (name, text) in enumerate(later, start=2):
        steps.append(_Step(moment(9, 540, n), day, "real", (text, name)))
    settled = steps[-1].at + timedelta(hours=1)
    last = min(midnight + EDIT_WINDOW, END)
    span = int((last - settled).total_seconds())
    for _ in range(rng.randint(2, 5) if span > 0 else 0):
        at = settled + timedelta(seconds=rng.randrange(span))
        kind = rng.choices(("reword", "source", "restory"), weights=(4, 3, 2))[0]
        if not any(first <= at <= end for first, end in busy):
            steps.append(_Step(at, day, kind))
    return steps


def _scripted_plan() -> list[_Step]:
    steps = [
        _Step(BLANKED_AT, BLANKED_DAY, "blank"),
        _Step(BLANKED_AT + BLANKED_FOR, BLANKED_DAY, "revert"),
        _Step(TRUNCATED_AT, TRUNCATED_DAY, "truncate"),
        _Step(TRUNCATED_AT + TRUNCATED_FOR, TRUNCATED_DAY, "fix"),
    ]
    for key, (source, target, at) in enumerate(DAY_MOVES):
        steps.append(_Step(at, source, "move-out", (key, target)))
        steps.append(_Step(at + MOVE_GAP, target, "move-in", (key, source)))
    return steps


def _play(plan: list[_Step], seed: str) -> tuple[list[ScriptedEdit], dict[int, str]]:
    """Apply the planned steps in time order, each to its page's content at that time; a
    step that changes nothing saves nothing (as MediaWiki's null edits)."""
    pages: dict[date, list[ScriptedEdit]] = {}
    contents: dict[int, str] = {}
    edits: list[ScriptedEdit] = []
    before_vandal: dict[date, str] = {}
    moving: dict[int, _Moved] = {}
    gaps = random.Random(f"{seed}:revids")  # other pages are edited in between
    revid = FIRST_REVID
    for step in plan:
        history = pages.setdefault(step.day, [])
        if history and history[-1].at >= step.at:
            raise AssertionError(f"{step.day}: {step.kind} at {step.at} is not after the last edit")
        old = contents[history[-1].revid] if history else ""
        rng = random.Random(f"{seed}:{step.day}:{step.at.isoformat()}:{step.kind}")
        kind, arg = step.kind, step.arg
        if kind in ("create", "grow"):
            text, fraction, name = arg
            new, note = grow(text, fraction), f"{fraction:.0%} of the events of {name}"
        elif kind == "real":
            new, note = arg[0], f"the real revision {arg[1]}"
        elif kind in ("reword", "source", "restory"):
            kind, new, note = _invented(kind, old, step.day, rng)
        elif kind == "move-out":
            (key, target), (new, moved) = arg, move_out(old, rng)
            moving[key] = moved
            note = f"moved to {target}: {moved.event[:70]}"
        elif kind == "move-in":
            key, source = arg
            new, note = move_in(old, moving.pop(key)), f"moved from {source}"
        elif kind in ("blank", "truncate"):
            before_vandal[step.day] = old
            if kind == "blank":
                new, note = "", "blanked by a vandal"
            else:
                new = truncate(old, TRUNCATED_TO)
                note = f"cut to its first {len(new.encode()):,} of {len(old.encode()):,} bytes"
        elif kind in ("revert", "fix"):
            new, note = before_vandal.pop(step.day), "restored the revision before the vandal"
        else:
            raise AssertionError(f"unknown step kind {kind!r}")
        if history and new == old:
            continue
        revid += gaps.randint(150, 4_000)
        parent = history[-1].revid if history else 0
        edit = ScriptedEdit(step.at, step.day, kind, revid, parent, len(new.encode()), note)
        history.append(edit)
        edits.append(edit)
        contents[revid] = new
    if moving:
        raise AssertionError(f"moves never completed: {sorted(moving)}")
    return edits, contents


def _invented(kind: str, text: str, day: date, rng: random.Random) -> tuple[str, str, str]:
    """Apply an invented edit of `kind`, or the first other kind that applies to the page."""
    edits: dict[str, Callable[[], tuple[str, str] | None]] = {
        "reword": lambda: reword(text, rng),
        "source": lambda: add_source(text, day, rng),
        "restory": lambda: restory(text, rng),
    }
    for name in (kind, *(other for other in edits if other != kind)):
        done = edits[name]()
        if done is not None:
            return name, *done
    raise AssertionError(f"{day}: no invented edit applies to the page")


# --- the page as lines: categories, story headings and events ------------------------------

_HEADING = re.compile(r"^(?:;\s*(?P<semi>[^:]+?)|'''(?P<bold>[^']+?)''')\s*$")
_BULLET = re.compile(r"^\*+")
_SOURCES = re.compile(r"\[(?:https?:)?//|<ref")  # where an event line's sources begin
_FOOTER = "<!-- All news items above this line -->"


def _depth(line: str) -> int:
    found = _BULLET.match(line)
    return len(found.group()) if found else 0


def _category(line: str) -> str | None:
    found = _HEADING.match(line)
    return (found.group("semi") or found.group("bold")).strip() if found else None


def _leaf(lines: list[str], i: int) -> bool:
    """A bullet with nothing nested below it: an event, not a story heading."""
    depth = _depth(lines[i])
    return depth > 0 and (i + 1 == len(lines) or _depth(lines[i + 1]) <= depth)


def _subtree_end(lines: list[str], i: int) -> int:
    """The index after the last line nested below bullet `i`."""
    depth, j = _depth(lines[i]), i + 1
    while j < len(lines) and _depth(lines[j]) > depth:
        j += 1
    return j


def _ancestors(lines: list[str], i: int) -> list[int]:
    """The story headings above bullet `i`, outermost first."""
    found, depth = [], _depth(lines[i])
    for j in range(i - 1, -1, -1):
        if not _depth(lines[j]):
            break
        if _depth(lines[j]) < depth:
            found.append(j)
            depth = _depth(lines[j])
    return found[::-1]


def _events(lines: list[str]) -> list[int]:
    """Event lines that cite a source: the ones invented edits work on."""
    return [i for i in range(len(lines)) if _leaf(lines, i) and _SOURCES.search(lines[i])]


def _section(lines: list[str], i: int) -> tuple[int, int]:
    """(first, end) lines of the category section holding line `i`, without the blank lines
    at its end."""
    first = next((j for j in range(i, -1, -1) if _category(lines[j])), 0)
    end = next((j for j in range(i + 1, len(lines)) if _category(lines[j])
                or _FOOTER in lines[j]), len(lines))
    while end > first + 1 and not lines[end - 1].strip():
        end -= 1
    return first, end


def _movable(lines: list[str], i: int) -> bool:
    """An event whose story keeps another line without it (no story heading left empty)."""
    above = _ancestors(lines, i)
    return not above or _subtree_end(lines, above[-1]) - above[-1] > 2


def _split_event(line: str) -> tuple[str, str, str]:
    """(bullets, sentence, sources and the rest) of an event line."""
    stars = _BULLET.match(line)
    bullets = stars.group() if stars else ""
    body = line[len(bullets):]
    sources = _SOURCES.search(body)
    cut = sources.start() if sources else len(body)
    return bullets, body[:cut], body[cut:]


def grow(text: str, fraction: float) -> str:
    """The page with only the first `fraction` of its events (story headings with none of
    theirs left go too): the page as it was while editors were still adding the day."""
    lines = text.split("\n")
    leaves = [i for i in range(len(lines)) if _leaf(lines, i)]
    kept = set(leaves[: max(1, math.ceil(len(leaves) * fraction))])
    out = []
    for i, line in enumerate(lines):
        heading = _depth(line) and not _leaf(lines, i)
        if not _depth(line) or i in kept or (
                heading and kept.intersection(range(i + 1, _subtree_end(lines, i)))):
            out.append(line)
    return "\n".join(out)


def truncate(text: str, size: int) -> str:
    """The first `size` bytes of the page (a whole character at the end)."""
    return text.encode("utf-8")[:size].decode("utf-8", "ignore")


# --- invented edits -------------------------------------------------------------------------

# Copy-edits editors make to portal sentences, tried in this order of preference.
PHRASES = (
    (" at least ", " more than "), (" more than ", " at least "), (" says ", " states "),
    (" announces ", " confirms "), (" following ", " after "), (" after ", " following "),
    (" amid ", " amidst "), (" amidst ", " amid "), (" an estimated ", " about "),
    (" kills ", " has killed "), (" is killed ", " dies "), (" reportedly ", " "),
)
# Markup a rewording must not touch: links, templates, tags, bold and italics.
_MARKUP = re.compile(r"(\[\[.*?\]\]|\{\{.*?\}\}|<[^>]*>|\[(?:https?:)?//[^\]]*\]|'{2,})")
# A count in a sentence (a death toll, a number of arrests): not part of a date or an amount.
_COUNT = re.compile(r"(?<![\w.,$£€#/:-])(\d{1,3})(?![\w.,%/:-])")


def _in_text(sentence: str, change: Callable[[str], str | None]) -> str | None:
    """`change` applied to the first piece of plain text (between markup) it changes."""
    pieces = _MARKUP.split(sentence)
    for n in range(0, len(pieces), 2):
        changed = change(pieces[n])
        if changed is not None:
            return "".join([*pieces[:n], changed, *pieces[n + 1:]])
    return None


def _new_toll(rng: random.Random) -> Callable[[str], str | None]:
    def change(text: str) -> str | None:
        found = _COUNT.search(text)
        if found is None:
            return None
        higher = str(int(found.group(1)) + rng.randint(1, 4))
        return text[: found.start(1)] + higher + text[found.end(1):]

    return change


def _copy_edit(text: str) -> str | None:
    for old, new in PHRASES:
        if old in text:
            return text.replace(old, new, 1)
    return None


def reword(text: str, rng: random.Random) -> tuple[str, str] | None:
    """One event's sentence reworded: a toll raised (as news updates them) or a phrase
    copy-edited; its sources stay. (content, note), or None if no sentence can be."""
    lines = text.split("\n")
    options = []
    for i in _events(lines):
        bullets, sentence, rest = _split_event(lines[i])
        for how in (_new_toll(rng), _copy_edit):
            new = _in_text(sentence, how)
            if new is not None:
                options.append((i, bullets + new + rest, sentence))
    if not options:
        return None
    i, line, sentence = rng.choice(options)
    lines[i] = line
    return "\n".join(lines), f"reworded: {sentence.strip()[:70]}"


OUTLETS = (
    ("AP", "https://apnews.com/article/{slug}-{hex32}"),
    ("Reuters", "https://www.reuters.com/world/{slug}-{iso}/"),
    ("BBC News", "https://www.bbc.com/news/world-{digits}"),
    ("Al Jazeera", "https://www.aljazeera.com/news/{y}/{m}/{d}/{slug}"),
    ("The Guardian", "https://www.theguardian.com/world/{y}/{mon}/{dd}/{slug}"),
)


def add_source(text: str, day: date, rng: random.Random) -> tuple[str, str] | None:
    """A further source cited by one event, in the outlet's own URL style. The URLs are
    invented (nothing in the tests fetches them)."""
    lines = text.split("\n")
    events = _events(lines)
    if not events:
        return None
    i = rng.choice(events)
    sentence = _split_event(lines[i])[1]
    plain = re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]", r"\1", sentence)
    slug = "-".join(re.findall(r"[a-z0-9]+", plain.lower())[:7]) or "news"
    outlet, pattern = rng.choice(OUTLETS)
    url = pattern.format(
        slug=slug, hex32=f"{rng.getrandbits(128):032x}", iso=day.isoformat(),
        digits=rng.randrange(30_000_000, 40_000_000), y=day.year, m=day.month, d=day.day,
        mon=day.strftime("%b").lower(), dd=f"{day.day:02}",
    )
    lines[i] = f"{lines[i].rstrip()} [{url} ({outlet})]"
    return "\n".join(lines), f"source {outlet} added: {sentence.strip()[:60]}"


def restory(text: str, rng: random.Random) -> tuple[str, str] | None:
    """One event moved under another story heading of its category."""
    lines = text.split("\n")
    options = []
    for i in _events(lines):
        if not _movable(lines, i):
            continue
        parent = (_ancestors(lines, i) or [None])[-1]
        first, end = _section(lines, i)
        options += [(i, h) for h in range(first, end)
                    if h != parent and _depth(lines[h]) and not _leaf(lines, h)
                    and _depth(lines[h]) < 5]
    if not options:
        return None
    i, heading = rng.choice(options)
    line = lines.pop(i)
    heading -= heading > i
    body = line.lstrip("*")
    lines.insert(_subtree_end(lines, heading), "*" * (_depth(lines[heading]) + 1) + body)
    return "\n".join(lines), f"moved to story {lines[heading].lstrip('*')[:50]}"


@dataclass(frozen=True)
class _Moved:
    """An event on its way to another day: its category, story headings and line."""

    category: str | None
    headings: tuple[str, ...]
    line: str

    @property
    def event(self) -> str:
        return _split_event(self.line)[1].strip()


def move_out(text: str, rng: random.Random) -> tuple[str, _Moved]:
    """One event removed from the page, to be added to another day."""
    lines = text.split("\n")
    events = [i for i in _events(lines) if _movable(lines, i)]
    if not events:
        raise AssertionError("no event to move out of the page")
    i = rng.choice(events)
    first, _ = _section(lines, i)
    moved = _Moved(_category(lines[first]), tuple(lines[j] for j in _ancestors(lines, i)),
                   lines[i])
    del lines[i]
    return "\n".join(lines), moved


def move_in(text: str, moved: _Moved) -> str:
    """The moved event added under its category and story headings, reusing those the page
    has (a new category section at the end if it has none of that name)."""
    lines = text.split("\n")
    name = (moved.category or "").lower()
    where = next((j for j, line in enumerate(lines)
                  if name and (_category(line) or "").lower() == name), None)
    if where is None:
        end = next((j for j, line in enumerate(lines) if _FOOTER in line), len(lines))
        semi = any(line.startswith(";") and _category(line) for line in lines)
        name = moved.category or "Miscellaneous"
        lines[end:end] = ["", f";{name}" if semi else f"'''{name}'''"]
        where = end + 1
    first, end = _section(lines, where)
    low, high, matched = first + 1, end, 0
    for heading in moved.headings:  # walk down the story headings the page already has
        found = next((j for j in range(low, high) if lines[j] == heading), None)
        if found is None:
            break
        low, high, matched = found + 1, _subtree_end(lines, found), matched + 1
    lines[high:high] = [*moved.headings[matched:], moved.line]
    return "\n".join(lines)


# --- rendered HTML written back as wikitext ---------------------------------------------------

# What MediaWiki marks as not part of the content (as portal/html.py skips it).
_HIDDEN_CLASSES = frozenset({"noprint", "mw-editsection", "reference", "mw-cite-backlink",
                             "error", "mw-empty-elt", "sortkey", "navbar",
                             "current-events-navbar", "webarchive"})
_DROPPED_TAGS = frozenset({"style", "script", "noscript", "s", "del", "strike", "math",
                           "template", "link", "meta", "img"})
_NOT_ARTICLES = ("File:", "Image:", "Media:", "Category:")
# Characters that would be markup in wikitext (or end the {{Current events}} parameter).
_ESCAPES = str.maketrans({"[": "&#91;", "]": "&#93;", "{": "&#123;", "}": "&#125;",
                          "|": "&#124;", "<": "&lt;", ">": "&gt;"})


def html_to_wikitext(day: date, markup: str) -> str:
    """A rendered day page (parse API or a newsletter's copy) as the wikitext an editor
    would have saved: '''Category''' lines, nested bullets, [[links]] and [URL (Source)]."""
    root = lxml.html.document_fromstring(markup)
    found = root.find_class("current-events-content")
    container = found[0] if found else _most_lists(root)
    lines: list[str] = []
    for block in container.iterchildren():
        if not isinstance(block.tag, str):
            continue
        heading = _html_heading(block)
        if heading is not None:
            lines += ["", f"'''{heading}'''"] if lines else [f"'''{heading}'''"]
        elif block.tag in ("ul", "ol"):
            _list_lines(block, 1, lines)
        elif block.tag == "p" and (text := _line(_inline(block))):
            lines.append(text)
    header = f"{{{{Current events|year={day.year}|month={day.month:02}|day={day.day}|content="
    return "\n".join([header, "", "<!-- All news items below this line -->", *lines,
                      _FOOTER + "}}"])


def _most_lists(root: Any) -> Any:
    """The element holding the most top-level lists: the day's content."""
    counts: dict[Any, int] = {}
    for ul in root.iter("ul"):
        parent = ul.getparent()
        if parent is not None and parent.tag != "li":
            counts[parent] = counts.get(parent, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else root


def _html_heading(block: Any) -> str | None:
    """The category a `<p><b>Name</b></p>` or `role=heading` block names, else None."""
    if block.get("role") == "heading":
        return _line(block.text_content())
    children = [child for child in block if isinstance(child.tag, str)]
    if block.tag != "p" or len(children) != 1 or children[0].tag not in ("b", "strong"):
        return None
    if not ((block.text or "") + (children[0].tail or "")).strip():  # the bold text alone
        return _line(children[0].text_content())
    return None


def _list_lines(ul: Any, depth: int, lines: list[str]) -> None:
    for item in ul.iterchildren("li"):
        text = _line(_inline(item))
        if text:
            lines.append("*" * depth + text)
        for sub in item.iterchildren("ul", "ol"):
            _list_lines(sub, depth + 1, lines)


def _line(text: str) -> str:
    """One line: newlines, tabs and runs of spaces made single spaces (not the nbsp)."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def _hidden(element: Any) -> bool:
    classes = set((element.get("class") or "").split())
    style = (element.get("style") or "").replace(" ", "").lower()
    return (element.tag in _DROPPED_TAGS or not _HIDDEN_CLASSES.isdisjoint(classes)
            or "display:none" in style)


def _inline(element: Any, *, top: bool = True) -> str:
    """An element's content as wikitext (an item's own text: not its sub-lists)."""
    parts = [_escape(element.text or "")]
    for child in element.iterchildren():
        if isinstance(child.tag, str):  # not a comment
            if top and child.tag in ("ul", "ol"):
                continue
            _join(parts, _element(child))
        _join(parts, _escape(child.tail or ""))
    return "".join(parts)


def _join(parts: list[str], piece: str) -> None:
    """Append `piece`, writing an apostrophe that touches a bold or italic mark as an entity
    (`'''X''''s` would not say X's)."""
    if parts and parts[-1].endswith("'") and piece.startswith("'"):
        if piece.startswith("''"):
            parts[-1] = parts[-1][:-1] + "&#39;"
        else:
            piece = "&#39;" + piece[1:]
    parts.append(piece)


def _escape(text: str) -> str:
    return text.translate(_ESCAPES).replace("''", "&#39;&#39;")


def _element(element: Any) -> str:
    if _hidden(element):
        return ""
    tag = element.tag
    if tag == "a":
        return _anchor(element)
    if tag == "br":
        return " "
    inner = _inline(element, top=False)
    if tag in ("b", "strong", "i", "em") and inner.strip():
        mark = "'''" if tag in ("b", "strong") else "''"
        if inner.startswith("'"):
            inner = "&#39;" + inner[1:]
        if inner.endswith("'"):
            inner = inner[:-1] + "&#39;"
        return f"{mark}{inner}{mark}"
    if tag in ("sup", "sub", "small"):
        return f"<{tag}>{inner}</{tag}>"
    return inner


def _anchor(anchor: Any) -> str:
    href = anchor.get("href") or ""
    classes = (anchor.get("class") or "").split()
    label = _inline(anchor, top=False)
    if "external" in classes or (href.startswith(("http://", "https://", "//"))
                                 and "/wiki/" not in href and "extiw" not in classes):
        url = href.replace(" ", "%20").replace("[", "%5B").replace("]", "%5D")
        return f"[{url.replace('|', '%7C')} {label}]"
    title = anchor.get("title") or ""
    title = title.removesuffix(" (page does not exist)") if "new" in classes else title
    if "extiw" in classes or href.startswith("#") or not title:
        return label
    if title.startswith(_NOT_ARTICLES):
        return ""
    return f"[[{title}]]" if label == title else f"[[{title}|{label}]]"

