"""Where the HTTP cache keeps its entries: in memory, or as files under ``<partition>/Cache/``.

``CacheStore`` joins the native index (key → entry, LRU, size limit) with a ``CacheBackend``
that owns the bytes. Backends are small on purpose: memory and disk live here; a shared one
(Redis) implements the same six coroutines and plugs in without touching the cache logic.

Disk layout: each entry is one file ``<id>.entry`` = body, then the metadata as JSON, then a
16-byte trailer (magic, metadata length, body length). It is written as ``<id>.tmp`` and
renamed, so a file with the final name is always whole. ``index.json`` lists the entries with
their last use; it is replaced atomically (write a temp file, rename) and carries a SHA-256 of
its content. When it is missing or torn, or entries were written after its last flush, opening
reconciles it with the entry files on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import struct
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ._cache_policy import Freshness, headers_size
from ._impl import core

_MAGIC = b"WSC1"
_TRAILER = struct.Struct(">4sIQ")
_INDEX_MAGIC = "WSCACHEINDEX1"
_CHUNK = 64 * 1024
_FLUSH_DELAY = 0.5


class StoredResponse:
    """One stored response's metadata; the body lives in the backend under ``body_id``."""

    __slots__ = (
        "body_id",
        "body_size",
        "charge",
        "fresh",
        "headers",
        "key",
        "request_time",
        "response_time",
        "status",
        "status_text",
        "vary",
    )

    def __init__(
        self,
        key: str,
        status: int,
        status_text: str,
        headers: list[tuple[str, str]],
        vary: tuple[tuple[str, str | None], ...],
        request_time: float,
        response_time: float,
        body_size: int = 0,
        body_id: str = "",
    ) -> None:
        self.key = key
        self.status = status
        self.status_text = status_text
        self.headers = headers
        self.vary = vary
        self.request_time = request_time
        self.response_time = response_time
        self.body_size = body_size
        self.body_id = body_id or secrets.token_hex(8)
        self.refresh()

    def refresh(self) -> None:
        """Recompute freshness and the charged size after the headers or times changed."""
        self.fresh = Freshness(self.status, self.headers, self.request_time, self.response_time)
        self.charge = self.body_size + headers_size(self.key, self.headers)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "status": self.status, "status_text": self.status_text,
            "headers": [list(p) for p in self.headers], "vary": [list(v) for v in self.vary],
            "request_time": self.request_time, "response_time": self.response_time,
            "body_size": self.body_size, "body_id": self.body_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredResponse:
        headers = [(str(n), str(v)) for n, v in data["headers"]]
        vary = tuple((str(n), None if v is None else str(v)) for n, v in data["vary"])
        return cls(
            str(data["key"]), int(data["status"]), str(data["status_text"]), headers, vary,
            float(data["request_time"]), float(data["response_time"]), int(data["body_size"]),
            str(data["body_id"]),
        )


class BodyWriter(ABC):
    """Receives a body chunk by chunk; ``commit`` makes it an entry, ``abort`` forgets it."""

    size: int

    @abstractmethod
    async def write(self, chunk: bytes) -> None:
        """Append a chunk."""

    @abstractmethod
    async def commit(self, meta: StoredResponse) -> None:
        """Make the body durable as entry ``meta``."""

    @abstractmethod
    async def abort(self) -> None:
        """Forget what was written."""


class CacheBackend(ABC):
    """Where entry bodies and metadata live. Every method may be called from the event loop."""

    @abstractmethod
    async def load(self) -> list[tuple[StoredResponse, float]]:
        """Return the persisted entries with their last use (oldest first)."""

    @abstractmethod
    def writer(self, body_id: str) -> BodyWriter:
        """Start writing a new body."""

    @abstractmethod
    def cached_body(self, meta: StoredResponse) -> bytes | None:
        """Return the whole body when it is in memory (the fast path), else ``None``."""

    @abstractmethod
    def read(self, meta: StoredResponse) -> AsyncIterator[bytes]:
        """Stream a stored body."""

    @abstractmethod
    async def discard(self, metas: list[StoredResponse]) -> None:
        """Delete bodies that no index entry or reader needs any more."""

    @abstractmethod
    def changed(self, entries: list[tuple[StoredResponse, float]]) -> None:
        """Note that the live entry set (or metadata) changed; persist it when convenient."""

    @abstractmethod
    async def flush(self, entries: list[tuple[StoredResponse, float]]) -> None:
        """Persist the index now."""


