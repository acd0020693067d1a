"""The HTTP cache index: key → entry metadata, LRU order, total size and eviction (reference twin).

Each entry carries the body size the cache charges for it, its freshness data (``expires``: the
wall-clock time it becomes stale, ``response_time``), its last use and an opaque ``meta`` object
the store attaches (headers, file id). ``total_size`` is kept up to date on every change, so
reading it is O(1). Entries are evicted least recently used first when a ``put`` or a smaller
``max_size`` takes the total over the limit.

An entry that leaves the index (replaced, evicted, removed, cleared) while a reader holds it is
*doomed*: it stops counting in the index, and its body is discarded when the last reader
releases it (Chromium's ``disk_cache`` "doomed entries", net/disk_cache/blockfile/backend_impl.cc).
Methods that take entries out of the index return the ones whose bodies may be discarded now.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

DEFAULT_MAX_SIZE = 256 * 1024 * 1024


class CacheEntry:
    """One stored response as the index sees it."""

    __slots__ = ("doomed", "expires", "key", "last_use", "meta", "readers", "response_time", "size")

    def __init__(
        self, key: str, size: int, meta: Any, expires: float, response_time: float, last_use: float
    ) -> None:
        self.key = key
        self.size = size
        self.meta = meta
        self.expires = expires
        self.response_time = response_time
        self.last_use = last_use
        self.readers = 0
        self.doomed = False

    def __repr__(self) -> str:
        state = " doomed" if self.doomed else ""
        return f"<CacheEntry {self.key!r} size={self.size} readers={self.readers}{state}>"


def _check_size(size: object, name: str) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"{name} must be an integer, not {type(size).__name__}")
    if size < 0:
        raise ValueError(f"{name} must not be negative, got {size}")
    return size


class CacheIndex:
    """Key → :class:`CacheEntry`, in least-recently-used order, under a size limit."""

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self._max_size = _check_size(max_size, "max_size")
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._total = 0

    @property
    def max_size(self) -> int:
        return self._max_size

    @property
    def total_size(self) -> int:
        """Sum of the sizes of the entries in the index (doomed entries excluded)."""
        return self._total

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> CacheEntry | None:
        """Return the entry for ``key`` and mark it most recently used, or ``None``."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            entry.last_use = time.time()
        return entry

    def peek(self, key: str) -> CacheEntry | None:
        """Return the entry for ``key`` without touching its recency."""
        return self._entries.get(key)

    def fits(self, size: int) -> bool:
        """Tell whether an entry of ``size`` bytes may be stored at all."""
        return size <= self._max_size

    def put(
        self,
        key: str,
        size: int,
        meta: Any = None,
        expires: float = 0.0,
        response_time: float = 0.0,
        last_use: float | None = None,
    ) -> list[CacheEntry]:
        """Insert or replace ``key`` as the most recent entry; return the entries to discard now.

        A ``size`` over ``max_size`` raises ``ValueError`` and changes nothing.
        """
        if not isinstance(key, str):
            raise TypeError(f"key must be a string, not {type(key).__name__}")
        _check_size(size, "size")
        if size > self._max_size:
            raise ValueError(f"size {size} exceeds the cache size limit {self._max_size}")
        now = time.time() if last_use is None else float(last_use)
        entry = CacheEntry(key, size, meta, float(expires), float(response_time), now)
        discard: list[CacheEntry] = []
        old = self._entries.pop(key, None)
        if old is not None:
            self._total -= old.size
            self._doom(old, discard)
        self._entries[key] = entry
        self._total += size
        self._evict(discard, keep=entry)
        return discard

    def resize(self, entry: CacheEntry, size: int) -> list[CacheEntry]:
        """Change the charged size of a live entry (a 304 merged new headers); evict if needed."""
        _check_size(size, "size")
        if entry.doomed or self._entries.get(entry.key) is not entry:
            return []
        if size > self._max_size:
            return self.remove(entry.key)
        self._total += size - entry.size
        entry.size = size
        discard: list[CacheEntry] = []
        self._evict(discard, keep=entry)
        return discard

    def touch(self, entry: CacheEntry, expires: float, response_time: float) -> None:
        """Update the freshness data of a live entry (after a successful revalidation)."""
        entry.expires = float(expires)
        entry.response_time = float(response_time)

    def remove(self, key: str) -> list[CacheEntry]:
        """Take ``key`` out of the index; return it if its body may be discarded now."""
        discard: list[CacheEntry] = []
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._total -= entry.size
            self._doom(entry, discard)
        return discard

    def set_max_size(self, max_size: int) -> list[CacheEntry]:
        """Change the limit and evict down to it; return the entries to discard now."""
        self._max_size = _check_size(max_size, "max_size")
        discard: list[CacheEntry] = []
        self._evict(discard, keep=None)
        return discard

    def clear(self) -> list[CacheEntry]:
        """Empty the index; return the entries to discard now."""
        discard: list[CacheEntry] = []
        for entry in self._entries.values():
            self._doom(entry, discard)
        self._entries.clear()
        self._total = 0
        return discard

    def acquire(self, entry: CacheEntry) -> None:
        """Register a reader of ``entry``'s body."""
        entry.readers += 1

    def release(self, entry: CacheEntry) -> bool:
        """Unregister a reader; ``True`` when the entry is doomed and its body may go now."""
        if entry.readers <= 0:
            raise ValueError(f"release() of {entry.key!r} without a matching acquire()")
        entry.readers -= 1
        return entry.doomed and entry.readers == 0

    def keys(self) -> list[str]:
        """Return the keys, least recently used first."""
        return list(self._entries)

    def entries(self) -> Iterator[CacheEntry]:
        """Iterate over the live entries, least recently used first."""
        return iter(list(self._entries.values()))

    def _doom(self, entry: CacheEntry, discard: list[CacheEntry]) -> None:
        entry.doomed = True
        if entry.readers == 0:
            discard.append(entry)

    def _evict(self, discard: list[CacheEntry], keep: CacheEntry | None) -> None:
        while self._total > self._max_size and self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry is keep:
                # The newest entry fits by itself (checked by put); evict older ones around it.
                self._entries.move_to_end(key)
                if len(self._entries) == 1:
                    break
                continue
            del self._entries[key]
            self._total -= entry.size
            self._doom(entry, discard)
