"""The session's cookie jar: the compiled store, change observers and write-behind persistence.

``CookieJar`` is what the request pipeline calls (``cookie_header`` before a request,
``set_from_response`` after each response or redirect hop) and what ``ses.cookies`` builds on.
It knows nothing of the pipeline. Persistence sits behind :class:`CookieBackend`, a small
interface (load everything once, take changes, flush, close), so another store (Redis for a
fleet of crawlers) plugs in without touching the pipeline or the native core.

The SQLite backend keeps Chromium's policy: only persistent cookies are written; changes are
batched in memory and written by a background thread every 30 seconds or every 512
operations, whichever comes first, or at once by :meth:`CookieJar.flush`. The database is in
WAL mode, so a process killed at any moment leaves a database that opens, holding every
batch that was committed.
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from ._impl import core

Record = tuple[str, str, str, str, int, int, int, bool, bool, bool, int, int, bool]
Observer = Callable[[Record, int], None]

# causes (see _cookiestore_py): the three inserts store a cookie; ACCESSED updates one
_STORING = frozenset({0, 1, 2, 9})
ACCESSED = 9
FLUSH_INTERVAL = 30.0
FLUSH_OPERATIONS = 512


class CookieBackend(Protocol):
    """Where a persistent jar keeps its cookies."""

    def load(self) -> list[Record]:
        """Return every stored cookie."""

    def record(self, cause: int, rec: Record) -> None:
        """Take one change of the store (cheap: called on the event loop)."""

    def flush(self) -> None:
        """Write every pending change now (blocking; call it off the event loop)."""

    def close(self) -> None:
        """Flush and release the store."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cookies (
  host_key TEXT NOT NULL,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  value TEXT NOT NULL,
  creation_utc INTEGER NOT NULL,
  expires_utc INTEGER NOT NULL,
  last_access_utc INTEGER NOT NULL,
  is_secure INTEGER NOT NULL,
  is_httponly INTEGER NOT NULL,
  is_persistent INTEGER NOT NULL,
  samesite INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  is_partitioned INTEGER NOT NULL,
  PRIMARY KEY (host_key, name, path)
) WITHOUT ROWID
"""
_PUT = (
    "INSERT OR REPLACE INTO cookies (host_key, name, path, value, creation_utc, expires_utc,"
    " last_access_utc, is_secure, is_httponly, is_persistent, samesite, priority,"
    " is_partitioned) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_DELETE = "DELETE FROM cookies WHERE host_key = ? AND name = ? AND path = ?"
_SELECT = (
    "SELECT name, value, host_key, path, creation_utc, expires_utc, last_access_utc, is_secure,"
    " is_httponly, is_persistent, samesite, priority, is_partitioned FROM cookies"
)


class SQLiteCookieBackend:
    """Cookies in ``<folder>/Cookies`` (SQLite, WAL), written behind by a background thread."""

    def __init__(
        self, path: Path, *, interval: float = FLUSH_INTERVAL, batch: int = FLUSH_OPERATIONS
    ) -> None:
        self.path = path
        self._interval = interval
        self._batch = batch
        self._pending: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._thread = threading.Thread(target=self._run, name="websession-cookie-writer", daemon=True)
        self._thread.start()

    def load(self) -> list[Record]:
        with self._db_lock:
            rows = self._conn.execute(_SELECT).fetchall()
        return [
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), bool(r[8]), bool(r[9]), r[10],
             r[11], bool(r[12]))
            for r in rows
            if r[9]  # session cookies are never restored (Chromium)
        ]  # fmt: skip

    def record(self, cause: int, rec: Record) -> None:
        if not rec[9]:
            return  # a session cookie never reaches the disk
        if cause in _STORING:
            op: tuple[Any, ...] = (rec[2], rec[0], rec[3], rec[1], rec[4], rec[5], rec[6],
                                   int(rec[7]), int(rec[8]), 1, rec[10], rec[11], int(rec[12]))  # fmt: skip
        else:
            op = (rec[2], rec[0], rec[3])
        with self._lock:
            self._pending.append(op)
            full = len(self._pending) >= self._batch
        if full:
            self._wake.set()

    def pending(self) -> int:
        """Return how many changes wait for the next write."""
        with self._lock:
            return len(self._pending)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stopped:
                return
            try:
                self.flush()
            except sqlite3.Error:
                # a failed batch is retried with the next one
                continue

    def flush(self) -> None:
        with self._db_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                self._conn.execute("BEGIN")
                for op in batch:
                    self._conn.execute(_PUT if len(op) > 3 else _DELETE, op)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                with self._lock:
                    self._pending[:0] = batch
                raise

    def close(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join()
        try:
            self.flush()
        finally:
            with self._db_lock:
                self._conn.close()


def _flush_at_exit(ref: weakref.ref[CookieJar]) -> None:
    jar = ref()
    if jar is not None:
        jar.close()


class CookieJar:
    """A session's cookies: Chromium's rules in a compiled store, observed and persisted.

    ``path`` is the cookie database file (``<storage_path>/Cookies``), or None to stay in
    memory. ``clock`` (seconds since the epoch) replaces the wall clock, for tests.
    """

    def __init__(
        self, path: Path | None = None, *, clock: Callable[[], float] | None = None,
        backend: CookieBackend | None = None,
    ) -> None:  # fmt: skip
        self._core: Any = core("cookiestore").CookieStore(clock)
        self._observers: list[Observer] = []
        self._backend: CookieBackend | None = backend
        if self._backend is None and path is not None:
            self._backend = SQLiteCookieBackend(path)
        if self._backend is not None:
            self._core.load(self._backend.load())
            atexit.register(_flush_at_exit, weakref.ref(self))
        self._set_recording(self._backend is not None)

    def _set_recording(self, recording: bool) -> None:
        # Nothing observes or persists changes: requests call the compiled store directly,
        # skipping this wrapper (the Cookie header is the hottest call a crawler makes).
        self._core.recording = recording
        if recording:
            self.__dict__.pop("cookie_header", None)
        else:
            self.__dict__["cookie_header"] = self._core.cookie_header

    @property
    def backend(self) -> CookieBackend | None:
        """The persistent store, or None for an in-memory jar."""
        return self._backend

    # -- the two calls the pipeline makes

    def cookie_header(
        self, url: str, *, site_for_cookies: str | None = None,
        is_top_level_navigation: bool = False, method: str = "GET",
    ) -> str | None:  # fmt: skip
        """Return the ``Cookie`` header value for a request to ``url`` (None: send none).

        ``site_for_cookies`` is the URL of the site the request is made for; None means the
        request is same-site.
        """
        header: str | None = self._core.cookie_header(
            url, site_for_cookies, is_top_level_navigation, method
        )
        if self._core.recording:
            self._dispatch()
        return header

    def set_from_response(
        self, url: str, set_cookie_values: Iterable[str], *, site_for_cookies: str | None = None,
        is_top_level_navigation: bool = False,
    ) -> None:  # fmt: skip
        """Store the ``Set-Cookie`` values of a response from ``url``; bad lines are ignored."""
        self._core.set_from_response(url, set_cookie_values, site_for_cookies,
                                     is_top_level_navigation)  # fmt: skip
        if self._core.recording:
            self._dispatch()

    # -- what ses.cookies builds on

    def insert(self, rec: Record, source_secure: bool, allow_http_only: bool) -> str | None:
        """Insert a canonical cookie; return None or the Chromium exclusion reason."""
        reason: str | None = self._core.insert(rec, source_secure, allow_http_only)
        self._dispatch()
        return reason

    def matching(self, url: str) -> list[Record]:
        """Return the cookies a request to ``url`` would carry (HttpOnly included)."""
        out: list[Record] = self._core.matching(url)
        self._dispatch()
        return out

    def all(self) -> list[Record]:
        """Return every cookie, in Chromium's order."""
        out: list[Record] = self._core.all()
        self._dispatch()
        return out

    def delete(self, domain: str, name: str, path: str) -> bool:
        """Delete one cookie (cause ``explicit``); tell whether it existed."""
        found: bool = self._core.delete(domain, name, path)
        self._dispatch()
        return found

    def delete_keys(self, keys: Iterable[str], exclude: bool) -> int:
        """Delete the cookies of these registrable domains (or of all others)."""
        n: int = self._core.delete_keys(keys, exclude)
        self._dispatch()
        return n

    def clear(self) -> int:
        """Delete every cookie; return how many."""
        n: int = self._core.clear()
        self._dispatch()
        return n

    def load(self, records: Iterable[Record]) -> int:
        """Add cookies without checks or events (import of a trusted dump)."""
        return int(self._core.load(records))

    def __len__(self) -> int:
        return len(self._core)

    def set_limits(
        self, *, per_domain: int = 180, per_domain_purge_to: int = 150, total: int = 3300,
        total_purge_to: int = 3000, safe_from_global_purge_days: int = 30,
    ) -> None:  # fmt: skip
        """Set Chromium's limits (its defaults here); ``0`` for a maximum removes that limit.

        A crawler keeping every cookie: ``jar.set_limits(total=0)``.
        """
        self._core.set_limits(per_domain, per_domain_purge_to, total, total_purge_to,
                              safe_from_global_purge_days)  # fmt: skip

    def limits(self) -> dict[str, int]:
        """Return the limits in force."""
        a, b, c, d, e = self._core.limits()
        return {"per_domain": a, "per_domain_purge_to": b, "total": c, "total_purge_to": d,
                "safe_from_global_purge_days": e}  # fmt: skip

    # -- observers and persistence

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(record, cause)`` for every change (cause: index in ``CAUSES``)."""
        self._observers.append(observer)
        self._set_recording(True)

    def remove_observer(self, observer: Observer) -> None:
        """Stop calling ``observer``."""
        if observer in self._observers:
            self._observers.remove(observer)
        self._set_recording(bool(self._observers) or self._backend is not None)

    def _dispatch(self) -> None:
        if not self._core.recording:
            return
        changes = self._core.drain()
        if not changes:
            return
        backend = self._backend
        observers = self._observers
        for cause, rec in changes:
            if backend is not None:
                backend.record(cause, rec)
            if cause != ACCESSED:
                for observer in observers:
                    observer(rec, cause)

    def flush(self) -> None:
        """Write pending changes now (blocking)."""
        if self._backend is not None:
            self._backend.flush()

    def close(self) -> None:
        """Flush and close the persistent store; the jar stays usable in memory."""
        if self._backend is not None:
            backend, self._backend = self._backend, None
            self._set_recording(bool(self._observers))
            backend.close()