# -- memory ---------------------------------------------------------------------------------------

class _MemoryWriter(BodyWriter):
    def __init__(self, backend: MemoryBackend, body_id: str) -> None:
        self._backend = backend
        self._body_id = body_id
        self._chunks: list[bytes] = []
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self.size += len(chunk)

    def commit_now(self) -> None:
        self._backend._bodies[self._body_id] = b"".join(self._chunks)
        self._chunks = []

    async def commit(self, meta: StoredResponse) -> None:
        self.commit_now()

    async def abort(self) -> None:
        self._chunks = []


class MemoryBackend(CacheBackend):
    """Bodies as ``bytes`` in a dict: for in-memory partitions, never touches the disk."""

    def __init__(self) -> None:
        self._bodies: dict[str, bytes] = {}

    async def load(self) -> list[tuple[StoredResponse, float]]:
        return []

    def writer(self, body_id: str) -> BodyWriter:
        return _MemoryWriter(self, body_id)

    def cached_body(self, meta: StoredResponse) -> bytes | None:
        return self._bodies.get(meta.body_id, b"")

    async def read(self, meta: StoredResponse) -> AsyncIterator[bytes]:
        body = self._bodies.get(meta.body_id, b"")
        if body:
            yield body

    async def discard(self, metas: list[StoredResponse]) -> None:
        for meta in metas:
            self._bodies.pop(meta.body_id, None)

    def changed(self, entries: list[tuple[StoredResponse, float]]) -> None:
        return None

    async def flush(self, entries: list[tuple[StoredResponse, float]]) -> None:
        return None


# -- disk -----------------------------------------------------------------------------------------

class _DiskWriter(BodyWriter):
    def __init__(self, backend: DiskBackend, body_id: str) -> None:
        self._backend = backend
        self._body_id = body_id
        self._temp = backend.folder / f"{body_id}.tmp"
        self._file: Any = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        self.size += len(chunk)
        if self._pending_size >= _CHUNK:
            await asyncio.to_thread(self._write_pending)

    def _write_pending(self) -> None:
        if self._file is None:
            self._backend.folder.mkdir(parents=True, exist_ok=True)
            self._file = open(self._temp, "wb")  # noqa: SIM115 - closed in _finish/_drop
        self._file.write(b"".join(self._pending))
        self._pending = []
        self._pending_size = 0

    def _finish(self, meta: StoredResponse) -> None:
        self._write_pending()
        data = json.dumps(meta.to_json(), separators=(",", ":")).encode()
        self._file.write(data)
        self._file.write(_TRAILER.pack(_MAGIC, len(data), self.size))
        self._file.close()
        self._file = None
        os.replace(self._temp, self._backend.path_of(self._body_id))

    def _drop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending = []
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)

    async def commit(self, meta: StoredResponse) -> None:
        try:
            await asyncio.to_thread(self._finish, meta)
        except BaseException:
            await asyncio.to_thread(self._drop)
            raise

    async def abort(self) -> None:
        await asyncio.to_thread(self._drop)


