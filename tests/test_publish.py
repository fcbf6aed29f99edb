"""Publishing commits exactly what a build changed, survives kills, and runs the operator's
command with the changed files."""

from __future__ import annotations

import logging
import shlex
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REWORDED, SOHR_LINE, WIKITEXT, wikitext
from processes import alive

from newscontext import Archive, Settings
from newscontext import publish as publishing
from newscontext.lock import FileLock
from newscontext.publish import (
    PublishError,
    files_to_publish,
    mark_published,
    publish_command,
    publish_git,
)
from newscontext.site.manifest import STATE_DIR, Manifest

DAYS = [WIKITEXT / "2016-01-16.wiki", WIKITEXT / "2016-01-19.wiki"]
BUILT_AT = "2016-01-20T06:00:00Z"


def git(site: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=site, check=True, capture_output=True,
                          text=True).stdout


def on_disk(site: Path) -> set[str]:
    """The site's files: everything but git's and the build's state."""
    return {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()
            and not {".git", STATE_DIR} & set(p.relative_to(site).parts)}


def in_commit(site: Path, commit: str) -> dict[str, str]:
    """Path -> change (A, M, D) of what a commit changed, as `git show` tells it."""
    out = git(site, "show", "--name-status", "--no-renames", "--format=", commit)
    return {line.split("\t", 1)[1]: line.split("\t", 1)[0] for line in out.splitlines()}


def build_stamp(site: Path) -> str:
    manifest = Manifest(site)
    try:
        return manifest.state()["articles"]  # the stamp of the last complete build
    finally:
        manifest.close()


def written_at(site: Path, stamp: str, deleted: bool = False) -> set[str]:
    """The manifest's rows for files the build with `stamp` wrote (or deleted)."""
    with sqlite3.connect(site / STATE_DIR / "manifest.sqlite3") as conn:
        return {row[0] for row in conn.execute(
            "SELECT path FROM files WHERE changed_at = ? AND (sha256 = '') = ?",
            (stamp, deleted))}


def publish(site: Path, message: str = "update") -> tuple[list[str], str | None]:
    """One publish as the robot does it: list, commit, record."""
    paths, stamp = files_to_publish(site)
    commit = publish_git(site, paths, message)
    mark_published(site, stamp)
    return paths, commit


