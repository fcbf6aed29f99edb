"""The shipped systemd units and cron line: valid for systemd, and calling `update` with
options the command accepts."""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
from pathlib import Path

import click
from click.testing import CliRunner

from newscontext.cli import main

CONTRIB = Path(__file__).parent.parent / "contrib"


def update_args(command: str) -> list[str]:
    """The arguments after `newscontext` in a unit's or cron line's command."""
    words = shlex.split(command)
    return words[next(i for i, w in enumerate(words) if w.endswith("/newscontext")) + 1:]


def test_units_verify_with_systemd(tmp_path: Path):
    for name in ("newscontext-update.service", "newscontext-update.timer"):
        text = (CONTRIB / "systemd" / name).read_text()
        # the unit's paths are the operator's; verify the rest with commands that exist
        text = text.replace("/srv/newscontext/venv/bin/newscontext", "/bin/true")
        text = re.sub(r"^User=.*\n|^Group=.*\n", "", text, flags=re.MULTILINE)
        (tmp_path / name).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify",
                           str(tmp_path / "newscontext-update.service"),
                           str(tmp_path / "newscontext-update.timer")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_timer_runs_every_two_hours():
    timer = (CONTRIB / "systemd" / "newscontext-update.timer").read_text()
    calendar = re.search(r"^OnCalendar=(.*)$", timer, re.MULTILINE)[1]
    done = subprocess.run(["systemd-analyze", "calendar", "--iterations", "3", calendar],
                          capture_output=True, text=True, check=True)
    hours = re.findall(r" (\d\d):00:00 UTC", done.stdout)
    steps = [int(b) - int(a) for a, b in itertools.pairwise(hours)]
    assert len(hours) == 3 and all(step in (2, -22) for step in steps)


def test_commands_are_ones_update_accepts(tmp_path: Path):
    service = (CONTRIB / "systemd" / "newscontext-update.service").read_text()
    cron = (CONTRIB / "cron" / "newscontext").read_text()
    commands = [re.search(r"^ExecStart=(.*)$", service, re.MULTILINE)[1]
                .replace("${NEWSCONTEXT_SITE}", "/srv/site"),
                re.search(r"^17 \*/2 \* \* \* newscontext (.*?) >>", cron, re.MULTILINE)[1]]
    for command in commands:
        args = update_args(command)
        assert args[:1] == ["update"] and "--site" in args
        sub = main.get_command(click.Context(main), "update")
        assert sub is not None
        sub.make_context("update", args[1:])  # raises on an unknown option or a bad value
    assert "SuccessExitStatus=2" in service  # "some source failed" is not a failed unit
    assert CliRunner().invoke(main, ["update", "--help"]).exit_code == 0
