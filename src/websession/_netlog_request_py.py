"""The NetLog events of one request: the reference of the compiled ``_netlog_request_c``.

A :class:`RequestLog` is the ``URL_REQUEST`` source of one request, made by the pipeline only
when the session's recorder is active as the request starts (``state.net_source``; ``None``
otherwise), so each step costs one ``is not None`` test while nothing is logging. It writes each
step's events as the step happens, with Chrome's names and params, and keeps the BEGINs still
waiting for their END so a failure closes them in order. A :class:`Socket` is a pooled
connection's ``SOCKET`` source. What happens inside aiohttp (new connections, traces, the body
the caller reads) is observed by ``_netlog_transport``, which drives these two classes through
their public attributes and methods; both implementations offer the same ones.

The compiled twin writes each event straight into the writers' buffers; this one calls the
writers' methods, so it also serves files written by the twin writer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from . import _netlog_transport as transport
from ._errors import NetError
from ._http import RequestState, Response
from ._transport import _NetworkBody
from ._net_log import (
    Params,
    Recorder,
    Source,
    _next_id,
    _schedule_flush,
    byte_count_params,
    put,
    put_headers,
    redirect_params,
    request_alive_params,
    start_job_params,
)
from ._netlog_constants import EVENT_TYPES, PHASE_BEGIN, PHASE_END, PHASE_NONE, SOURCE_TYPES

Forward = Callable[[RequestState], Awaitable[Response]]

_ERR_ABORTED = -3
_ERR_BLOCKED_BY_CLIENT = -20

_REQUEST_ALIVE = EVENT_TYPES["REQUEST_ALIVE"]
_START_JOB = EVENT_TYPES["URL_REQUEST_START_JOB"]
_REDIRECTED = EVENT_TYPES["URL_REQUEST_REDIRECTED"]
_DELEGATE_REDIRECT = EVENT_TYPES["URL_REQUEST_DELEGATE_RECEIVED_REDIRECT"]
_CANCELLED = EVENT_TYPES["CANCELLED"]
_FAILED = EVENT_TYPES["FAILED"]
_GET_BACKEND = EVENT_TYPES["HTTP_CACHE_GET_BACKEND"]
_OPEN_ENTRY = EVENT_TYPES["HTTP_CACHE_OPEN_OR_CREATE_ENTRY"]
_READ_INFO = EVENT_TYPES["HTTP_CACHE_READ_INFO"]
_SOCKET_ALIVE = EVENT_TYPES["SOCKET_ALIVE"]
_SOCKET_CLOSED = EVENT_TYPES["SOCKET_CLOSED"]
_SOCKET_IN_USE = EVENT_TYPES["SOCKET_IN_USE"]
_REUSED = EVENT_TYPES["SOCKET_POOL_REUSED_AN_EXISTING_SOCKET"]
_BOUND = EVENT_TYPES["SOCKET_POOL_BOUND_TO_SOCKET"]
_READ_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_HEADERS"]
_RESPONSE_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"]
_BYTES_RECEIVED = EVENT_TYPES["SOCKET_BYTES_RECEIVED"]
_FILTERED_BYTES = EVENT_TYPES["URL_REQUEST_JOB_FILTERED_BYTES_READ"]

_URL_REQUEST = SOURCE_TYPES["URL_REQUEST"]
_TRANSPORT_STEPS = (_READ_HEADERS, EVENT_TYPES["HOST_RESOLVER_MANAGER_REQUEST"])
_CACHE_OPENING = ((_GET_BACKEND, PHASE_BEGIN), (_GET_BACKEND, PHASE_END), (_OPEN_ENTRY, PHASE_BEGIN))
_OPENED = {"result": "opened"}
_CREATED = {"result": "created"}
_monotonic_ns = time.monotonic_ns  # NetLog time is its milliseconds (``_net_log.now_ms``)


def _error(net_error: int) -> dict[str, int] | None:
    return {"net_error": net_error} if net_error < 0 else None


class Socket:
    """A pooled connection's ``SOCKET`` source and the request using it now."""

    __slots__ = ("alive", "ident", "in_use", "rec", "source", "tcp_up_at")

    def __init__(self, rec: Recorder, when: int, owner: Source) -> None:
        self.rec = rec
        self.tcp_up_at = 0  # when the TCP connect of a TLS connection ended (_netlog_transport)
        self.source = source = rec.new_source("SOCKET")
        self.ident = (source.id, source.type, source.start_time)
        self.in_use: RequestLog | None = None
        self.alive = True
        put(rec, when, self.source, _SOCKET_ALIVE, PHASE_BEGIN, owner.dependency())

    def release(self, when: int) -> None:
        """End ``SOCKET_IN_USE`` for the request using the socket, if one is."""
        user = self.in_use
        if user is not None:
            self.in_use = None
            put(self.rec, when, self.source, _SOCKET_IN_USE, PHASE_END, None)
            if user.sock is self:
                user.sock = None

    def closed(self, net_error: int = 0) -> None:
        """Log the end of the connection (``SOCKET_CLOSED``, ``SOCKET_ALIVE`` END), once."""
        if not self.alive:
            return
        self.alive = False
        when = _monotonic_ns() // 1_000_000
        self.release(when)
        put(self.rec, when, self.source, _SOCKET_CLOSED, PHASE_NONE, None)
        put(self.rec, when, self.source, _SOCKET_ALIVE, PHASE_END, _error(net_error))


