"""Publishing a built site: a git commit of exactly the files a build changed, or the
operator's command given their list (an rsync, an object-store sync, a `git push`).

The build's manifest knows when each file's content last changed (the stamp of the build
that wrote it), and its state keeps when the site was last published. What changed at or
after that is published; the time is recorded only once the publish succeeded, so a run
killed before or during a publish leaves its files to the next one. Publishing a file
twice is harmless (git sees no change; a sync copies it again).

git, at a million files: the listed paths go to one `git update-index --add --remove -z
--stdin` (exact paths, no pathspec patterns, nothing walks the work tree; a listed file
the build deleted, such as a page of a subject left with no event or a replaced
search-index file, leaves the commit, where `git add` would fail the whole list), and the
commit is made from the index with `write-tree`, `commit-tree` and `update-ref` (`git
commit` would first stat every file of the site).
Git hooks do not run: pushing is `--publish-command`'s. A git killed mid-commit leaves
`.git/index.lock`; it is removed when no process holds it open or runs git in the
repository, so an unattended robot never stays stuck.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .ingest import utc_now
from .lock import Busy
from .site.build import folder_lock
from .site.manifest import STATE_DIR, Manifest

log = logging.getLogger("newscontext.publish")

STATE_KEY = "published"  # in the manifest's state: the time of the last successful publish
# Identity of the commits where the repository and the user have none configured.
COMMITTER = ("newscontext", "newscontext@localhost")
# Never published (.git/info/exclude, for the operator's own git commands too): the build's
# state, the robot's status file (rewritten every run) and temporary files of killed writes.
EXCLUDED = (f"/{STATE_DIR}/", "/status.json", ".*.tmp")
GIT_TIMEOUT = 3600.0  # seconds: a local git command that takes longer is hung
LOCK_WAIT = 30.0  # seconds to let a live git process finish with the repository's locks
STALE_AFTER = 600.0  # seconds: a lock file this old is stale where /proc cannot tell


class PublishError(Exception):
    """A publish that did not happen, in one line for the operator; the next run retries."""


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _last_line(output: bytes | str | None) -> str:
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    lines = [line for line in (output or "").splitlines() if line.strip()]
    return _one_line(lines[-1]) if lines else "no message"


# -- what to publish ------------------------------------------------------------------------

def files_to_publish(outdir: Path) -> tuple[list[str], str]:
    """The site's paths changed since its last publish (every path at the first), by path,
    and the stamp to record with `mark_published` once they are published.

    The stamp is the time now, read under the build's lock: a build running now would
    record files with an earlier stamp after this list is made, so a running build makes
    this raise instead (its files are published by the next run)."""
    outdir = Path(outdir)
    lock = folder_lock(outdir)
    try:
        lock.acquire(wait=False)
    except Busy:
        raise PublishError(f"a build is writing {outdir}; the next run publishes its "
                           "files") from None
    try:
        manifest = Manifest(outdir)
        try:
            stamp = utc_now()
            last = manifest.state().get(STATE_KEY)
            if last is not None and last > stamp:  # the clock went back: trust nothing
                log.warning("%s was last published at %s, later than now (%s): publishing "
                            "every file", outdir, last, stamp)
                last = None
            return manifest.changed_since(last), stamp
        finally:
            manifest.close()
    finally:
        lock.release()


def mark_published(outdir: Path, stamp: str) -> None:
    """Record that the files `files_to_publish` listed with `stamp` are published (the
    manifest's other state is kept: `save_state` replaces only the keys it is given)."""
    manifest = Manifest(Path(outdir))
    try:
        manifest.save_state({STATE_KEY: stamp})
    finally:
        manifest.close()


# -- git ------------------------------------------------------------------------------------

def _git(cwd: Path, *args: str, config: tuple[str, ...] = (), data: bytes | None = None,
         env: dict[str, str] | None = None, check: bool = True
         ) -> subprocess.CompletedProcess[bytes]:
    command = ["git"]
    for setting in config:
        command += ["-c", setting]
    command += args
    environment = dict(env or os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        done = subprocess.run(command, cwd=cwd, input=data, capture_output=True,
                              env=environment, timeout=GIT_TIMEOUT,
                              **({} if data is not None else {"stdin": subprocess.DEVNULL}))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and exc.filename == "git":
            raise PublishError("git is not installed: publishing with git needs it "
                               "(apt-get install git)") from None
        raise PublishError(f"cannot run git in {cwd}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise PublishError(f"git {args[0]} in {cwd} did not finish in "
                           f"{GIT_TIMEOUT:g} s") from None
    if check and done.returncode != 0:
        raise PublishError(f"git {args[0]} failed in {cwd} (status {done.returncode}): "
                           f"{_last_line(done.stderr)}")
    return done


def _repository(outdir: Path) -> tuple[Path, Path, Path]:
    """(git folder, common git folder, exclude file) of the repository whose work tree is
    `outdir`, made (git init) when `outdir` is not the top of a work tree: a site folder
    inside another repository (a home folder kept in git) gets its own."""
    if not outdir.is_dir():
        raise PublishError(f"cannot publish {outdir}: not a folder")
    if shutil.which("git") is None:
        raise PublishError("git is not installed: publishing with git needs it "
                           "(apt-get install git)")
    found = _git(outdir, "rev-parse", "--show-toplevel", check=False)
    top = os.fsdecode(found.stdout.strip())
    if found.returncode != 0 and (outdir / ".git").exists():  # a repository git refuses
        raise PublishError(f"{outdir} is a git work tree git cannot use: "
                           f"{_last_line(found.stderr)}")
    if found.returncode != 0 or not top or not os.path.samefile(top, outdir):
        log.warning("%s is not a git work tree: making it one (git init)", outdir)
        _git(outdir, "init", "-q", config=("init.defaultBranch=main",))
    lines = _git(outdir, "rev-parse", "--git-dir", "--git-common-dir",
                 "--git-path", "info/exclude").stdout.splitlines()
    git_dir, common_dir, exclude = (outdir / os.fsdecode(line) for line in lines[:3])
    return git_dir, common_dir, exclude


def _exclude(exclude: Path) -> None:
    """Add EXCLUDED to the repository's exclude file (kept: the lines already there)."""
    try:
        text = exclude.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    missing = [line for line in EXCLUDED if line not in text.splitlines()]
    if missing:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        if text and not text.endswith("\n"):
            text += "\n"
        exclude.write_text(text + "".join(f"{line}\n" for line in missing), encoding="utf-8")


def _lock_files(git_dir: Path, common_dir: Path) -> list[Path]:
    """The lock files git leaves when killed mid-commit (index, HEAD, refs)."""
    candidates = [git_dir / "index.lock", git_dir / "HEAD.lock",
                  common_dir / "packed-refs.lock", common_dir / "config.lock"]
    candidates += (common_dir / "refs").rglob("*.lock")
    return [path for path in dict.fromkeys(candidates) if path.is_file()]


def _git_user(places: list[str], locks: list[Path]) -> str | None:
    """A process that may be using the repository (one holding a lock file open, or a git
    process working in one of `places`), named; None: there is none. OSError: /proc
    cannot tell."""
    names = {os.path.realpath(lock) for lock in locks}
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as file:
                comm = file.read().strip()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:  # gone, or another user's
            continue
        if comm.startswith("git") and any(cwd == p or cwd.startswith(p + "/") for p in places):
            return f"process {pid} ({comm})"
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in names:
                        return f"process {pid} ({comm})"
    return None


def _clear_stale_locks(outdir: Path, git_dir: Path, common_dir: Path) -> None:
    """Remove the lock files a killed git left; wait a little for a live one to finish."""
    places = [os.path.realpath(p) for p in (outdir, git_dir, common_dir)]
    deadline = time.monotonic() + LOCK_WAIT
    while locks := _lock_files(git_dir, common_dir):
        try:
            user = _git_user(places, locks)
        except OSError:  # no /proc: a lock untouched for long is left by a killed git
            oldest = min(lock.stat().st_mtime for lock in locks if lock.exists())
            user = None if time.time() - oldest > STALE_AFTER else "a process"
        if user is None:
            for lock in locks:
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                log.warning("removed %s, left by a git process that was killed", lock)
            return
        if time.monotonic() >= deadline:
            raise PublishError(f"git is busy in {outdir} ({user} uses {locks[0]}); the "
                               "next run publishes")
        time.sleep(0.5)


def _publishable(path: str) -> bool:
    """A site file's path (never the build's state or git's own files, never outside)."""
    parts = path.split("/")
    return (bool(path) and not path.startswith("/") and ".." not in parts
            and parts[0] not in (STATE_DIR, ".git") and "\0" not in path)


def _identity(outdir: Path) -> tuple[str, ...]:
    """`-c` settings naming COMMITTER where git knows no user (an unattended robot's
    account often has none)."""
    found = _git(outdir, "config", "--get-regexp", r"^user\.(name|email)$", check=False)
    known = {line.split(b" ", 1)[0].decode() for line in found.stdout.splitlines()}
    return tuple(f"{key}={value}" for key, value in zip(("user.name", "user.email"),
                                                         COMMITTER, strict=True)
                 if key not in known)


def publish_git(outdir: Path, paths: list[str], message: str) -> str | None:
    """Commit exactly `paths` (relative to `outdir`, the work tree) with `message`: changed
    files are updated, new ones added, those no longer on disk removed; a file that is
    unchanged changes nothing. Returns the new commit's id, or None when nothing changed.
    The build's state folder is never committed (and is in .git/info/exclude)."""
    outdir = Path(outdir).resolve()
    git_dir, common_dir, exclude = _repository(outdir)
    _exclude(exclude)
    _clear_stale_locks(outdir, git_dir, common_dir)
    listed = [path for path in paths if _publishable(path)]
    if listed:
        _git(outdir, "update-index", "--add", "--remove", "-z", "--stdin",
             data=b"".join(os.fsencode(path) + b"\0" for path in listed))
    tree = _git(outdir, "write-tree").stdout.strip().decode()
    head = _git(outdir, "rev-parse", "--verify", "-q", "HEAD", check=False)
    parent = head.stdout.strip().decode() if head.returncode == 0 else ""
    if parent:
        before = _git(outdir, "rev-parse", f"{parent}^{{tree}}").stdout
    else:  # no commit yet: the empty tree
        before = _git(outdir, "hash-object", "-t", "tree", "--stdin", data=b"").stdout
    if before.strip().decode() == tree:
        log.info("nothing to commit in %s", outdir)
        return None
    env = dict(os.environ)
    if os.environ.get("NEWSCONTEXT_NOW"):  # a replayed or reproduced run: its own time
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = utc_now()
    commit = _git(outdir, "commit-tree", tree, *(["-p", parent] if parent else []),
                  config=_identity(outdir), data=(message or "newscontext update").encode(),
                  env=env).stdout.strip().decode()
    # HEAD moves only if it is still where it was (`parent`; "": still unborn).
    _git(outdir, "update-ref", "-m", f"newscontext: {_one_line(message, 100)}", "HEAD",
         commit, parent)
    # Pack loose objects when git thinks it is time (in the background, as `git commit`).
    _git(outdir, "gc", "--auto", "--quiet", check=False)
    return commit


# -- the operator's command -----------------------------------------------------------------

def publish_command(command: str, outdir: Path, paths: list[str], timeout: float) -> None:
    """Run `command` (a shell command) in `outdir` with `paths` on its standard input, one
    per line; a command that fails or outlasts `timeout` seconds raises PublishError
    (killed with everything it started). Nothing changed (no path): not run. A listed path
    that is not in the folder was deleted by the build (rsync: `--delete-missing-args`)."""
    if not paths:
        return
    data = "".join(f"{path}\n" for path in paths).encode()
    try:
        process = subprocess.Popen(command, shell=True, cwd=outdir, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)  # its own group: killed whole
    except OSError as exc:
        raise PublishError(f"publish command {_one_line(command, 100)!r} could not start "
                           f"in {outdir}: {exc.strerror or exc}") from None
    try:
        stdout, stderr = process.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            stderr = process.communicate(timeout=5)[1]
        except subprocess.TimeoutExpired:  # a process it started left the group
            stderr = b""
        raise PublishError(f"publish command {_one_line(command, 100)!r} timed out after "
                           f"{timeout:g} s: {_last_line(stderr)}") from None
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    for line in stdout.decode("utf-8", "replace").splitlines():
        log.debug("publish command: %s", line)
    if process.returncode != 0:
        status = (f"killed by signal {-process.returncode}" if process.returncode < 0
                  else f"status {process.returncode}")
        raise PublishError(f"publish command {_one_line(command, 100)!r} failed ({status}): "
                           f"{_last_line(stderr)}")
