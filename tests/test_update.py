"""`newscontext update`: the robot's cycle against the scripted wiki (tests/scripted_wiki.py),
as its command-line contract says (issue 12): stages, exit status, status.json, one run at a
time, and a month of real editing that never loses an event or publishes a held revision."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
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


def update(wiki: ScriptedWiki, db: Path, site: Path, *args: str,
           env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["--db", str(db), "update", "--site", str(site),
                                     "--crawl-limit", "0", *args], env=wiki.env() | (env or {}))


def status(site: Path) -> dict:
    return json.loads((site / "status.json").read_text(encoding="utf-8"))


def clean_build(db: Path, site: Path) -> dict[str, bytes]:
    """The site a full build of the same archive makes (status.json is the robot's)."""
    with Archive(Settings(db=db), create=False) as archive:
        archive.build(site, full=True)
    return site_files(site)


def pages(files: dict[str, bytes]) -> dict[str, bytes]:
    """Every page and feed; the search index only by what it counts (Pagefind's bundle is
    content-hashed fragments, and an incremental site keeps the ones it replaced)."""
    kept = {name: content for name, content in files.items()
            if name != "status.json" and not name.startswith("pagefind/")}
    entry = json.loads(files["pagefind/pagefind-entry.json"])
    kept["pages indexed"] = str(entry["languages"]["en"]["page_count"]).encode()
    return kept


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


def test_the_static_search_is_indexed_at_most_every_search_index_hours(wiki: ScriptedWiki,
                                                                       tmp_path: Path):
    """Pagefind reads every page again (most of a cycle at portal scale): the robot runs it
    when pages changed and the last index is SEARCH_INDEX_HOURS old (24 by default)."""
    db, site = tmp_path / "archive.sqlite3", tmp_path / "site"

    def indexed() -> tuple[str, bytes]:
        state = json.loads((site / ".newscontext" / "search.json").read_text("utf-8"))
        return state["indexed_at"], (site / "pagefind" / "pagefind-entry.json").read_bytes()

    wiki.at(datetime(2016, 1, 20, 12, tzinfo=UTC))
    assert update(wiki, db, site).exit_code == 0
    first = indexed()
    assert first[0] == "2016-01-20T12:00:00Z"
    wiki.at(datetime(2016, 1, 21, 8, tzinfo=UTC))  # a new day page since: pages written
    assert update(wiki, db, site).exit_code == 0
    assert status(site)["stages"]["build"]["written"] > 0
    assert indexed() == first
    wiki.at(datetime(2016, 1, 21, 12, tzinfo=UTC))  # 24 hours after the last index
    assert update(wiki, db, site).exit_code == 0
    assert indexed()[0] == "2016-01-21T12:00:00Z"
    clean = pages(clean_build(db, tmp_path / "clean"))
    assert pages(site_files(site))["pages indexed"] == clean["pages indexed"]


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
    the site is what a clean full build of the same archive makes (checked every six
    simulated days and at the end)."""
    db, site = tmp_path / "archive.sqlite3", tmp_path / "site"
    known: set[str] = set()
    with ScriptedWiki() as wiki:
        runs = month().run_times()
        for n, moment in enumerate(runs):
            wiki.at(moment)
            # The static search indexed every cycle, to be compared with a clean build's.
            result = update(wiki, db, site, env={"NEWSCONTEXT_SEARCH_INDEX_HOURS": "0"})
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
            if n % 72 == 71 or n == len(runs) - 1:
                clean, done = pages(clean_build(db, tmp_path / f"clean-{n}")), \
                    pages(site_files(site))
                assert set(clean) == set(done), moment
                assert [name for name in clean if done[name] != clean[name]] == [], moment


def _update_until(wiki_env: dict[str, str], db: Path, site: Path, point: tuple[str, int]
                  ) -> None:
    """In a forked process: run `update`, and SIGKILL itself at `point`: before a stage
    ("stage", index), before the commit of the n-th transaction ("commit", n), or before the
    n-th file of the build is moved into place ("file", n)."""
    from newscontext import store as store_module
    from newscontext import update as update_module

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    kind, n = point
    if kind == "stage":
        stage = update_module.Updater._stage

        def before(self, report, name, *args, **kwargs):
            if name == STAGES[n]:
                die()
            return stage(self, report, name, *args, **kwargs)

        update_module.Updater._stage = before
    elif kind == "commit":
        transaction = store_module.Store.transaction
        count = iter(range(n + 1))

        @contextmanager
        def dying(self):
            last = next(count, None) == n
            self.conn.execute("BEGIN IMMEDIATE")
            yield
            if last:
                die()  # the work of the transaction done, not committed
            self.conn.execute("COMMIT")

        store_module.Store.transaction = dying
        del transaction
    else:
        renamed = os.rename
        count = iter(range(n + 1))

        def rename(source, target):
            if next(count, None) == n:
                die()
            renamed(source, target)

        os.rename = rename
    CliRunner().invoke(main, ["--db", str(db), "update", "--site", str(site),
                              "--crawl-limit", "0"], env=wiki_env)
    os._exit(3)  # not killed: the point was never reached


@pytest.mark.slow
def test_an_update_killed_anywhere_is_completed_by_the_next(wiki: ScriptedWiki, tmp_path: Path):
    """kill -9 before every stage, mid-transaction and mid-build, then `update` again: the
    archive and the site are those of a run that was never killed."""
    wiki.at(datetime(2016, 1, 19, 12, tzinfo=UTC))
    base_db, base_site = tmp_path / "base.sqlite3", tmp_path / "base-site"
    assert update(wiki, base_db, base_site).exit_code == 0  # yesterday's archive and site
    wiki.at(datetime(2016, 1, 21, 12, tzinfo=UTC))  # two days of editing since

    def copy(name: str) -> tuple[Path, Path]:
        work = tmp_path / name
        work.mkdir()
        shutil.copy(base_db, work / "archive.sqlite3")
        shutil.copytree(base_site, work / "site")
        return work / "archive.sqlite3", work / "site"

    db, site = copy("reference")
    assert update(wiki, db, site).exit_code == 0
    reference = (export(db), pages(site_files(site)))
    fork = multiprocessing.get_context("fork")
    points = [("stage", i) for i in range(len(STAGES))] + \
        [("commit", n) for n in (0, 2, 5)] + [("file", n) for n in (0, 40, 200)]
    for point in points:
        db, site = copy(f"{point[0]}-{point[1]}")
        child = fork.Process(target=_update_until, args=(wiki.env(), db, site, point))
        child.start()
        child.join(120)
        assert child.exitcode == -signal.SIGKILL, f"the update was not killed at {point}"
        again = update(wiki, db, site)
        assert again.exit_code == 0, (point, again.output)
        assert (export(db), pages(site_files(site))) == reference, point


def export(db: Path) -> list[dict]:
    with Archive(Settings(db=db), create=False) as archive:
        return [a.to_export() for a in archive.events()]


def git(site: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(site), *args], capture_output=True, text=True,
                          check=True).stdout


def test_publish_git_commits_what_changed_with_a_message_saying_so(wiki: ScriptedWiki,
                                                                   tmp_path: Path):
    db, site = tmp_path / "archive.sqlite3", tmp_path / "site"
    wiki.at(datetime(2016, 1, 20, 12, tzinfo=UTC))
    first = update(wiki, db, site, "--publish", "git")
    assert first.exit_code == 0, first.output
    assert status(site)["stages"]["publish"]["commit"]
    message = git(site, "log", "-1", "--format=%s")
    assert re.match(r"2016-01-\d\d: \d+ events added", message), message
    assert git(site, "status", "--porcelain") == ""  # everything built is committed
    assert ".newscontext" not in git(site, "ls-files")
    assert update(wiki, db, site, "--publish", "git").exit_code == 0  # nothing new
    assert git(site, "rev-list", "--count", "HEAD").strip() == "1"
    wiki.at(datetime(2016, 1, 21, 12, tzinfo=UTC))  # a day of editing later
    assert update(wiki, db, site, "--publish", "git").exit_code == 0
    assert git(site, "rev-list", "--count", "HEAD").strip() == "2"
    changed = git(site, "show", "--name-only", "--format=", "HEAD").split()
    assert changed and all(not name.startswith(".newscontext") for name in changed)
    assert git(site, "status", "--porcelain") == ""