def _read_entry_meta(path: Path) -> StoredResponse | None:
    """Read the metadata of a whole entry file; ``None`` when it is torn or foreign."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            total = f.tell()
            if total < _TRAILER.size:
                return None
            f.seek(total - _TRAILER.size)
            magic, meta_len, body_len = _TRAILER.unpack(f.read(_TRAILER.size))
            if magic != _MAGIC or body_len + meta_len + _TRAILER.size != total:
                return None
            f.seek(body_len)
            meta = StoredResponse.from_json(json.loads(f.read(meta_len)))
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None
    if meta.body_size != body_len or meta.body_id != path.stem:
        return None
    return meta


class DiskBackend(CacheBackend):
    """Entry files and an atomically replaced index under ``folder`` (``<partition>/Cache``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._index_path = self.folder / "index.json"
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._latest: list[tuple[StoredResponse, float]] | None = None

    def path_of(self, body_id: str) -> Path:
        return self.folder / f"{body_id}.entry"

    async def load(self) -> list[tuple[StoredResponse, float]]:
        return await asyncio.to_thread(self._load)

    def _read_index(self) -> dict[str, tuple[StoredResponse, float]]:
        try:
            raw = self._index_path.read_bytes()
        except OSError:
            return {}
        head, _, body = raw.partition(b"\n")
        parts = head.decode("ascii", "replace").split(" ")
        if len(parts) != 2 or parts[0] != _INDEX_MAGIC:
            return {}
        if hashlib.sha256(body).hexdigest() != parts[1]:
            return {}
        try:
            records = json.loads(body)
            out: dict[str, tuple[StoredResponse, float]] = {}
            for record in records:
                meta = StoredResponse.from_json(record["meta"])
                out[meta.body_id] = (meta, float(record["last_use"]))
            return out
        except (ValueError, KeyError, TypeError):
            return {}

    def _load(self) -> list[tuple[StoredResponse, float]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        listed = self._read_index()
        on_disk: dict[str, int] = {}
        for child in self.folder.iterdir():
            if child.suffix == ".tmp":
                child.unlink(missing_ok=True)
            elif child.suffix == ".entry":
                try:
                    on_disk[child.stem] = child.stat().st_size
                except OSError:
                    continue
        found: list[tuple[StoredResponse, float]] = []
        for body_id, size in on_disk.items():
            known = listed.get(body_id)
            # The index may be newer (304 merges) but only for a file that is whole.
            if known is not None and _whole(self.path_of(body_id), size, known[0].body_size):
                found.append(known)
                continue
            meta = _read_entry_meta(self.path_of(body_id))
            if meta is None:
                self.path_of(body_id).unlink(missing_ok=True)
                continue
            found.append((meta, meta.response_time))
        # One entry per key: a replaced entry's file may outlive a crash; keep the newest.
        newest: dict[str, tuple[StoredResponse, float]] = {}
        for meta, last_use in found:
            other = newest.get(meta.key)
            if other is None or meta.response_time > other[0].response_time:
                if other is not None:
                    self.path_of(other[0].body_id).unlink(missing_ok=True)
                newest[meta.key] = (meta, last_use)
            else:
                self.path_of(meta.body_id).unlink(missing_ok=True)
        return sorted(newest.values(), key=lambda item: item[1])

    def writer(self, body_id: str) -> BodyWriter:
        return _DiskWriter(self, body_id)

    def cached_body(self, meta: StoredResponse) -> bytes | None:
        return None

    async def read(self, meta: StoredResponse) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self.path_of(meta.body_id), "rb")
        try:
            remaining = meta.body_size
            while remaining > 0:
                chunk = await asyncio.to_thread(handle.read, min(_CHUNK, remaining))
                if not chunk:
                    raise OSError(f"cache entry {meta.body_id} is shorter than recorded")
                remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def discard(self, metas: list[StoredResponse]) -> None:
        if metas:
            paths = [self.path_of(m.body_id) for m in metas]
            await asyncio.to_thread(_unlink_all, paths)

    def changed(self, entries: list[tuple[StoredResponse, float]]) -> None:
        self._latest = entries
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(_FLUSH_DELAY, self._start_flush)

    def _start_flush(self) -> None:
        self._flush_handle = None
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.ensure_future(self._flush_latest())

    async def _flush_latest(self) -> None:
        while self._latest is not None:
            entries, self._latest = self._latest, None
            await asyncio.to_thread(self._write_index, entries)

    async def flush(self, entries: list[tuple[StoredResponse, float]]) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._flush_task is not None:
            await self._flush_task
        self._latest = None
        await asyncio.to_thread(self._write_index, entries)

    def _write_index(self, entries: list[tuple[StoredResponse, float]]) -> None:
        body = json.dumps(
            [{"meta": m.to_json(), "last_use": last} for m, last in entries], separators=(",", ":")
        ).encode()
        data = f"{_INDEX_MAGIC} {hashlib.sha256(body).hexdigest()}\n".encode() + body
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.folder / f"index.{secrets.token_hex(4)}.tmp"
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, self._index_path)


def _whole(path: Path, size: int, body_size: int) -> bool:
    if size < body_size + _TRAILER.size:
        return False
    try:
        with open(path, "rb") as f:
            f.seek(size - _TRAILER.size)
            magic, meta_len, body_len = _TRAILER.unpack(f.read(_TRAILER.size))
    except (OSError, struct.error):
        return False
    return bool(
        magic == _MAGIC and body_len == body_size and body_len + meta_len + _TRAILER.size == size
    )


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# -- the store: index + backend ---------------------------------------------------------------------

