"""Command line: parse options, call Archive, print. No logic of its own."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table
from rich.tree import Tree

from . import __version__
from .archive import Archive
from .ingest import IngestReport
from .settings import Settings
from .store import StoreError

err = Console(stderr=True, soft_wrap=True)  # log lines stay whole when piped
out = Console()


class _Date(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):  # type: ignore[override]
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date like 2016-01-19", param, ctx)


DATE = _Date()


@click.group()
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="NEWSCONTEXT_DB",
              help="Archive file (default: newscontext.sqlite3 in your data directory; "
                   "or set NEWSCONTEXT_DB).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="newscontext")
@click.pass_context
def main(ctx: click.Context, db: Path | None, verbose: int) -> None:
    """newscontext: Wikipedia's Current Events Portal as an open news archive."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False)])
    ctx.obj = Settings.from_env(db=db)


def _archive(ctx: click.Context, *, create: bool = True) -> Archive:
    """The archive of --db; `create=False` for commands that only read it. A file that is
    no archive ends the command with one line naming it (exit 2), never a traceback."""
    try:
        archive = Archive(ctx.obj, create=create)
    except StoreError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        ctx.exit(2)
    ctx.call_on_close(archive.close)
    return archive


@main.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--api", is_flag=True, help="Fetch day pages from the MediaWiki Action API.")
@click.option("--from", "first", type=DATE, help="First day to fetch (with --api).")
@click.option("--to", "last", type=DATE, help="Last day to fetch (with --api; default --from).")
@click.option("--api-url", help="MediaWiki API endpoint (default: English Wikipedia).")
@click.pass_context
def ingest(ctx: click.Context, sources: tuple[Path, ...], api: bool, first: date | None,
           last: date | None, api_url: str | None) -> None:
    """Load day pages into the archive from files, folders (.wiki, .xml, .html) or the API."""
    if api_url:
        ctx.obj.api_url = api_url
    archive = _archive(ctx)
    if api:
        if sources:
            raise click.UsageError("give either SOURCE files or --api, not both")
        if first is None:
            raise click.UsageError("--api needs --from (and optionally --to)")
        try:
            report = archive.ingest_api(first, last or first)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    else:
        if not sources:
            raise click.UsageError("give SOURCE files or folders, or --api --from DATE")
        report = archive.ingest_paths(sources)
    _print_report(report)
    if report.errors:
        ctx.exit(2)  # partial success: everything readable was ingested


def _print_report(report: IngestReport) -> None:
    if report.repaired:
        err.print(f"{report.repaired} archived events repaired: read again from their "
                  "revisions by this version's parsers")
    err.print(
        f"{report.revisions} revisions of {len(report.days)} days ingested "
        f"({report.unchanged} unchanged, {report.older} older kept unapplied): "
        f"{report.added} events added, {report.changed} changed, {report.removed} removed, "
        f"{report.moved} moved"
    )
    if report.released or report.superseded:
        err.print(f"held revisions: {report.released} applied after their settle time, "
                  f"{report.superseded} superseded by a newer revision (never applied)")
    for line in report.held:
        err.print(f"[yellow]held:[/] {line}", highlight=False)
    if report.missing:
        err.print(f"{len(report.missing)} days have no portal page: "
                  + ", ".join(day.isoformat() for day in report.missing[:10]))
    if report.warnings:
        err.print(f"{len(report.warnings)} parse warnings (see `newscontext stats`):")
        for warning in report.warnings[:10]:
            err.print(f"  [yellow]{warning}[/]", markup=True, highlight=False)
    for error in report.errors:
        err.print(f"[red]error:[/] {error}", highlight=False)


