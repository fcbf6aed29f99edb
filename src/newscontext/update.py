"""The robot: one cycle of every stage, under one lock, that a timer runs every two hours.

ingest (the API window) -> resolve (new titles, through the API) -> relate -> crawl (new
sources, up to a limit) -> build (incremental) -> publish (git commit of the changed files,
or the operator's command). Each stage's outcome is timed and counted; a stage that fails
on some day, title or source leaves the rest done (exit 2), one that cannot run at all stops
what depends on it (exit 1). `status.json` in the site folder says how the last run went,
for an uptime monitor.

Two runs never overlap: a second `update` on the same archive sees the first one's kernel
lock and leaves at once, successfully (an overlapping cron run is normal). Any run can be
killed: every stage commits its own work, and the next run completes the rest (a build
killed before its publish is published by the next run, see publish.py).
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .archive import Archive
from .ingest import held_line, utc_now
from .lock import Busy, FileLock

log = logging.getLogger("newscontext.update")

STATUS = "status.json"
# Crawl outcomes that are failures on our side or the network's (tried again later); a page
# that answers 404 or is paywalled is an outcome, not a failure of the run.
CRAWL_FAILURES = frozenset({"error", "timeout"})


@dataclass
class Stage:
    """One stage's outcome, as status.json shows it."""

    ok: bool = True
    seconds: float = 0.0
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ran: bool = True


@dataclass
class UpdateReport:
    started: str
    window: tuple[date, date]
    finished: str = ""
    stages: dict[str, Stage] = field(default_factory=dict)
    fatal: str | None = None  # why the run could not proceed
    newest_day: date | None = None
    held: list[str] = field(default_factory=list)
    busy: bool = False  # another update was running: nothing done

    @property
    def ok(self) -> bool:
        return self.fatal is None and all(s.ok for s in self.stages.values())

    @property
    def exit_code(self) -> int:
        if self.busy:
            return 0
        if self.fatal is not None:
            return 1
        return 0 if self.ok else 2

    def errors(self) -> list[str]:
        found = [f"{name}: {error}" for name, s in self.stages.items() for error in s.errors]
        return ([self.fatal] if self.fatal else []) + found

    def status(self) -> dict[str, Any]:
        """The status.json document."""
        return {
            "ok": self.ok,
            "started": self.started,
            "finished": self.finished,
            "window": [self.window[0].isoformat(), self.window[1].isoformat()],
            "stages": {name: {"ok": s.ok, "seconds": round(s.seconds, 3), **s.counts}
                       for name, s in self.stages.items()},
            "newest_day": self.newest_day.isoformat() if self.newest_day else None,
            "held": self.held,
            "errors": self.errors(),
        }


def default_window(days: int = 10) -> tuple[date, date]:
    """The last `days` days up to today (UTC): portal days are edited for days after."""
    today = date.fromisoformat(utc_now()[:10])
    return today - timedelta(days=days - 1), today


class Updater:
    """Runs one cycle; see the module docstring."""

    def __init__(self, archive: Archive, site: Path, window: tuple[date, date], *,
                 crawl_limit: int = 200, publish: str | None = None,
                 publish_command: str | None = None):
        self.archive, self.site, self.window = archive, Path(site), window
        self.crawl_limit = crawl_limit
        self.publish, self.publish_command = publish, publish_command
        db = Path(archive.settings.db)
        self.lock = FileLock(db.with_name(db.name + ".update.lock"), f"updates of {db}")

    def run(self) -> UpdateReport:
        report = UpdateReport(started=utc_now(), window=self.window)
        try:
            self.lock.acquire(wait=False)
        except Busy:
            report.busy = True
            return report
        try:
            with self.archive.writing:  # the whole cycle: no other writer in between
                self._cycle(report)
        finally:
            report.finished = utc_now()
            self._write_status(report)
            self.lock.release()
        return report

    # -- the stages ------------------------------------------------------------------------

    def _cycle(self, report: UpdateReport) -> None:
        archive = self.archive
        ingested = self._stage(report, "ingest", lambda: archive.ingest_api(*self.window),
                               _ingest_outcome)
        self._stage(report, "resolve", lambda: archive.resolve(api=True), _resolve_outcome)
        self._stage(report, "relate", archive.relate, _relate_outcome)
        self._stage(report, "crawl",
                    lambda: archive.crawl(since=self.window[0], limit=self.crawl_limit),
                    _crawl_outcome, skip=self.crawl_limit == 0)
        every = archive.settings.search_index_hours  # the static search: not every cycle
        built = self._stage(report, "build",
                            lambda: archive.build(self.site, search_every=every),
                            _build_outcome, fatal=True)
        if self.publish or self.publish_command:
            if built is None:
                report.stages["publish"] = Stage(ok=False, ran=False,
                                                 errors=["not published: the build failed"])
            else:
                self._stage(report, "publish", lambda: self._publish(ingested, built),
                            lambda result: (result, []), fatal=True)
        report.newest_day = archive.store.newest_day()
        report.held = [held_line(r) for r in archive.store.held_revisions()]

    def _stage(self, report: UpdateReport, name: str, work: Callable[[], Any],
               outcome: Callable[[Any], tuple[dict[str, Any], list[str]]], *,
               fatal: bool = False, skip: bool = False) -> Any:
        """Run one stage, timed; its errors are recorded, never raised. A stage that
        raises is one line in the report (and a traceback in the debug log); `fatal` makes
        it stop the run's exit status at 1."""
        if skip:
            report.stages[name] = Stage(ran=False, counts={"skipped": True})
            return None
        started = time.perf_counter()
        stage = report.stages[name] = Stage()
        try:
            result = work()
        except Exception as exc:  # one stage's fault must not stop the others
            stage.ok = False
            stage.errors.append(f"{type(exc).__name__}: {exc}")
            log.debug("%s failed:\n%s", name, traceback.format_exc())
            if fatal:
                report.fatal = f"{name} could not run: {type(exc).__name__}: {exc}"
            result = None
        else:
            stage.counts, stage.errors = outcome(result)
            stage.ok = not stage.errors
        stage.seconds = time.perf_counter() - started
        return result

    def _publish(self, ingested: Any, built: Any) -> dict[str, Any]:
        from .publish import files_to_publish, mark_published, publish_command, publish_git

        paths, stamp = files_to_publish(self.site)
        counts: dict[str, Any] = {"files": len(paths)}
        if paths and self.publish == "git":
            counts["commit"] = publish_git(self.site, paths,
                                           commit_message(ingested, built, len(paths)))
        if paths and self.publish_command:
            publish_command(self.publish_command, self.site, paths,
                            timeout=self.archive.settings.publish_timeout)
        mark_published(self.site, stamp)
        return counts

    def _write_status(self, report: UpdateReport) -> None:
        """status.json, replaced atomically (a monitor never reads half of it)."""
        try:
            self.site.mkdir(parents=True, exist_ok=True)
            path = self.site / STATUS
            temporary = path.with_name(f".{STATUS}.tmp")
            temporary.write_text(json.dumps(report.status(), indent=2, ensure_ascii=False)
                                 + "\n", encoding="utf-8")
            os.replace(temporary, path)
        except OSError as exc:
            log.error("%s: cannot write the status file: %s", self.site / STATUS,
                      exc.strerror or exc)


