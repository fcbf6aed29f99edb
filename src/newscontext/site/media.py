"""Cover pictures on the site: the archive's small copies as files under `/media/`.

The copies live in the store (`image_copies`, made by the crawl: sources/images.py), so the
static build and the live server give the same bytes for the same path: the build writes
them with `media` (a build extra, after the pages that show them), the live server answers
`/media/...` with `media_file`. A copy's file is named by the hash of its bytes and never
changes, so a build writes only the copies its manifest has not recorded (a full build also
those gone from the disk), and the folder is left out of a full build's clean-up
(`build.KEEP`). With `hotlink_images`, pages name the publishers' URLs: no copy is written,
and the copies an earlier build wrote are deleted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings
from ..store import Store
from . import urls

if TYPE_CHECKING:
    from .build import Shared
    from .manifest import Writer

FOLDER = urls.MEDIA.lstrip("/")  # "media/": where the copies' files are, in the site
BATCH = 200  # copies read from the store and written at once


def media_file(store: Store, settings: Settings, name: str) -> tuple[bytes, str] | None:
    """The bytes and media type of a site file under `/media/` (`name` relative to the
    site's root, as `serve.candidates` gives it), or None when the site has no such file.
    For the live server: the same bytes the build writes."""
    found = urls.parse_media(name)
    if found is None or settings.hotlink_images:
        return None
    copy = store.image_copy(found[0])
    if copy is None or copy.media_type != found[1]:
        return None
    return copy.content, copy.media_type


def media(store: Store, settings: Settings, outdir: Path, writer: Writer,
          shared: Shared) -> int:
    """Build extra: write the picture copies not written yet; returns how many the site
    has."""
    recorded = set(writer.manifest.existing(FOLDER))
    if settings.hotlink_images:
        writer.remove(sorted(recorded))
        return 0
    names = {urls.media_path(sha, kind).lstrip("/"): sha for sha, kind in store.image_copy_names()}
    missing = [name for name in names if name not in recorded
               or (writer.full and not os.path.exists(f"{outdir}/{name}"))]
    for start in range(0, len(missing), BATCH):
        batch = []
        for name in missing[start : start + BATCH]:
            copy = store.image_copy(names[name])
            if copy is not None:
                batch.append((name, copy.content))
        writer.write_many(batch)
    gone = sorted(recorded - names.keys())
    if gone:
        writer.remove(gone)
    return len(names)
