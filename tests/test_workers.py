"""Forked worker processes die with the process that started them and hold no lock of it."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from processes import alive, children

from newscontext.lock import FileLock
from newscontext.workers import fork_pool


def _share_while_locked(lock_path: Path, release: bool) -> None:
    """Hold a lock on `lock_path` and keep two forked workers busy (a forked test process).
    The project's locks (lock.FileLock) are let go by the workers; a bare flock, the
    control case, is inherited."""
    held = FileLock(lock_path, "the test folder") if release else lock_path.open("w")
    if release:
        held.acquire()
    else:
        fcntl.flock(held, fcntl.LOCK_EX)
    with fork_pool(2) as pool:
        list(pool.map(time.sleep, [120, 120]))


def _start(lock_path: Path, release: bool) -> tuple[multiprocessing.Process, list[int]]:
    parent = multiprocessing.get_context("fork").Process(
        target=_share_while_locked, args=(lock_path, release))
    parent.start()
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = children(parent.pid)
    assert len(workers) == 2
    time.sleep(0.3)  # past their first steps: busy with their task
    return parent, workers


def _lock_is_free(lock_path: Path) -> bool:
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _wait_dead(pids: list[int], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_workers_die_with_their_parent_and_let_its_lock_go(tmp_path: Path):
    lock_path = tmp_path / "lock"
    parent, workers = _start(lock_path, release=True)
    try:
        assert not _lock_is_free(lock_path)  # the parent holds it
        os.kill(parent.pid, signal.SIGKILL)
        parent.join(10)
        _wait_dead(workers)
        assert not any(map(alive, workers))
        assert _lock_is_free(lock_path)
    finally:
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)


def _open_files(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.add(os.readlink(fd))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("release", [True, False])
def test_released_descriptors_are_not_held_by_the_workers(tmp_path: Path, release: bool):
    lock_path = tmp_path / "lock"
    parent, workers = _start(lock_path, release=release)
    try:
        assert str(lock_path) in _open_files(parent.pid)
        assert all((str(lock_path) in _open_files(pid)) is not release for pid in workers)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.join(10)
        _wait_dead(workers)
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)
