"""Kernel file locks (flock) that keep two writers of one archive or site apart.

The kernel drops a flock when the last descriptor of its open file goes, so a run killed
with SIGKILL never leaves a stale lock. The descriptor is close-on-exec, and processes forked
while it is held must close their copy (`close_in_child`) so they never keep it alive.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import weakref
from pathlib import Path

log = logging.getLogger("newscontext.lock")


_HELD: weakref.WeakSet[FileLock] = weakref.WeakSet()  # locks this process holds


def close_inherited() -> None:
    """In a forked child (a build or relate worker): drop every lock the parent held, so
    the child never keeps one alive after its parent is killed."""
    for lock in list(_HELD):
        lock.close_in_child()


class Busy(Exception):
    """Another process holds the lock (raised only when not waiting)."""


class FileLock:
    """An exclusive flock on `path`, re-entrant within one process."""

    def __init__(self, path: Path, what: str):
        self.path, self.what = path, what
        self._fd: int | None = None
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, wait: bool = True) -> None:
        """Take the lock; with `wait`, block (saying once why) until the holder is done."""
        if self._fd is not None:
            self._depth += 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise Busy(f"another process is writing {self.what}") from None
                log.warning("waiting for another process writing %s", self.what)
                started = time.monotonic()
                fcntl.flock(fd, fcntl.LOCK_EX)
                log.info("waited %.1f s for %s", time.monotonic() - started, self.what)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._depth = fd, 1
        _HELD.add(self)

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth == 0:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None
            _HELD.discard(self)

    def close_in_child(self) -> None:
        """In a forked child: drop the inherited descriptor without unlocking the parent
        (the flock belongs to the open file, which the parent still holds)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._depth = None, 0
            _HELD.discard(self)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def archive_lock(db: Path) -> Path:
    """The file an archive's writers lock (Archive.writing): `<archive>.lock` beside it."""
    return db.with_name(db.name + ".lock")


def held_elsewhere(path: Path) -> bool:
    """Whether another process holds the lock on `path` now: asked without taking it for
    longer than the asking (the live server, which must never make a writer wait)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # no lock file: nobody ever wrote through it
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock, if taken
    return False