class CacheStore:
    """The cache's entries: lookups through the native index, bytes through a backend."""

    def __init__(self, backend: CacheBackend, max_size: int | None = None) -> None:
        index_module = core("cacheindex")
        self.backend = backend
        self.index: Any = index_module.CacheIndex(
            index_module.DEFAULT_MAX_SIZE if max_size is None else max_size
        )
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._pending: set[asyncio.Task[Any]] = set()

    @property
    def opened(self) -> bool:
        return self._opened

    async def open(self) -> None:
        """Load the persisted entries (once)."""
        async with self._open_lock:
            if self._opened:
                return
            loaded = await self.backend.load()
            discard: list[Any] = []
            for meta, last_use in loaded:
                if self.index.fits(meta.charge):
                    discard += self.index.put(
                        meta.key, meta.charge, meta, meta.fresh.expires(), meta.response_time,
                        last_use,
                    )
                else:
                    discard.append(_Loose(meta))
            await self.backend.discard([e.meta for e in discard])
            self._opened = True

    def lookup(self, key: str) -> Any:
        """The live index entry for ``key`` (marked used), or ``None``."""
        return self.index.get(key)

    def fits(self, size: int) -> bool:
        return bool(self.index.fits(size))

    async def commit(self, meta: StoredResponse, writer: BodyWriter) -> None:
        """Make a fully written body an entry, replacing any entry under the same key."""
        await writer.commit(meta)
        self._insert(meta)

    def commit_memory(self, meta: StoredResponse, writer: _MemoryWriter) -> None:
        """Synchronous commit for a memory writer (no I/O to wait for)."""
        writer.commit_now()
        self._insert(meta)

    def _insert(self, meta: StoredResponse) -> None:
        if not self.index.fits(meta.charge):
            self._spawn(self.backend.discard([meta]))
            return
        discard = self.index.put(
            meta.key, meta.charge, meta, meta.fresh.expires(), meta.response_time
        )
        self._after_change(discard)

    def updated(self, entry: Any) -> None:
        """The entry's metadata changed in place (a 304 or HEAD merged new headers)."""
        meta: StoredResponse = entry.meta
        self.index.touch(entry, meta.fresh.expires(), meta.response_time)
        self._after_change(self.index.resize(entry, meta.charge))

    def remove(self, key: str) -> None:
        self._after_change(self.index.remove(key))

    def acquire(self, entry: Any) -> None:
        self.index.acquire(entry)

    def release(self, entry: Any) -> None:
        if self.index.release(entry):
            self._spawn(self.backend.discard([entry.meta]))

    def set_max_size(self, max_size: int) -> None:
        self._after_change(self.index.set_max_size(max_size))

    @property
    def max_size(self) -> int:
        return int(self.index.max_size)

    @property
    def total_size(self) -> int:
        return int(self.index.total_size)

    def entries(self) -> list[Any]:
        return list(self.index.entries())

    async def clear(self) -> None:
        discard = self.index.clear()
        await self.settle()
        await self.backend.discard([e.meta for e in discard])
        await self.backend.flush([])

    def _after_change(self, discard: list[Any]) -> None:
        if discard:
            self._spawn(self.backend.discard([e.meta for e in discard]))
        self.backend.changed(self._snapshot())

    def _snapshot(self) -> list[tuple[StoredResponse, float]]:
        return [(e.meta, e.last_use) for e in self.index.entries()]

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` as a tracked task (``settle`` waits for it)."""
        return self._spawn(coro)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def settle(self) -> None:
        """Wait for background writes and deletions started so far."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def close(self) -> None:
        await self.settle()
        if self._opened:
            await self.backend.flush(self._snapshot())


class _Loose:
    """An entry that never made it into the index (over the limit at load time)."""

    __slots__ = ("meta",)

    def __init__(self, meta: StoredResponse) -> None:
        self.meta = meta


def default_backend(storage_path: Path | None) -> CacheBackend:
    """Disk under ``<storage_path>/Cache`` for persistent sessions, memory otherwise."""
    if storage_path is None:
        return MemoryBackend()
    return DiskBackend(Path(storage_path) / "Cache")


def now() -> float:
    return time.time()
