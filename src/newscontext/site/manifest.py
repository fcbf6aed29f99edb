"""What a build wrote: the manifest (the content hash of every file and when it last
changed, tombstones of deleted files, the build's state) and the writer that writes files
atomically and only when their content changed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path

from ..ingest import utc_now

STATE_DIR = ".newscontext"  # inside the output folder: the manifest and the build state
GONE = ""  # the manifest's hash of a deleted file


class Manifest:
    """Content hash of every file the build wrote, and the state of the last build."""

    def __init__(self, outdir: Path, stamp: str | None = None):
        folder = outdir / STATE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        # Build processes record their files at once: each waits for the other's batch.
        self.conn = sqlite3.connect(folder / "manifest.sqlite3", isolation_level=None,
                                    timeout=120)
        self.conn.execute("PRAGMA journal_mode = WAL")
        # No sync at each commit: a record lost to a power cut only makes its file be
        # written again; the records of a killed build are kept either way.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, "
                          "sha256 TEXT NOT NULL, changed_at TEXT) WITHOUT ROWID")
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(files)")}
        if "changed_at" not in columns:  # a manifest of an earlier version
            self.conn.execute("ALTER TABLE files ADD COLUMN changed_at TEXT")
        # What changed since a time (the sitemap remakes only the parts holding it).
        self.conn.execute("CREATE INDEX IF NOT EXISTS files_by_change ON files (changed_at)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)")
        # The files a full build made (or found unchanged): the others are deleted after it.
        self.conn.execute("CREATE TABLE IF NOT EXISTS made (path TEXT PRIMARY KEY) "
                          "WITHOUT ROWID")
        self.pending: list[tuple[str, str, str]] = []
        self._empty: bool | None = None
        self.stamp = stamp or utc_now()  # when the files recorded now changed: the build's time

    def state(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM state").fetchall())

    def save_state(self, values: dict[str, object]) -> None:
        self.flush()
        self.conn.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                              [(k, str(v)) for k, v in values.items()])

    def hashes(self, paths: list[str]) -> dict[str, str]:
        if self.empty:
            return {}  # a first build: nothing to compare with, nothing to look up
        found: dict[str, str] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.conn.execute(
                f"SELECT path, sha256 FROM files WHERE path IN ({marks})", chunk).fetchall())
        return found

    @property
    def empty(self) -> bool:
        """No file recorded yet (checked once: this build's records do not count)."""
        if self._empty is None:
            self._empty = self.conn.execute("SELECT 1 FROM files LIMIT 1").fetchone() is None
        return self._empty

    def record(self, path: str, digest: str) -> None:
        self.pending.append((path, digest, self.stamp))
        if len(self.pending) >= 5000:
            self.flush()

    def record_deleted(self, paths: list[str]) -> None:
        """Tombstones: the files are gone since this build (an empty hash; a file made
        again later is simply recorded again)."""
        for path in paths:
            self.record(path, GONE)

    def existing(self, prefix: str) -> list[str]:
        """The files recorded (not deleted) whose paths start with `prefix`."""
        self.flush()
        return [row[0] for row in self.conn.execute(
            "SELECT path FROM files WHERE path >= ? AND path < ? AND sha256 != ?",
            (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1), GONE))]

    def note_made(self, paths: list[str]) -> None:
        """During a full build: these files are part of the site it makes."""
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT OR IGNORE INTO made (path) VALUES (?)",
                              [(p,) for p in paths])
        self.conn.execute("COMMIT")

    def not_made(self, keep: tuple[str, ...]) -> list[str]:
        """After a full build's pages: the recorded files in folders it did not make (but
        those under `keep`, folders that manage their own files; the files at the top are
        the build extras', which come after)."""
        self.flush()
        rows = self.conn.execute(
            "SELECT path FROM files WHERE sha256 != ? AND path NOT IN (SELECT path FROM made) "
            "ORDER BY path", (GONE,)).fetchall()
        return [path for (path,) in rows if "/" in path and not path.startswith(keep)]

    def forget_made(self) -> None:
        self.conn.execute("DELETE FROM made")

    def flush(self) -> None:
        if self.pending:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT OR REPLACE INTO files (path, sha256, changed_at) VALUES (?, ?, ?)",
                self.pending)
            self.conn.execute("COMMIT")
            self.pending.clear()

    def files(self, suffix: str, prefix: str = "") -> list[tuple[str, str | None]]:
        """(path, when its content last changed) of the files written with this suffix
        (and paths starting with `prefix`), by path; the time is None for files recorded
        before times were kept."""
        self.flush()
        sql = "SELECT path, changed_at FROM files WHERE path LIKE ? AND sha256 != ?"
        params = [f"%{suffix}", GONE]
        if prefix:  # a range of the primary key: read only that
            sql += " AND path >= ? AND path < ?"
            params += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
        return self.conn.execute(sql + " ORDER BY path", params).fetchall()

    def changed_after(self, stamp: str, suffix: str) -> list[str]:
        """Paths with this suffix whose content changed after `stamp` (a build's), or that
        were deleted since."""
        self.flush()
        return [row[0] for row in self.conn.execute(
            "SELECT path FROM files WHERE changed_at > ? AND path LIKE ?",
            (stamp, f"%{suffix}"))]

    def changed_since(self, stamp: str | None) -> list[str]:
        """Every path whose content changed (or that was deleted) at or after `stamp` (a
        build's; None: every path), by path: what a publish sends on. `At or after`: a
        build killed before its publish recorded its files with its own stamp, so the next
        publish includes them."""
        self.flush()
        if stamp is None:
            return [row[0] for row in self.conn.execute("SELECT path FROM files ORDER BY path")]
        return [row[0] for row in self.conn.execute(
            "SELECT path FROM files WHERE changed_at >= ? ORDER BY path", (stamp,))]

    def close(self) -> None:
        self.flush()
        self.conn.close()


