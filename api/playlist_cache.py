"""A least-recently-used cache of rewritten playlists, bounded by the bytes it holds."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
ENTRY_OVERHEAD = 256
"""Bytes counted for each entry on top of its text: the key, the tuple, the dict slot."""


class PlaylistCache(Generic[K]):
    """Text by key, each until its own expiry; the least recently used go first when the
    entries would pass ``budget_bytes``. Safe to share between threads (sync routes run in a
    thread pool)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[K, tuple[float, str, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K, now: float) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= now:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: K, text: str, expires_at: float) -> None:
        size = len(text) + ENTRY_OVERHEAD
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if size > self.budget_bytes:
                return  # larger than the whole budget: not worth evicting everything for
            while self._bytes + size > self.budget_bytes:
                self._drop(next(iter(self._entries)))
            self._entries[key] = (expires_at, text, size)
            self._bytes += size

    def _drop(self, key: K) -> None:
        _, _, size = self._entries.pop(key)
        self._bytes -= size

    @property
    def nbytes(self) -> int:
        """Bytes the entries count for (their text plus ENTRY_OVERHEAD each)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
