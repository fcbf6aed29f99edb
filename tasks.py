#!/usr/bin/env python3
"""Set-up and everyday tasks, needing nothing but Python 3.11:

    python3 tasks.py demo   # install into .venv; ingest, relate, build and serve the sample
    python3 tasks.py test   # install into .venv, run ruff and the test suite

Each task creates `.venv` (once) and installs the project with its test tools into it, so a
fresh clone needs no other step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
FIXTURES = ROOT / "tests" / "fixtures"
# Real portal days; the rendered HTML of March 2026 is an earlier revision than the
# wikitext of the same days, so it goes first and the site shows how those events changed.
SAMPLE = [FIXTURES / "html-parse-api", FIXTURES / "wikitext", FIXTURES / "html-kiwicopple"]
DEMO_DB = ROOT / "demo" / "newscontext.sqlite3"
DEMO_SITE = ROOT / "demo" / "site"


def run(*command: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], cwd=ROOT, check=check).returncode


def become(*command: str | Path) -> NoReturn:
    """Replace this process with `command`: the last step of a task that runs a server, so
    that the task's pid is the server's and stopping the task (Ctrl+C, `kill PID`) stops it."""
    print("+", " ".join(str(part) for part in command), flush=True)
    os.chdir(ROOT)
    os.execv(str(command[0]), [str(part) for part in command])


def install() -> None:
    """Create the virtualenv and install the project, again only when pyproject changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this runs on whatever python3 is found)
        sys.exit(f"newscontext needs Python 3.11 or newer, not {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pyproject = ROOT / "pyproject.toml"
    if STAMP.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[test]")
    STAMP.touch()


def browser() -> None:
    """Debian's Chromium for the browser tests (never a downloaded browser build)."""
    if Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "chromium", "chromium-driver"], check=True, env=env)
    else:
        print("Chromium is missing: install Debian's chromium and chromium-driver "
              "(as root: apt-get install chromium chromium-driver); browser tests will skip.")


def demo() -> None:
    """The main job on the bundled real sample: ingest, resolve, relate, build, serve."""
    install()
    # A fresh archive each time: the sample's files carry no revision ids, so ingesting
    # them again would replay their order as edits (a file given again is a revert).
    shutil.rmtree(DEMO_SITE, ignore_errors=True)
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    DEMO_DB.parent.mkdir(exist_ok=True)
    port = os.environ.get("NEWSCONTEXT_DEMO_PORT", "8000")
    # Absolute URLs (JSON, XML, feeds, sitemap) name the server the demo starts.
    os.environ.setdefault("NEWSCONTEXT_SITE_URL", f"http://127.0.0.1:{port}")
    cli = [BIN / "newscontext", "--db", DEMO_DB]
    run(*cli, "ingest", *SAMPLE)
    run(*cli, "resolve")
    run(*cli, "relate")
    run(*cli, "stats")
    run(*cli, "build", DEMO_SITE)
    become(*cli, "serve", DEMO_SITE, "--port", port)


def test() -> None:
    install()
    browser()
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "tasks.py")
    sys.exit(run(BIN / "python", "-m", "pytest", *sys.argv[2:], check=False))


TASKS = {"demo": demo, "test": test, "install": install}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}} [pytest arguments]")
    TASKS[sys.argv[1]]()