@pytest.fixture(autouse=True)
def no_git_identity(monkeypatch):
    """git as on a fresh robot account: no user configured anywhere."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """An archive of two real days and its site, with the search index (built once)."""
    folder = tmp_path_factory.mktemp("built")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEWSCONTEXT_NOW", BUILT_AT)
        with Archive(Settings(db=folder / "archive.sqlite3", workers=1)) as archive:
            archive.ingest_paths(DAYS)
            archive.resolve()
            archive.relate()
            archive.build(folder / "site")
    return folder


@pytest.fixture
def copy(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    return tmp_path


def reword_and_build(folder: Path, monkeypatch, now: str) -> None:
    monkeypatch.setenv("NEWSCONTEXT_NOW", now)
    revised = folder / "revised" / "2016-01-19.wiki"
    revised.parent.mkdir(exist_ok=True)
    day = wikitext("2016-01-19")
    assert SOHR_LINE in day
    revised.write_text(day.replace(SOHR_LINE, REWORDED), encoding="utf-8")
    with Archive(Settings(db=folder / "archive.sqlite3", workers=1)) as archive:
        archive.ingest_paths([revised])
        archive.relate()
        report = archive.build(folder / "site")
    assert report.written > 0 and not report.failed


def test_first_publish_commits_exactly_the_built_files(copy: Path, monkeypatch, caplog):
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    with caplog.at_level(logging.WARNING, "newscontext.publish"):
        paths, commit = publish(site, "first publish")
    assert "not a git work tree" in caplog.text and "git init" in caplog.text
    assert commit is not None and git(site, "rev-parse", "HEAD").strip() == commit
    assert set(paths) == on_disk(site) == set(git(site, "ls-files").splitlines())
    assert any(p.startswith("pagefind/") for p in paths), "the search bundle is published"
    assert set(in_commit(site, commit).values()) == {"A"}
    assert set(in_commit(site, commit)) == set(paths)
    assert not [p for p in git(site, "ls-files").splitlines() if p.startswith(STATE_DIR)]
    assert git(site, "status", "--porcelain", "--untracked-files=all") == ""
    assert f"/{STATE_DIR}/" in (site / ".git/info/exclude").read_text().splitlines()
    # No identity configured: the fixed one; the date is the run's (injected clock).
    assert git(site, "log", "-1", "--format=%an <%ae>|%cn|%cI|%s") == \
        "newscontext <newscontext@localhost>|newscontext|2016-01-20T06:05:00+00:00|first publish\n"


def test_incremental_publish_commits_what_the_build_changed(copy: Path, monkeypatch):
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    _, first = publish(site)
    tracked_before = set(git(site, "ls-files").splitlines())
    reword_and_build(copy, monkeypatch, "2016-01-20T08:00:00Z")
    stamp = build_stamp(site)
    assert stamp == "2016-01-20T08:00:00Z"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T08:05:00Z")
    paths, second = publish(site, "2016-01-19: 1 reworded")
    changed, deleted = written_at(site, stamp), written_at(site, stamp, deleted=True)
    assert set(paths) == changed | deleted and 0 < len(changed) < len(tracked_before) / 3
    assert second is not None and second != first
    assert git(site, "rev-parse", f"{second}^").strip() == first
    shown = in_commit(site, second)
    gone = tracked_before - on_disk(site)  # replaced search-index files
    assert gone == deleted and all(p.startswith("pagefind/") for p in gone)
    assert {p for p, change in shown.items() if change != "D"} == changed
    assert {p for p, change in shown.items() if change == "D"} == gone
    assert any(p.startswith("news/2016/01/19/the-syrian-observatory-for-human-rights-says")
               for p in shown)
    # The commit's tree is the site, file for file.
    assert set(git(site, "ls-files").splitlines()) == on_disk(site)
    assert git(site, "status", "--porcelain", "--untracked-files=all") == ""
    # Nothing changed since: no path, no commit; the same paths again: still no commit.
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T10:00:00Z")
    with Archive(Settings(db=copy / "archive.sqlite3", workers=1)) as archive:
        assert archive.build(site).written == 0
    again, stamp = files_to_publish(site)
    assert again == []
    assert publish_git(site, again, "nothing") is None
    assert publish_git(site, paths, "the same files") is None
    mark_published(site, stamp)
    assert git(site, "rev-parse", "HEAD").strip() == second
    assert len(git(site, "rev-list", "HEAD").split()) == 2


def test_a_page_the_build_deleted_leaves_the_commit(copy: Path, monkeypatch):
    """One of Pakistan's two mentions loses its link: a subject of one event has no page,
    so the build deletes its pages, and the publish commits their deletion (and nothing
    else goes)."""
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    publish(site)
    with Archive(Settings(db=copy / "archive.sqlite3", workers=1)) as archive:
        slug = archive.store.entity_slugs(["Pakistan"])["Pakistan"]
        monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T08:00:00Z")
        revised = copy / "revised" / "2016-01-19.wiki"
        revised.parent.mkdir()
        revised.write_text(wikitext("2016-01-19").replace(
            "near [[Peshawar]], [[Pakistan]].", "near [[Peshawar]], Pakistan."), encoding="utf-8")
        archive.ingest_paths([revised])
        archive.resolve()
        archive.relate()
        assert archive.build(site).deleted > 0
    own = {p for p in git(site, "ls-files").splitlines() if p.startswith(f"entities/{slug}")}
    assert f"entities/{slug}.html" in own
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T08:05:00Z")
    _, commit = publish(site, "2016-01-19: 1 reworded")
    shown = in_commit(site, commit)
    assert own <= {p for p, change in shown.items() if change == "D"}
    assert {p for p, change in shown.items() if change == "D"} - own <= {
        p for p in shown if p.startswith("pagefind/")}
    assert set(git(site, "ls-files").splitlines()) == on_disk(site)


def test_mark_published_keeps_the_build_state(copy: Path, monkeypatch):
    site = copy / "site"
    manifest = Manifest(site)
    before = manifest.state()
    manifest.close()
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    publish(site)
    manifest = Manifest(site)
    after = manifest.state()
    manifest.close()
    assert after == {**before, "published": "2016-01-20T06:05:00Z"}


def test_build_not_published_is_published_by_the_next_run(copy: Path, monkeypatch):
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    publish(site)
    reword_and_build(copy, monkeypatch, "2016-01-20T08:00:00Z")
    written, deleted = written_at(site, build_stamp(site)), \
        written_at(site, build_stamp(site), deleted=True)
    changed = written | deleted
    # Killed before publishing: after listing the files, before recording them.
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T08:01:00Z")
    listed, _ = files_to_publish(site)
    assert set(listed) == changed
    # The next run: its build has nothing to write; its publish takes the killed run's files.
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T10:00:00Z")
    with Archive(Settings(db=copy / "archive.sqlite3", workers=1)) as archive:
        assert archive.build(site).written == 0
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T10:05:00Z")
    paths, commit = publish(site)
    assert set(paths) == changed and commit is not None
    assert {p for p, change in in_commit(site, commit).items() if change != "D"} == written
    # Killed after the commit, before recording it: the next publish commits nothing new.
    reword_back = (copy / "revised" / "2016-01-19.wiki")
    reword_back.write_text(wikitext("2016-01-19"), encoding="utf-8")
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T12:00:00Z")
    with Archive(Settings(db=copy / "archive.sqlite3", workers=1)) as archive:
        archive.ingest_paths([reword_back])
        archive.relate()
        archive.build(site)
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T12:05:00Z")
    paths, _ = files_to_publish(site)
    third = publish_git(site, paths, "committed, then killed")
    assert third is not None
    paths_again, stamp = files_to_publish(site)
    assert paths_again == paths
    assert publish_git(site, paths_again, "again") is None
    mark_published(site, stamp)
    assert git(site, "rev-parse", "HEAD").strip() == third
    assert set(git(site, "ls-files").splitlines()) == on_disk(site)


def test_build_in_the_second_of_the_last_publish_is_published(copy: Path, monkeypatch):
    """Stamps are seconds: a build stamped as the last publish is after it, not before."""
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T08:00:00Z")
    publish(site)
    reword_and_build(copy, monkeypatch, "2016-01-20T08:00:00Z")  # the same second
    changed = written_at(site, "2016-01-20T08:00:00Z")
    deleted = written_at(site, "2016-01-20T08:00:00Z", deleted=True)
    paths, commit = publish(site)
    assert commit is not None and set(paths) == changed | deleted
    assert {p for p, change in in_commit(site, commit).items() if change != "D"} == changed


def start_killed_git(site: Path, kind: str) -> Path:
    """A real git process, killed (SIGKILL) while it holds one of the repository's locks:
    `update-index --stdin` holds the index's while it reads; `update-ref --stdin` a
    branch's between `prepare` and `commit`. Returns the lock file it left."""
    if kind == "index":
        command, data, lock = ["git", "update-index", "--add", "-z", "--stdin"], b"", \
            site / ".git/index.lock"
    else:
        head = git(site, "rev-parse", "HEAD").strip()
        command = ["git", "update-ref", "--stdin"]
        data = f"start\nupdate refs/heads/main {head}\nprepare\n".encode()
        lock = site / ".git/refs/heads/main.lock"
    process = subprocess.Popen(command, cwd=site, stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.write(data)
    process.stdin.flush()
    deadline = time.monotonic() + 10
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lock.exists(), f"git took {lock.name}"
    process.kill()
    process.wait()
    process.stdin.close()
    assert lock.exists(), "the killed git left its lock"
    return lock


@pytest.mark.parametrize("kind", ["index", "ref"])
def test_lock_left_by_a_killed_git_does_not_block(copy: Path, monkeypatch, kind, caplog):
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    _, first = publish(site)
    lock = start_killed_git(site, kind)
    reword_and_build(copy, monkeypatch, "2016-01-20T08:00:00Z")
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T08:05:00Z")
    with caplog.at_level(logging.WARNING, "newscontext.publish"):
        paths, commit = publish(site)
    assert f"removed {lock}" in caplog.text
    assert not lock.exists()
    assert commit is not None and git(site, "rev-parse", "HEAD").strip() == commit
    assert git(site, "rev-parse", f"{commit}^").strip() == first
    assert {p for p, change in in_commit(site, commit).items() if change != "D"} == \
        {p for p in paths if (site / p).is_file()}
    assert git(site, "rev-parse", "main").strip() == commit
    assert set(git(site, "ls-files").splitlines()) == on_disk(site)


def test_live_git_is_waited_for_not_broken(copy: Path, monkeypatch):
    """A git process still working holds its lock: publish waits, and when the process
    does not finish in time, fails in one line and leaves the lock alone."""
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    publish(site)
    reword_and_build(copy, monkeypatch, "2016-01-20T08:00:00Z")
    live = subprocess.Popen(["git", "update-index", "--add", "-z", "--stdin"], cwd=site,
                            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lock = site / ".git/index.lock"
    try:
        deadline = time.monotonic() + 10
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        monkeypatch.setattr(publishing, "LOCK_WAIT", 1.0)
        paths, stamp = files_to_publish(site)
        with pytest.raises(PublishError) as caught:
            publish_git(site, paths, "blocked")
        message = str(caught.value)
        assert "git is busy" in message and f"process {live.pid}" in message
        assert "\n" not in message
        assert lock.exists() and live.poll() is None
    finally:
        assert live.stdin is not None
        live.stdin.close()  # it finishes its work and lets go
        live.wait(timeout=10)
    assert not lock.exists()
    commit = publish_git(site, paths, "after the other git")
    mark_published(site, stamp)
    assert commit is not None
    assert set(git(site, "ls-files").splitlines()) == on_disk(site)


def test_publish_command_gets_the_changed_paths(copy: Path, monkeypatch, tmp_path: Path):
    site = copy / "site"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    publish(site)
    reword_and_build(copy, monkeypatch, "2016-01-20T08:00:00Z")
    changed = written_at(site, build_stamp(site))
    deleted = written_at(site, build_stamp(site), deleted=True)
    assert deleted, "the replaced search index's files"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T08:05:00Z")
    paths, stamp = files_to_publish(site)
    got, where = tmp_path / "got.txt", tmp_path / "where.txt"
    publish_command(f"cat > {shlex.quote(str(got))}; pwd > {shlex.quote(str(where))}",
                    site, paths, timeout=30)
    mark_published(site, stamp)
    assert got.read_text().splitlines() == sorted(changed | deleted)
    assert Path(where.read_text().strip()).samefile(site)
    # Each path names a file of the site, or one the build deleted (what an `rsync
    # --files-from=- --delete-missing-args` needs).
    lines = got.read_text().splitlines()
    assert {line for line in lines if (site / line).is_file()} == changed
    assert {line for line in lines if not (site / line).exists()} == deleted


def test_failing_publish_command_says_why_in_one_line(tmp_path: Path):
    command = "echo syncing; echo 'rsync: [sender] connection refused' >&2; exit 3"
    with pytest.raises(PublishError) as caught:
        publish_command(command, tmp_path, ["index.html"], timeout=30)
    message = str(caught.value)
    assert "\n" not in message
    assert "status 3" in message and "rsync: [sender] connection refused" in message
    assert "exit 3" in message  # names the command


def test_hung_publish_command_is_killed_with_what_it_started(tmp_path: Path):
    pid_file = tmp_path / "pid"
    command = f"sleep 60 & echo $! > {shlex.quote(str(pid_file))}; echo waiting >&2; wait"
    started = time.monotonic()
    with pytest.raises(PublishError) as caught:
        publish_command(command, tmp_path, ["index.html"], timeout=1)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "timed out after 1 s" in message and "waiting" in message and "\n" not in message
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(sleeper), "the command's own children are killed too"


def test_no_change_runs_no_command(tmp_path: Path):
    marker = tmp_path / "ran"
    publish_command(f"touch {shlex.quote(str(marker))}", tmp_path, [], timeout=30)
    assert not marker.exists()


def test_publish_while_a_build_writes_is_left_to_the_next_run(copy: Path):
    site = copy / "site"
    build_lock = FileLock(site / STATE_DIR / "lock", str(site))  # what build() holds
    build_lock.acquire(wait=False)
    try:
        with pytest.raises(PublishError, match="a build is writing"):
            files_to_publish(site)
    finally:
        build_lock.release()
    paths, _ = files_to_publish(site)
    assert paths


def test_without_git_publishing_fails_in_one_line(copy: Path, monkeypatch, tmp_path: Path):
    site = copy / "site"
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    paths, _ = files_to_publish(site)
    with pytest.raises(PublishError, match=r"^git is not installed[^\n]*$"):
        publish_git(site, paths, "no git")
    assert not (site / ".git").exists()


def test_missing_site_folder_fails_in_one_line(tmp_path: Path):
    with pytest.raises(PublishError, match=r"^cannot publish .*missing: not a folder$"):
        publish_git(tmp_path / "missing", ["index.html"], "nothing there")


def test_site_inside_another_repository_gets_its_own(tmp_path: Path, monkeypatch):
    outer = tmp_path / "home"
    site = outer / "site"
    (site / "news").mkdir(parents=True)
    (site / "news/index.html").write_text("<p>news</p>")
    (outer / "notes.txt").write_text("the operator's")
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    commit = publish_git(site, ["news/index.html"], "first")
    assert commit is not None and (site / ".git").is_dir()
    assert git(site, "ls-files").splitlines() == ["news/index.html"]
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=outer,
                          capture_output=True).returncode != 0, "the outer one is untouched"


def test_operator_identity_is_kept_and_clock_going_back_publishes_all(
        copy: Path, monkeypatch, tmp_path: Path):
    site = copy / "site"
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Site Operator\n\temail = ops@example.org\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T06:05:00Z")
    everything, _ = publish(site)
    assert git(site, "log", "-1", "--format=%an <%ae>") == "Site Operator <ops@example.org>\n"
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-20T07:00:00Z")
    assert files_to_publish(site)[0] == []
    monkeypatch.setenv("NEWSCONTEXT_NOW", "2016-01-19T07:00:00Z")  # the clock went back
    assert files_to_publish(site)[0] == everything