@main.command()
@click.option("--api", is_flag=True, help="Ask the MediaWiki API about titles not yet known.")
@click.option("--redirects", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A redirect table file: one 'from<TAB>to' per line.")
@click.option("--api-url", help="MediaWiki API endpoint (default: English Wikipedia).")
@click.option("--full", is_flag=True,
              help="Fold every spelling group again, not only those the changes since the "
                   "last run reach (the result is the same).")
@click.pass_context
def resolve(ctx: click.Context, api: bool, redirects: Path | None, api_url: str | None,
            full: bool) -> None:
    """Make link targets canonical entities (redirects resolved), and every event's context."""
    if api_url:
        ctx.obj.api_url = api_url
    report = _archive(ctx).resolve(api=api, redirects=redirects, full=full)
    err.print(f"{report.targets} link targets; {report.resolved} resolved now, "
              f"{report.redirects} of them redirects ({report.changed} changed); "
              f"{report.folded} spellings folded into another; "
              f"{report.new_entities} new entities")
    for error in report.errors:
        err.print(f"[red]error:[/] {error}", highlight=False)
    if report.errors:
        ctx.exit(2)


@main.command()
@click.option("--full", is_flag=True,
              help="Rank every list again, not only those the changes since the last run "
                   "can reach (the lists come out the same).")
@click.pass_context
def relate(ctx: click.Context, full: bool) -> None:
    """Rank up to 10 related events for every event by the context they share."""
    report = _archive(ctx).relate(full=full)
    how = "every list ranked" if report.full else f"{report.ranked} lists ranked"
    err.print(f"{report.events} events, {report.entities} entities: {report.related} related "
              f"links ({how}, {report.changed} changed) in {report.seconds:.1f} s")


@main.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Make the full-text search index again from the archive (ingest, resolve and crawl
    keep it current; this is for an index damaged or made by another version)."""
    report = _archive(ctx, create=False).reindex()
    err.print(f"search index made: {report.events} events, {report.entities} entities, "
              f"{report.stories} stories in {report.seconds:.1f} s")


@main.command()
@click.argument("kind", type=click.Choice(["events", "entities", "related", "articles"]))
@click.pass_context
def export(ctx: click.Context, kind: str) -> None:
    """Print the archive as JSON Lines on stdout, one record per line.

    events: every event in portal order; entities: every entity by title;
    related: every live event's related list (`relate` computes them);
    articles: every source article `crawl` kept, by URL, with its full text.
    """
    archive = _archive(ctx, create=False)
    write = sys.stdout.write
    if kind == "events":
        for archived in archive.events():
            write(json.dumps(archived.to_export(), ensure_ascii=False) + "\n")
    elif kind == "entities":
        for entity in archive.entities():
            write(json.dumps(entity.to_export(), ensure_ascii=False) + "\n")
    elif kind == "articles":
        for article in archive.articles():
            write(json.dumps(article.to_export(), ensure_ascii=False) + "\n")
    else:
        for event_id, items in archive.related_lists():
            record = {"id": event_id, "related": [
                {"id": item.id, "score": item.score, "shared": list(item.shared)}
                for item in items]}
            write(json.dumps(record, ensure_ascii=False) + "\n")


@main.command()
@click.argument("day", type=DATE)
@click.option("--all", "show_removed", is_flag=True, help="Also show removed events.")
@click.pass_context
def show(ctx: click.Context, day: date, show_removed: bool) -> None:
    """Print one day as a tree: category > stories > events with their sources."""
    archive = _archive(ctx, create=False)
    events = [a for a in archive.day(day) if show_removed or not a.removed]
    if not events:
        err.print(f"no events for {day.isoformat()} in {ctx.obj.db}")
        ctx.exit(1)
    tree = Tree(f"[bold]{day.isoformat()}[/]")
    nodes: dict[tuple, Tree] = {}
    for archived in events:
        event = archived.event
        path: tuple = (event.category,)
        parent = nodes.get(path)
        if parent is None:
            parent = nodes[path] = tree.add(f"[bold cyan]{event.category or '(no category)'}[/]")
        for story in event.stories:
            path += (story.text,)
            node = nodes.get(path)
            if node is None:
                node = nodes[path] = parent.add(f"[magenta]{story.text}[/]")
            parent = node
        label = event.text + (" [red](removed)[/]" if archived.removed else "")
        leaf = parent.add(f"{label} [dim]{archived.id}[/]")
        for source in event.sources:
            leaf.add(f"[green]{source.name}[/] [dim]{source.url}[/]")
    out.print(tree, highlight=False)


@main.command()
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Print counts per year, parse warnings and input errors."""
    data = _archive(ctx, create=False).stats()
    totals = data["totals"]
    table = Table(title=f"{ctx.obj.db}")
    for column in ("year", "days", "events", "removed", "sources"):
        table.add_column(column, justify="right")
    for row in data["years"]:
        table.add_row(row["year"], str(row["days"]), str(row["events"]), str(row["removed"]),
                      str(row["sources"]))
    out.print(table)
    out.print(
        f"{totals['days']} days, {totals['revisions']} revisions, {totals['events']} events, "
        f"{totals['removed']} removed, {totals['versions']} versions"
    )
    if data["held"]:
        out.print(f"{len(data['held'])} revisions held (suspect: applied only if they stay "
                  "the day's newest for the settle time, NEWSCONTEXT_HOLD_HOURS)")
        for line in data["held"]:
            out.print(f"  {line}", highlight=False, markup=False)
    out.print(f"{len(data['warnings'])} parse warnings")
    for warning in data["warnings"]:
        out.print(f"  {warning}", highlight=False, markup=False)
    if data["errors"]:
        out.print(f"{len(data['errors'])} recent input errors")
        for at, place, message in data["errors"]:
            out.print(f"  {at} {place}: {message}", highlight=False, markup=False)


@main.command()
@click.option("--since", type=DATE, help="Only sources of events on or after this day.")
@click.option("--limit", type=click.IntRange(min=1), help="Fetch at most N sources.")
@click.pass_context
def crawl(ctx: click.Context, since: date | None, limit: int | None) -> None:
    """Fetch the articles the events cite, politely, and keep their text.

    Sources of the newest events go first; failed ones are tried again after 1, 2, 4...
    days; dead ones are looked up in the Wayback Machine. Safe to stop at any moment.
    """
    archive = _archive(ctx)
    if err.is_terminal:
        with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=err,
                      transient=True) as bar:
            task = bar.add_task("crawling", total=None)

            def advance(done: int, total: int, url: str, status: str) -> None:
                bar.update(task, completed=done, total=total)

            report = archive.crawl(since, limit, advance)
    else:
        def log_line(done: int, total: int, url: str, status: str) -> None:
            err.print(f"[{done}/{total}] {status} {url}", markup=False, highlight=False)

        report = archive.crawl(since, limit, log_line)
    statuses = ", ".join(f"{count} {status}" for status, count in report.statuses.most_common())
    err.print(f"{report.registered} new sources; {report.due} due, crawled in "
              f"{report.seconds:.1f} s: {statuses or 'nothing to do'}; "
              f"{report.given_up} given up for good", highlight=False)
    if report.images:
        pictures = ", ".join(f"{n} {status}" for status, n in report.images.most_common())
        err.print(f"cover pictures: {pictures}", highlight=False)