class Writer:
    """Writes files atomically, skipping those whose content is what the manifest says."""

    def __init__(self, outdir: Path, manifest: Manifest):
        self.outdir = outdir
        self.manifest = manifest
        self.written = 0
        self.unchanged = 0
        self.deleted = 0
        self.full = False  # a full build: every file it makes or finds unchanged is noted
        self._made: set[str] = set()

    def write_many(self, files: list[tuple[str, bytes]]) -> None:
        known = self.manifest.hashes([name for name, _ in files])
        if self.full:
            self.manifest.note_made([name for name, _ in files])
        for name, content in files:
            digest = hashlib.sha256(content).hexdigest()
            if known.get(name) == digest and os.path.exists(f"{self.outdir}/{name}"):
                self.unchanged += 1
                continue
            self._atomic_write(name, content)
            self.manifest.record(name, digest)
            self.written += 1

    def remove(self, names: list[str]) -> None:
        """Delete these files (and the folders they leave empty), then record them gone:
        a build killed in between deletes them again, finding some gone already."""
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.outdir}/{name}")
            folder = name.rpartition("/")[0]
            while folder:
                try:
                    os.rmdir(f"{self.outdir}/{folder}")
                except OSError:  # not empty (or gone)
                    break
                self._made.discard(f"{self.outdir}/{folder}")
                folder = folder.rpartition("/")[0]
        self.manifest.record_deleted(names)
        self.deleted += len(names)

    def _atomic_write(self, name: str, content: bytes) -> None:
        folder, _, base = f"{self.outdir}/{name}".rpartition("/")
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        # One build writes at a time (build() locks the folder), so a fixed temporary
        # name beside the target is safe, and cheaper than a random one. Plain os calls:
        # at a million files, pathlib's overhead is a third of the build's I/O time.
        temp = f"{folder}/.{base}.tmp"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.rename(temp, f"{folder}/{base}")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
