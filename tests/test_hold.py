"""Suspect revisions (blankings, truncations) are held, and only a revision that stays the
day's newest for the settle time is applied: vandalism never reaches the archive's events."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import export_xml, wikitext
from test_ingest import DAY, write

from newscontext import Archive, Settings

DAY_NAME = "2016-01-19"


def live(archive: Archive, day: date = DAY) -> int:
    return sum(1 for a in archive.day(day) if not a.removed)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """Sets the archive's clock (NEWSCONTEXT_NOW)."""
    def at(moment: str) -> None:
        monkeypatch.setenv("NEWSCONTEXT_NOW", moment)
    return at


def test_a_truncated_file_is_held_and_the_intact_file_supersedes_it(archive: Archive,
                                                                   tmp_path: Path):
    """Regression: the first 3,000 bytes of a real day marked every other event removed,
    and the intact file again reported "unchanged" without bringing them back."""
    name = "2026-03-06"
    text = wikitext(name)
    archive.ingest_paths([write(tmp_path / "a", f"{name}.wiki", text)])
    day = date.fromisoformat(name)
    before = live(archive, day)
    assert before >= 20
    cut = archive.ingest_paths([write(tmp_path / "b", f"{name}.wiki", text[:3000])])
    assert cut.removed == 0 and live(archive, day) == before
    assert len(cut.held) == 1 and "would remove" in cut.held[0] and name in cut.held[0]
    assert archive.stats()["held"] == cut.held
    intact = archive.ingest_paths([write(tmp_path / "c", f"{name}.wiki", text)])
    assert intact.superseded == 1 and intact.held == [] and intact.removed == 0
    assert live(archive, day) == before and archive.stats()["held"] == []


def test_a_blanking_reverted_minutes_later_is_never_applied(archive: Archive, tmp_path: Path):
    text = wikitext(DAY_NAME)
    export = tmp_path / "export.xml"
    export.write_text(export_xml({DAY: [(100, "2016-01-19T14:00:00Z", text),
                                        (101, "2016-01-19T15:00:00Z", ""),
                                        (102, "2016-01-19T15:05:00Z", text)]}),
                      encoding="utf-8")
    report = archive.ingest_paths([export])
    assert report.removed == 0 and report.superseded == 1 and report.held == []
    assert live(archive) >= 10
    assert all(len(archive.versions(a.id)) == 1 for a in archive.day(DAY))
    assert archive.store.known_revids(DAY, DAY) == {DAY: 102}  # not fetched again


def test_a_blanking_alone_is_held_until_the_settle_time(archive: Archive, tmp_path: Path,
                                                        clock):
    text = wikitext(DAY_NAME)
    first = tmp_path / "first.xml"
    first.write_text(export_xml({DAY: [(100, "2016-01-19T14:00:00Z", text)]}), encoding="utf-8")
    blank = tmp_path / "blank.xml"
    blank.write_text(export_xml({DAY: [(101, "2016-01-20T08:00:00Z", "<!-- nothing -->")]}),
                     encoding="utf-8")
    clock("2016-01-20T09:00:00Z")
    archive.ingest_paths([first])
    before = live(archive)
    held = archive.ingest_paths([blank])
    assert held.held and "no events" in held.held[0] and live(archive) == before
    assert archive.store.known_revids(DAY, DAY) == {DAY: 101}  # the wiki's newest, seen
    clock("2016-01-21T07:59:00Z")  # 23 h 59 min after the revision: still held
    assert archive.ingest_paths([]).released == 0 and live(archive) == before
    clock("2016-01-21T08:00:00Z")
    settled = archive.ingest_paths([])
    assert settled.released == 1 and settled.removed == before and live(archive) == 0
    restored = tmp_path / "restored.xml"
    restored.write_text(export_xml({DAY: [(102, "2016-01-21T09:00:00Z", text)]}),
                        encoding="utf-8")
    assert archive.ingest_paths([restored]).revisions == 1 and live(archive) == before


def test_hold_hours_is_a_setting(tmp_path: Path, clock):
    text = wikitext(DAY_NAME)
    with Archive(Settings(db=tmp_path / "a.sqlite3", hold_hours=0)) as archive:
        archive.ingest_paths([write(tmp_path / "a", f"{DAY_NAME}.wiki", text)])
        report = archive.ingest_paths([write(tmp_path / "b", f"{DAY_NAME}.wiki", "blanked")])
        assert report.released == 1 and report.held == [] and report.removed > 10


def test_ordinary_edits_are_not_held(archive: Archive, tmp_path: Path):
    text = wikitext(DAY_NAME)
    lines = text.split("\n")
    leaves = [i for i, line in enumerate(lines) if line.startswith("**") and "[http" in line]
    for i in leaves[:2]:  # two events removed of a dozen: an edit, not vandalism
        lines[i] = ""
    archive.ingest_paths([write(tmp_path / "a", f"{DAY_NAME}.wiki", text)])
    report = archive.ingest_paths([write(tmp_path / "b", f"{DAY_NAME}.wiki", "\n".join(lines))])
    assert report.held == [] and report.removed == 2


def test_a_file_based_revert_is_applied(archive: Archive, tmp_path: Path):
    """Content that differs from the applied revision is applied, even when it was seen
    before: files carry no revision ids, so the later input is the newer one."""
    text = wikitext(DAY_NAME)
    edited = text.replace("[[Jihadi John]]", "[[Jihadi John]] (Mohammed Emwazi)")
    assert edited != text
    original = write(tmp_path / "a", f"{DAY_NAME}.wiki", text)
    archive.ingest_paths([original])
    assert archive.ingest_paths([write(tmp_path / "b", f"{DAY_NAME}.wiki", edited)]).changed == 1
    back = archive.ingest_paths([original])
    assert back.changed == 1 and back.unchanged == 0
    assert not [a for a in archive.day(DAY) if "Emwazi" in a.event.text]
    assert archive.ingest_paths([original]).unchanged == 1  # now it is the applied text
