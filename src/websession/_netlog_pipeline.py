"""The NetLog events of one request as it goes through the pipeline, the cache and the transport.

The pipeline makes a :class:`RequestLog` only when the session's recorder is active when the
request starts (``state.net_source``; ``None`` otherwise), so each step costs one ``is not None``
test while nothing is logging. Event names and params are Chrome's (see ``_net_log``'s
docstring); the sources nest as Chrome's do: the ``URL_REQUEST`` names its ``SOCKET`` in
``SOCKET_POOL_BOUND_TO_SOCKET``, the socket names the request in ``SOCKET_ALIVE`` and
``SOCKET_IN_USE``.

What happens inside aiohttp is observed in three ways, cheapest first:

* the response (``received``): the connection it came on (reused or new), the request headers
  as sent, the response headers, stamped with the times the hop was sent and answered;
* the connector's protocol factory, which ``loop.create_connection`` calls once the TCP
  connection is up and before the TLS handshake: it splits ``TCP_CONNECT`` from ``SSL_CONNECT``;
* aiohttp ``TraceConfig`` signals (connection create, DNS resolution, request headers sent),
  installed on the session's ``ClientSession`` only for a logged hop that finds no idle
  connection to reuse, since tracing costs every request on the client about 15 µs.

Logging writes straight into each file's writer core with the event's own time; a request
writes its events as they happen, so a file cut short loses only what was still buffered. The
hot steps hand the writer whole batches (``add_exchange`` for the send/receive events with the
headers formatted and elided in the core, ``add_plain`` for the cache's first steps), and the
body is watched by a small iterator that keeps the stream's whole-body fast path.
"""

from __future__ import annotations

import asyncio
import contextvars
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from functools import lru_cache
from ipaddress import ip_address
from types import SimpleNamespace
from typing import Any

import aiohttp
from yarl import URL

from ._errors import NetError
from ._http import RequestState, Response
from ._net_log import (
    Recorder,
    Source,
    _bytes_params,
    _next_id,
    _schedule_flush,
    host_resolve_params,
    redirect_params,
    request_alive_params,
    start_job_params,
    tls_params,
)
from ._netlog_constants import EVENT_TYPES, PHASE_BEGIN, PHASE_END, PHASE_NONE, SOURCE_TYPES
from ._transport import map_error

Forward = Callable[[RequestState], Awaitable[Response]]
Params = Any  # a dict, None, or a callable of the capture mode

_ERR_ABORTED = -3
_ERR_BLOCKED_BY_CLIENT = -20
_ERR_CONNECTION_RESET = -101

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
_TCP_CONNECT = EVENT_TYPES["TCP_CONNECT"]
_SSL_CONNECT = EVENT_TYPES["SSL_CONNECT"]
_HOST_RESOLVE = EVENT_TYPES["HOST_RESOLVER_MANAGER_REQUEST"]
_HOST_CACHE_HIT = EVENT_TYPES["HOST_RESOLVER_MANAGER_CACHE_HIT"]
_REUSED = EVENT_TYPES["SOCKET_POOL_REUSED_AN_EXISTING_SOCKET"]
_BOUND = EVENT_TYPES["SOCKET_POOL_BOUND_TO_SOCKET"]
_SEND_REQUEST = EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST"]
_SEND_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST_HEADERS"]
_READ_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_HEADERS"]
_RESPONSE_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"]
_RESTART = EVENT_TYPES["HTTP_TRANSACTION_RESTART_AFTER_ERROR"]
_BYTES_SENT = EVENT_TYPES["SOCKET_BYTES_SENT"]
_BYTES_RECEIVED = EVENT_TYPES["SOCKET_BYTES_RECEIVED"]
_FILTERED_BYTES = EVENT_TYPES["URL_REQUEST_JOB_FILTERED_BYTES_READ"]

_URL_REQUEST = SOURCE_TYPES["URL_REQUEST"]
_CACHE_OPENING = ((_GET_BACKEND, PHASE_BEGIN), (_GET_BACKEND, PHASE_END), (_OPEN_ENTRY, PHASE_BEGIN))
_OPENED = {"result": "opened"}
_CREATED = {"result": "created"}
# Headers whose values a default-mode log elides (net/http/http_log_util.cc).
_monotonic_ns = time.monotonic_ns  # NetLog time is its milliseconds (``_net_log.now_ms``)


