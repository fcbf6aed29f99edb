"""`tasks.py`: the demo serves from its own process, so stopping the demo stops the server.

The demo runs as the README says (`python3 tasks.py demo`), on one real day instead of the
whole sample and in a temporary folder instead of `demo/`, without the install step (the
test runs inside an installed environment already).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import WIKITEXT

ROOT = Path(__file__).resolve().parent.parent
DAY = WIKITEXT / "2016-01-19.wiki"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow  # five CLI runs and a server: about 15 s
def test_killing_the_demo_stops_its_server(tmp_path: Path) -> None:
    port = free_port()
    script = "\n".join([
        "import sys; from pathlib import Path",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "import tasks",
        "tasks.install = lambda: None",
        f"tasks.BIN = Path({sysconfig.get_path('scripts')!r})",
        f"tasks.SAMPLE = [Path({str(DAY)!r})]",
        f"tasks.DEMO_DB = Path({str(tmp_path / 'demo.sqlite3')!r})",
        f"tasks.DEMO_SITE = Path({str(tmp_path / 'site')!r})",
        "tasks.demo()",
    ])
    env = dict(os.environ, NEWSCONTEXT_DEMO_PORT=str(port))
    env.pop("NEWSCONTEXT_SITE_URL", None)
    demo = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        lines: list[str] = []
        assert demo.stdout is not None
        for line in demo.stdout:  # the steps, then the server's greeting
            lines.append(line)
            if line.startswith("Serving "):
                break
        assert lines and lines[-1].startswith("Serving "), "".join(lines)
        assert any(" ingest " in line for line in lines) and any(" build " in line
                                                                for line in lines)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/news/2016/01/19/index.html",
                                      timeout=10).read()
        assert b"2016" in page
        # The pid the operator started is the server's: `kill PID` stops the server.
        os.kill(demo.pid, signal.SIGTERM)
        demo.wait(timeout=10)
        deadline = time.monotonic() + 5
        while listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not listening(port), "the demo's server outlived the demo"
    finally:
        with contextlib.suppress(ProcessLookupError):  # all the demo started, if it failed
            os.killpg(demo.pid, signal.SIGKILL)
        demo.wait(timeout=10)
