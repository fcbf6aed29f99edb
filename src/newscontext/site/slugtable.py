"""Slug tables (title or id -> slug or path) read from the store as far as pages use them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

V = TypeVar("V")


class SlugTable(Mapping[str, V]):
    """A slug table read as far as it is used: the keys asked for (in bulk where a page
    knows them ahead), or all at once for a full build. An incremental build renders a
    few dozen pages; reading every slug of a large archive would cost more than they do."""

    def __init__(self, fetch: Callable[[Iterable[str] | None], dict[str, V]]):
        self._fetch = fetch
        self._known: dict[str, V] = {}
        self._absent: set[str] = set()
        self._whole = False

    def want(self, keys: Iterable[str]) -> None:
        """Read these keys now, in one query (those not read yet)."""
        if self._whole:
            return
        keys = [k for k in dict.fromkeys(keys) if k not in self._known and k not in self._absent]
        if keys:
            found = self._fetch(keys)
            self._known.update(found)
            self._absent.update(k for k in keys if k not in found)

    def read_all(self) -> None:
        if not self._whole:
            self._known = self._fetch(None)
            self._absent.clear()
            self._whole = True

    def __getitem__(self, key: str) -> V:
        if key not in self._known and not self._whole:
            self.want([key])
        return self._known[key]

    # Mapping's own get and `in` go through __getitem__ and KeyError: slow at a million calls.
    def get(self, key: str, default: V | None = None) -> V | None:
        if key not in self._known and not self._whole:
            self.want([key])
        return self._known.get(key, default)

    def __contains__(self, key: object) -> bool:
        if key not in self._known and not self._whole:
            self.want([key])  # type: ignore[list-item]
        return key in self._known

    def __iter__(self) -> Iterator[str]:
        self.read_all()
        return iter(self._known)

    def __len__(self) -> int:
        self.read_all()
        return len(self._known)
