"""The command line as an operator uses it: real processes, real files, a local API server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import WIKITEXT
from mwapi import FakeWiki


def newscontext(*args: str | Path, db: Path, env: dict | None = None
                ) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), COLUMNS="200")
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "newscontext", "--db", str(db),
                           *map(str, args)], capture_output=True, text=True, env=environment)


def test_ingest_export_show_stats(tmp_path: Path):
    db = tmp_path / "a.sqlite3"
    result = newscontext("ingest", WIKITEXT, db=db)
    assert result.returncode == 0, result.stderr
    assert "13 revisions of 13 days ingested" in result.stderr
    exported = newscontext("export", "events", db=db).stdout
    lines = [json.loads(line) for line in exported.splitlines()]
    assert len(lines) > 200 and lines[0]["date"] == "2016-01-13"
    shown = newscontext("show", "2016-01-19", db=db).stdout
    for expected in ("Armed conflicts and attacks", "Syrian Civil War", "Jerusalem Post",
                     "Hôtel Ritz in Paris"):
        assert expected in shown
    assert shown.index("Syrian Civil War") < shown.index("Jerusalem Post")
    stats = newscontext("stats", db=db).stdout
    assert "2016" in stats and "2026" in stats and "0 parse warnings" in stats


def test_db_from_environment(tmp_path: Path):
    db = tmp_path / "env.sqlite3"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), NEWSCONTEXT_DB=str(db))
    result = subprocess.run([sys.executable, "-m", "newscontext", "ingest",
                             WIKITEXT / "2016-01-19.wiki"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_partial_failure_exits_2_and_names_the_file(tmp_path: Path):
    db = tmp_path / "a.sqlite3"
    bad = tmp_path / "2016-01-20.wiki"
    bad.write_bytes(b"\xff\xfe\x00 not utf-8")
    result = newscontext("ingest", WIKITEXT / "2016-01-19.wiki", bad, db=db)
    assert result.returncode == 2
    assert "2016-01-20.wiki" in result.stderr and "1 revisions of 1 days" in result.stderr


def test_ingest_from_api_then_nothing_to_fetch(tmp_path: Path, fake_wiki: FakeWiki):
    db = tmp_path / "api.sqlite3"
    args = ("ingest", "--api", "--from", "2016-01-12", "--to", "2016-01-19",
            "--api-url", fake_wiki.url)
    first = newscontext(*args, db=db)
    assert first.returncode == 0, first.stderr
    assert "7 revisions of 7 days ingested" in first.stderr
    assert "1 days have no portal page: 2016-01-12" in first.stderr
    second = newscontext(*args, db=db)
    assert "0 revisions of 0 days ingested (7 unchanged" in second.stderr
    assert fake_wiki.requests[-1].params["prop"] == "info"  # revision ids only, no content
    exported = [json.loads(x) for x in newscontext("export", "events", db=db).stdout.splitlines()]
    assert {x["date"] for x in exported} == {f"2016-01-{d}" for d in range(13, 20)}


def test_bad_usage_is_explained(tmp_path: Path):
    db = tmp_path / "a.sqlite3"
    assert "--api needs --from" in newscontext("ingest", "--api", db=db).stderr
    assert "is not a date" in newscontext("show", "yesterday", db=db).stderr
    result = newscontext("ingest", "--api", "--from", "2016-01-19", "--to", "2016-01-01", db=db)
    assert result.returncode != 0 and "before" in result.stderr


def test_a_file_that_is_no_archive_is_one_line_exit_2(tmp_path: Path):
    """Regression: `--db` naming a text file gave sqlite3's traceback for every command."""
    notdb = tmp_path / "notes.txt"
    notdb.write_text("not a database\n" * 100)
    for command in (["stats"], ["show", "2016-01-19"], ["export", "events"],
                    ["build", tmp_path / "site"], ["ingest", WIKITEXT / "2016-01-19.wiki"],
                    ["resolve"], ["relate"]):
        result = newscontext(*command, db=notdb)
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "notes.txt" in lines[0] and "not a newscontext archive" in \
            lines[0], (command, result.stderr)
        assert "Traceback" not in result.stderr
    assert notdb.read_text() == "not a database\n" * 100  # nothing written into it


def test_another_programs_database_is_refused_not_migrated(tmp_path: Path):
    import sqlite3

    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    result = newscontext("ingest", WIKITEXT / "2016-01-19.wiki", db=other)
    assert result.returncode == 2 and "not a newscontext archive" in result.stderr
    with sqlite3.connect(other) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"accounts"}


def test_readers_do_not_create_an_archive(tmp_path: Path):
    """Regression: `stats` with a mistyped --db made the folders and an empty archive."""
    missing = tmp_path / "no" / "such" / "archive.sqlite3"
    for command in (["stats"], ["show", "2016-01-19"], ["export", "events"],
                    ["build", tmp_path / "site"]):
        result = newscontext(*command, db=missing)
        assert result.returncode == 2, (command, result.stderr)
        assert "no archive there" in result.stderr and "archive.sqlite3" in result.stderr
    assert not (tmp_path / "no").exists()
    assert newscontext("ingest", WIKITEXT / "2016-01-19.wiki", db=missing).returncode == 0
    assert newscontext("stats", db=missing).returncode == 0


def test_two_ingests_at_once_take_turns_without_false_errors(tmp_path: Path):
    """Regression: two `ingest` of the same days at once both exited 2 with UNIQUE
    constraint errors and stored false error rows."""
    db = tmp_path / "a.sqlite3"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-m", "newscontext", "--db", str(db), "ingest", str(WIKITEXT)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=environment) for _ in range(3)]
    results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    for code, stderr in results:
        assert code == 0, stderr
        assert "UNIQUE" not in stderr and "error" not in stderr.lower()
    ingested = sorted(stderr.split(" revisions")[0].strip().splitlines()[-1]
                      for _, stderr in results)
    assert ingested == ["0", "0", "13"]  # one did the work; the others found it done
    once = tmp_path / "once.sqlite3"
    assert newscontext("ingest", WIKITEXT, db=once).returncode == 0
    assert newscontext("export", "events", db=db).stdout == \
        newscontext("export", "events", db=once).stdout
    stats = newscontext("stats", db=db).stdout
    assert "UNIQUE" not in stats


def test_resolve_full_folds_every_group_and_agrees_with_the_incremental_run(tmp_path: Path):
    db = tmp_path / "a.sqlite3"
    assert newscontext("ingest", WIKITEXT / "2016-01-19.wiki", db=db).returncode == 0
    first = newscontext("resolve", db=db)
    again = newscontext("resolve", db=db)
    full = newscontext("resolve", "--full", db=db)
    assert first.returncode == again.returncode == full.returncode == 0, full.stderr
    counts = re.compile(r"(\d+) link targets.*?(\d+) spellings folded")
    assert counts.search(first.stderr).groups() == counts.search(full.stderr).groups()
    assert counts.search(again.stderr).groups() == counts.search(full.stderr).groups()
    assert "--full" in newscontext("resolve", "--help", db=db).stdout
