"""The static build is incremental, atomic and never loses a page a reader may have linked."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, REWORDED, SOHR_LINE, WIKITEXT, wikitext
from processes import alive, children

from newscontext import Archive, Settings
from newscontext.site import redirects, urls
from newscontext.site.build import STATE_DIR

JIHADI_LINE = ("**[[Islamic State of Iraq and the Levant|ISIL]] confirms the death of militant "
               "[[Jihadi John]] in an airstrike in November. "
               "[https://www.bbc.com/news/uk-35358101 (BBC)]\n")


def files(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in site.rglob("*") if p.is_file() and ".newscontext" not in p.parts
            and "pagefind" not in p.parts}


def make_archive(tmp_path: Path, days: list[Path]) -> Archive:
    archive = Archive(Settings(db=tmp_path / "archive.sqlite3", workers=1))
    archive.ingest_paths(days)
    archive.resolve()
    archive.relate()
    return archive


def test_incremental_build_after_a_rewording(tmp_path: Path):
    day = wikitext("2016-01-19")
    assert SOHR_LINE in day
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-16.wiki", WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    first = archive.build(site, search=False)
    assert first.full and first.written > 200
    before = files(site)
    again = archive.build(site, search=False)
    assert again.written == 0 and not again.full
    assert files(site) == before

    revised = tmp_path / "r2" / "2016-01-19.wiki"
    revised.parent.mkdir()
    revised.write_text(day.replace(SOHR_LINE, REWORDED), encoding="utf-8")
    archive.ingest_paths([revised])
    archive.relate()
    started = time.perf_counter()
    report = archive.build(site, search=False)
    assert time.perf_counter() - started < 10
    after = files(site)
    assert set(before) <= set(after), "nothing a reader linked to is removed"
    assert report.pages < first.pages / 3  # only what the change reaches
    old = "news/2016/01/19/the-syrian-observatory-for-human-rights-claims-that-scores-of-syrian-" \
          "army-troops-have-been-killed-in-fighting-with-the-islamic-state-of-iraq.html"
    new = [name for name in after if name.startswith(
        "news/2016/01/19/the-syrian-observatory-for-human-rights-says-dozens") and
        name.endswith(".html")]
    assert len(new) == 1
    assert 'http-equiv="refresh"' in (site / old).read_text(encoding="utf-8")
    assert new[0].rsplit("/", 1)[1] in (site / old).read_text(encoding="utf-8")
    # The event no longer links Deir ez-Zor: that entity's page drops it, incrementally.
    deir = (site / "entities/deir-ez-zor.md").read_text(encoding="utf-8")
    assert "says dozens of Syrian Army" not in deir and "claims that scores" not in deir
    page = (site / new[0].replace(".html", ".md")).read_text(encoding="utf-8")
    assert "### Changes" in page and "claims that scores" in page
    day_page = (site / "news/2016/01/19/index.md").read_text(encoding="utf-8")
    assert "says dozens of Syrian Army" in day_page and "claims that scores" not in day_page
    # A full build from scratch gives the same site as the incremental one (but for the
    # sitemap's lastmod: the time each file was last written).
    clean = tmp_path / "clean"
    archive.build(clean, search=False)
    sitemap = {"sitemap.xml"}
    assert {k: v for k, v in files(clean).items() if k not in sitemap} == \
        {k: v for k, v in after.items() if k not in sitemap}
    assert new[0] in (site / "sitemap.xml").read_text(encoding="utf-8")
    archive.close()


def test_a_redirect_map_that_cannot_be_kept_does_not_stop_the_build(tmp_path: Path, caplog):
    """The kept map is a convenience: where it cannot be written (here a folder stands at
    its path; a full disk alike), the build makes its `_redirects` and says so in one line."""
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    (site / ".newscontext" / "redirect-map.json").mkdir(parents=True)
    with caplog.at_level("WARNING", logger="newscontext.build"):
        report = archive.build(site, search=False)
    assert report.extras["redirects"] >= 0 and (site / "_redirects").is_file()
    assert any("cannot keep the redirect map" in r.getMessage() for r in caplog.records)
    assert not (site / ".newscontext" / "redirect-map.json.new").exists()
    archive.close()


def test_a_build_makes_the_redirect_map_once(tmp_path: Path, monkeypatch):
    """`_redirects` and the sitemap both need the redirect map, which reads every event's
    story headings (at archive scale, a second): a build, full or not, makes it once and
    both use it; a build after which nothing changed reads the one kept by the build
    before."""
    made: list[dict[str, str]] = []
    real = redirects.redirect_map

    def counted(*args, **kwargs) -> dict[str, str]:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(redirects, "redirect_map", counted)
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-16.wiki", WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    first = archive.build(site, search=False)
    assert first.full and len(made) == 1
    assert "sitemap" in first.extras and "redirects" in first.extras
    kept = (site / "_redirects").read_bytes()
    made.clear()
    quiet = archive.build(site, search=False)
    assert made == [] and quiet.extras == first.extras  # the kept map, the same counts
    assert (site / "_redirects").read_bytes() == kept
    revised = tmp_path / "r2" / "2016-01-19.wiki"
    revised.parent.mkdir()
    revised.write_text(wikitext("2016-01-19").replace(SOHR_LINE, REWORDED), encoding="utf-8")
    archive.ingest_paths([revised])
    made.clear()
    again = archive.build(site, search=False)
    assert not again.full and len(made) == 1
    old = [path for path in made[0] if path.endswith(".html") and "claims-that-scores" in path]
    assert len(old) == 1  # the reworded event's old path: listed once, in `_redirects` only
    assert f"{old[0]} {made[0][old[0]]} 301" in (site / "_redirects").read_text()
    assert old[0] not in (site / "sitemap.xml").read_text()
    assert made[0][old[0]] in (site / "sitemap.xml").read_text()
    archive.close()


def test_killed_build_is_completed_by_the_next(tmp_path: Path):
    archive = make_archive(tmp_path, [WIKITEXT])
    archive.close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), NEWSCONTEXT_WORKERS="1")
    command = [sys.executable, "-m", "newscontext", "--db", str(tmp_path / "archive.sqlite3"),
               "build", "--no-search"]
    site = tmp_path / "killed"
    process = subprocess.Popen([*command, str(site)], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (site / "news").exists() and sum(1 for _ in site.rglob("*.html")) > 300:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = files(site)
    assert partial, "the build had started writing"
    subprocess.run([*command, str(site)], env=env, check=True, stderr=subprocess.DEVNULL)
    clean = tmp_path / "clean"
    subprocess.run([*command, str(clean)], env=env, check=True, stderr=subprocess.DEVNULL)
    completed = {k: v for k, v in files(site).items() if not Path(k).name.startswith(".")
                 and k != "sitemap.xml"}
    assert completed == {k: v for k, v in files(clean).items() if k != "sitemap.xml"}


def test_a_second_build_into_the_same_folder_is_refused_while_one_runs(tmp_path: Path):
    import fcntl

    import pytest

    from newscontext.site.build import STATE_DIR, BuildBusy

    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    (site / STATE_DIR).mkdir(parents=True)
    with (site / STATE_DIR / "lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running build holds it
        with pytest.raises(BuildBusy, match="another build"):
            archive.build(site, search=False)
    assert archive.build(site, search=False).written > 0  # free again
    archive.close()


def test_split_gives_each_process_a_run_of_the_plan():
    from newscontext.site.build import split

    jobs = [("event", str(n)) for n in range(1001)]
    for count in (1, 2, 3):
        shares = split(jobs, count)
        assert [job for share in shares for job in share] == jobs
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_two_processes_build_the_same_site_as_one(tmp_path: Path):
    from newscontext.site.build import PARALLEL_FROM

    archive = make_archive(tmp_path, [HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
    one = archive.build(tmp_path / "one", search=False)
    archive.settings.workers = 2
    two = archive.build(tmp_path / "two", search=False)
    assert one.pages + one.feeds >= PARALLEL_FROM  # the build did share its pages
    assert (two.pages, two.feeds, two.written) == (one.pages, one.feeds, one.written)
    sitemap = {"sitemap.xml"}  # lastmod: when each build wrote the file
    assert {k: v for k, v in files(tmp_path / "one").items() if k not in sitemap} == \
        {k: v for k, v in files(tmp_path / "two").items() if k not in sitemap}
    archive.close()


# -- kill -9 at any point of a build, then the next build finishes the job ----------------

LASTMOD = re.compile(rb"<lastmod>[^<]*</lastmod>")


def site_files(site: Path) -> dict[str, bytes]:
    """Every file of a built site but the build's own state, the sitemap's `lastmod` (when a
    file was last written) blanked; leftovers such as temporary files included."""
    found = {}
    for path in site.rglob("*"):
        name = str(path.relative_to(site))
        if path.is_file() and STATE_DIR not in path.parts:
            content = path.read_bytes()
            found[name] = LASTMOD.sub(b"", content) if path.name.startswith("sitemap") \
                else content
    return found


def _build_until(db: Path, site: Path, kill_at: int | str) -> None:
    """In a forked process: build, and SIGKILL itself before the `kill_at`-th file is
    moved into place (its temporary file written), or before the build state is saved."""
    from newscontext.site import build as site_build

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if kill_at == "state":
        site_build.Manifest.save_state = lambda self, values: die()
    else:
        renamed = os.rename
        count = iter(range(int(kill_at) + 1))

        def rename(source, target):
            if next(count) == kill_at:
                die()
            renamed(source, target)

        os.rename = rename
    archive = Archive(Settings(db=db, workers=1))
    archive.build(site, search=False)  # never returns


def kill_points(written: int) -> list[int | str]:
    return [0, 1, written // 4, written // 2, 3 * written // 4, written - 1, "state"]


def assert_killed_builds_complete(tmp_path: Path, db: Path, site: Path | None,
                                  clean: dict[str, bytes], written: int) -> None:
    """For each kill point: a copy of the archive (and of the site, if built), a build
    killed there, then a build that must leave the site a clean build makes."""
    fork = multiprocessing.get_context("fork")
    for n, point in enumerate(kill_points(written)):
        work = tmp_path / f"kill-{n}"
        work.mkdir()
        shutil.copy(db, work / db.name)
        if site is not None:
            shutil.copytree(site, work / "site")
        child = fork.Process(target=_build_until, args=(work / db.name, work / "site", point))
        child.start()
        child.join(60)
        assert child.exitcode == -signal.SIGKILL, f"the build died at {point}"
        with Archive(Settings(db=work / db.name, workers=1)) as archive:
            report = archive.build(work / "site", search=False)
        assert report.failed == []
        done = site_files(work / "site")
        assert set(done) ^ set(clean) == set(), f"killed at {point}: files differ"
        assert [k for k in clean if done[k] != clean[k]] == [], f"killed at {point}"


@pytest.fixture(scope="module")
def two_days_made(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("two-days")
    make_archive(folder, [WIKITEXT / "2016-01-16.wiki", WIKITEXT / "2016-01-19.wiki"]).close()
    return folder / "archive.sqlite3"


@pytest.fixture
def two_days(two_days_made: Path, tmp_path: Path) -> Path:
    """A copy of an archive of two real days, related (a small site: ~900 files)."""
    db = tmp_path / "two-days.sqlite3"
    shutil.copy(two_days_made, db)
    return db


@pytest.mark.slow
def test_a_first_build_killed_anywhere_is_completed_by_the_next(tmp_path: Path, two_days: Path):
    shutil.copy(two_days, tmp_path / "reference.sqlite3")  # as the killed builds find it
    with Archive(Settings(db=tmp_path / "reference.sqlite3", workers=1)) as archive:
        clean = archive.build(tmp_path / "clean", search=False)
    assert clean.written > 200
    assert_killed_builds_complete(tmp_path, two_days, None, site_files(tmp_path / "clean"),
                                  clean.written)


@pytest.mark.slow
def test_an_incremental_build_killed_anywhere_is_completed_by_the_next(tmp_path: Path,
                                                                        two_days: Path):
    """Built, then a new revision of a day (an event reworded, one removed, one added) is
    ingested and related: its build is killed at every kind of point."""
    db = two_days
    with Archive(Settings(db=db, workers=1)) as archive:
        archive.build(tmp_path / "site", search=False)
        day = wikitext("2016-01-19")
        revised = day.replace(SOHR_LINE, REWORDED).replace(
            JIHADI_LINE, "**A new event in [[Raqqa]]. [http://example.org/raqqa (Example)]\n")
        assert revised.count("\n") == day.count("\n")
        revision = tmp_path / "r2" / "2016-01-19.wiki"
        revision.parent.mkdir()
        revision.write_text(revised, encoding="utf-8")
        report = archive.ingest_paths([revision])
        assert (report.changed, report.removed, report.added) == (1, 1, 1)
        archive.relate()
    shutil.copytree(tmp_path / "site", tmp_path / "incremental")
    shutil.copy(db, tmp_path / "incremental.sqlite3")
    with Archive(Settings(db=tmp_path / "incremental.sqlite3", workers=1)) as archive:
        incremental = archive.build(tmp_path / "incremental", search=False)
        archive.build(tmp_path / "clean", search=False)
    clean = site_files(tmp_path / "clean")
    assert not incremental.full and 20 < incremental.written < 200
    assert site_files(tmp_path / "incremental") == clean  # not killed: what a clean build makes
    assert_killed_builds_complete(tmp_path, db, tmp_path / "site", clean, incremental.written)


@pytest.mark.slow
def test_a_parallel_build_killed_leaves_no_process_and_no_lock(tmp_path: Path):
    """`build` with two processes: one of them killed (SIGKILL), the build ends with a
    one-line error; the build itself killed, its processes die with it. Either way nobody
    holds the folder's lock after, and the next build completes the site."""
    import fcntl

    archive = make_archive(tmp_path, [HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
    archive.build(tmp_path / "clean", search=False)  # one process: the same site (tested)
    archive.close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), NEWSCONTEXT_WORKERS="2")
    command = [sys.executable, "-m", "newscontext", "--db", str(tmp_path / "archive.sqlite3"),
               "build", "--no-search", str(tmp_path / "site")]
    news = tmp_path / "site" / "news"
    for victim in ("a build process", "the build"):
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        workers: list[int] = []
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None:
                workers = children(process.pid)
                written = sum(1 for _ in news.rglob("*.html")) if news.exists() else 0
                if len(workers) == 2 and written > 50:
                    break
                time.sleep(0.05)
            assert len(workers) == 2 and process.poll() is None, "killed while both write"
            os.kill(workers[0] if victim == "a build process" else process.pid, signal.SIGKILL)
            stderr = process.communicate(timeout=60)[1]
            if victim == "a build process":
                assert process.returncode == 1
                assert stderr.splitlines() == ["error: a build process died before its pages "
                                               "were made; the next build completes this one"]
            deadline = time.monotonic() + 5
            while any(map(alive, workers)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not any(map(alive, workers)), f"{victim} killed: the others died"
            with (tmp_path / "site" / STATE_DIR / "lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds it
        finally:
            for pid in filter(alive, workers):  # without the fix: they would wait forever
                os.kill(pid, signal.SIGKILL)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "full build" in done.stderr  # the killed builds had saved no state
    assert site_files(tmp_path / "site") == site_files(tmp_path / "clean")


def test_a_removed_event_loses_its_related_list_when_relate_runs_after_a_build(
        tmp_path: Path, two_days: Path):
    """ingest (an event removed), build, relate, build: relate empties the removed event's
    list, and that change reaches its page as any other does."""
    site = tmp_path / "site"
    with Archive(Settings(db=two_days, workers=1)) as archive:
        archive.build(site, search=False)
        (jihadi,) = [a for a in archive.events() if "Jihadi John" in a.event.text]
        assert archive.related(jihadi.id)
        page = site / next(p for p in files(site) if p.startswith("news/2016/01/19/isil-confirms")
                           and p.endswith(".md"))
        assert "### Related" in page.read_text(encoding="utf-8")
        revision = tmp_path / "r2" / "2016-01-19.wiki"
        revision.parent.mkdir()
        revision.write_text(wikitext("2016-01-19").replace(JIHADI_LINE, ""), encoding="utf-8")
        assert archive.ingest_paths([revision]).removed == 1
        archive.build(site, search=False)
        assert archive.relate().changed > 0
        assert archive.related(jihadi.id) == []
        report = archive.build(site, search=False)
        assert report.pages > 0 and report.failed == []
        text = page.read_text(encoding="utf-8")
        assert "Removed from the portal" in text and "### Related" not in text
        assert "Related" not in page.with_suffix(".html").read_text(encoding="utf-8")
        assert archive.build(tmp_path / "clean", search=False).full
    assert site_files(site) == site_files(tmp_path / "clean")


# -- nothing a page holds stops a build ----------------------------------------------------

def run_build(db: Path, site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), NEWSCONTEXT_WORKERS="1")
    return subprocess.run([sys.executable, "-m", "newscontext", "--db", str(db), "build",
                           "--no-search", str(site)], env=env, capture_output=True, text=True,
                          timeout=300)


def test_characters_xml_forbids_in_the_archive_do_not_stop_the_build(tmp_path: Path,
                                                                      two_days: Path):
    """An archive made before ingest removed them holds control characters, U+FFFE and
    U+FFFF (put here with SQL) in a sentence, a story heading and a source's name: the
    build makes every page and feed, and every XML and JSON file parses."""
    from lxml import etree

    db = two_days
    with sqlite3.connect(db) as conn:
        (event_id,) = conn.execute("SELECT id FROM events WHERE text LIKE 'ISIL confirms%'"
                                   ).fetchone()
        conn.execute(
            "UPDATE events SET text = replace(text, 'militant', 'mili' || char(7) || 'tant' "
            "|| char(27) || char(65534) || char(65535)), "
            "stories = replace(stories, 'Syrian Civil War', 'Syrian\\u0001 Civil War'), "
            "sources = replace(sources, '\"BBC\"', '\"B\\u0008BC\"'), "
            "change_seq = (SELECT value + 1 FROM meta WHERE key = 'change_seq') WHERE id = ?",
            (event_id,))
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'change_seq'")
        assert "\x07" in conn.execute("SELECT text FROM events WHERE id = ?",
                                      (event_id,)).fetchone()[0]
    done = run_build(db, tmp_path / "site")
    assert done.returncode == 0 and "error" not in done.stderr, done.stderr
    built = site_files(tmp_path / "site")
    for name, content in built.items():
        if name.endswith((".xml", ".atom")):
            etree.fromstring(content)  # raises on a character XML forbids
        elif name.endswith(".json"):
            json.loads(content)
    feeds = [content for name, content in built.items() if "/feed." in name]
    # The event is in the site's feeds (and its subjects' with a page); its story heading,
    # another title now, is a subject of one event (no page, no feed), and the heading
    # without the character keeps its subject's page: RSS and Atom.
    assert sum(b"confirms the death of militant Jihadi John" in feed for feed in feeds) >= 2
    assert sum(b"<title>Syrian Civil War \xc2\xb7 newscontext</title>" in feed
               for feed in feeds) == 2


def test_a_page_that_cannot_be_made_is_reported_skipped_and_tried_again(tmp_path: Path,
                                                                         two_days: Path):
    """One event's related list is broken in the archive (with SQL): its page cannot be
    made. The build names it on one line, makes every other page, exits with status 2;
    the next build tries it again, and once the list is mended, makes it."""
    db = two_days
    shutil.copy(db, tmp_path / "reference.sqlite3")
    with Archive(Settings(db=tmp_path / "reference.sqlite3", workers=1)) as archive:
        archive.build(tmp_path / "clean", search=False)
    clean = site_files(tmp_path / "clean")
    with sqlite3.connect(db) as conn:
        (event_id,) = conn.execute("SELECT id FROM events WHERE text LIKE 'ISIL confirms%'"
                                   ).fetchone()
        conn.execute("UPDATE related SET items = '[{\"id\": ' WHERE event_id = ?", (event_id,))
    page = next(n for n in clean if n.startswith("news/2016/01/19/isil-confirms"))
    page = page.rsplit(".", 1)[0]
    for attempt in ("first", "again"):
        done = run_build(db, tmp_path / "site")
        assert done.returncode == 2, done.stderr
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        assert len(errors) == 1, done.stderr
        assert f"/{page} (event '{event_id}')" in errors[0], attempt
        assert "JSONDecodeError" in errors[0]
        assert "1 of the pages could not be made" in done.stderr
        built = site_files(tmp_path / "site")
        if attempt == "first":  # every other page is made
            assert set(clean) - set(built) == {f"{page}.{fmt}" for fmt in urls.FORMATS}
            assert all(built[name] == clean[name] for name in built
                       if not name.startswith("sitemap"))  # which lists the pages made
    with Archive(Settings(db=db, workers=1)) as archive:
        assert archive.relate(full=True).changed == 1  # mends the list (edited by hand:
        # no change a `relate` after changes looks for, so the operator asks for a full one)
    done = run_build(db, tmp_path / "site")
    assert done.returncode == 0 and "error" not in done.stderr, done.stderr
    assert site_files(tmp_path / "site") == clean


def test_a_subject_down_to_one_event_loses_its_page_and_its_mentions_link_to_wikipedia(
        tmp_path: Path):
    """Pakistan is linked in two events of the day: it has a page. A rewording drops one
    link: one event left, so its pages and feeds are deleted (the manifest records them
    gone, for a publish), the other event's page and every listing of it now link to
    Wikipedia, and the incremental site is what a full build of the same archive makes.
    The link back: the page comes back, and the mentions link to it again."""
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    archive.build(site, search=False)
    slug = archive.store.entity_slugs(["Pakistan"])["Pakistan"]
    own = [name for name in files(site) if name.startswith(f"entities/{slug}")]
    assert {f"entities/{slug}.html", f"entities/{slug}/feed.xml"} <= set(own)
    ban = next(n for n in files(site) if n.startswith("news/2016/01/19/pakistan-lifts")
               and n.endswith(".html"))
    assert f'href="/entities/{slug}.html"' in (site / ban).read_text()

    day = wikitext("2016-01-19")
    line = "near [[Peshawar]], [[Pakistan]]."
    assert line in day
    revised = tmp_path / "r2" / "2016-01-19.wiki"
    revised.parent.mkdir()
    for text, gone in ((day.replace(line, "near [[Peshawar]], Pakistan."), True), (day, False)):
        revised.write_text(text, encoding="utf-8")
        assert archive.ingest_paths([revised]).changed == 1
        archive.resolve()
        archive.relate()
        report = archive.build(site, search=False)
        assert report.deleted == (len(own) if gone else 0)
        left = [name for name in files(site) if name.startswith(f"entities/{slug}")]
        assert left == ([] if gone else left) and (gone or set(left) == set(own))
        assert not gone or not (site / "entities" / slug).exists(), "its folder goes too"
        page = (site / ban).read_text()
        assert (f'href="/entities/{slug}.html"' in page) is not gone
        assert ('href="https://en.wikipedia.org/wiki/Pakistan"' in page) is gone
        sitemap = (site / "sitemap.xml").read_bytes()
        assert (f"/entities/{slug}.html".encode() in sitemap) is not gone
        clean = tmp_path / f"clean-{gone}"
        archive.build(clean, full=True, search=False)
        assert site_files(site) == site_files(clean)
    manifest = sqlite3.connect(site / STATE_DIR / "manifest.sqlite3")
    assert not {row[0] for row in manifest.execute("SELECT path FROM files WHERE sha256 = ''")
                } & set(own), "made again: no longer gone"


def pakistan_last_of_the_search_filters(tmp_path: Path
                                        ) -> tuple[Archive, Callable[[bool], None]]:
    """The archive of 2016-01-19, its search offering as filters the subjects down to
    Pakistan (in two events: the next subjects have fewer), and how to link Pakistan in
    both events again or in one only (one day ingested, resolved, related)."""
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"])
    ranked = archive.store.frequent_entities(10_000)
    archive.settings = replace(archive.settings, search_filter_subjects=ranked.index(
        "Pakistan") + 1)
    day = wikitext("2016-01-19")
    line = "near [[Peshawar]], [[Pakistan]]."
    revised = tmp_path / "r2" / "2016-01-19.wiki"
    revised.parent.mkdir()

    def link_pakistan(twice: bool) -> None:
        revised.write_text(day if twice else day.replace(line, "near [[Peshawar]], Pakistan."),
                           encoding="utf-8")
        assert archive.ingest_paths([revised]).changed == 1
        archive.resolve()
        archive.relate()

    return archive, link_pakistan


def test_subjects_that_enter_the_search_filters_are_marked_on_pages_no_change_touched(
        tmp_path: Path):
    """The static search offers the most frequent subjects as filters (setting
    `search_filter_subjects`). Pakistan is last of them here; a rewording that drops one of
    its two links takes it out and brings in the next subject, whose events no change
    touched: their pages are made again with its filter mark, and the incremental site is
    what a full build makes. The link back undoes both."""
    archive, link_pakistan = pakistan_last_of_the_search_filters(tmp_path)
    ranked = archive.store.frequent_entities(10_000)
    entrant = ranked[ranked.index("Pakistan") + 1]
    site = tmp_path / "site"
    archive.build(site, search=False)
    slug = archive.store.entity_slugs([entrant])[entrant]
    mark = f'href="/entities/{slug}.html" data-pagefind-filter="subject"'
    theirs = [n for n in files(site) if n.startswith("news/") and n.endswith(".html")
              and not n.endswith("index.html")  # event pages: days mark no subject
              and f'href="/entities/{slug}.html"' in (site / n).read_text()
              and "pakistan" not in n]
    assert theirs and not any(mark in (site / n).read_text() for n in theirs)

    for entered in (True, False):
        link_pakistan(twice=not entered)
        archive.build(site, search=False)
        assert (entrant in archive.store.frequent_entities(
            archive.settings.search_filter_subjects)) is entered
        assert all((mark in (site / n).read_text()) is entered for n in theirs)
        clean = tmp_path / f"clean-{entered}"
        archive.build(clean, full=True, search=False)
        assert site_files(site) == site_files(clean)


def test_a_build_that_dies_after_marking_new_search_filters_is_made_right_by_the_next(
        tmp_path: Path, monkeypatch):
    """A build that takes Pakistan out of the search's subject filters (and the next
    subject in) writes its pages, then dies before its state is saved; the link comes back
    before the next build, which then finds the same filters as the build before the dead
    one: the pages the dead build marked otherwise are made again all the same."""
    from newscontext.site.manifest import Manifest

    archive, link_pakistan = pakistan_last_of_the_search_filters(tmp_path)
    site = tmp_path / "site"
    archive.build(site, search=False)
    link_pakistan(twice=False)
    save = Manifest.save_state

    def dies_at_the_end(self: Manifest, values: dict) -> None:
        if "change_seq" in values:  # the last save: every page is written
            raise KeyboardInterrupt("killed")
        save(self, values)

    monkeypatch.setattr(Manifest, "save_state", dies_at_the_end)
    with pytest.raises(KeyboardInterrupt):
        archive.build(site, search=False)
    monkeypatch.setattr(Manifest, "save_state", save)
    link_pakistan(twice=True)
    archive.build(site, search=False)
    clean = tmp_path / "clean"
    archive.build(clean, full=True, search=False)
    assert site_files(site) == site_files(clean)


def test_a_full_build_deletes_the_files_of_pages_that_no_longer_exist(tmp_path: Path):
    """A site built earlier holds pages the archive does not make (here: pages another
    archive built into the same folder): `build --full` deletes them, and only them."""
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    archive.build(site, search=False)
    before = site_files(site)
    stale = tmp_path / "stale-archive"
    stale.mkdir()
    other = make_archive(stale, [WIKITEXT / "2016-01-16.wiki"])
    other.build(site, full=True, search=False)  # the same folder: another day's pages
    extra = set(site_files(site)) - set(before)
    assert any(name.startswith("entities/") for name in extra)
    report = archive.build(site, full=True, search=False)
    assert report.deleted > 0
    assert set(site_files(site)) == set(before)


def test_build_formats_choose_the_files_and_a_change_rebuilds_in_full(tmp_path: Path):
    """`build --formats html,json` writes only those; asking for all four again makes the
    others (a full build), and fewer again deletes those no longer made; html is required."""
    from click.testing import CliRunner

    from newscontext.cli import main

    make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"]).close()
    site = tmp_path / "site"

    def build(*args: str):
        return CliRunner().invoke(main, ["--db", str(tmp_path / "archive.sqlite3"), "build",
                                         str(site), "--no-search", *args])

    def suffixes() -> set[str]:
        return {name.rsplit(".", 1)[-1] for name in files(site)
                if name.startswith(("news/", "entities/", "stories/"))
                and "/feed." not in name}

    assert build("--formats", "html,json").exit_code == 0
    assert suffixes() == {"html", "json"}
    done = build()
    assert done.exit_code == 0 and "full build" in done.output
    assert suffixes() == {"html", "json", "md", "xml"}
    done = build("--formats", "html")
    assert done.exit_code == 0 and "full build" in done.output
    assert suffixes() == {"html"}
    refused = build("--formats", "json,pdf")
    assert refused.exit_code == 2 and "--formats" in refused.output and "pdf" in refused.output


def test_build_since_makes_the_site_of_the_days_from_then_on(tmp_path: Path):
    """`build --since 2016-01-19` on an archive of the 16th and the 19th: no page of the
    16th, no link to one, timelines listing the 19th's events only; without --since the
    next build is full again and makes the 16th."""
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-16.wiki", WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    report = archive.build(site, search=False, since=date(2016, 1, 19))
    assert report.full and not report.failed
    built = site_files(site)
    assert not [n for n in built if n.startswith("news/2016/01/16/")]
    assert [n for n in built if n.startswith("news/2016/01/19/")]
    leaks = [n for n, content in built.items() if b"/news/2016/01/16/" in content]
    assert leaks == []
    with sqlite3.connect(tmp_path / "archive.sqlite3") as conn:  # the window was this build's
        assert conn.execute("SELECT COUNT(*) FROM events WHERE date = '2016-01-16'"
                            ).fetchone()[0] > 0
    with sqlite3.connect(tmp_path / "archive.sqlite3") as conn:  # a subject of both days,
        (title,) = conn.execute(  # with a page in the window (two events of the 19th)
            "SELECT x.entity FROM event_entities x JOIN events e ON e.id = x.event_id "
            "GROUP BY x.entity HAVING COUNT(DISTINCT e.date) = 2 "
            "AND COUNT(DISTINCT CASE WHEN e.date = '2016-01-19' THEN e.id END) >= 2 "
            "ORDER BY x.entity").fetchone()
    slug = archive.store.entity_slugs([title])[title]
    page = json.loads(built[f"entities/{slug}.json"])
    assert page["events"] and all(e["date"] == "2016-01-19" for e in page["events"])
    again = archive.build(site, search=False)
    assert again.full
    assert [n for n in site_files(site) if n.startswith("news/2016/01/16/")]


def test_counting_some_subjects_events_in_a_window_reads_only_their_rows(tmp_path: Path):
    """An incremental `--since` build asks, a page at a time, how many events some subjects
    are in: in a window that is a lookup of their rows, not a count of the whole window
    (the view the window puts over `entity_counts` counts every subject)."""
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-18.wiki", WIKITEXT / "2016-01-19.wiki"])
    store = archive.store
    with store.window(date(2016, 1, 19)):
        asked: list[str] = []
        store.conn.set_trace_callback(asked.append)
        counts = store.entity_event_counts(["Pakistan", "Syrian Civil War"])
        store.conn.set_trace_callback(None)
        every = store.entity_event_counts()  # the window's view, counting every subject
        assert counts == {t: every[t] for t in ("Pakistan", "Syrian Civil War")}
        assert every["Pakistan"] == 2  # both of its events are on the 19th
        (sql,) = [q for q in asked if q.lstrip().upper().startswith("SELECT")]
        plan = " | ".join(row[3] for row in store.conn.execute(
            "EXPLAIN QUERY PLAN " + sql.replace("?", "'[]'")))
        assert "entity_counts" not in plan and "SCAN x" not in plan, plan


def test_an_entity_whose_title_becomes_a_redirect_leads_to_its_subjects_page(tmp_path: Path):
    """Pakistan had a page; a redirect table then says the title stands for another: its
    address becomes a redirect to that subject's page (in `_redirects` too), its numbered
    pages and feeds go, and the site is what a full build makes."""
    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    archive.build(site, search=False)
    slug = archive.store.entity_slugs(["Pakistan"])["Pakistan"]
    assert (site / f"entities/{slug}/feed.xml").is_file()
    table = tmp_path / "redirects.tsv"
    table.write_text("from\tto\nPakistan\tIslamic Republic of Pakistan\n", encoding="utf-8")
    archive.resolve(redirects=table)
    report = archive.build(site, search=False)
    assert not report.failed
    new = archive.store.entity_slugs(["Islamic Republic of Pakistan"])[
        "Islamic Republic of Pakistan"]
    page = (site / f"entities/{slug}.html").read_text()
    assert f'url=/entities/{new}.html"' in page and "noindex" in page
    assert not (site / f"entities/{slug}/feed.xml").exists()
    assert f"/entities/{slug}.html /entities/{new}.html 301" in (site / "_redirects").read_text()
    clean = tmp_path / "clean"
    archive.build(clean, full=True, search=False)
    assert site_files(site) == site_files(clean)


def test_a_build_after_an_upgrade_of_the_pages_making_is_full(tmp_path: Path, monkeypatch):
    """Pages no change reaches would keep an older version's making: a build whose site
    code, templates or style differ from the last build's makes every page."""
    from newscontext.site import build as build_module

    archive = make_archive(tmp_path, [WIKITEXT / "2016-01-19.wiki"])
    site = tmp_path / "site"
    assert archive.build(site, search=False).full
    assert not archive.build(site, search=False).full
    monkeypatch.setattr(build_module, "renderer", lambda: "another version")
    again = archive.build(site, search=False)
    assert again.full and again.written == 0  # the same making here: no file changes
    assert not archive.build(site, search=False).full


def test_quiet_subjects_keep_the_feeds_they_had_and_get_none_made(tmp_path: Path):
    """A subject whose newest event is over `feed_active_days` older than the archive's
    newest day gets no feeds made; feeds an earlier build made for it stay as they were
    (a full build does not delete them); an active subject's feeds are made."""
    days = [WIKITEXT / "2016-01-19.wiki", *sorted(WIKITEXT.glob("2026-*.wiki"))[-1:]]
    archive = make_archive(tmp_path, days)
    (quiet,) = archive.store.conn.execute(  # a subject with a page, of 2016 only
        "SELECT x.entity FROM event_entities x JOIN events e ON e.id = x.event_id "
        "GROUP BY x.entity HAVING COUNT(DISTINCT e.id) >= 2 AND MAX(e.date) < '2017' "
        "ORDER BY x.entity").fetchone()
    slug = archive.store.entity_slugs([quiet])[quiet]
    quiet_feed = tmp_path / "site" / "entities" / slug / "feed.xml"
    archive.settings.feed_active_days = 100_000  # everything recent: every feed made
    archive.build(tmp_path / "site", search=False)
    made = quiet_feed.read_bytes()
    archive.settings.feed_active_days = 365
    report = archive.build(tmp_path / "site", full=True, search=False)
    assert report.deleted == 0 and quiet_feed.read_bytes() == made  # kept as it was
    fresh = tmp_path / "fresh"
    archive.build(fresh, search=False)
    assert (fresh / "entities" / f"{slug}.html").is_file()  # its page, but no feeds
    assert not (fresh / "entities" / slug / "feed.xml").exists()
    recent = [p for p in (fresh / "entities").glob("*/feed.xml")]
    assert recent, "the subjects of the newest day have their feeds"
