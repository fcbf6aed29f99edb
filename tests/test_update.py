"""`newscontext update`: the robot's cycle against the scripted wiki (tests/scripted_wiki.py),
as its command-line contract says (issue 12): stages, exit status, status.json, one run at a
time, and a month of real editing that never loses an event or publishes a held revision."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from scripted_wiki import FAULTS, ScriptedWiki, month
from test_build import site_files

from newscontext import Archive, Settings
from newscontext.cli import main
from newscontext.lock import FileLock

STAGES = ["ingest", "resolve", "relate", "crawl", "build"]


@pytest.fixture(name="wiki")
def wiki_fixture() -> Iterator[ScriptedWiki]:
    with ScriptedWiki(month().calm()) as running:
        yield running


def update(wiki: ScriptedWiki, db: Path, site: Path, *args: str):
    return CliRunner().invoke(main, ["--db", str(db), "update", "--site", str(site),
                                     "--crawl-limit", "0", *args], env=wiki.env())


def status(site: Path) -> dict:
    return json.loads((site / "status.json").read_text(encoding="utf-8"))


def clean_build(db: Path, site: Path) -> dict[str, bytes]:
    """The site a full build of the same archive makes (status.json is the robot's)."""
    with Archive(Settings(db=db), create=False) as archive:
        archive.build(site, full=True)
    return site_files(site)


def published(site: Path) -> dict[str, bytes]:
    return {name: content for name, content in site_files(site).items()
            if name != "status.json"}


def test_one_cycle_then_nothing_new(wiki: ScriptedWiki, tmp_path: Path):
    wiki.at(datetime(2016, 1, 20, 12, tzinfo=UTC))
    db, site = tmp_path / "archive.sqlite3", tmp_path / "site"
    first = update(wiki, db, site)
    assert first.exit_code == 0, first.output
    data = status(site)
    assert data["ok"] is True and data["errors"] == []
    assert data["window"] == ["2016-01-11", "2016-01-20"]  # ten days up to today (UTC)
    assert list(data["stages"]) == STAGES
    assert data["stages"]["ingest"]["revisions"] >= 7 and data["stages"]["crawl"]["skipped"]
    assert data["newest_day"] == max(d for d in wiki.window() if wiki.current(d)).isoformat()
    assert data["started"] == data["finished"] == "2016-01-20T12:00:00Z"  # the wiki's clock
    assert (site / "index.html").is_file()
    assert "ingest:" in first.output and "build:" in first.output
    again = update(wiki, db, site)
    assert again.exit_code == 0, again.output
    assert status(site)["stages"]["ingest"]["revisions"] == 0
    assert wiki.requests[-1].params.get("prop") != "revisions"  # nothing fetched again
    shown = CliRunner().invoke(main, ["status", "--site", str(site)])
    assert shown.exit_code == 0 and "last update: ok" in shown.output
    assert "ingest" in shown.output and "build" in shown.output


def test_quiet_prints_only_problems(wiki: ScriptedWiki, tmp_path: Path):
    wiki.at(datetime(2016, 1, 20, 12, tzinfo=UTC))
    result = update(wiki, tmp_path / "a.sqlite3", tmp_path / "site", "-q")
    assert result.exit_code == 0 and result.output.strip() == ""


def test_a_second_update_leaves_at_once(wiki: ScriptedWiki, tmp_path: Path):
    db, site = tmp_path / "archive.sqlite3", tmp_path / "site"
    running = FileLock(db.with_name(db.name + ".update.lock"), "a running update")
    running.acquire()
    try:
        result = update(wiki, db, site)
    finally:
        running.release()
    assert result.exit_code == 0 and "another update" in result.output
    assert not (site / "status.json").exists() and wiki.requests == []


def test_window_options_and_their_errors(wiki: ScriptedWiki, tmp_path: Path):
    wiki.at(datetime(2016, 1, 20, 12, tzinfo=UTC))
    db, site = tmp_path / "archive.sqlite3", tmp_path / "site"
    assert update(wiki, db, site, "--days", "2").exit_code == 0
    assert status(site)["window"] == ["2016-01-19", "2016-01-20"]
    assert update(wiki, db, site, "--from", "2016-01-13", "--to", "2016-01-14").exit_code == 0
    assert status(site)["window"] == ["2016-01-13", "2016-01-14"]
    bad = update(wiki, db, site, "--days", "2", "--from", "2016-01-13")
    assert bad.exit_code == 2 and "either --days or --from" in bad.output


def test_api_trouble_is_exit_2_and_the_rest_is_done(tmp_path: Path):
    outage = next(f for f in FAULTS if f.kind == "outage")
    with ScriptedWiki() as wiki:
        wiki.at(outage.at + timedelta(minutes=1))
        db, site = tmp_path / "archive.sqlite3", tmp_path / "site"
        result = update(wiki, db, site)
    assert result.exit_code == 2, result.output
    data = status(site)
    assert data["ok"] is False and data["stages"]["ingest"]["ok"] is False
    assert data["stages"]["build"]["ok"] is True and data["errors"]
    assert all(line.startswith("ingest: ") for line in data["errors"])
    shown = CliRunner().invoke(main, ["status", "--site", str(site)])
    assert shown.exit_code == 2 and "PROBLEMS" in shown.output


@pytest.mark.slow
def test_a_month_of_editing_every_two_hours(tmp_path: Path):
    """Every simulated two hours for a month, with the wiki's trouble: the exit status and
    status.json say how it went, no event is ever lost, no held revision is shown, and
    the site is what a clean full build of the same archive makes (checked every three
    simulated days and at the end)."""
    db, site = tmp_path / "archive.sqlite3", tmp_path / "site"
    known: set[str] = set()
    with ScriptedWiki() as wiki:
        runs = month().run_times()
        for n, moment in enumerate(runs):
            wiki.at(moment)
            result = update(wiki, db, site)
            down = any(f.kind == "outage" and f.covers(moment) for f in FAULTS)
            assert result.exit_code == (2 if down else 0), (moment, result.output)
            assert status(site)["ok"] is (not down)
            with Archive(Settings(db=db), create=False) as archive:
                for day in wiki.window():
                    row, current = archive.store.day(day), wiki.current(day)
                    if current is None or down:
                        continue
                    assert row is not None
                    assert wiki.script.contents[row.revid] == \
                        wiki.script.contents[wiki.shown(day).revid], (moment, day)
                ids = archive.store.event_ids()
            assert known <= ids, moment  # nothing the portal once said is deleted
            known = ids
            if n % 36 == 35 or n == len(runs) - 1:
                assert published(site) == clean_build(db, tmp_path / f"clean-{n}"), moment