@main.command("extract")
@click.argument("target")
@click.option("--url", "page_url", help="The page's address, for a local FILE (its links "
              "and images are relative to it).")
@click.pass_context
def extract_page(ctx: click.Context, target: str, page_url: str | None) -> None:
    """Print the Open Graph metadata and the article of one page as JSON.

    TARGET is a local HTML file, or an http(s) URL fetched politely (robots.txt, limits).
    """
    from .sources.crawl import FetchFailed, PageRefused, extract_file, extract_url

    if target.startswith(("http://", "https://")):
        if page_url:
            raise click.UsageError("--url is for a local FILE; a URL is its own address")
        try:
            extraction = extract_url(target, ctx.obj)
        except FetchFailed as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False)
            ctx.exit(1)
    else:
        path = Path(target)
        if not path.is_file():
            raise click.BadParameter(f"{target!r} is neither a file nor an http(s) URL",
                                     param_hint="TARGET")
        try:
            extraction = extract_file(path, ctx.obj, page_url)
        except PageRefused as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False)
            ctx.exit(1)
    sys.stdout.write(json.dumps(extraction.to_json(), ensure_ascii=False, indent=2) + "\n")


@main.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--full", is_flag=True, help="Render every page, not only those that changed.")
@click.option("--formats", default="html,md,json,xml", show_default=True,
              help="The formats of every page (html always; the others each add about as "
                   "much again). Changing them rebuilds the site in full.")
