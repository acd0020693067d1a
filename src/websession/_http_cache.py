"""The session's HTTP cache: the pipeline hands it a request and a way to reach the network.

``await cache.fetch(state, forward)`` answers from the store when RFC 9111 and the request's
Fetch cache mode allow it, sends a conditional request and merges a 304, or forwards the
request and stores the response while it streams to the caller. The rules are in
``_cache_policy``, the bytes in ``_cache_store``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from multidict import CIMultiDict
from yarl import URL

from ._cache_policy import (
    FETCH_CACHE_MODES,
    SAFE_METHODS,
    CacheControl,
    apply_mode_headers,
    cache_key,
    effective_mode,
    head_matches,
    invalidation_targets,
    is_storable,
    merge_headers,
    request_cache_control,
    response_cache_control,
    satisfies_request,
    single_range,
    storable_headers,
    validators,
    vary_key,
    vary_names,
)
from ._cache_store import (
    BodyWriter,
    CacheBackend,
    CacheStore,
    StoredResponse,
    _MemoryWriter,
    default_backend,
)
from ._errors import NetError
from ._http import NULL_BODY_STATUSES, RequestState, Response

log = logging.getLogger("websession.cache")

Forward = Callable[[RequestState], Awaitable[Response]]

# Request fields that take a request off the fast path (RFC 9111 §5.2.1, Fetch §4.5, ranges).
_SPECIAL_FIELDS = (
    "cache-control", "pragma", "range", "if-none-match", "if-modified-since", "if-match",
    "if-unmodified-since", "if-range",
)
# RFC 5861 §4: stale-if-error covers these statuses as well as failing to connect.
_ERROR_STATUSES = frozenset((500, 502, 503, 504))
_EMPTY_CC: CacheControl = {}


def _origin(url: str) -> str | None:
    try:
        parsed = URL(url)
        if not parsed.is_absolute() or not parsed.host:
            return None
        return str(parsed.origin())
    except (ValueError, TypeError):
        return None


def _copy_state(state: RequestState) -> RequestState:
    copy = RequestState(state.id, state.session, state.method, state.url)
    for name in RequestState.__slots__:
        if hasattr(state, name):
            setattr(copy, name, getattr(state, name))
    copy.headers = CIMultiDict(state.headers)
    copy.url_chain = list(state.url_chain)
    copy.extra = dict(state.extra)
    copy.signal = None  # a background refresh outlives the caller's abort signal
    copy.net_source = None  # and is a request of its own, not a step of the caller's NetLog
    return copy


class HttpCache:
    """A private HTTP cache over a memory or disk store (see the module docstring)."""

    def __init__(
        self,
        storage_path: Path | None = None,
        *,
        max_size: int | None = None,
        backend: CacheBackend | None = None,
    ) -> None:
        self._store = CacheStore(backend or default_backend(storage_path), max_size)
        self._revalidating: set[str] = set()

    # -- the pipeline's entry point -----------------------------------------------------------

    async def fetch(self, state: RequestState, forward: Forward) -> Response:
        """Answer one request hop from the cache or through ``forward`` (see the module docstring)."""
        store = self._store
        if not store.opened:
            await store.open()
        headers = state.headers
        if state.cache_mode == "default" and state.method == "GET":
            for name in _SPECIAL_FIELDS:
                if name in headers:
                    break
            else:
                entry = store.lookup(cache_key(state.url))
                if entry is not None:
                    now = time.time()
                    meta: StoredResponse = entry.meta
                    if (
                        entry.expires > now
                        and not meta.fresh.no_cache
                        and (not meta.vary or meta.vary == vary_key([n for n, _ in meta.vary], headers))
                    ):
                        return self._serve(entry, state, now)
        return await self._fetch(state, forward)

    async def _fetch(self, state: RequestState, forward: Forward) -> Response:
        if state.cache_mode not in FETCH_CACHE_MODES:
            raise ValueError(
                f"cache must be one of {', '.join(FETCH_CACHE_MODES)}, not {state.cache_mode!r}"
            )
        mode = effective_mode(state.cache_mode, state.headers)
        apply_mode_headers(mode, state.headers)
        method = state.method
        if method not in ("GET", "HEAD"):
            if mode == "only-if-cached":
                raise NetError("ERR_CACHE_MISS")
            response = await forward(state)
            if method not in SAFE_METHODS and 200 <= response.status < 400:
                # RFC 9111 §4.4: an unsafe method's non-error response invalidates.
                for target in invalidation_targets(state.url, response.headers):
                    self._store.remove(target)
            return response
        if mode == "no-store":
            return await forward(state)
        request_cc = request_cache_control(state.headers)
        if "no-store" in request_cc:
            return await forward(state)

        key = cache_key(state.url)
        entry = None if mode == "reload" else self._store.lookup(key)
        matched = entry is not None and self._vary_matches(entry.meta, state.headers)
        range_value = state.headers.get("range") if method == "GET" else None
        now = time.time()
        if entry is not None and matched:
            meta: StoredResponse = entry.meta
            if mode in ("force-cache", "only-if-cached") or (
                mode == "default" and satisfies_request(meta.fresh, now, request_cc)
            ):
                if range_value is None:
                    return self._serve(entry, state, now)
                span = single_range(range_value, meta.body_size)
                if span is not None and "if-range" not in state.headers and meta.status == 200:
                    return await self._serve_range(entry, state, now, span)
        if mode == "only-if-cached":
            raise NetError("ERR_CACHE_MISS")
        if "only-if-cached" in request_cc:
            # RFC 9111 §5.2.1.7: nothing stored satisfies the request.
            return Response(status=504, status_text="Gateway Timeout")
        if range_value is not None:
            return await forward(state)
        if method == "HEAD":
            return await self._head(entry if matched else None, state, forward)
        if entry is not None:
            meta = entry.meta
            fresh = meta.fresh
            if (
                matched
                and mode == "default"
                and not fresh.no_cache
                and "no-cache" not in request_cc
                and "max-age" not in request_cc
                and fresh.stale_while_revalidate > 0
                and fresh.current_age(now) < fresh.lifetime + fresh.stale_while_revalidate
            ):
                self._revalidate_in_background(entry, state, forward)
                return self._serve(entry, state, now)
            conditions = validators(meta.headers)
            if not matched:
                # RFC 9111 §4.3.1: another variant's ETag may still select the stored response.
                conditions = [c for c in conditions if c[0] == "If-None-Match"]
            if conditions or matched:
                return await self._validate(entry, matched, conditions, state, forward, request_cc)
        request_time = time.time()
        response = await forward(state)
        return await self._store_response(state, response, request_time, request_cc)

    # -- serving from the store ----------------------------------------------------------------

    def _serve(self, entry: Any, state: RequestState, now: float) -> Response:
        meta: StoredResponse = entry.meta
        response = Response(status=meta.status, status_text=meta.status_text)
        headers: CIMultiDict[str] = CIMultiDict(meta.headers)
        # RFC 9111 §5.1: a response served from a cache carries its current Age.
        headers["Age"] = str(int(meta.fresh.current_age(now)))
        response.headers = headers
        response.url = state.url
        response.from_cache = True
        state.from_cache = True
        if state.method == "HEAD" or meta.status in NULL_BODY_STATUSES or meta.body_size == 0:
            return response
        body = self._store.backend.cached_body(meta)
        if body is not None:
            response._data = body
        else:
            self._stream_body(response, entry)
        return response

    def _stream_body(self, response: Response, entry: Any) -> None:
        store = self._store
        store.acquire(entry)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                store.release(entry)

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in store.backend.read(entry.meta):
                    yield chunk
            finally:
                release()

        response._set_stream(chunks(), release)

    async def _serve_range(
        self, entry: Any, state: RequestState, now: float, span: tuple[int, int]
    ) -> Response:
        meta: StoredResponse = entry.meta
        body = self._store.backend.cached_body(meta)
        if body is None:
            self._store.acquire(entry)
            try:
                body = b"".join([c async for c in self._store.backend.read(meta)])
            finally:
                self._store.release(entry)
        start, end = span
        response = Response(body[start:end + 1], status=206, status_text="Partial Content")
        headers: CIMultiDict[str] = CIMultiDict(meta.headers)
        headers["Content-Range"] = f"bytes {start}-{end}/{meta.body_size}"
        headers["Content-Length"] = str(end - start + 1)
        headers["Age"] = str(int(meta.fresh.current_age(now)))
        response.headers = headers
        response.url = state.url
        response.from_cache = True
        state.from_cache = True
        return response

    def _vary_matches(self, meta: StoredResponse, headers: Any) -> bool:
        if not meta.vary:
            return True
        return meta.vary == vary_key([n for n, _ in meta.vary], headers)

    # -- validation ----------------------------------------------------------------------------

    async def _validate(
        self,
        entry: Any,
        matched: bool,
        conditions: list[tuple[str, str]],
        state: RequestState,
        forward: Forward,
        request_cc: CacheControl,
        background: bool = False,
    ) -> Response:
        store = self._store
        added = [name for name, _ in conditions if name not in state.headers]
        for name, value in conditions:
            if name in added:
                state.headers[name] = value
        store.acquire(entry)
        try:
            request_time = time.time()
            state.cache_validating = bool(added)
            try:
                response = await forward(state)
            except (NetError, OSError) as error:
                if self._stale_if_error(entry.meta, request_cc):
                    log.debug("serving stale %s after %r", entry.key, error)
                    return self._serve(entry, state, time.time())
                raise
            finally:
                state.cache_validating = False
                for name in added:
                    state.headers.popall(name, None)
            if response.status == 304 and conditions:
                response.close()
                self._refresh(entry, response.headers, request_time, None if matched else state)
                return self._serve(entry, state, time.time())
            if response.status in _ERROR_STATUSES and self._stale_if_error(entry.meta, request_cc):
                response.close()
                return self._serve(entry, state, time.time())
            return await self._store_response(state, response, request_time, request_cc)
        finally:
            store.release(entry)

    def _stale_if_error(self, meta: StoredResponse, request_cc: CacheControl) -> bool:
        """RFC 5861 §4: may a stale response answer an error?"""
        fresh = meta.fresh
        if fresh.must_revalidate or fresh.no_cache:
            return False
        window = fresh.stale_if_error
        if "stale-if-error" in request_cc:
            arg = request_cc["stale-if-error"]
            window = max(window, float(arg)) if arg and arg.isdigit() else window
        staleness = fresh.current_age(time.time()) - fresh.lifetime
        return window > 0 and staleness <= window

    def _refresh(
        self, entry: Any, incoming: Any, request_time: float, variant_of: RequestState | None
    ) -> None:
        """Merge a 304's (or HEAD 200's) fields into a stored response (RFC 9111 §4.3.4)."""
        meta: StoredResponse = entry.meta
        cc = response_cache_control(incoming)
        meta.headers = merge_headers(meta.headers, storable_headers(list(incoming.items()), cc))
        meta.request_time = request_time
        meta.response_time = time.time()
        if variant_of is not None:
            names = vary_names(meta.headers) or []
            meta.vary = vary_key(names, variant_of.headers)
        meta.refresh()
        self._store.updated(entry)

    def _revalidate_in_background(self, entry: Any, state: RequestState, forward: Forward) -> None:
        """RFC 5861 §3: serve stale now, refresh the stored response behind the caller's back."""
        key = entry.key
        if key in self._revalidating:
            return
        conditions = validators(entry.meta.headers)
        copy = _copy_state(state)
        self._revalidating.add(key)

        async def run() -> None:
            try:
                if conditions:
                    response = await self._validate(entry, True, conditions, copy, forward, {})
                else:
                    request_time = time.time()
                    response = await self._store_response(
                        copy, await forward(copy), request_time, _EMPTY_CC
                    )
                await response.bytes()
            except Exception as error:  # noqa: BLE001 - a background refresh only logs
                log.debug("background revalidation of %s failed: %r", key, error)
            finally:
                self._revalidating.discard(key)

        self._store.spawn(run())

    async def _head(self, entry: Any, state: RequestState, forward: Forward) -> Response:
        request_time = time.time()
        response = await forward(state)
        if entry is not None and response.status == 200:
            meta: StoredResponse = entry.meta
            if head_matches(meta.headers, response.headers):
                # RFC 9111 §4.3.5: a HEAD response refreshes the stored GET response, and the
                # refreshed stored fields answer the HEAD.
                response.close()
                self._refresh(entry, response.headers, request_time, None)
                return self._serve(entry, state, time.time())
        return response

    # -- storing -----------------------------------------------------------------------------------

    async def _store_response(
        self,
        state: RequestState,
        response: Response,
        request_time: float,
        request_cc: CacheControl,
    ) -> Response:
        status = response.status
        headers = response.headers
        response_cc = response_cache_control(headers)
        if not is_storable(state.method, status, state.headers, headers, request_cc, response_cc):
            return response
        names = vary_names(headers) or []
        key = cache_key(state.url)
        meta = StoredResponse(
            key,
            status,
            response.status_text,
            storable_headers(list(headers.items()), response_cc),
            vary_key(names, state.headers) if names else (),
            request_time,
            time.time(),
        )
        fresh = meta.fresh
        if (
            fresh.lifetime <= 0
            and fresh.stale_while_revalidate <= 0
            and fresh.stale_if_error <= 0
            and not validators(meta.headers)
        ):
            # Nothing could ever reuse or revalidate it: do not let it evict useful entries.
            return response
        store = self._store
        if not store.fits(meta.charge):
            return response
        writer = store.backend.writer(meta.body_id)
        data = response._data
        if data is not None or response._stream is None or status in NULL_BODY_STATUSES:
            body = b"" if data is None or status in NULL_BODY_STATUSES else data
            meta.body_size = len(body)
            meta.refresh()
            if not store.fits(meta.charge):
                return response
            await writer.write(body)
            if isinstance(writer, _MemoryWriter):
                store.commit_memory(meta, writer)
            else:
                await store.commit(meta, writer)
            return response
        response._set_stream(self._tee(response._stream, writer, meta), response._release)
        return response

    async def _tee(
        self, source: AsyncIterable[bytes], writer: BodyWriter, meta: StoredResponse
    ) -> AsyncIterator[bytes]:
        """Pass the body to the caller while writing it to the store; commit when it is whole."""
        store = self._store
        overhead = meta.charge
        writing = True
        complete = False
        try:
            async for chunk in source:
                if writing:
                    if writer.size + len(chunk) + overhead > store.max_size:
                        # Too large for the whole cache: not stored, nothing evicted.
                        writing = False
                        await writer.abort()
                    else:
                        await writer.write(bytes(chunk))
                yield chunk
            complete = True
        finally:
            if writing:
                if complete:
                    meta.body_size = writer.size
                    meta.refresh()
                    await store.commit(meta, writer)
                else:
                    await writer.abort()

    # -- the session's cache API ---------------------------------------------------------------

    async def size(self) -> int:
        """Bytes the cache holds: every entry's body plus its key and header fields."""
        store = self._store
        if not store.opened:
            await store.open()
        await store.settle()
        return store.total_size

    async def clear(self) -> None:
        """Remove every entry."""
        store = self._store
        if not store.opened:
            await store.open()
        await store.clear()

    async def clear_origins(self, origins: list[str], exclude: bool) -> None:
        """Remove the entries of ``origins`` (or, with ``exclude``, of every other origin)."""
        store = self._store
        if not store.opened:
            await store.open()
        await store.settle()
        wanted = {o for o in (_origin(u) for u in origins) if o is not None}
        for entry in store.entries():
            if (_origin(entry.key) in wanted) != exclude:
                store.remove(entry.key)
        await store.settle()

    @property
    def max_size(self) -> int:
        return self._store.max_size

    def set_max_size(self, max_size: int) -> None:
        """Change the size limit; entries are evicted least recently used first to meet it."""
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise ValueError(f"max_size must be a non-negative integer, not {max_size!r}")
        self._store.set_max_size(max_size)

    async def close(self) -> None:
        """Finish background work and persist the index."""
        await self._store.close()
