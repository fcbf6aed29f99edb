"""What `relate` keeps beside the archive between runs, so that the next run ranks only
the lists a change can reach (see related.update_pass): the contexts it last ranked and
per-row facts of that pass, in `<archive>-related.npz` next to the SQLite file.

It holds nothing the archive does not: a run that finds it missing, unreadable or keyed
otherwise makes a full pass and writes it anew, so deleting it is always safe. The key is
the archive's related token (it changes whenever a list is written, in the same
transaction), the method and the list length; a run killed between storing its lists and
keeping this file leaves the old token in it, so the next run starts afresh.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .related import HUB_DF, HUB_WINDOW, Contexts, Method, Pass

FORMAT = 1  # raised when the file's content changes meaning


def state_path(db: Path) -> Path:
    return db.with_name(db.name + "-related.npz")


def state_key(token: str, method: Method, k: int) -> str:
    """What the kept pass is valid for."""
    return json.dumps([FORMAT, token, repr(method), k, HUB_DF, HUB_WINDOW])


def load_state(path: Path, key: str) -> tuple[Pass, int] | None:
    """The pass kept at `path` and the change counter its contexts are current to, if it
    was kept under `key` and reads whole; else None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            if meta.get("key") != key:
                return None
            ids, titles = meta["ids"], meta["titles"]
            shape = (len(ids), len(titles))

            def matrix(name: str) -> sp.csr_matrix:
                indices = data[f"{name}_indices"]
                return sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices,
                                      data[f"{name}_indptr"]), shape=shape)

            ctx = Contexts(ids, data["dates"], titles, matrix("text"), matrix("story"))
            kept = Pass(ctx, data["pre_kth"], data["pre_count"].astype(np.int64),
                        data["weak"].astype(bool), data["links"].astype(np.int64))
            if not all(len(a) == len(ids) for a in (ctx.dates, kept.pre_kth, kept.pre_count,
                                                    kept.weak, kept.links)):
                return None
            return kept, int(meta["seq"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None  # missing, cut short or from elsewhere: a full pass remakes it


def save_state(path: Path, key: str, seq: int, kept: Pass) -> bool:
    """Keep `kept` at `path` (written aside, then renamed over: a reader sees the old file
    or the new one). False when it could not be written: the next run is a full pass."""
    ctx = kept.ctx
    meta = json.dumps({"key": key, "seq": seq, "ids": ctx.ids, "titles": ctx.titles},
                      ensure_ascii=False).encode("utf-8")
    arrays = {"meta": np.frombuffer(meta, dtype=np.uint8), "dates": ctx.dates,
              "pre_kth": kept.pre_kth, "pre_count": kept.pre_count.astype(np.int16),
              "weak": kept.weak, "links": kept.links.astype(np.int16)}
    for name, matrix in (("text", ctx.text), ("story", ctx.story)):
        matrix = matrix.tocsr()
        matrix.sort_indices()
        arrays[f"{name}_indices"] = matrix.indices.astype(np.int32)
        arrays[f"{name}_indptr"] = matrix.indptr.astype(np.int64)
    aside = path.with_name(path.name + ".tmp")
    try:
        with open(aside, "wb") as out:
            np.savez(out, **arrays)
        os.replace(aside, path)
    except OSError:
        aside.unlink(missing_ok=True)
        return False
    return True