@click.option("--since", type=DATE, help="Only the days from this one on (the site as if the "
              "archive began then; the live server serves the rest). Changing it rebuilds "
              "the site in full.")
@click.option("--search/--no-search", default=True, show_default=True,
              help="Make the Pagefind search index (slow on a large site).")
@click.pass_context
def build(ctx: click.Context, outdir: Path, full: bool, search: bool, formats: str,
          since: date | None) -> None:
    """Build the static site into OUTDIR: every page as .html, .md, .json and .xml (or the
    --formats chosen), feeds, sitemap and search. Later builds write only what changed."""
    from rich.markup import escape

    from .site.build import BuildError
    from .site.render.search import SearchError
    from .site.urls import FORMATS

    chosen = tuple(f for f in FORMATS if f in {x.strip() for x in formats.split(",")})
    unknown = {x.strip() for x in formats.split(",")} - set(FORMATS)
    if unknown or "html" not in chosen:
        raise click.BadParameter(
            f"a comma-separated list of {', '.join(FORMATS)} with html (the site's pages)"
            + (f"; not {', '.join(sorted(unknown))}" if unknown else ""),
            param_hint="--formats")
    try:
        report = _archive(ctx, create=False).build(outdir, full=full, search=search,
                                                   formats=chosen, since=since)
    except (SearchError, BuildError) as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        ctx.exit(1)
    extras = ", ".join(f"{name} {count}" for name, count in report.extras.items())
    err.print(f"{'full' if report.full else 'incremental'} build: {report.pages} pages "
              f"rendered, feeds of {report.feeds} stories and entities, "
              f"{report.written} files written, {report.unchanged} unchanged, "
              f"{report.deleted} deleted "
              f"({extras}) in {report.seconds:.1f} s", highlight=False)
    for line in report.failed:
        err.print(f"[red]error:[/] cannot make {escape(line)}", highlight=False)
    if report.failed:
        err.print(f"{len(report.failed)} of the pages could not be made (named above); the "
                  "next build tries them again", highlight=False)
        ctx.exit(2)  # partial success: every other page was built


@main.command()
@click.argument("outdir", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes of the live server (default: the serve_workers setting, 2).")
@click.pass_context
def serve(ctx: click.Context, outdir: Path | None, host: str, port: int,
          workers: int | None) -> None:
    """Serve the site built in OUTDIR over HTTP (old event paths answer 301); without
    OUTDIR, serve the archive (--db) live: every page made on request, the same bytes as
    `build` writes. Ctrl+C stops."""
    settings = ctx.obj
    if outdir is None:
        from .web.live import serve as run_live

        if workers is not None:
            settings.serve_workers = workers

        def live_ready(url: str) -> None:
            click.echo(f"Serving the archive {settings.db} live at {url} "
                       f"({settings.serve_workers} workers; Ctrl+C to stop)")

        try:
            run_live(settings.db, settings, host, port, ready=live_ready)
        except StoreError as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False)
            ctx.exit(2)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
        return
    from .site.serve import serve as run

    def ready(url: str) -> None:
        click.echo(f"Serving {outdir} at {url} (Ctrl+C to stop)")

    try:
        run(outdir, host, port, ready=ready, settings=settings)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc


