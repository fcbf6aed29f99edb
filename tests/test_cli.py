"""The command line as an operator uses it: real processes, real files, a local API server."""

from __future__ import annotations

import json
import os
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
