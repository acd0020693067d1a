# cython: language_level=3, freethreading_compatible=False
"""The HTTP cache index, compiled: same interface and behaviour as ``websession._cacheindex_py``.

A dict maps keys to entries; the entries themselves form an intrusive doubly linked list in
least-recently-used order (head = oldest), so get/put/evict are O(1) without allocating.
"""

from libc.time cimport time_t
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

DEFAULT_MAX_SIZE = 256 * 1024 * 1024


cdef inline double _now() noexcept:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <double>ts.tv_sec + <double>ts.tv_nsec * 1e-9


cdef class CacheEntry:
    """One stored response as the index sees it."""

    cdef readonly str key
    cdef public long long size
    cdef public double expires
    cdef public double response_time
    cdef public double last_use
    cdef public object meta
    cdef public long long readers
    cdef public bint doomed
    cdef CacheEntry _prev
    cdef CacheEntry _next
    cdef bint _linked

    def __init__(self, str key, long long size, object meta, double expires,
                 double response_time, double last_use):
        self.key = key
        self.size = size
        self.meta = meta
        self.expires = expires
        self.response_time = response_time
        self.last_use = last_use
        self.readers = 0
        self.doomed = False

    def __repr__(self):
        state = " doomed" if self.doomed else ""
        return f"<CacheEntry {self.key!r} size={self.size} readers={self.readers}{state}>"


cdef long long _check_size(object size, str name) except -1:
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"{name} must be an integer, not {type(size).__name__}")
    if size < 0:
        raise ValueError(f"{name} must not be negative, got {size}")
    return size


