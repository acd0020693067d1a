"""How a request's NetLog follows it into aiohttp: connections, traces and the body.

The pipeline starts a request's log with :func:`start` (a ``RequestLog`` of the implementation
the recorder chose, see ``_netlog_request_py``); the log's hot steps write their own events. What
happens inside aiohttp is observed here, in three ways, cheapest first:

* the response (``RequestLog.received``): the connection it came on (reused or new), the request
  headers as sent, the response headers, stamped with the times the hop was sent and answered;
* the connector's protocol factory, which ``loop.create_connection`` calls once the TCP
  connection is up and before the TLS handshake: it splits ``TCP_CONNECT`` from ``SSL_CONNECT``;
* aiohttp ``TraceConfig`` signals (connection create, DNS resolution, request headers sent),
  installed on the session's ``ClientSession`` only for a logged hop that finds no idle
  connection to reuse, since tracing costs every request on the client about 15 µs.

The sources nest as Chrome's do: the ``URL_REQUEST`` names its ``SOCKET`` in
``SOCKET_POOL_BOUND_TO_SOCKET``, the socket names the request in ``SOCKET_ALIVE`` and
``SOCKET_IN_USE``. A body read off the network reports to its request's log itself
(``_transport.BodyWatcher``); any other body the caller reads (decoded, served by a handler) is
watched by a small iterator that keeps the stream's whole-body fast path and ends the request
with it. Everything here drives a request's
log through the attributes and methods both implementations share.
"""

from __future__ import annotations

import asyncio
import contextvars
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator
from functools import lru_cache
from ipaddress import ip_address
from types import SimpleNamespace
from typing import Any

import aiohttp
from yarl import URL

from ._errors import NetError
from ._net_log import Source, byte_count_params, host_resolve_params, put, put_headers, tls_params
from ._netlog_constants import EVENT_TYPES, PHASE_BEGIN, PHASE_END, PHASE_NONE
from ._transport import map_error

RequestLog = Any  # a ``RequestLog`` of either implementation

_ERR_ABORTED = -3
_ERR_CONNECTION_RESET = -101

_TCP_CONNECT = EVENT_TYPES["TCP_CONNECT"]
_SSL_CONNECT = EVENT_TYPES["SSL_CONNECT"]
_HOST_RESOLVE = EVENT_TYPES["HOST_RESOLVER_MANAGER_REQUEST"]
_HOST_CACHE_HIT = EVENT_TYPES["HOST_RESOLVER_MANAGER_CACHE_HIT"]
_SEND_REQUEST = EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST"]
_SEND_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST_HEADERS"]
_READ_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_HEADERS"]
_RESTART = EVENT_TYPES["HTTP_TRANSACTION_RESTART_AFTER_ERROR"]
_BYTES_SENT = EVENT_TYPES["SOCKET_BYTES_SENT"]
_BYTES_RECEIVED = EVENT_TYPES["SOCKET_BYTES_RECEIVED"]
_monotonic_ns = time.monotonic_ns  # NetLog time is its milliseconds (``_net_log.now_ms``)

# A pooled connection's socket source rides on its aiohttp protocol under this name.
SOCKET_ATTR = "_websession_netlog_socket"


class Sending:
    """The log of the hop a task is sending, for the protocol factory to find when the hop opens
    a connection; it counts only while the log's ``awaiting`` says the hop has no answer yet.

    A task keeps one (in :data:`SENDING`) and each hop only replaces its ``nl``, so a crawler's
    worker task sets the context variable once rather than at every request; a task that
    inherits another's ``Sending`` through its context makes its own.
    """

    __slots__ = ("nl", "task")

    def __init__(self, task: Any) -> None:
        self.task = task
        self.nl: Any = None


SENDING: contextvars.ContextVar[Sending | None] = contextvars.ContextVar("websession_netlog_sending", default=None)


def mark_sending(nl: RequestLog) -> None:
    """Record that the running task sends ``nl``'s hop now."""
    task = asyncio.current_task()
    holder = SENDING.get()
    if holder is None or holder.task is not task:
        holder = Sending(task)
        SENDING.set(holder)
    holder.nl = nl


def _sending_log() -> RequestLog | None:
    holder = SENDING.get()
    if holder is None or holder.task is not asyncio.current_task():
        return None
    nl = holder.nl
    return nl if nl is not None and nl.awaiting and not nl.ended else None


