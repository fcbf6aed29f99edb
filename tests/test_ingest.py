"""Ingest keeps events' identity across real kinds of edits, and loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from conftest import HTML_PARSE_API, WIKITEXT, export_xml, wikitext

from newscontext import Archive, Settings
from newscontext.store.schema import MIGRATIONS, _statements

DAY = date(2016, 1, 19)
JIHADI = "confirms the death of militant [[Jihadi John]] in an airstrike in November."
JIHADI_LINE = (
    "**[[Islamic State of Iraq and the Levant|ISIL]] confirms the death of militant "
    "[[Jihadi John]] in an airstrike in November. [https://www.bbc.com/news/uk-35358101 (BBC)]\n"
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def by_text(archive: Archive, fragment: str, *, removed: bool | None = None) -> list:
    found = [a for a in archive.events() if fragment in a.event.text]
    if removed is not None:
        found = [a for a in found if a.removed == removed]
    return found


def export_lines(archive: Archive) -> list[dict]:
    return [a.to_export() for a in archive.events()]


def test_ingest_real_days_and_export_contract(archive: Archive):
    report = archive.ingest_paths([WIKITEXT])
    assert report.errors == []
    assert report.revisions == len(list(WIKITEXT.glob("*.wiki"))) == 13
    lines = export_lines(archive)
    assert len(lines) == report.added > 200
    keys = {"id", "date", "category", "category_heading", "stories", "text", "links", "sources",
            "removed"}
    assert all(set(line) == keys for line in lines)
    assert [(x["date"]) for x in lines] == sorted(x["date"] for x in lines)
    sohr = [x for x in lines if x["text"].startswith("The Syrian Observatory for Human Rights "
                                                     "claims that scores")]
    assert len(sohr) == 1
    assert sohr[0]["date"] == "2016-01-19"
    assert sohr[0]["category"] == "Armed conflicts and attacks"
    assert sohr[0]["stories"] == ["Syrian Civil War"]
    assert sohr[0]["sources"][0]["name"] == "Jerusalem Post"
    assert len({x["id"] for x in lines}) == len(lines)


def test_ids_are_reproducible_in_a_fresh_archive(tmp_path: Path):
    ids = []
    for name in ("a", "b"):
        with Archive(Settings(db=tmp_path / f"{name}.sqlite3")) as archive:
            archive.ingest_paths([WIKITEXT / "2016-01-19.wiki"])
            ids.append([a.id for a in archive.events()])
    assert ids[0] == ids[1] and len(ids[0]) == 12


def test_same_ingest_twice_changes_nothing(archive: Archive):
    archive.ingest_paths([WIKITEXT])
    before = export_lines(archive)
    totals = archive.stats()["totals"]
    report = archive.ingest_paths([WIKITEXT])
    assert report.unchanged == 13 and report.revisions == 0 and report.added == 0
    assert export_lines(archive) == before
    assert archive.stats()["totals"] == totals


def test_reworded_event_keeps_id_and_records_versions(archive: Archive, tmp_path: Path):
    original = wikitext("2016-01-19")
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-19.wiki", original)])
    (before,) = by_text(archive, "confirms the death of militant Jihadi John")
    edited = original.replace(JIHADI, "says that militant [[Jihadi John]] died in a November "
                                      "airstrike in [[Raqqa]].")
    report = archive.ingest_paths([write(tmp_path / "r2", "2016-01-19.wiki", edited)])
    assert report.changed == 1 and report.added == 0 and report.removed == 0
    (after,) = by_text(archive, "died in a November airstrike in Raqqa")
    assert after.id == before.id
    versions = archive.versions(after.id)
    assert [v.text for v in versions] == [before.event.text, after.event.text]
    assert by_text(archive, "confirms the death of militant Jihadi John") == []


def test_added_source_and_story_move_keep_id(archive: Archive, tmp_path: Path):
    original = wikitext("2016-01-19")
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-19.wiki", original)])
    (before,) = by_text(archive, "Jihadi John")
    # Moved from "Syrian Civil War" to the Iraqi Civil War story, and a source added.
    moved = original.replace(JIHADI_LINE, "")
    moved = moved.replace(
        "*[[Iraqi Civil War (2014–2017)]]\n",
        "*[[Iraqi Civil War (2014–2017)]]\n" + JIHADI_LINE.rstrip("\n")
        + " [https://www.reuters.com/article/jihadi-john (Reuters)]\n",
    )
    assert moved != original
    report = archive.ingest_paths([write(tmp_path / "r2", "2016-01-19.wiki", moved)])
    assert report.added == 0 and report.removed == 0 and report.changed == 1
    (after,) = by_text(archive, "Jihadi John")
    assert after.id == before.id
    assert [s.text for s in after.event.stories] == ["Iraqi Civil War (2014–2017)"]
    assert [s.name for s in after.event.sources] == ["BBC", "Reuters"]


def test_vanished_event_is_marked_removed_and_can_return(archive: Archive, tmp_path: Path):
    original = wikitext("2016-01-19")
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-19.wiki", original)])
    (before,) = by_text(archive, "Jihadi John")
    report = archive.ingest_paths(
        [write(tmp_path / "r2", "2016-01-19.wiki", original.replace(JIHADI_LINE, ""))]
    )
    assert report.removed == 1
    (gone,) = by_text(archive, "Jihadi John")
    # A file has no revision time: when the portal dropped it is unknown, not the ingest time.
    assert gone.id == before.id and gone.removed and gone.removed_at is None
    assert len(list(archive.events())) == 12  # kept, never deleted
    exported = [x for x in export_lines(archive) if x["id"] == before.id]
    assert exported[0]["removed"] is True
    report = archive.ingest_paths(
        [write(tmp_path / "r3", "2016-01-19.wiki", original + "\n<!-- restored -->")]
    )
    (back,) = by_text(archive, "Jihadi John")
    assert back.id == before.id and not back.removed


def test_event_moved_to_another_day_keeps_id(archive: Archive, tmp_path: Path):
    """An editor moves an event to the previous day's page (one ingest run)."""
    day18, day19 = wikitext("2016-01-18"), wikitext("2016-01-19")
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-18.wiki", day18),
                          write(tmp_path / "r1", "2016-01-19.wiki", day19)])
    (before,) = by_text(archive, "Jihadi John")
    new18 = day18.replace(";Armed conflicts and attacks\n",
                          ";Armed conflicts and attacks\n*[[Syrian Civil War]]\n" + JIHADI_LINE, 1)
    assert new18 != day18
    report = archive.ingest_paths([write(tmp_path / "r2", "2016-01-18.wiki", new18),
                                   write(tmp_path / "r2", "2016-01-19.wiki",
                                         day19.replace(JIHADI_LINE, ""))])
    assert report.moved == 1
    (after,) = by_text(archive, "Jihadi John")
    assert after.id == before.id and after.event.date == date(2016, 1, 18)
    assert not after.removed