def _put(rec: Recorder, when: int, src: Source, etype: int, phase: int, params: Params) -> None:
    """Write one event of ``src`` to every file ``rec`` records to, params per capture mode."""
    for observer in rec.observers:
        observer.writer.add(
            when, src.id, src.type, src.start_time, etype, phase,
            params(observer.mode) if callable(params) else params,
        )
        if not observer.flush_pending:
            _schedule_flush(observer)


def _error(net_error: int) -> dict[str, int] | None:
    return {"net_error": net_error} if net_error < 0 else None


def start(rec: Recorder, state: RequestState) -> None:
    """Begin logging ``state``'s request (the caller has checked ``rec.active``)."""
    state.net_source = RequestLog(rec, state)


class _Socket:
    """A pooled connection's ``SOCKET`` source and the request using it now."""

    __slots__ = ("alive", "ident", "in_use", "rec", "source")

    def __init__(self, rec: Recorder, when: int, owner: Source) -> None:
        self.rec = rec
        self.source = source = rec.new_source("SOCKET")
        self.ident = (source.id, source.type, source.start_time)
        self.in_use: RequestLog | None = None
        self.alive = True
        _put(rec, when, self.source, _SOCKET_ALIVE, PHASE_BEGIN, owner.dependency())

    def release(self, when: int) -> None:
        user = self.in_use
        if user is not None:
            self.in_use = None
            _put(self.rec, when, self.source, _SOCKET_IN_USE, PHASE_END, None)
            if user.sock is self:
                user.sock = None

    def closed(self, net_error: int = 0) -> None:
        if not self.alive:
            return
        self.alive = False
        when = _monotonic_ns() // 1_000_000
        self.release(when)
        _put(self.rec, when, self.source, _SOCKET_CLOSED, PHASE_NONE, None)
        _put(self.rec, when, self.source, _SOCKET_ALIVE, PHASE_END, _error(net_error))


# A pooled connection's socket source rides on its aiohttp protocol under this name.
_SOCKET_ATTR = "_websession_netlog_socket"


def _watch_close(proto: Any, sock: _Socket) -> None:
    setattr(proto, _SOCKET_ATTR, sock)
    closed = proto.closed  # a future aiohttp settles in connection_lost
    if closed is None:
        sock.closed()
        return

    def done(future: Any) -> None:
        if not future.cancelled():
            future.exception()  # retrieved, so asyncio does not warn about it
        sock.closed()

    closed.add_done_callback(done)


def _put_headers(
    rec: Recorder, when: int, src: Source, etype: int, first: str | None, headers: Any, line: str | None
) -> None:
    """Write a headers event of ``src``, formatted and elided per capture mode by the writer."""
    for observer in rec.observers:
        observer.writer.add_headers(
            when, src.id, src.type, src.start_time, etype, PHASE_NONE, observer.mode, first, headers, line
        )
        if not observer.flush_pending:
            _schedule_flush(observer)