@main.command()
@click.option("--site", "site", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The site folder to build into (and publish from).")
@click.option("--days", type=click.IntRange(min=1), help="Window: the last N days up to today "
              "(UTC). Default 10.")
@click.option("--from", "first", type=DATE, help="Window's first day (with --to).")
@click.option("--to", "last", type=DATE, help="Window's last day (default: --from).")
@click.option("--crawl-limit", type=click.IntRange(min=0), default=200, show_default=True,
              help="Sources to fetch at most this run; the rest next run (0: no crawl).")
@click.option("--publish", type=click.Choice(["git"]),
              help="Commit the files the build changed in SITE, a git work tree.")
@click.option("--publish-command", metavar="CMD",
              help="Run CMD in SITE with the changed files' paths on stdin (rsync, a sync).")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@click.pass_context
def update(ctx: click.Context, site: Path, days: int | None, first: date | None,
           last: date | None, crawl_limit: int, publish: str | None,
           publish_command: str | None, quiet: bool) -> None:
    """One robot cycle: ingest the window's changed days through the API, resolve, relate,
    crawl new sources, build SITE incrementally, publish; write SITE/status.json.

    Exit status 0 when every stage succeeded (or another update is running), 2 when some
    day, title or source failed (the rest was done and published), 1 when the run could not
    proceed.
    """
    from .update import Updater, default_window, stage_line

    if quiet:
        logging.getLogger().setLevel(logging.ERROR)
    if days is not None and (first or last):
        raise click.UsageError("give either --days or --from/--to, not both")
    if last is not None and first is None:
        raise click.UsageError("--to needs --from")
    if first is not None:
        window = (first, last or first)
        if window[1] < window[0]:
            raise click.UsageError(f"--to {window[1]} is before --from {window[0]}")
    else:
        window = default_window(days or 10)
    report = Updater(_archive(ctx), site, window, crawl_limit=crawl_limit, publish=publish,
                     publish_command=publish_command).run()
    if report.busy:
        if not quiet:
            err.print("another update of this archive is running; nothing to do")
        return
    for name, stage in report.stages.items():
        if not quiet or not stage.ok:
            err.print(stage_line(name, stage), highlight=False, markup=False)
    for line in report.held if not quiet else []:
        err.print(f"held: {line}", highlight=False, markup=False)
    for error in report.errors():
        err.print(f"error: {error}", highlight=False, markup=False)
    ctx.exit(report.exit_code)


@main.command()
@click.option("--site", "site", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The site folder `update` writes.")
@click.pass_context
def status(ctx: click.Context, site: Path) -> None:
    """How the last `update` went (SITE/status.json), readably. Exit status 0 when it went
    well, 2 when it had problems, 1 when no update has written a status there."""
    from .update import counts_text, read_status

    try:
        data = read_status(site)
    except FileNotFoundError:
        err.print(f"error: {site}: no status.json (no `update` has run with this --site)")
        ctx.exit(1)
    except (OSError, ValueError) as exc:
        err.print(f"error: {site / 'status.json'}: unreadable ({exc})")
        ctx.exit(1)
    window = data.get("window") or ["?", "?"]
    out.print(f"last update: {'ok' if data.get('ok') else 'PROBLEMS'}, started "
              f"{data.get('started')}, finished {data.get('finished')}; window "
              f"{window[0]}..{window[1]}; newest day {data.get('newest_day')}",
              highlight=False, markup=False)
    table = Table()
    for column in ("stage", "ok", "seconds", "counts"):
        table.add_column(column)
    for name, stage in (data.get("stages") or {}).items():
        counts = counts_text({k: v for k, v in stage.items() if k not in ("ok", "seconds")})
        table.add_row(name, "yes" if stage.get("ok") else "NO", f"{stage.get('seconds', 0):.1f}",
                      counts)
    out.print(table)
    for line in data.get("held") or []:
        out.print(f"held: {line}", highlight=False, markup=False)
    for error in data.get("errors") or []:
        out.print(f"error: {error}", highlight=False, markup=False)
    ctx.exit(0 if data.get("ok") else 2)


if __name__ == "__main__":  # pragma: no cover
    main()