class RequestLog:
    """The ``URL_REQUEST`` source of one request, with the BEGINs still waiting for their END."""

    __slots__ = (
        "awaiting", "body_sock", "caching", "connecting", "ended", "everything", "job", "open", "proto",
        "raw_counted", "rec", "req", "sending_at", "sent", "sock", "traced", "url",
    )

    def __init__(self, rec: Recorder, state: RequestState) -> None:
        self.rec = rec
        self.req = req = Source(rec, _URL_REQUEST, _next_id(), _monotonic_ns() // 1_000_000)
        self.open: list[tuple[Source, int]] = []
        self.sock: Socket | None = None
        self.connecting: Socket | None = None
        self.caching: RequestState | None = None
        self.proto: Any = None
        self.traced: aiohttp.ClientSession | None = None
        self.url = url = state.url
        self.sending_at = 0
        self.awaiting = False
        self.sent = False
        self.job = False
        self.ended = False
        self.raw_counted = False
        self.body_sock: Source | None = None
        self.everything = rec.everything
        params: Params = (
            {"priority": "MEDIUM", "traffic_annotation": 0, "url": url}
            if "@" not in url
            else request_alive_params(url)
        )
        put(rec, req.start_time, req, _REQUEST_ALIVE, PHASE_BEGIN, params)

    # -- BEGIN/END bookkeeping ---------------------------------------------------------------

    def begin_event(self, src: Source, etype: int, params: Params, when: int) -> None:
        """Write a BEGIN of ``src`` that a later :meth:`end_event` (or a failure) closes."""
        put(self.rec, when, src, etype, PHASE_BEGIN, params)
        self.open.append((src, etype))

    def end_event(self, src: Source, etype: int, params: Params, when: int) -> bool:
        """Write the END of an open ``etype`` of ``src``; tell whether one was open."""
        stack = self.open
        for i in range(len(stack) - 1, -1, -1):
            entry = stack[i]
            if entry[1] == etype and entry[0] is src:
                del stack[i]
                put(self.rec, when, src, etype, PHASE_END, params)
                return True
        return False

    def end_transport_events(self, sock: Source | None, net_error: int, when: int) -> None:
        """End, with ``net_error``, what a failed hop left open in the transport: reading the
        headers, resolving the host, and every event of the socket ``sock`` it was opening."""
        stack = self.open
        for i in range(len(stack) - 1, -1, -1):
            src, etype = stack[i]
            if etype in _TRANSPORT_STEPS or (sock is not None and src is sock):
                del stack[i]
                put(self.rec, when, src, etype, PHASE_END, {"net_error": net_error})

    def _unwind(self, net_error: int, when: int) -> None:
        stack = self.open
        params = _error(net_error)
        while stack:
            src, etype = stack.pop()
            put(self.rec, when, src, etype, PHASE_END, params)

    def begin(self, name: str, params: Params = None) -> None:
        """Log a BEGIN of the request that a later :meth:`end` (or a failure) closes."""
        if self.caching is not None:
            self._settle()
        self.begin_event(self.req, EVENT_TYPES[name], params, _monotonic_ns() // 1_000_000)

    def end(self, name: str, params: Params = None) -> bool:
        """Log the END of an open ``name``; tell whether one was open."""
        return self.end_event(self.req, EVENT_TYPES[name], params, _monotonic_ns() // 1_000_000)

    def new_socket(self, when: int) -> Socket:
        """Return a new ``SOCKET`` source opened for this request at ``when``."""
        return Socket(self.rec, when, self.req)

    # -- the pipeline's steps ----------------------------------------------------------------

    def start_job(self, state: RequestState) -> None:
        """``URL_REQUEST_START_JOB``: one hop of the request begins."""
        self.job = True
        url = self.url = state.url
        params: Params
        if "@" in url:
            params = start_job_params(url, state.method, state.load_flags)
        else:
            params = {
                "initiator": "not an origin",
                "load_flags": state.load_flags,
                "method": state.method,
                "network_isolation_key": "null null",
                "request_type": "other",
                "site_for_cookies": "SiteForCookies: {site=null; schemefully_same=false}",
                "url": url,
            }
        self.begin_event(self.req, _START_JOB, params, _monotonic_ns() // 1_000_000)

    def job_started(self) -> None:
        """The hop's response headers are in and accepted: end ``URL_REQUEST_START_JOB``."""
        if self.caching is not None:
            self._settle()
        self.end_event(self.req, _START_JOB, None, _monotonic_ns() // 1_000_000)

    def redirect(self, state: RequestState, location: str) -> None:
        """Log a redirect to ``location`` and the ``onBeforeRedirect`` delegate step."""
        if not self.job:  # an onBeforeRequest redirect: Chrome runs a redirect job for it
            self.start_job(state)
        self.job = False
        when = _monotonic_ns() // 1_000_000
        self.release_socket(when)
        req, rec = self.req, self.rec
        self.end_event(req, _START_JOB, None, when)
        put(rec, when, req, _REDIRECTED, PHASE_NONE,
            {"location": location} if "@" not in location else redirect_params(location))
        put(rec, when, req, _DELEGATE_REDIRECT, PHASE_BEGIN, None)
        put(rec, when, req, _DELEGATE_REDIRECT, PHASE_END, None)

    def through_cache(self, cache: Any, state: RequestState, send: Forward) -> Awaitable[Response]:
        """Return ``cache.fetch(state, send)`` with the HTTP cache steps logged around it.

        The entry the cache opens ends when the hop goes to the network (:meth:`sending`: created,
        or opened when the cache revalidates it), or else at the pipeline's next step
        (:meth:`_settle`), which sees ``state.from_cache``; no code of ours sits between the
        pipeline, the cache and the network.
        """
        req = self.req
        when = _monotonic_ns() // 1_000_000
        sid, stype, sstart = req.id, req.type, req.start_time
        for observer in self.rec.observers:
            observer.writer.add_plain(when, sid, stype, sstart, _CACHE_OPENING)
            if not observer.flush_pending:
                _schedule_flush(observer)
        self.open.append((req, _OPEN_ENTRY))
        self.caching = state
        fetched: Awaitable[Response] = cache.fetch(state, send)
        return fetched

    def _settle(self) -> None:
        """The cache answered: end the entry it opened without the network, log a cache read."""
        state = self.caching
        if state is None:
            return
        self.caching = None
        req = self.req
        when = _monotonic_ns() // 1_000_000
        self.end_event(req, _OPEN_ENTRY, _OPENED, when)
        if state.from_cache:
            put(self.rec, when, req, _READ_INFO, PHASE_BEGIN, None)
            put(self.rec, when, req, _READ_INFO, PHASE_END, None)

    def raw_body(self, response: Response) -> None:
        """Count a content-encoded body's bytes as they come off the socket, before decoding."""
        sock = self.sock
        if sock is not None and response._stream is not None and "Content-Encoding" in response.headers:
            self.raw_counted = True
            response._stream = transport.socket_bytes(self, response._stream, sock.source)

    def finish(self, response: Response) -> None:
        """Watch the body the caller reads (decoded); the request ends with it."""
        stream = response._stream
        if stream is None:
            self.done(0)
            return
        sock = None if self.raw_counted or self.sock is None else self.sock.source
        if type(stream) is _NetworkBody:  # it tells its watcher itself
            self.body_sock = sock
            stream.watcher = self
        else:
            response._stream = transport.watch_body(stream, self, sock)

    # -- what the network body tells its watcher (``_transport.BodyWatcher``) ------------------

    def body_read(self, chunk: bytes) -> None:
        self.read(chunk, self.body_sock)

    def body_done(self) -> None:
        self.done(0)

    def body_failed(self, error: NetError) -> None:
        self.failed(error)

    def body_dropped(self) -> None:
        if not self.ended:  # the reader dropped the body unfinished: Chrome cancels the request
            self.failed(NetError("ERR_ABORTED"))

    def read(self, chunk: bytes, sock: Source | None) -> None:
        """Log ``chunk`` of the body as read off ``sock`` (if given) and by the request."""
        everything = self.everything
        if sock is not None or everything:
            when = _monotonic_ns() // 1_000_000
            params = byte_count_params(chunk, everything)
            if sock is not None:
                put(self.rec, when, sock, _BYTES_RECEIVED, PHASE_NONE, params)
            if everything:
                # url_request_job.cc logs these only while some log captures bytes.
                put(self.rec, when, self.req, _FILTERED_BYTES, PHASE_NONE, params)

    def release_socket(self, when: int) -> None:
        """End the use of this request's socket, if it has one."""
        sock = self.sock
        if sock is not None:
            sock.release(when)

    def done(self, net_error: int) -> None:
        """End the request: ``REQUEST_ALIVE`` END (with ``net_error`` when it failed)."""
        if self.ended:
            return
        self.ended = True
        if self.caching is not None:
            self._settle()
        when = _monotonic_ns() // 1_000_000
        if self.open:
            self._unwind(net_error, when)
        if self.sock is not None:
            self.sock.release(when)
        if self.traced is not None:
            transport.untrace(self)
        put(self.rec, when, self.req, _REQUEST_ALIVE, PHASE_END, _error(net_error))

    def failed(self, error: NetError) -> None:
        """Log the failure or cancellation ``error`` and end the request."""
        if self.ended:
            return
        self.awaiting = False
        self.caching = None  # what the cache opened ends with the error below
        code = error.code
        when = _monotonic_ns() // 1_000_000
        if self.connecting is not None:
            transport.tcp_connected(self, self.connecting)
        self._unwind(code, when)
        connecting = self.connecting
        if connecting is not None:
            self.connecting = None
            connecting.closed(code)
        put(self.rec, when, self.req, _CANCELLED if code in (_ERR_ABORTED, _ERR_BLOCKED_BY_CLIENT) else _FAILED,
            PHASE_NONE, {"net_error": code})
        self.done(code)

    # -- the transport -----------------------------------------------------------------------

    def sending(self, client: aiohttp.ClientSession, extra: dict[str, Any]) -> dict[str, Any]:
        """A hop is about to go out on ``client``; return ``extra`` for ``_request``."""
        self.sending_at = when = _monotonic_ns() // 1_000_000
        state = self.caching
        if state is not None:  # the cache's entry goes to the network (to be revalidated, if opened)
            self.end_event(self.req, _OPEN_ENTRY, _OPENED if state.cache_validating else _CREATED, when)
        self.awaiting = True
        self.sent = False
        self.proto = None
        transport.mark_sending(self)
        return transport.prepare(self, client, extra)

    def bind(self, sock: Socket, when: int) -> None:
        """Log that this request sends on ``sock`` (an auth resend may change sockets)."""
        if self.sock is not None:
            self.release_socket(when)
        if sock.in_use is not None:
            sock.release(when)
        self.sock = sock
        sock.in_use = self
        self._log_bound(sock, when)

    def _log_bound(self, sock: Socket, when: int) -> None:
        req, source = self.req, sock.source
        put(self.rec, when, req, _BOUND, PHASE_NONE, source.dependency())
        put(self.rec, when, source, _SOCKET_IN_USE, PHASE_BEGIN, req.dependency())

    def received(self, raw: aiohttp.ClientResponse) -> None:
        """The hop's response headers are in: log what the traces did not."""
        when = _monotonic_ns() // 1_000_000
        self.awaiting = False
        sent_at = self.sending_at
        proto = getattr(raw, "_protocol", None)
        if self.connecting is not None and self.proto is not None:
            transport.connection_up(self, when)  # a new connection no trace watched
        bound: Socket | None = None
        if proto is not None:
            sock = getattr(proto, transport.SOCKET_ATTR, None)
            if sock is None or not sock.alive:  # opened before this log started
                sock = Socket(self.rec, sent_at, self.req)
                transport.watch_close(proto, sock)
            if sock is not self.sock:
                if self.sock is not None or sock.in_use is not None or self.proto is not None:
                    self.bind(sock, sent_at)
                else:  # the common case, logged below with the exchange
                    bound = self.sock = sock
                    sock.in_use = self
        rec, req = self.rec, self.req
        version = raw.version
        status_line = (
            f"HTTP/{version.major}.{version.minor} {raw.status} {raw.reason or ''}".rstrip()
            if version is not None
            else f"HTTP/1.1 {raw.status}"
        )
        if bound is not None and self.sent:
            put(rec, sent_at, req, _REUSED, PHASE_NONE, None)
            self._log_bound(bound, sent_at)
            bound = None
        if self.sent:
            put_headers(rec, when, req, _RESPONSE_HEADERS, status_line, raw.headers.items(), None)
            self.end_event(req, _READ_HEADERS, None, when)
        else:
            info = raw.request_info
            line = f"{info.method} {info.url.raw_path_qs} HTTP/1.1\r\n"
            sent = info.headers.items()
            received = raw.headers.items()
            socket = bound.ident if bound is not None else None
            sid, stype, sstart = req.id, req.type, req.start_time
            for observer in rec.observers:
                observer.writer.add_exchange(
                    sent_at, when, sid, stype, sstart, socket, observer.mode, line, sent, status_line, received
                )
                if not observer.flush_pending:
                    _schedule_flush(observer)
        if self.traced is not None:
            transport.untrace(self)