cdef class CacheIndex:
    """Key → :class:`CacheEntry`, in least-recently-used order, under a size limit."""

    cdef dict _entries
    cdef CacheEntry _head
    cdef CacheEntry _tail
    cdef long long _total
    cdef long long _max_size

    def __init__(self, max_size=DEFAULT_MAX_SIZE):
        self._max_size = _check_size(max_size, "max_size")
        self._entries = {}
        self._head = None
        self._tail = None
        self._total = 0

    @property
    def max_size(self):
        return self._max_size

    @property
    def total_size(self):
        """Sum of the sizes of the entries in the index (doomed entries excluded)."""
        return self._total

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return key in self._entries

    cdef inline void _unlink(self, CacheEntry entry) noexcept:
        if entry._prev is not None:
            entry._prev._next = entry._next
        else:
            self._head = entry._next
        if entry._next is not None:
            entry._next._prev = entry._prev
        else:
            self._tail = entry._prev
        entry._prev = None
        entry._next = None
        entry._linked = False

    cdef inline void _append(self, CacheEntry entry) noexcept:
        entry._prev = self._tail
        entry._next = None
        if self._tail is not None:
            self._tail._next = entry
        else:
            self._head = entry
        self._tail = entry
        entry._linked = True

    cdef inline void _to_end(self, CacheEntry entry) noexcept:
        if self._tail is not entry:
            self._unlink(entry)
            self._append(entry)

    def get(self, key):
        """Return the entry for ``key`` and mark it most recently used, or ``None``."""
        cdef object found = self._entries.get(key)
        cdef CacheEntry entry
        if found is None:
            return None
        entry = <CacheEntry>found
        self._to_end(entry)
        entry.last_use = _now()
        return entry

    def peek(self, key):
        """Return the entry for ``key`` without touching its recency."""
        return self._entries.get(key)

    def fits(self, long long size):
        """Tell whether an entry of ``size`` bytes may be stored at all."""
        return size <= self._max_size

    def put(self, key, size, meta=None, expires=0.0, response_time=0.0, last_use=None):
        """Insert or replace ``key`` as the most recent entry; return the entries to discard now.

        A ``size`` over ``max_size`` raises ``ValueError`` and changes nothing.
        """
        if not isinstance(key, str):
            raise TypeError(f"key must be a string, not {type(key).__name__}")
        cdef long long n = _check_size(size, "size")
        if n > self._max_size:
            raise ValueError(f"size {n} exceeds the cache size limit {self._max_size}")
        cdef double now = _now() if last_use is None else float(last_use)
        cdef CacheEntry entry = CacheEntry.__new__(CacheEntry)
        entry.key = key
        entry.size = n
        entry.meta = meta
        entry.expires = float(expires)
        entry.response_time = float(response_time)
        entry.last_use = now
        cdef list discard = []
        cdef object old = self._entries.pop(key, None)
        if old is not None:
            self._total -= (<CacheEntry>old).size
            self._unlink(<CacheEntry>old)
            self._doom(<CacheEntry>old, discard)
        self._entries[key] = entry
        self._append(entry)
        self._total += n
        self._evict(discard, entry)
        return discard

    def resize(self, CacheEntry entry, size):
        """Change the charged size of a live entry (a 304 merged new headers); evict if needed."""
        cdef long long n = _check_size(size, "size")
        if entry.doomed or self._entries.get(entry.key) is not entry:
            return []
        if n > self._max_size:
            return self.remove(entry.key)
        self._total += n - entry.size
        entry.size = n
        cdef list discard = []
        self._evict(discard, entry)
        return discard

    def touch(self, CacheEntry entry, double expires, double response_time):
        """Update the freshness data of a live entry (after a successful revalidation)."""
        entry.expires = expires
        entry.response_time = response_time

    def remove(self, key):
        """Take ``key`` out of the index; return it if its body may be discarded now."""
        cdef list discard = []
        cdef object found = self._entries.pop(key, None)
        if found is not None:
            self._total -= (<CacheEntry>found).size
            self._unlink(<CacheEntry>found)
            self._doom(<CacheEntry>found, discard)
        return discard

    def set_max_size(self, max_size):
        """Change the limit and evict down to it; return the entries to discard now."""
        self._max_size = _check_size(max_size, "max_size")
        cdef list discard = []
        self._evict(discard, None)
        return discard

    def clear(self):
        """Empty the index; return the entries to discard now."""
        cdef list discard = []
        cdef CacheEntry entry = self._head
        cdef CacheEntry following
        while entry is not None:
            following = entry._next
            entry._prev = None
            entry._next = None
            entry._linked = False
            self._doom(entry, discard)
            entry = following
        self._head = None
        self._tail = None
        self._entries.clear()
        self._total = 0
        return discard

    def acquire(self, CacheEntry entry):
        """Register a reader of ``entry``'s body."""
        entry.readers += 1

    def release(self, CacheEntry entry):
        """Unregister a reader; ``True`` when the entry is doomed and its body may go now."""
        if entry.readers <= 0:
            raise ValueError(f"release() of {entry.key!r} without a matching acquire()")
        entry.readers -= 1
        return entry.doomed and entry.readers == 0

    def keys(self):
        """Return the keys, least recently used first."""
        cdef list out = []
        cdef CacheEntry entry = self._head
        while entry is not None:
            out.append(entry.key)
            entry = entry._next
        return out

    def entries(self):
        """Iterate over the live entries, least recently used first."""
        cdef list out = []
        cdef CacheEntry entry = self._head
        while entry is not None:
            out.append(entry)
            entry = entry._next
        return iter(out)

    cdef inline void _doom(self, CacheEntry entry, list discard):
        entry.doomed = True
        if entry.readers == 0:
            discard.append(entry)

    cdef void _evict(self, list discard, CacheEntry keep):
        cdef CacheEntry entry
        while self._total > self._max_size and self._head is not None:
            entry = self._head
            if entry is keep:
                # The newest entry fits by itself (checked by put); evict older ones around it.
                self._to_end(entry)
                if len(self._entries) == 1:
                    break
                continue
            del self._entries[entry.key]
            self._unlink(entry)
            self._total -= entry.size
            self._doom(entry, discard)
