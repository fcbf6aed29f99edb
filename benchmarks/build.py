"""Static build at archive scale: pages per second, total time, memory, incremental time.

On a synthetic archive of about 9,000 days and 150,000 events made from the real fixture
events (see synthetic.py): a full build of every page in every format with feeds, sitemap
and redirect map, then a build with nothing changed, then one after one day changed (one
event reworded). The search index (Pagefind) is timed apart, with --search.

    python benchmarks/build.py                 # 150,000 events
    python benchmarks/build.py --events 20000 --workers 1
    python benchmarks/build.py --out /dev/shm   # in memory: rendering without the disk
    python benchmarks/build.py --choices        # smaller static sites: formats, windows
    python benchmarks/build.py --rare-group 1   # most subjects with one event, as real days

With --choices, instead of those builds: full builds of the smaller static sites `build`
offers (`--formats`, `--since`), each into a folder of its own, with their files and bytes.

CPU user is the rendering, CPU sys mostly the file system's work for the writes.

Leave a few minutes between runs on disk: the script deletes its site (1.75 million files)
when it ends, and ext4 without a journal (as on the machine the README's figures come from)
then creates files several times slower for some minutes (its inode allocator steps over
inodes freed in the last minutes), which a run started right away would measure.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from synthetic import RARE_GROUP, make_archive, single_event_share

from newscontext import Archive, Settings
from newscontext.site import urls
from newscontext.site.build import Plan, render_job
from newscontext.site.pages import Pages
from newscontext.site.render import SiteInfo, render


def cpu_seconds() -> tuple[float, float]:
    """User and system CPU time of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return max(own, children)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--search", action="store_true", help="also time the search index")
    parser.add_argument("--choices", action="store_true",
                        help="full builds of smaller sites (formats, windows) instead")
    parser.add_argument("--rare-group", type=int, default=RARE_GROUP,
                        help="copies sharing each rare title (1: most subjects have one "
                             "event, as on real days; see synthetic.py)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to build the site in (default: a temporary one; "
                             "/dev/shm/... takes the disk out of the figures)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db=Path(tmp) / "synthetic.sqlite3", workers=args.workers)
        with Archive(settings) as archive:
            started = time.perf_counter()
            count = make_archive(archive, args.events, args.rare_group)
            archive.relate()
            subjects, single = single_event_share(archive)
            print(f"synthetic archive: {count} events, {subjects} subjects ({single} with "
                  f"one event, {100 * single / max(subjects, 1):.0f}%; rare group "
                  f"{args.rare_group}), related lists made, "
                  f"in {time.perf_counter() - started:.0f} s")
            out = (args.out or Path(tmp)) / "newscontext-benchmark-site"
            if out.exists():
                raise SystemExit(f"{out} exists: give an empty place with --out")
            if args.choices:
                choices(archive, out)
                return
            rows = []

            def timed(label: str, **options: bool) -> None:
                user, system = cpu_seconds()
                report = archive.build(out, **options)
                after = cpu_seconds()
                rows.append((label, report, after[0] - user, after[1] - system))

            timed("full build", search=False)
            timed("again, nothing changed", search=False)
            # Builds a second apart at least, as the robot's are hours apart: a build that
            # starts within the second of the one before cannot tell which files that one
            # changed (times have whole seconds), so it lists the whole sitemap again.
            time.sleep(1.1)
            first_day = archive.store.conn.execute("SELECT MIN(date) FROM events").fetchone()[0]
            with archive.store.transaction():
                change = archive.store.next_change()
                archive.store.conn.execute(
                    "UPDATE events SET text = text || ' (updated)', change_seq = ? "
                    "WHERE id = (SELECT id FROM events WHERE date = ? ORDER BY position "
                    "LIMIT 1)", (change, first_day))
            timed(f"after one day ({first_day}) changed", search=False)
            if args.search:
                timed("search index (Pagefind), full")
            cost = cost_by_kind(archive)
            files, size, table = where_the_bytes_are(out)
            if args.out:
                shutil.rmtree(out)
        print(f"{'build':32} {'pages':>8} {'written':>9} {'unchanged':>10} {'seconds':>8} "
              f"{'files/s':>8} {'CPU user':>9} {'CPU sys':>8}")
        for label, r, user, system in rows:
            print(f"{label:32} {r.pages:8d} {r.written:9d} {r.unchanged:10d} {r.seconds:8.2f} "
                  f"{r.written / r.seconds:8.0f} {user:9.1f} {system:8.1f}")
        print(f"files in the site: {files} ({size / 1e9:.1f} GB); workers: {args.workers}; "
              f"peak memory (max RSS of a process): {peak_mb():.0f} MB")
        print(table)
        print(cost)


def cost_by_kind(archive: Archive, sample: int = 2000) -> str:
    """CPU milliseconds a page takes by kind, to read its content from the archive (model)
    and to render each format, measured in this process on the first `sample` pages of
    each kind in the full build's order (as a build process meets them), with the count
    of that kind and its CPU seconds in all (writing the files is not in these)."""
    pages = Pages(archive.store, archive.settings)
    plan = Plan(archive.store, pages)
    jobs: dict[str, list] = {}
    for job in plan.everything():
        if job[0] != "feed":
            jobs.setdefault(job[0], []).append(job)
    site = SiteInfo(url=archive.settings.site_url.rstrip("/"), generated="")
    columns = ("model", *urls.FORMATS)
    lines = [f"{'page kind':10} {'pages':>8} " + " ".join(f"{c:>6}" for c in columns)
             + f" {'ms/page':>8} {'CPU s, all':>10}  (CPU ms per page, on a sample)"]
    for kind, found in sorted(jobs.items(), key=lambda item: -len(item[1])):
        spent = dict.fromkeys(columns, 0.0)
        for job in found[:sample]:
            started = time.process_time()
            page = render_job(pages, plan, job)
            spent["model"] += time.process_time() - started
            for fmt in urls.FORMATS:
                started = time.process_time()
                render(page, fmt, site)
                spent[fmt] += time.process_time() - started
        n = min(len(found), sample)
        per_page = 1000 * sum(spent.values()) / n
        lines.append(f"{kind:10} {len(found):8d} " + " ".join(
            f"{1000 * spent[c] / n:6.2f}" for c in columns)
            + f" {per_page:8.2f} {per_page * len(found) / 1000:10.0f}")
    return "\n".join(lines)


def where_the_bytes_are(site: Path) -> tuple[int, int, str]:
    """Files and bytes of the site, and a table of its files and GB by page kind (an old
    path's redirect counts as the kind its path names) and format."""
    files: Counter[tuple[str, str]] = Counter()
    size: Counter[tuple[str, str]] = Counter()
    for folder, _, names in os.walk(site):
        for name in names:
            full = os.path.join(folder, name)
            found = urls.parse_file(os.path.relpath(full, site))
            kind, fmt = (found[0][0], found[1]) if found else ("other", "-")
            files[kind, fmt] += 1
            size[kind, fmt] += os.stat(full).st_size
    formats = [*urls.FORMATS, "atom", "-"]
    lines = [f"{'page kind':10} " + " ".join(f"{f:>14}" for f in formats)
             + f" {'total GB':>9}  (files and GB)"]
    for kind in sorted({k for k, _ in files}, key=lambda k: -sum(
            v for (k2, _), v in size.items() if k2 == k)):
        cells = [f"{files[kind, f]:7d} {size[kind, f] / 1e9:6.2f}" for f in formats]
        total = sum(size[kind, f] for f in formats)
        lines.append(f"{kind:10} " + " ".join(cells) + f" {total / 1e9:9.2f}")
    return sum(files.values()), sum(size.values()), "\n".join(lines)


# (label, formats, years back from the newest day or None for all): what `build` offers
# for a smaller static site, the live server serving the rest (every format of every day
# is the default run's full build).
CHOICES = [("HTML only, every day", ("html",), None),
           ("every format, last 2 years", ("html", "md", "json", "xml"), 2),
           ("HTML only, last 2 years", ("html",), 2)]


def choices(archive: Archive, out: Path) -> None:
    """Full builds of each choice into a folder of its own: pages, files, bytes, seconds."""
    newest = date.fromisoformat(
        archive.store.conn.execute("SELECT MAX(date) FROM events").fetchone()[0])
    print(f"{'site':30} {'since':>10} {'pages':>8} {'files':>9} {'GB':>6} {'seconds':>8}")
    for n, (label, formats, years) in enumerate(CHOICES):
        since = newest - timedelta(days=365 * years) if years else None
        folder = out.with_name(f"{out.name}-{n}")
        report = archive.build(folder, full=True, search=False, formats=formats, since=since)
        files = [p for p in folder.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        print(f"{label:30} {since or '-'!s:>10} {report.pages:8d} {len(files):9d} "
              f"{size / 1e9:6.2f} {report.seconds:8.1f}", flush=True)
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
