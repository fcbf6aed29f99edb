"""Repair: an archive written by older parsers (URLs with `&region=` read as "®ion=",
control characters kept, topic lines read as sentences) is re-derived from the raw revisions
it keeps, keeping every event id and version, and its changes reach the next build."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES

from newscontext import Archive, Settings
from newscontext.portal import PARSER_VERSION

OLD_DAYS = FIXTURES / "wikitext-2003-2015"
PRESS_TV = "http://www.presstv.ir/detail.aspx?id=127632&sectionid=351020606"
KHALEEJ = "comment_May25.xml&section=comment"


def _as_old_parsers_left_it(db: Path) -> None:
    """Write into the store what the parsers before PARSER_VERSION 1 made of these days:
    legacy entity names decoded in URLs (`&section` -> "§ion"), a topic line's topic left
    in its sentence, a control character kept; and no parser version recorded."""
    with sqlite3.connect(db) as conn:
        for table in ("events", "event_versions"):
            conn.execute(f"UPDATE {table} SET sources = replace(replace(sources, "
                         "'&sectionid=', '§ionid='), '&section=', '§ion=')")
            egypt = ("stories = '[]', text = 'Elections in Egypt: ' || text, "
                     "links = json_insert(links, '$[#]', json_object('target', "
                     "'Elections in Egypt', 'label', 'Elections in Egypt'))")
            conn.execute(f"UPDATE {table} SET {egypt} WHERE text LIKE 'Egyptians vote%'")
            conn.execute(f"UPDATE {table} SET text = replace(text, 'Hamas announces', "
                         "'Hamas' || char(7) || ' announces')")
        # Only an earlier wording kept the character: a version is all that changes.
        conn.execute("UPDATE event_versions SET text = replace(text, 'Voyager 1,', "
                     "'Voyager' || char(27) || ' 1,')")
        conn.execute("INSERT INTO warnings (revision_id, date, line, message, text) "
                     "SELECT revision_id, date, 29, 'text outside any bullet or heading; "
                     "skipped', '[http://news.sky.com/...' FROM days WHERE date = '2010-05-24'")
        conn.execute("DELETE FROM meta WHERE key = 'parser_version'")


def _snapshot(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        return {
            "ids": {row[0]: row[1] for row in conn.execute("SELECT id, change_seq FROM events")},
            "versions": dict(conn.execute(
                "SELECT event_id, COUNT(*) FROM event_versions GROUP BY event_id").fetchall()),
            "change_seq": int(conn.execute(
                "SELECT value FROM meta WHERE key = 'change_seq'").fetchone()[0]),
            "events": {row[0]: row[1:] for row in conn.execute(
                "SELECT id, text, stories, links, sources, position FROM events")},
            "stamps": conn.execute("SELECT event_id, seq, revision_id, timestamp, text "
                                   "FROM event_versions ORDER BY 1, 2").fetchall(),
        }


def _ingest_real_days(tmp_path: Path, archive: Archive) -> None:
    """Two real old days, and a later revision of one of them (one sentence reworded), so
    one event has two versions, both citing the Press TV URL."""
    may24 = (OLD_DAYS / "2010-05-24.wiki").read_text(encoding="utf-8")
    first = archive.ingest_paths([OLD_DAYS / "2010-05-24.wiki", OLD_DAYS / "2005-05-25.wiki"])
    assert first.errors == [] and first.added == 50
    later = tmp_path / "later" / "2010-05-24.wiki"
    later.parent.mkdir()
    later.write_text(may24.replace("reaches 15 as", "reaches 16 as"), encoding="utf-8")
    second = archive.ingest_paths([later])
    assert second.changed == 1 and second.added == second.removed == 0


def test_repair_on_real_days(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite3"
    with Archive(Settings(db=db)) as archive:
        _ingest_real_days(tmp_path, archive)
    _as_old_parsers_left_it(db)
    before = _snapshot(db)
    flood = next(i for i, row in before["events"].items() if row[0].startswith("The death toll"))
    assert before["versions"][flood] == 2
    assert "§ionid=" in before["events"][flood][3]

    with Archive(Settings(db=db)) as archive:
        report = archive.ingest_paths([OLD_DAYS / "2010-12-08.wiki"])  # repairs first
        assert report.errors == [] and report.added == 36
        # The flood (2 versions), Press TV's water project, Khaleej Times' Egypt, Hamas, and
        # Voyager (an earlier version only).
        assert report.repaired == 5
        assert archive.store.parser_version() == PARSER_VERSION
        events = {a.id: a for a in archive.events()}
        flood_versions = archive.versions(flood)
        assert archive.warnings() == []  # re-read: the stranded source line has a home now

    after = _snapshot(db)
    # Every id kept, no version added or lost, versions keep their revisions and times.
    assert before["ids"].keys() <= after["ids"].keys()
    assert {i: n for i, n in after["versions"].items() if i in before["ids"]} \
        == before["versions"]
    assert [row[:4] for row in after["stamps"] if row[0] in before["ids"]] \
        == [row[:4] for row in before["stamps"]]
    # URLs as the editors wrote them, in the event and in every version.
    assert [s.url for s in events[flood].event.sources if "presstv" in s.url] == [PRESS_TV]
    assert [[s.url for s in v.sources if "presstv" in s.url] for v in flood_versions] \
        == [[PRESS_TV], [PRESS_TV]]
    assert "reaches 15 as" in flood_versions[0].text
    assert "reaches 16 as" in flood_versions[1].text
    for archived in events.values():
        for source in archived.event.sources:
            assert not set("§®¶©¬") & set(source.url), source.url
        assert "\x07" not in archived.event.text
    egypt = next(a for a in events.values() if a.event.text.startswith("Egyptians vote"))
    assert [story.text for story in egypt.event.stories] == ["Elections in Egypt"]
    assert any(KHALEEJ in s.url for s in egypt.event.sources)
    # Positions and unrelated events untouched; repaired ones carry a new change number.
    repaired = {i for i in before["ids"] if after["events"][i] != before["events"][i]}
    assert len(repaired) == 4 and flood in repaired
    assert all(after["events"][i][4] == before["events"][i][4] for i in before["ids"])
    bumped = {i for i in before["ids"] if after["ids"][i] > before["change_seq"]}
    voyager = next(i for i, row in after["events"].items() if row[0].startswith("Voyager 1,"))
    assert bumped == repaired | {voyager} and voyager not in repaired  # its history changed
    assert not [row for row in after["stamps"] if "\x1b" in row[4] or "\x07" in row[4]]
    assert after["change_seq"] > before["change_seq"]

    # Once per parser version: the next run repairs nothing and changes nothing.
    with Archive(Settings(db=db)) as archive:
        assert archive.ingest_paths([OLD_DAYS / "2010-12-08.wiki"]).repaired == 0
        assert archive.repair().events == 0
    assert _snapshot(db) == after


def test_a_new_archive_needs_no_repair(tmp_path: Path) -> None:
    with Archive(Settings(db=tmp_path / "archive.sqlite3")) as archive:
        report = archive.ingest_paths([OLD_DAYS / "2014-12-16.wiki"])
        assert report.repaired == 0 and report.added == 19
        assert archive.store.parser_version() == PARSER_VERSION
        assert archive.repair().events == 0


def test_ingest_command_reports_the_repair(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite3"
    with Archive(Settings(db=db)) as archive:
        archive.ingest_paths([OLD_DAYS / "2010-05-24.wiki"])
    _as_old_parsers_left_it(db)
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), COLUMNS="200")
    result = subprocess.run(
        [sys.executable, "-m", "newscontext", "--db", str(db), "ingest",
         str(OLD_DAYS / "2014-12-16.wiki")], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    assert "3 archived events repaired" in result.stderr  # Press TV twice, Hamas
    exported = subprocess.run(
        [sys.executable, "-m", "newscontext", "--db", str(db), "export", "events"],
        capture_output=True, text=True, env=environment).stdout
    urls = [s["url"] for line in exported.splitlines() for s in json.loads(line)["sources"]]
    assert PRESS_TV in urls and not [url for url in urls if "§" in url]