def test_move_across_runs_points_old_event_to_new(archive: Archive, tmp_path: Path):
    """The new day was ingested (and published) first: the old event points to it."""
    day18, day19 = wikitext("2016-01-18"), wikitext("2016-01-19")
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-18.wiki", day18),
                          write(tmp_path / "r1", "2016-01-19.wiki", day19)])
    new18 = day18.replace(";Armed conflicts and attacks\n",
                          ";Armed conflicts and attacks\n*[[Syrian Civil War]]\n" + JIHADI_LINE, 1)
    archive.ingest_paths([write(tmp_path / "r2", "2016-01-18.wiki", new18)])
    archive.ingest_paths([write(tmp_path / "r3", "2016-01-19.wiki",
                                day19.replace(JIHADI_LINE, ""))])
    old = by_text(archive, "Jihadi John", removed=True)
    new = by_text(archive, "Jihadi John", removed=False)
    assert len(old) == 1 and len(new) == 1
    assert old[0].moved_to == new[0].id


def test_older_revision_is_kept_but_not_applied(archive: Archive, tmp_path: Path):
    newer = wikitext("2016-01-19")
    older = newer.replace(JIHADI_LINE, "")
    export = tmp_path / "export.xml"
    export.write_text(export_xml({DAY: [(200, "2016-01-20T09:41:00Z", newer)]}), encoding="utf-8")
    archive.ingest_paths([export])
    export.write_text(export_xml({DAY: [(100, "2016-01-19T14:02:00Z", older)]}), encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.older == 1 and report.removed == 0
    assert not by_text(archive, "Jihadi John")[0].removed
    assert archive.stats()["totals"]["revisions"] == 2  # raw text of both kept


def test_versions_carry_revision_ids_and_times(archive: Archive, tmp_path: Path):
    first = wikitext("2016-01-19")
    second = first.replace(JIHADI, "announces that militant [[Jihadi John]] was killed in an "
                                   "airstrike in November.")
    export = tmp_path / "export.xml"
    export.write_text(export_xml({DAY: [(100, "2016-01-19T14:02:00Z", first),
                                        (101, "2016-01-20T09:41:00Z", second)]}), encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.revisions == 2 and report.changed == 1
    (event,) = by_text(archive, "Jihadi John")
    versions = archive.versions(event.id)
    assert [(v.revid, v.timestamp) for v in versions] == [
        (100, "2016-01-19T14:02:00Z"), (101, "2016-01-20T09:41:00Z")]
    assert "announces that" in versions[-1].text


def test_html_then_newer_wikitext_keeps_real_rewordings(archive: Archive):
    """The real parse-API HTML of 2026-03-06..09 is an earlier revision than the wikitext."""
    first = archive.ingest_paths(sorted(HTML_PARSE_API.glob("2026-03-0*.html")))
    second = archive.ingest_paths(sorted(WIKITEXT.glob("2026-03-0*.wiki")))
    assert first.added == 89
    assert second.changed >= 15 and second.added <= 6 and second.removed <= 4
    (solidarity,) = by_text(archive, "rally in solidarity with Iran")
    texts = [v.text for v in archive.versions(solidarity.id)]
    assert len(texts) == 2 and "rally in solitary with Iran" in texts[0]


def test_bad_inputs_are_named_and_the_rest_is_ingested(archive: Archive, tmp_path: Path):
    good = write(tmp_path / "in", "2016-01-19.wiki", wikitext("2016-01-19"))
    (tmp_path / "in" / "2016-01-18.wiki").write_bytes(b"\xff\xfe broken \x80 bytes")
    write(tmp_path / "in", "notes.wiki", "*no date in this name")
    write(tmp_path / "in", "2016-01-17.xml", "<mediawiki><page><title>Portal:Current")
    report = archive.ingest_paths([tmp_path / "in", tmp_path / "missing-folder"])
    joined = "\n".join(report.errors)
    assert "2016-01-18.wiki" in joined and "UTF-8" in joined
    assert "notes.wiki" in joined and "YYYY-MM-DD" in joined
    assert "2016-01-17.xml" in joined and "malformed XML" in joined
    assert "missing-folder" in joined
    assert report.revisions == 1 and len(list(archive.events())) == 12
    assert good.name in {Path(r.origin).name for r in archive.store.revisions(DAY)}
    assert len(archive.stats()["errors"]) == 4


def test_warnings_name_day_and_line(archive: Archive, tmp_path: Path):
    text = wikitext("2016-01-19").replace(
        ";Arts and culture\n", ";Arts and culture\nThis line is not a bullet.\n", 1)
    report = archive.ingest_paths([write(tmp_path, "2016-01-19.wiki", text)])
    lines = text.splitlines()
    (warning,) = report.warnings
    assert warning.date == DAY and lines[warning.line - 1] == "This line is not a bullet."
    assert len(list(archive.events())) == 12
    assert [str(w) for w in archive.warnings()] == [str(warning)]


def _synthetic_history(days: int, revisions: int) -> dict[date, list[tuple[int, str, str]]]:
    """Real day pages, each with a history of small edits, to make an ingest take a while."""
    pages = {}
    sources = sorted(WIKITEXT.glob("*.wiki"))
    revid = 1000
    for n in range(days):
        text = sources[n % len(sources)].read_text(encoding="utf-8")
        day = date(2010, 1, 1).fromordinal(date(2010, 1, 1).toordinal() + n)
        history = []
        for r in range(revisions):
            revid += 1
            history.append((revid, f"2010-01-01T00:{r // 60:02d}:{r % 60:02d}Z",
                            text + f"\n<!-- edit {r} -->\n*An added line number {r}. "
                                   f"[http://example.org/{r} (Example)]"))
        pages[day] = history
    return pages


def test_killed_ingest_leaves_a_consistent_archive_that_the_next_run_completes(tmp_path: Path):
    export = tmp_path / "history.xml"
    export.write_text(export_xml(_synthetic_history(days=40, revisions=12)), encoding="utf-8")
    command = [sys.executable, "-m", "newscontext", "--db", str(tmp_path / "killed.sqlite3"),
               "ingest", str(export)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    db = tmp_path / "killed.sqlite3"
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db, timeout=1) as conn:
                if conn.execute("SELECT COUNT(*) FROM revisions").fetchone()[0] >= 30:
                    break
        except sqlite3.Error:
            continue
    process.send_signal(signal.SIGKILL)
    process.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        done = conn.execute("SELECT COUNT(*) FROM revisions").fetchone()[0]
    assert 30 <= done < 480, "the kill should land mid-run"
    subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)
    clean = tmp_path / "clean.sqlite3"
    subprocess.run([*command[:4], str(clean), *command[5:]], env=env, check=True,
                   stderr=subprocess.DEVNULL)

    def dump(path: Path) -> list[str]:
        result = subprocess.run([sys.executable, "-m", "newscontext", "--db", str(path),
                                 "export", "events"], env=env, check=True, capture_output=True,
                                text=True)
        return result.stdout.splitlines()

    resumed, reference = dump(db), dump(clean)
    assert resumed == reference and len(reference) > 500


def test_an_undone_edit_is_applied_and_not_fetched_again(archive: Archive, tmp_path: Path):
    """T1 -> T2 (an event added) -> T1 again: the event leaves, the day shows T1."""
    first = wikitext("2016-01-19")
    added = first.replace(JIHADI_LINE, JIHADI_LINE + "**A vandal adds a line. "
                          "[http://example.org/x (Example)]\n")
    export = tmp_path / "export.xml"
    export.write_text(export_xml({DAY: [(100, "2016-01-19T14:02:00Z", first),
                                        (101, "2016-01-19T15:00:00Z", added),
                                        (102, "2016-01-19T15:05:00Z", first)]}),
                      encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.revisions == 3 and report.removed == 1
    assert by_text(archive, "A vandal adds a line")[0].removed
    assert archive.store.known_revids(DAY, DAY) == {DAY: 102}


def test_a_new_order_counts_as_a_change(archive: Archive, tmp_path: Path):
    """Two events swap places: no new wording, but both must be published again."""
    original = wikitext("2016-01-19")
    sohr = next(line + "\n" for line in original.splitlines()
                if line.startswith("**The [[Syrian Observatory"))
    assert sohr + JIHADI_LINE in original
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-19.wiki", original)])
    since = archive.store.meta_int("change_seq")
    reordered = original.replace(sohr + JIHADI_LINE, JIHADI_LINE + sohr)
    report = archive.ingest_paths([write(tmp_path / "r2", "2016-01-19.wiki", reordered)])
    assert report.changed == 0 and report.added == 0 and report.removed == 0
    changed = {archive.store.event(i).event.text[:30] for i in archive.store.changed_events(since)}
    assert changed == {"The Syrian Observatory for Hum", "ISIL confirms the death of mil"}


# -- revision times: the wiki's own, unknown when the input has none -----------------------

SOHR_TEXT = "claims that scores of [[Syrian Army]] troops"


def _times(db: Path) -> tuple[dict, dict]:
    """(event id -> (first_seen, removed_at), (event id, seq) -> version time) of an archive."""
    with sqlite3.connect(db) as conn:
        events = {row[0]: row[1:] for row in conn.execute(
            "SELECT id, first_seen, removed_at FROM events")}
        versions = {(row[0], row[1]): row[2] for row in conn.execute(
            "SELECT event_id, seq, timestamp FROM event_versions")}
    return events, versions


def test_a_file_gives_unknown_times_never_the_ingest_time(archive: Archive, tmp_path: Path,
                                                           monkeypatch):
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2026-02-01T10:00:00Z")
    original = wikitext("2016-01-19")
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-19.wiki", original)])
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2026-02-01T12:00:00Z")
    edited = original.replace(JIHADI_LINE, "").replace(SOHR_TEXT, "claims that dozens of "
                                                                  "[[Syrian Army]] troops")
    report = archive.ingest_paths([write(tmp_path / "r2", "2016-01-19.wiki", edited)])
    assert report.changed == 1 and report.removed == 1
    events = list(archive.events())
    assert len(events) == 12
    assert all(a.first_seen is None for a in events)
    assert [v.timestamp for a in events for v in archive.versions(a.id)] == [None] * 13
    (gone,) = by_text(archive, "Jihadi John")
    assert gone.removed and gone.removed_at is None
    stamps = {value for value in _times(archive.settings.db)[0].values() for value in value}
    assert stamps == {None}  # no ingest time anywhere


def test_an_export_gives_the_revisions_exact_times(archive: Archive, tmp_path: Path):
    first = wikitext("2016-01-19")
    second = first.replace(SOHR_TEXT, "claims that dozens of [[Syrian Army]] troops")
    third = second.replace(JIHADI_LINE, "")
    export = tmp_path / "export.xml"
    export.write_text(export_xml({DAY: [(100, "2016-01-19T14:02:00Z", first),
                                        (101, "2016-01-20T09:41:00Z", second),
                                        (102, "2016-01-21T07:00:00Z", third)]}),
                      encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.revisions == 3 and report.changed == 1 and report.removed == 1
    assert {a.first_seen for a in archive.events()} == {"2016-01-19T14:02:00Z"}
    (sohr,) = by_text(archive, "Syrian Observatory")
    assert [(v.revid, v.timestamp) for v in archive.versions(sohr.id)] == [
        (100, "2016-01-19T14:02:00Z"), (101, "2016-01-20T09:41:00Z")]
    (gone,) = by_text(archive, "Jihadi John")
    assert gone.removed_at == "2016-01-21T07:00:00Z"


def test_first_seen_is_the_earliest_time_known(archive: Archive, tmp_path: Path):
    """A file first (time unknown), then a timed rewording: the event was seen before that
    time, so when is unknown (not the rewording's time). The same text later from an export:
    the file's versions learn its time, and first-seen times follow."""
    original = wikitext("2016-01-19")
    archive.ingest_paths([write(tmp_path / "r1", "2016-01-19.wiki", original)])
    reworded = original.replace(SOHR_TEXT, "claims that dozens of [[Syrian Army]] troops")
    export = tmp_path / "export.xml"
    export.write_text(export_xml({DAY: [(300, "2016-01-20T09:41:00Z", reworded)]}),
                      encoding="utf-8")
    archive.ingest_paths([export])
    (sohr,) = by_text(archive, "Syrian Observatory")
    assert [v.timestamp for v in archive.versions(sohr.id)] == [None, "2016-01-20T09:41:00Z"]
    assert {a.first_seen for a in archive.events()} == {None}
    # The file's text turns out to be the wiki's revision 200 of the day before.
    since = archive.store.meta_int("change_seq")
    export.write_text(export_xml({DAY: [(200, "2016-01-19T14:02:00Z", original)]}),
                      encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.older == 0 and report.unchanged == 1  # known text, not newer: not applied
    (sohr,) = by_text(archive, "Syrian Observatory")
    assert [v.timestamp for v in archive.versions(sohr.id)] == [
        "2016-01-19T14:02:00Z", "2016-01-20T09:41:00Z"]
    assert {a.first_seen for a in archive.events()} == {"2016-01-19T14:02:00Z"}
    # Their pages show the times now: every event is published again.
    assert len(archive.store.changed_events(since)) == 12


def test_a_move_from_an_earlier_revision_makes_first_seen_earlier(archive: Archive,
                                                                   tmp_path: Path):
    """Day 19 read first (its revision of the 21st); then, in one run, day 18's revision of
    the 20th shows the event and day 19's drops it: one event, first seen on the 20th."""
    day18, day19 = wikitext("2016-01-18"), wikitext("2016-01-19")
    export = tmp_path / "export.xml"
    export.write_text(export_xml({DAY: [(300, "2016-01-21T10:00:00Z", day19)]}),
                      encoding="utf-8")
    archive.ingest_paths([export])
    (before,) = by_text(archive, "Jihadi John")
    assert before.first_seen == "2016-01-21T10:00:00Z"
    new18 = day18.replace(";Armed conflicts and attacks\n",
                          ";Armed conflicts and attacks\n*[[Syrian Civil War]]\n" + JIHADI_LINE, 1)
    export.write_text(export_xml({date(2016, 1, 18): [(250, "2016-01-20T08:00:00Z", new18)],
                                  DAY: [(301, "2016-01-21T12:00:00Z",
                                         day19.replace(JIHADI_LINE, ""))]}), encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.moved == 1
    (after,) = by_text(archive, "Jihadi John")
    assert after.id == before.id and after.event.date == date(2016, 1, 18)
    assert after.first_seen == "2016-01-20T08:00:00Z"
    assert [v.timestamp for v in archive.versions(after.id)] == [
        "2016-01-21T10:00:00Z", "2016-01-20T08:00:00Z"]


OLD_SCHEMA = 6  # the schema whose versions and events had to have a time (NOT NULL)


def _as_old_newscontext_left_it(new: Path, old: Path, removed_at: str) -> None:
    """Write the archive `new` into a store of the old schema as the old ingest kept it:
    every time an input did not give is the time the archive read the input (a version's
    and its event's first-seen: its revision's ingest; a removal: `removed_at`)."""
    conn = sqlite3.connect(old, isolation_level=None)
    for script in MIGRATIONS[:OLD_SCHEMA]:
        for statement in _statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {OLD_SCHEMA}")
    conn.execute("ATTACH ? AS new", (str(new),))
    conn.execute("BEGIN")
    conn.execute("DELETE FROM main.meta")
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM new.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT IN ('events', 'event_versions') "
        "AND name IN (SELECT name FROM main.sqlite_master)")]  # the old schema's tables
    for table in tables:  # the old schema's columns (later ones added some)
        names = ", ".join(row[1] for row in conn.execute(f"PRAGMA main.table_info({table})"))
        conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM new.{table}")
    conn.execute(
        "INSERT INTO main.event_versions SELECT v.event_id, v.seq, v.revision_id, v.revid, "
        "CASE WHEN r.origin LIKE '%.wiki' THEN r.ingested_at ELSE v.timestamp END, v.date, "
        "v.category, v.stories, v.text, v.links, v.sources "
        "FROM new.event_versions v JOIN new.revisions r ON r.id = v.revision_id")
    conn.execute(
        "INSERT INTO main.events SELECT e.id, e.date, e.position, e.category, e.stories, "
        "e.text, e.links, e.sources, e.removed, CASE WHEN e.removed THEN ? END, e.moved_to, "
        "(SELECT v.timestamp FROM main.event_versions v WHERE v.event_id = e.id AND v.seq = 1), "
        "e.revision_id, e.change_seq FROM new.events e", (removed_at,))
    conn.execute("COMMIT")
    conn.execute("DETACH new")
    conn.close()


def test_an_archive_made_before_kept_entity_counts_has_them_counted(tmp_path: Path):
    """Schema 12 keeps how many events each entity is in (the search's frequent subjects):
    an archive made before has them counted once, as counting every context says."""
    db = tmp_path / "old.sqlite3"
    with Archive(Settings(db=db)) as archive:
        archive.ingest_paths([WIKITEXT / "2016-01-18.wiki", WIKITEXT / "2016-01-19.wiki"])
        archive.resolve()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TABLE entity_counts")  # as schema 11 had it
    conn.execute("PRAGMA user_version = 11")
    conn.close()
    with Archive(Settings(db=db)) as archive:
        counted = dict(archive.store.conn.execute(
            "SELECT entity, COUNT(DISTINCT event_id) FROM event_entities GROUP BY entity"))
        assert len(counted) > 50 and archive.store.entity_event_counts() == counted
        assert archive.store.frequent_entities(3) == sorted(
            counted, key=lambda t: (-counted[t], t))[:3]


def test_an_old_archive_is_migrated_to_unknown_times(tmp_path: Path, monkeypatch):
    """An archive made before unknown times: files read at 10:00 and 12:00 (the second drops
    an event), then an export that rewords an event on one day and gives the other day's file
    its revision time. Opened now, it holds what this newscontext makes of the same inputs."""
    new, old = tmp_path / "new.sqlite3", tmp_path / "old.sqlite3"
    day18, day19 = wikitext("2016-01-18"), wikitext("2016-01-19")
    with Archive(Settings(db=new)) as archive:
        monkeypatch.setenv("NEWSCONTEXT_NOW", "2026-02-01T10:00:00Z")
        archive.ingest_paths([write(tmp_path / "r1", "2016-01-18.wiki", day18),
                              write(tmp_path / "r1", "2016-01-19.wiki", day19)])
        monkeypatch.setenv("NEWSCONTEXT_NOW", "2026-02-01T12:00:00Z")
        dropped = day19.replace(JIHADI_LINE, "")
        archive.ingest_paths([write(tmp_path / "r2", "2016-01-19.wiki", dropped)])
        monkeypatch.setenv("NEWSCONTEXT_NOW", "2026-02-01T14:00:00Z")
        export = tmp_path / "export.xml"
        export.write_text(export_xml({
            date(2016, 1, 18): [(200, "2016-01-19T08:00:00Z", day18)],
            DAY: [(300, "2016-01-20T09:41:00Z", dropped.replace(
                SOHR_TEXT, "claims that dozens of [[Syrian Army]] troops"))]}),
            encoding="utf-8")
        report = archive.ingest_paths([export])
        assert report.changed == 1 and report.errors == []
    _as_old_newscontext_left_it(new, old, removed_at="2026-02-01T12:00:00Z")
    events, versions = _times(old)
    assert None not in {t for pair in events.values() for t in pair[:1]} | set(versions.values())

    with Archive(Settings(db=old)) as archive:
        change_seq = archive.store.meta_int("change_seq")
        conn = archive.store.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'events' AND type = 'index' "
            "AND name NOT LIKE 'sqlite_%'")} == {"events_by_date", "events_by_change"}
        # every event is published again: its page shows these times
        assert set(archive.store.changed_events(change_seq - 1)) == set(events)
        (sohr,) = by_text(archive, "Syrian Observatory")
        (gone,) = by_text(archive, "Jihadi John")
    assert _times(old) == _times(new)
    migrated, stamps = _times(old)
    assert migrated[sohr.id] == (None, None)  # seen first in a file, then reworded on the 20th
    assert [stamps[(sohr.id, n)] for n in (1, 2)] == [None, "2016-01-20T09:41:00Z"]
    assert migrated[gone.id] == (None, None)  # read from files only; dropped by a file
    assert sum(1 for first, _ in migrated.values() if first == "2016-01-19T08:00:00Z") > 5
    assert not {t for pair in migrated.values() for t in pair} & {
        "2026-02-01T10:00:00Z", "2026-02-01T12:00:00Z", "2026-02-01T14:00:00Z"}
