"""Forked worker processes that die with the process that started them.

A stage shares its work with forked processes (they read the parent's memory as it was at
the fork, nothing to send). Killed (SIGKILL, the out-of-memory killer), the parent cannot
end them, and a forked child would live on: blocked forever on its task pipe, whose write
end it inherited, holding its memory and any lock the parent held (a `flock` belongs to the
open file, which the child shares). So each child first closes what it must not hold, then
asks the kernel to kill it when its parent dies, and checks that the parent still lives.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from .lock import close_inherited

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def fork_pool(count: int) -> ProcessPoolExecutor:
    """`count` forked processes that die with this one and hold none of its locks (the
    archive's, a build folder's: see lock.py). Linux sends the signal when the thread that
    forked them ends: use the pool in the thread that made it."""
    return ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start, initargs=(os.getpid(),))


def _start(parent: int) -> None:
    """First thing in a forked process."""
    close_inherited()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        watched = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: look for the parent every second
        watched = False
    if os.getppid() != parent:  # the parent died before this process could watch it
        os._exit(1)
    if not watched:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
