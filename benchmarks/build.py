"""Static build at archive scale: pages per second, total time, memory, incremental time.

On a synthetic archive of about 9,000 days and 150,000 events made from the real fixture
events (see synthetic.py): a full build of every page in every format with feeds, sitemap
and redirect map, then a build with nothing changed, then one after one day changed (one
event reworded). The search index (Pagefind) is timed apart, with --search.

    python benchmarks/build.py                 # 150,000 events
    python benchmarks/build.py --events 20000 --workers 1
    python benchmarks/build.py --out /dev/shm   # in memory: rendering without the disk
    python benchmarks/build.py --choices        # smaller static sites: formats, windows

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
import resource
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from synthetic import make_archive

from newscontext import Archive, Settings


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
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to build the site in (default: a temporary one; "
                             "/dev/shm/... takes the disk out of the figures)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db=Path(tmp) / "synthetic.sqlite3", workers=args.workers)
        with Archive(settings) as archive:
            started = time.perf_counter()
            count = make_archive(archive, args.events)
            archive.relate()
            print(f"synthetic archive: {count} events, related lists made, "
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
            files = sum(1 for p in out.rglob("*") if p.is_file())
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            if args.out:
                shutil.rmtree(out)
        print(f"{'build':32} {'pages':>8} {'written':>9} {'unchanged':>10} {'seconds':>8} "
              f"{'files/s':>8} {'CPU user':>9} {'CPU sys':>8}")
        for label, r, user, system in rows:
            print(f"{label:32} {r.pages:8d} {r.written:9d} {r.unchanged:10d} {r.seconds:8.2f} "
                  f"{r.written / r.seconds:8.0f} {user:9.1f} {system:8.1f}")
        print(f"files in the site: {files} ({size / 1e9:.1f} GB); workers: {args.workers}; "
              f"peak memory (max RSS of a process): {peak_mb():.0f} MB")


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