class RequestLog:
    """The ``URL_REQUEST`` source of one request, with the BEGINs still waiting for their END."""

    __slots__ = (
        "caching", "connecting", "ended", "everything", "job", "open", "proto", "raw_counted", "rec",
        "req", "sending_at", "sent", "sock", "traced", "url",
    )

    def __init__(self, rec: Recorder, state: RequestState) -> None:
        self.rec = rec
        self.req = req = Source(rec, _URL_REQUEST, _next_id(), _monotonic_ns() // 1_000_000)
        self.open: list[tuple[Source, int]] = []
        self.sock: _Socket | None = None
        self.connecting: _Socket | None = None
        self.caching: RequestState | None = None
        self.proto: Any = None
        self.traced: aiohttp.ClientSession | None = None
        self.url = state.url
        self.sending_at = 0
        self.sent = False
        self.job = False
        self.ended = False
        self.raw_counted = False
        self.everything = rec.everything
        url = state.url
        params: Params = (
            {"priority": "MEDIUM", "traffic_annotation": 0, "url": url}
            if "@" not in url
            else request_alive_params(url)
        )
        _put(rec, req.start_time, req, _REQUEST_ALIVE, PHASE_BEGIN, params)

    # -- BEGIN/END bookkeeping ---------------------------------------------------------------

    def _begin(self, src: Source, etype: int, params: Params, when: int) -> None:
        _put(self.rec, when, src, etype, PHASE_BEGIN, params)
        self.open.append((src, etype))

    def _end(self, src: Source, etype: int, params: Params, when: int) -> bool:
        stack = self.open
        if stack:
            entry = stack[-1]
            if entry[1] == etype and entry[0] is src:
                stack.pop()
                _put(self.rec, when, src, etype, PHASE_END, params)
                return True
        for i in range(len(stack) - 2, -1, -1):
            entry = stack[i]
            if entry[1] == etype and entry[0] is src:
                del stack[i]
                _put(self.rec, when, src, etype, PHASE_END, params)
                return True
        return False

    def _unwind(self, net_error: int, mark: int, when: int) -> None:
        stack = self.open
        params = _error(net_error)
        while len(stack) > mark:
            src, etype = stack.pop()
            _put(self.rec, when, src, etype, PHASE_END, params)

    def begin(self, name: str, params: Params = None) -> None:
        """Log a BEGIN of the request that a later :meth:`end` (or a failure) closes."""
        if self.caching is not None:
            self._settle()
        self._begin(self.req, EVENT_TYPES[name], params, _monotonic_ns() // 1_000_000)

    def end(self, name: str, params: Params = None) -> bool:
        """Log the END of an open ``name``; tell whether one was open."""
        return self._end(self.req, EVENT_TYPES[name], params, _monotonic_ns() // 1_000_000)

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
        self._begin(self.req, _START_JOB, params, _monotonic_ns() // 1_000_000)

    def job_started(self) -> None:
        """The hop's response headers are in and accepted: end ``URL_REQUEST_START_JOB``."""
        if self.caching is not None:
            self._settle()
        self._end(self.req, _START_JOB, None, _monotonic_ns() // 1_000_000)

    def redirect(self, state: RequestState, location: str) -> None:
        """Log a redirect to ``location`` and the ``onBeforeRedirect`` delegate step."""
        if not self.job:  # an onBeforeRequest redirect: Chrome runs a redirect job for it
            self.start_job(state)
        self.job = False
        when = _monotonic_ns() // 1_000_000
        self.release_socket(when)
        req, rec = self.req, self.rec
        self._end(req, _START_JOB, None, when)
        _put(rec, when, req, _REDIRECTED, PHASE_NONE,
             {"location": location} if "@" not in location else redirect_params(location))
        _put(rec, when, req, _DELEGATE_REDIRECT, PHASE_BEGIN, None)
        _put(rec, when, req, _DELEGATE_REDIRECT, PHASE_END, None)

    def through_cache(self, cache: Any, state: RequestState, send: Forward) -> Awaitable[Response]:
        """Return ``cache.fetch(state, ...)`` with the HTTP cache steps logged around it.

        What follows the fetch (the entry opened for a cache hit, ``HTTP_CACHE_READ_INFO``) is
        logged by the pipeline's next step (:meth:`_settle`), which sees ``state.from_cache``;
        no coroutine of ours sits between the pipeline and the cache.
        """
        req, rec = self.req, self.rec
        when = _monotonic_ns() // 1_000_000
        sid, stype, sstart = req.id, req.type, req.start_time
        for observer in rec.observers:
            observer.writer.add_plain(when, sid, stype, sstart, _CACHE_OPENING)
            if not observer.flush_pending:
                _schedule_flush(observer)
        self.open.append((req, _OPEN_ENTRY))
        self.caching = state
        headers = state.headers
        had_conditions = "if-none-match" in headers or "if-modified-since" in headers

        def forward(hop: RequestState) -> Awaitable[Response]:
            if hop is not state:  # a background revalidation is a request of its own
                hop.net_source = None
                return send(hop)
            # The cache adds validators when it revalidates an entry it opened.
            validating = not had_conditions and (
                "if-none-match" in hop.headers or "if-modified-since" in hop.headers
            )
            self._end(req, _OPEN_ENTRY, _OPENED if validating else _CREATED, _monotonic_ns() // 1_000_000)
            return send(hop)

        fetched: Awaitable[Response] = cache.fetch(state, forward)
        return fetched

    def _settle(self) -> None:
        """The cache answered: end the entry it opened without the network, log a cache read."""
        state = self.caching
        if state is None:
            return
        self.caching = None
        req = self.req
        when = _monotonic_ns() // 1_000_000
        self._end(req, _OPEN_ENTRY, _OPENED, when)
        if state.from_cache:
            _put(self.rec, when, req, _READ_INFO, PHASE_BEGIN, None)
            _put(self.rec, when, req, _READ_INFO, PHASE_END, None)

    def raw_body(self, response: Response) -> None:
        """Count a content-encoded body's bytes as they come off the socket, before decoding."""
        sock = self.sock
        if sock is not None and response._stream is not None and "Content-Encoding" in response.headers:
            self.raw_counted = True
            response._stream = self._socket_bytes(response._stream, sock.source)

    async def _socket_bytes(self, stream: AsyncIterable[bytes], source: Source) -> AsyncIterator[bytes]:
        rec, everything = self.rec, self.everything
        async for chunk in stream:
            params = _bytes_params(chunk) if everything else {"byte_count": len(chunk)}
            _put(rec, _monotonic_ns() // 1_000_000, source, _BYTES_RECEIVED, PHASE_NONE, params)
            yield chunk

    def finish(self, response: Response) -> None:
        """Watch the body the caller reads (decoded); the request ends with it."""
        stream = response._stream
        if stream is None:
            self.done(0)
        else:
            sock = None if self.raw_counted or self.sock is None else self.sock.source
            whole = hasattr(stream, "read_all")
            response._stream = (_WholeBody if whole else _Body)(stream, self, sock)

    def read(self, chunk: bytes, sock: Source | None) -> None:
        """Log ``chunk`` of the body as read off ``sock`` (if given) and by the request."""
        everything = self.everything
        if sock is not None or everything:
            when = _monotonic_ns() // 1_000_000
            params = _bytes_params(chunk) if everything else {"byte_count": len(chunk)}
            if sock is not None:
                _put(self.rec, when, sock, _BYTES_RECEIVED, PHASE_NONE, params)
            if everything:
                # url_request_job.cc logs these only while some log captures bytes.
                _put(self.rec, when, self.req, _FILTERED_BYTES, PHASE_NONE, params)

    def release_socket(self, when: int) -> None:
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
            self._unwind(net_error, 0, when)
        if self.sock is not None:
            self.sock.release(when)
        if self.traced is not None:
            self.untrace()
        _put(self.rec, when, self.req, _REQUEST_ALIVE, PHASE_END, _error(net_error))

    def failed(self, error: NetError) -> None:
        """Log the failure or cancellation ``error`` and end the request."""
        if self.ended:
            return
        _CREATING.set(None)
        self.caching = None  # what the cache opened ends with the error below
        code = error.code
        when = _monotonic_ns() // 1_000_000
        self._unwind(code, 0, when)
        connecting = self.connecting
        if connecting is not None:
            self.connecting = None
            connecting.closed(code)
        if code in (_ERR_ABORTED, _ERR_BLOCKED_BY_CLIENT):
            _put(self.rec, when, self.req, _CANCELLED, PHASE_NONE, {"net_error": code})
        else:
            _put(self.rec, when, self.req, _FAILED, PHASE_NONE, {"net_error": code})
        self.done(code)

    # -- the transport -----------------------------------------------------------------------

    def sending(self, client: aiohttp.ClientSession, extra: dict[str, Any]) -> dict[str, Any]:
        """A hop is about to go out on ``client``; return ``extra`` for ``_request``."""
        self.sending_at = _monotonic_ns() // 1_000_000
        self.sent = False
        self.proto = None
        _CREATING.set(self)
        connector = client.connector
        if connector is None:
            return extra
        if not getattr(connector, _FACTORY_ATTR, False):
            _wrap_factory(connector)
        if _idle_connection(connector, self.url):
            return extra
        if self.traced is None:
            self.traced = client
            count = _TRACING.get(client, 0)
            if count == 0:
                client._trace_configs.append(_TRACE)
            _TRACING[client] = count + 1
        return {**extra, "trace_request_ctx": self}

    def untrace(self) -> None:
        """Stop tracing this request's client once no logged hop is being sent on it."""
        client = self.traced
        if client is None:
            return
        self.traced = None
        count = _TRACING.pop(client, 1) - 1
        if count > 0:
            _TRACING[client] = count
        elif _TRACE in client._trace_configs:
            client._trace_configs.remove(_TRACE)

    def bind(self, sock: _Socket, when: int) -> None:
        """Log that this request sends on ``sock`` (an auth resend may change sockets)."""
        if self.sock is not None:
            self.release_socket(when)
        if sock.in_use is not None:
            sock.release(when)
        self.sock = sock
        sock.in_use = self
        self._log_bound(sock, when)

    def _log_bound(self, sock: _Socket, when: int) -> None:
        req, source = self.req, sock.source
        _put(self.rec, when, req, _BOUND, PHASE_NONE, source.dependency())
        _put(self.rec, when, source, _SOCKET_IN_USE, PHASE_BEGIN, req.dependency())

    def received(self, raw: aiohttp.ClientResponse) -> None:
        """The hop's response headers are in: log what the traces did not."""
        when = _monotonic_ns() // 1_000_000
        _CREATING.set(None)
        sent_at = self.sending_at
        proto = getattr(raw, "_protocol", None)
        if self.connecting is not None and self.proto is not None:
            _connection_up(self, when)  # a new connection no trace watched
        bound: _Socket | None = None
        if proto is not None:
            sock = getattr(proto, _SOCKET_ATTR, None)
            if sock is None or not sock.alive:  # opened before this log started
                sock = _Socket(self.rec, sent_at, self.req)
                _watch_close(proto, sock)
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
            _put(rec, sent_at, req, _REUSED, PHASE_NONE, None)
            self._log_bound(bound, sent_at)
            bound = None
        if self.sent:
            _put_headers(rec, when, req, _RESPONSE_HEADERS, status_line, raw.headers.items(), None)
            self._end(req, _READ_HEADERS, None, when)
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
            self.untrace()


class _Body:
    """The body the caller reads: logs each chunk and ends the request with the stream (or,
    when the reader gives up on it, as cancelled)."""

    __slots__ = ("_it", "_nl", "_sock", "_stream")

    def __init__(self, stream: AsyncIterable[bytes], nl: RequestLog, sock: Source | None) -> None:
        self._stream = stream
        self._it: AsyncIterator[bytes] | None = None
        self._nl = nl
        self._sock = sock

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        it = self._it
        if it is None:
            it = self._it = aiter(self._stream)
        try:
            chunk = await anext(it)
        except StopAsyncIteration:
            self._nl.done(0)
            raise
        except NetError as error:
            self._nl.failed(error)
            raise
        except BaseException:  # cancellation
            self._nl.failed(NetError("ERR_ABORTED"))
            raise
        self._nl.read(chunk, self._sock)
        return chunk

    def __del__(self) -> None:
        nl = self._nl
        if not nl.ended:  # the reader dropped the body unfinished: Chrome cancels the request
            nl.failed(NetError("ERR_ABORTED"))


class _WholeBody(_Body):
    """A :class:`_Body` over a stream that can also be read whole (``Response.bytes()``)."""

    __slots__ = ()

    async def read_all(self) -> bytes:
        nl = self._nl
        try:
            data: bytes = await self._stream.read_all()  # type: ignore[attr-defined]
        except NetError as error:
            nl.failed(error)
            raise
        except BaseException:
            nl.failed(NetError("ERR_ABORTED"))
            raise
        if data:
            nl.read(data, self._sock)
        nl.done(0)
        return data


def _connection_up(nl: RequestLog, when: int) -> None:
    """End the connect events of ``nl``'s new connection and bind the request to it."""
    sock, proto = nl.connecting, nl.proto
    nl.connecting = None
    if sock is None:
        return
    source = sock.source
    transport = getattr(proto, "transport", None)
    local = transport.get_extra_info("sockname") if transport is not None else None
    nl._end(source, _TCP_CONNECT, {"source_address": _address(str(local[0]), int(local[1]))} if local else None, when)
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    nl._end(source, _SSL_CONNECT, _tls_params(tls) if tls is not None else None, when)
    if proto is None:
        sock.closed()
        return
    _watch_close(proto, sock)
    nl.bind(sock, when)


# -- new connections: the protocol factory and aiohttp trace signals --------------------------

_TRACING: dict[aiohttp.ClientSession, int] = {}
_FACTORY_ATTR = "_websession_netlog_factory"
_CREATING: contextvars.ContextVar[RequestLog | None] = contextvars.ContextVar(
    "websession_netlog_sending", default=None
)


def _idle_connection(connector: Any, url: str) -> bool:
    """Tell whether ``connector`` holds an idle connection a request to ``url`` would reuse."""
    conns = getattr(connector, "_conns", None)
    if not conns:
        return False
    host, port, is_ssl = _origin(url)
    for key, idle in conns.items():
        if idle and key.port == port and key.is_ssl == is_ssl and key.host == host and key.proxy is None:
            return True
    return False


@lru_cache(maxsize=256)
def _origin(url: str) -> tuple[str, int, bool]:
    scheme, _, rest = url.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    is_ssl = scheme in ("https", "wss")
    host, sep, port_text = authority.rpartition(":")
    if not sep or "]" in port_text:
        host, port = authority, 443 if is_ssl else 80
    else:
        port = int(port_text) if port_text.isdigit() else 0
    return host.strip("[]"), port, is_ssl


def _wrap_factory(connector: Any) -> None:
    """Have the connector's protocol factory report new connections to the hop that opens them.

    ``loop.create_connection`` calls the factory once the socket is connected and before the TLS
    handshake, so the call splits ``TCP_CONNECT`` from ``SSL_CONNECT``.
    """
    setattr(connector, _FACTORY_ATTR, True)
    original = getattr(connector, "_factory", None)
    if original is None:
        return

    def factory(*args: Any, **kwargs: Any) -> Any:
        proto = original(*args, **kwargs)
        nl = _CREATING.get()
        if nl is not None and not nl.ended:
            _connected(nl, proto)
        return proto

    connector._factory = factory


def _connected(nl: RequestLog, proto: Any) -> None:
    """The TCP connection of ``nl``'s hop is up; a TLS handshake comes next for https."""
    if nl.proto is not None:
        return  # the TLS-in-TLS protocol of a proxy tunnel
    nl.proto = proto
    when = _monotonic_ns() // 1_000_000
    sock = nl.connecting
    if sock is None:  # no trace saw it start: it started when the hop was sent
        sock = nl.connecting = _Socket(nl.rec, nl.sending_at, nl.req)
        nl._begin(sock.source, _TCP_CONNECT, None, nl.sending_at)
    if nl.url.startswith(("https:", "wss:")):
        nl._end(sock.source, _TCP_CONNECT, None, when)
        nl._begin(sock.source, _SSL_CONNECT, None, when)


def _log(ctx: SimpleNamespace) -> RequestLog | None:
    nl = ctx.trace_request_ctx
    return nl if isinstance(nl, RequestLog) and not nl.ended else None


def _host_port(url: str) -> tuple[str, str, int]:
    parsed = URL(url, encoded=True)
    return parsed.scheme, parsed.raw_host or "", parsed.port or 0


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _on_create_start(_: Any, ctx: SimpleNamespace, __: Any) -> None:
    nl = _log(ctx)
    if nl is None:
        return
    when = _monotonic_ns() // 1_000_000
    sock = nl.connecting = _Socket(nl.rec, when, nl.req)
    nl.proto = None
    _, host, port = _host_port(nl.url)
    if _is_ip(host):
        nl._begin(sock.source, _TCP_CONNECT, {"address_list": [_address(host, port)]}, when)


def _resolve_params(nl: RequestLog, host: str) -> dict[str, Any]:
    scheme, _, port = _host_port(nl.url)
    return host_resolve_params(scheme, host, port)


def _resolved(nl: RequestLog, when: int) -> None:
    sock = nl.connecting
    if sock is not None:
        nl._begin(sock.source, _TCP_CONNECT, None, when)


async def _on_dns_start(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        nl._begin(nl.req, _HOST_RESOLVE, _resolve_params(nl, params.host), _monotonic_ns() // 1_000_000)


async def _on_dns_end(_: Any, ctx: SimpleNamespace, __: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        when = _monotonic_ns() // 1_000_000
        nl._end(nl.req, _HOST_RESOLVE, None, when)
        _resolved(nl, when)


async def _on_dns_cache_hit(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        when = _monotonic_ns() // 1_000_000
        nl._begin(nl.req, _HOST_RESOLVE, _resolve_params(nl, params.host), when)
        _put(nl.rec, when, nl.req, _HOST_CACHE_HIT, PHASE_NONE, None)
        nl._end(nl.req, _HOST_RESOLVE, None, when)
        _resolved(nl, when)


async def _on_create_end(_: Any, ctx: SimpleNamespace, __: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        _connection_up(nl, _monotonic_ns() // 1_000_000)


async def _on_headers_sent(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is None:
        return
    when = _monotonic_ns() // 1_000_000
    rec, req = nl.rec, nl.req
    if nl._end(req, _READ_HEADERS, {"net_error": _ERR_CONNECTION_RESET}, when):
        # aiohttp resends on a fresh connection when a reused one was closed under it.
        _put(rec, when, req, _RESTART, PHASE_NONE, {"net_error": _ERR_CONNECTION_RESET})
        nl.release_socket(when)
    line = f"{params.method} {params.url.raw_path_qs} HTTP/1.1\r\n"
    _put(rec, when, req, _SEND_REQUEST, PHASE_BEGIN, None)
    _put_headers(rec, when, req, _SEND_HEADERS, None, params.headers.items(), line)
    _put(rec, when, req, _SEND_REQUEST, PHASE_END, None)
    nl._begin(req, _READ_HEADERS, None, when)
    nl.sent = True


async def _on_chunk_sent(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is not None and nl.sock is not None:
        chunk = params.chunk
        body = _bytes_params(chunk) if nl.everything else {"byte_count": len(chunk)}
        _put(nl.rec, _monotonic_ns() // 1_000_000, nl.sock.source, _BYTES_SENT, PHASE_NONE, body)


async def _on_request_exception(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is None:
        return
    _CREATING.set(None)
    exc = params.exception
    code = _ERR_ABORTED if isinstance(exc, asyncio.CancelledError) else map_error(exc).code
    when = _monotonic_ns() // 1_000_000
    # Close what the transport opened; the pipeline ends the rest when the error reaches it.
    stack = nl.open
    sock = nl.connecting
    for i in range(len(stack) - 1, -1, -1):
        src, etype = stack[i]
        if etype in (_READ_HEADERS, _HOST_RESOLVE) or (sock is not None and src is sock.source):
            del stack[i]
            _put(nl.rec, when, src, etype, PHASE_END, {"net_error": code})
    if sock is not None:
        nl.connecting = None
        sock.closed(code)
    nl.untrace()


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_connection_create_start.append(_on_create_start)
    config.on_connection_create_end.append(_on_create_end)
    config.on_dns_resolvehost_start.append(_on_dns_start)
    config.on_dns_resolvehost_end.append(_on_dns_end)
    config.on_dns_cache_hit.append(_on_dns_cache_hit)
    config.on_request_headers_sent.append(_on_headers_sent)
    config.on_request_chunk_sent.append(_on_chunk_sent)
    config.on_request_exception.append(_on_request_exception)
    config.freeze()
    return config


_TRACE = _trace_config()


# -- TLS params ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _cipher_ids() -> dict[str, int]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    # An OpenSSL id is 0x0300 then 16 bits: the IANA cipher suite number Chrome logs.
    return {c["name"]: int(c["id"]) & 0xFFFF for c in ctx.get_ciphers()}


def _tls_params(tls: ssl.SSLObject) -> dict[str, Any]:
    version = tls.version() or ""
    cipher = tls.cipher()
    name = cipher[0] if cipher else ""
    return tls_params(
        version.replace("TLSv", "TLS ").replace("SSLv", "SSL "),
        _cipher_ids().get(name, 0),
        tls.selected_alpn_protocol() or "unknown",
        bool(tls.session_reused),
    )