def watch_close(proto: Any, sock: Any) -> None:
    """Log ``sock``'s close when aiohttp's protocol ``proto`` loses its connection."""
    setattr(proto, SOCKET_ATTR, sock)
    closed = proto.closed  # a future aiohttp settles in connection_lost
    if closed is None:
        sock.closed()
        return

    def done(future: Any) -> None:
        if not future.cancelled():
            future.exception()  # retrieved, so asyncio does not warn about it
        sock.closed()

    closed.add_done_callback(done)


async def socket_bytes(nl: RequestLog, stream: AsyncIterable[bytes], source: Source) -> AsyncIterator[bytes]:
    """Yield ``stream``'s chunks, logging each as ``SOCKET_BYTES_RECEIVED`` of ``source``."""
    rec, everything = nl.rec, nl.everything
    async for chunk in stream:
        put(rec, _monotonic_ns() // 1_000_000, source, _BYTES_RECEIVED, PHASE_NONE, byte_count_params(chunk, everything))
        yield chunk


def watch_body(stream: Any, nl: RequestLog, sock: Source | None) -> Any:
    """Return ``stream`` watched for ``nl``: each chunk logged, the request ended with it."""
    return (_WholeBody if hasattr(stream, "read_all") else _Body)(stream, nl, sock)


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


def connection_up(nl: RequestLog, when: int) -> None:
    """End the connect events of ``nl``'s new connection and bind the request to it."""
    sock, proto = nl.connecting, nl.proto
    nl.connecting = None
    if sock is None:
        return
    source = sock.source
    transport = getattr(proto, "transport", None)
    local = transport.get_extra_info("sockname") if transport is not None else None
    address = {"source_address": _address(str(local[0]), int(local[1]))} if local else None
    tcp_up_at = sock.tcp_up_at
    if tcp_up_at:  # TLS: the TCP connect ended at the protocol factory, the handshake then began
        sock.tcp_up_at = 0
        nl.end_event(source, _TCP_CONNECT, address, tcp_up_at)
        nl.begin_event(source, _SSL_CONNECT, None, tcp_up_at)
    else:
        nl.end_event(source, _TCP_CONNECT, address, when)
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    nl.end_event(source, _SSL_CONNECT, _tls_params(tls) if tls is not None else None, when)
    if proto is None:
        sock.closed()
        return
    watch_close(proto, sock)
    nl.bind(sock, when)


# -- new connections: the protocol factory and aiohttp trace signals --------------------------

_TRACING: dict[aiohttp.ClientSession, int] = {}
_FACTORY_ATTR = "_websession_netlog_factory"


def prepare(nl: RequestLog, client: aiohttp.ClientSession, extra: dict[str, Any]) -> dict[str, Any]:
    """Make ready to see a new connection for ``nl``'s hop on ``client``; return ``extra``."""
    connector = client.connector
    if connector is None:
        return extra
    if not getattr(connector, _FACTORY_ATTR, False):
        _wrap_factory(connector)
    if idle_connection(connector, nl.url):
        return extra
    return trace(nl, client, extra)


def trace(nl: RequestLog, client: aiohttp.ClientSession, extra: dict[str, Any]) -> dict[str, Any]:
    """Have aiohttp's trace signals report ``nl``'s hop, which will open a connection."""
    if nl.traced is None:
        nl.traced = client
        count = _TRACING.get(client, 0)
        if count == 0:
            client._trace_configs.append(_TRACE)
        _TRACING[client] = count + 1
    return {**extra, "trace_request_ctx": nl}


def untrace(nl: RequestLog) -> None:
    """Stop tracing ``nl``'s client once no logged hop is being sent on it."""
    client = nl.traced
    if client is None:
        return
    nl.traced = None
    count = _TRACING.pop(client, 1) - 1
    if count > 0:
        _TRACING[client] = count
    elif _TRACE in client._trace_configs:
        client._trace_configs.remove(_TRACE)


def idle_connection(connector: Any, url: str) -> bool:
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
        nl = _sending_log()
        if nl is not None:
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
        sock = nl.connecting = nl.new_socket(nl.sending_at)
        nl.begin_event(sock.source, _TCP_CONNECT, None, nl.sending_at)
    if nl.url.startswith(("https:", "wss:")):
        # The local address is known once the TLS transport exists: connection_up() (or a
        # failed handshake, tcp_connected()) writes the END with the time kept here.
        sock.tcp_up_at = when


def tcp_connected(nl: RequestLog, sock: Any) -> None:
    """Write the TCP_CONNECT END and SSL_CONNECT BEGIN held back at the protocol factory, so a
    failed TLS handshake ends SSL_CONNECT and not the TCP connect with its error."""
    tcp_up_at = sock.tcp_up_at
    if tcp_up_at:
        sock.tcp_up_at = 0
        nl.end_event(sock.source, _TCP_CONNECT, None, tcp_up_at)
        nl.begin_event(sock.source, _SSL_CONNECT, None, tcp_up_at)


def _log(ctx: SimpleNamespace) -> RequestLog | None:
    nl = ctx.trace_request_ctx  # only set by prepare(): a request's log
    return nl if nl is not None and not nl.ended else None


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
    sock = nl.connecting = nl.new_socket(when)
    nl.proto = None
    _, host, port = _host_port(nl.url)
    if _is_ip(host):
        nl.begin_event(sock.source, _TCP_CONNECT, {"address_list": [_address(host, port)]}, when)


def _resolve_params(nl: RequestLog, host: str) -> dict[str, Any]:
    scheme, _, port = _host_port(nl.url)
    return host_resolve_params(scheme, host, port)


def _resolved(nl: RequestLog, when: int) -> None:
    sock = nl.connecting
    if sock is not None:
        nl.begin_event(sock.source, _TCP_CONNECT, None, when)


async def _on_dns_start(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        nl.begin_event(nl.req, _HOST_RESOLVE, _resolve_params(nl, params.host), _monotonic_ns() // 1_000_000)


async def _on_dns_end(_: Any, ctx: SimpleNamespace, __: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        when = _monotonic_ns() // 1_000_000
        nl.end_event(nl.req, _HOST_RESOLVE, None, when)
        _resolved(nl, when)


async def _on_dns_cache_hit(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        when = _monotonic_ns() // 1_000_000
        nl.begin_event(nl.req, _HOST_RESOLVE, _resolve_params(nl, params.host), when)
        put(nl.rec, when, nl.req, _HOST_CACHE_HIT, PHASE_NONE, None)
        nl.end_event(nl.req, _HOST_RESOLVE, None, when)
        _resolved(nl, when)


async def _on_create_end(_: Any, ctx: SimpleNamespace, __: Any) -> None:
    nl = _log(ctx)
    if nl is not None:
        connection_up(nl, _monotonic_ns() // 1_000_000)


async def _on_headers_sent(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is None:
        return
    when = _monotonic_ns() // 1_000_000
    rec, req = nl.rec, nl.req
    if nl.end_event(req, _READ_HEADERS, {"net_error": _ERR_CONNECTION_RESET}, when):
        # aiohttp resends on a fresh connection when a reused one was closed under it.
        put(rec, when, req, _RESTART, PHASE_NONE, {"net_error": _ERR_CONNECTION_RESET})
        nl.release_socket(when)
    line = f"{params.method} {params.url.raw_path_qs} HTTP/1.1\r\n"
    put(rec, when, req, _SEND_REQUEST, PHASE_BEGIN, None)
    put_headers(rec, when, req, _SEND_HEADERS, None, params.headers.items(), line)
    put(rec, when, req, _SEND_REQUEST, PHASE_END, None)
    nl.begin_event(req, _READ_HEADERS, None, when)
    nl.sent = True


async def _on_chunk_sent(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is not None and nl.sock is not None:
        chunk = params.chunk
        body = byte_count_params(chunk, nl.everything)
        put(nl.rec, _monotonic_ns() // 1_000_000, nl.sock.source, _BYTES_SENT, PHASE_NONE, body)


async def _on_request_exception(_: Any, ctx: SimpleNamespace, params: Any) -> None:
    nl = _log(ctx)
    if nl is None:
        return
    nl.awaiting = False
    exc = params.exception
    code = _ERR_ABORTED if isinstance(exc, asyncio.CancelledError) else map_error(exc).code
    when = _monotonic_ns() // 1_000_000
    # Close what the transport opened; the pipeline ends the rest when the error reaches it.
    sock = nl.connecting
    if sock is not None:
        tcp_connected(nl, sock)
    nl.end_transport_events(sock.source if sock is not None else None, code, when)
    if sock is not None:
        nl.connecting = None
        sock.closed(code)
    untrace(nl)


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