# -- what each stage's report says -----------------------------------------------------------

def _ingest_outcome(r: Any) -> tuple[dict[str, Any], list[str]]:
    counts = {"revisions": r.revisions, "days": len(r.days), "unchanged": r.unchanged,
              "older": r.older, "added": r.added, "changed": r.changed, "removed": r.removed,
              "moved": r.moved, "missing": len(r.missing), "held": len(r.held),
              "released": r.released, "superseded": r.superseded, "repaired": r.repaired}
    return counts, list(r.errors)


def _resolve_outcome(r: Any) -> tuple[dict[str, Any], list[str]]:
    return ({"targets": r.targets, "resolved": r.resolved, "redirects": r.redirects,
             "folded": r.folded, "new_entities": r.new_entities}, list(r.errors))


def _relate_outcome(r: Any) -> tuple[dict[str, Any], list[str]]:
    return {"events": r.events, "full": r.full, "ranked": r.ranked,
            "lists_changed": r.changed}, []


def _crawl_outcome(r: Any) -> tuple[dict[str, Any], list[str]]:
    failed = sum(count for status, count in r.statuses.items() if status in CRAWL_FAILURES)
    counts = {"registered": r.registered, "due": r.due, **dict(r.statuses),
              "given_up": r.given_up}
    errors = [f"{failed} sources could not be fetched (tried again later)"] if failed else []
    return counts, errors


def _build_outcome(r: Any) -> tuple[dict[str, Any], list[str]]:
    return ({"full": r.full, "pages": r.pages, "written": r.written, "unchanged": r.unchanged,
             "deleted": r.deleted},
            list(r.failed))


def commit_message(ingested: Any, built: Any, files: int) -> str:
    """What changed, for the site's history: "2016-01-19: 2 events added, 1 reworded; ..."
    then the count of pages and files."""
    parts = []
    per_day: dict[date, Counter[str]] = getattr(ingested, "per_day", None) or {}
    for day in sorted(per_day, reverse=True):
        counts = per_day[day]
        said = [f"{counts[kind]} {word}" for kind, word in
                (("added", "added"), ("changed", "reworded"), ("removed", "removed"),
                 ("moved", "moved")) if counts[kind]]
        if said:
            number, word = said[0].split(" ", 1)
            noun = "event" if number == "1" else "events"
            parts.append(f"{day.isoformat()}: {number} {noun} {word}"
                         + "".join(f", {x}" for x in said[1:]))
    pages = getattr(built, "pages", 0) if built is not None else 0
    summary = "; ".join(parts) if parts else "sources and pages refreshed"
    return f"{summary}; {pages} pages ({files} files)"


def read_status(site: Path) -> dict[str, Any]:
    """The last run's status.json (FileNotFoundError when no run wrote one)."""
    return json.loads((Path(site) / STATUS).read_text(encoding="utf-8"))


def stage_line(name: str, stage: Stage) -> str:
    """One summary line of a stage, for stderr."""
    if not stage.ran:
        return f"{name}: skipped" if stage.counts.get("skipped") else \
            f"{name}: not run ({'; '.join(stage.errors)})"
    state = "ok" if stage.ok else f"{len(stage.errors)} problems"
    return f"{name}: {counts_text(stage.counts) or 'nothing to do'} ({stage.seconds:.1f} s, " \
        f"{state})"


def counts_text(counts: dict[str, Any]) -> str:
    """A stage's counts for people: "3 revisions, 89 added, full" (zeros left out)."""
    return ", ".join(key.replace("_", " ") if value is True else
                     f"{value} {key.replace('_', ' ')}" for key, value in counts.items()
                     if value not in (0, False, None, ""))

