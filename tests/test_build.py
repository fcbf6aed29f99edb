"""The static build is incremental, atomic and never loses a page a reader may have linked."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT, wikitext

from newscontext import Archive, Settings

SOHR_LINE = ("**The [[Syrian Observatory for Human Rights]] claims that scores of [[Syrian Army]] "
             "troops have been killed in fighting with the [[Islamic State of Iraq and the "
             "Levant]] over the past few days with the fiercest battles near the city of "
             "[[Deir ez-Zor]].")
REWORDED = ("**The [[Syrian Observatory for Human Rights]] says dozens of [[Syrian Army]] "
            "soldiers were killed in days of fighting with the [[Islamic State of Iraq and the "
            "Levant]] near the city of Deir ez-Zor.")


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
    assert first.full and first.written > 500
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
    assert report.pages < first.pages / 5  # only what the change reaches
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
