"""``ses.net_log`` and the app-wide ``websession.net_log``: Chrome NetLog files, and the hooks the
request pipeline writes them through.

Public API (Electron's ``netLog``): ``await start_logging(path, capture_mode="default",
max_file_size=None)`` (or one dict ``{"captureMode": ..., "maxFileSize": ...}``),
``await stop_logging()`` returning the path, ``currently_logging``. A session's NetLog records
that session's traffic; the module-level :data:`net_log` records every session's.

Instrumentation (for the pipeline; costs one attribute test while nothing is logging)::

    rec = recorder_for(ses.net_log)           # one Recorder per session
    src = rec.new_source("URL_REQUEST")       # id allocated as Chrome's NetLog::NextID()
    if rec.active: src.begin("REQUEST_ALIVE", request_alive_params(url))

``Source.begin/end/event(event_type, params=None)`` log phase BEGIN/END/NONE; ``params`` is a
dict, or a callable taking the capture mode (0 default, 1 includeSensitive, 2 everything) and
returning the dict, evaluated only when some log is recording. Event and source type names are
Chrome's (``_netlog_constants``); an unknown name raises ``ValueError``.

Events per pipeline step, with Chrome's names and params (URL_REQUEST source ``req``, SOCKET
source ``sock``; ``net_error`` is added on failure by ``end_with_net_error``):

1. request created: ``req.begin("REQUEST_ALIVE", request_alive_params(url))``
2. ``webRequest.onBeforeRequest``: ``req.begin/end("NETWORK_DELEGATE_BEFORE_URL_REQUEST")``;
   blocked → ``req.event_with_net_error("CANCELLED", -20)``
3. each job (first try and every redirect hop): ``req.begin("URL_REQUEST_START_JOB",
   start_job_params(url, method, load_flags))`` … ``req.end_with_net_error(
   "URL_REQUEST_START_JOB", net_error)`` once response headers are in (or it failed)
4. ``onBeforeSendHeaders``/``onSendHeaders``: ``req.begin/end(
   "NETWORK_DELEGATE_BEFORE_START_TRANSACTION")``
5. HTTP cache: ``HTTP_CACHE_GET_BACKEND``, ``HTTP_CACHE_OPEN_OR_CREATE_ENTRY`` (END
   ``{"result": "opened"|"created"}``), ``HTTP_CACHE_READ_INFO`` / ``HTTP_CACHE_READ_DATA`` on a
   hit, ``HTTP_CACHE_WRITE_INFO`` / ``HTTP_CACHE_WRITE_DATA`` when storing, all BEGIN/END on ``req``
6. proxy: ``req.begin("PROXY_RESOLUTION_SERVICE")``, ``req.event(
   "PROXY_RESOLUTION_SERVICE_RESOLVED_PROXY_LIST", {"proxy_info": "DIRECT"|"PROXY h:p"})``,
   ``req.end("PROXY_RESOLUTION_SERVICE")``
7. DNS: ``req.begin("HOST_RESOLVER_MANAGER_REQUEST", host_resolve_params(scheme, host, port))``,
   ``req.event("HOST_RESOLVER_MANAGER_CACHE_HIT", ...)`` on a host-cache hit,
   ``req.end_with_net_error("HOST_RESOLVER_MANAGER_REQUEST", err)``
8. connect (new socket): ``sock = rec.new_source("SOCKET")``; ``sock.begin("SOCKET_ALIVE",
   req.dependency())``; ``sock.begin("TCP_CONNECT", {"address_list": ["1.2.3.4:443"]})``;
   ``sock.end("TCP_CONNECT", {"source_address": "10.0.0.2:51000"})`` or
   ``end_with_net_error``; TLS: ``sock.begin("SSL_CONNECT")``, ``sock.end("SSL_CONNECT",
   tls_params(version, cipher_suite, next_proto, is_resumed))`` or ``end_with_net_error``;
   reused socket: ``req.event("SOCKET_POOL_REUSED_AN_EXISTING_SOCKET", {"idle_ms": n})``.
   Either way ``req.event("SOCKET_POOL_BOUND_TO_SOCKET", sock.dependency())`` and
   ``sock.begin/end("SOCKET_IN_USE", req.dependency())`` (a request references its socket)
9. request sent: ``req.begin("HTTP_TRANSACTION_SEND_REQUEST")``, ``req.event(
   "HTTP_TRANSACTION_SEND_REQUEST_HEADERS", request_headers_params(line, headers))``,
   ``req.end("HTTP_TRANSACTION_SEND_REQUEST")``; bytes on the wire:
   ``sock.bytes_transferred("SOCKET_BYTES_SENT", data)``
10. response headers: ``req.begin("HTTP_TRANSACTION_READ_HEADERS")``, ``req.event(
    "HTTP_TRANSACTION_READ_RESPONSE_HEADERS", response_headers_params(status_line, headers))``,
    ``req.end_with_net_error("HTTP_TRANSACTION_READ_HEADERS", err)``; then
    ``onHeadersReceived``: ``req.begin/end("NETWORK_DELEGATE_HEADERS_RECEIVED")``
11. redirect: ``req.event("URL_REQUEST_REDIRECTED", redirect_params(location))``, then
    ``URL_REQUEST_DELEGATE_RECEIVED_REDIRECT`` BEGIN/END around ``onBeforeRedirect``; next hop
    from step 3
12. body: ``sock.bytes_transferred("SOCKET_BYTES_RECEIVED", chunk)`` (``byte_count`` always,
    ``bytes`` in ``everything``), ``req.bytes_read(chunk)`` (``URL_REQUEST_JOB_FILTERED_BYTES_READ``,
    ``everything`` only)
13. end: cancelled → ``req.event_with_net_error("CANCELLED", -3)``; failed → ``req.event(
    "FAILED", {"net_error": err})``; always ``req.end_with_net_error("REQUEST_ALIVE", err)``
    (``err`` 0 on success); socket closed → ``sock.event("SOCKET_CLOSED")``,
    ``sock.end("SOCKET_ALIVE")``
"""

from __future__ import annotations

import asyncio
import atexit
import errno
import itertools
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Union
from urllib.parse import urlsplit, urlunsplit

from . import _netlog_py, _netlog_sink
from ._errors import SessionError
from ._impl import core
from ._naming import CamelAliases
from ._netlog_constants import (
    EVENT_TYPES,
    PHASE_BEGIN,
    PHASE_END,
    PHASE_NONE,
    SOURCE_TYPES,
    net_constants,
)
from ._netlog_py import Observer
from ._options import Opt, options

DEFAULT = 0
INCLUDE_SENSITIVE = 1
EVERYTHING = 2
CAPTURE_MODES: dict[str, int] = {"default": 0, "includeSensitive": 1, "everything": 2}

Params = Union[Mapping[str, Any], Callable[[int], "Mapping[str, Any] | None"], None]  # noqa: UP007

# Events buffered this long (or 1 MiB) go to the writer thread, so a crash loses little. Each
# hand-off costs the event loop a thread switch, so chunks are large: at 16 KiB the switches
# alone cost a 1 KiB loopback fetch about 10% of its throughput.
FLUSH_SECONDS = 0.5
CHUNK_SIZE = 1 << 20

# net::NetLog::NextID(): process-wide, from 1 (next() on a count is atomic under the GIL).
_ids = itertools.count(1)


def now_ms() -> int:
    """Return NetLog time: milliseconds of the monotonic clock (Chrome's ``TimeTicks``)."""
    return time.monotonic_ns() // 1_000_000


_next_id = _ids.__next__


def _event_type(name: str) -> int:
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown NetLog event type {name!r}") from None


class Recorder:
    """The pipeline's handle on NetLog for one session; test :attr:`active` before logging."""

    __slots__ = ("__weakref__", "_own", "active", "everything", "observers", "request_log")

    def __init__(self) -> None:
        self.active = False
        self.everything = False
        self.observers: tuple[Observer, ...] = ()
        self._own: tuple[Observer, ...] = ()
        self.request_log: Any = None
        _RECORDERS.add(self)
        self._refresh()

    def _refresh(self) -> None:
        self.observers = self._own + _APP_OBSERVERS[0]
        self.active = bool(self.observers)
        self.everything = any(o.mode >= EVERYTHING for o in self.observers)
        self.request_log = core("netlog_request").RequestLog if self.observers else None

    @property
    def capture_mode(self) -> int:
        """Return the most inclusive capture mode recording now, or -1 when none is."""
        return max((o.mode for o in self.observers), default=-1)

    def new_source(self, source_type: str) -> Source:
        """Return a new source (``URL_REQUEST``, ``SOCKET``, ...) with the next NetLog id."""
        try:
            kind = SOURCE_TYPES[source_type]
        except KeyError:
            raise ValueError(f"unknown NetLog source type {source_type!r}") from None
        return Source(self, kind, _next_id(), now_ms())

    def add(self, source: Source, event_type: int, phase: int, params: Params) -> None:
        """Log one event of ``source`` to every recording file (params per capture mode)."""
        if self.observers:
            put(self, now_ms(), source, event_type, phase, params)


def _schedule_flush(observer: Observer) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # outside a loop: the chunk size or stop_logging flushes
    observer.flush_pending = True
    loop.call_later(FLUSH_SECONDS, observer.flush)


def put(rec: Recorder, when: int, src: Source, etype: int, phase: int, params: Params) -> None:
    """Write one event of ``src`` at ``when`` to every file ``rec`` records to, params per mode."""
    for observer in rec.observers:
        observer.writer.add(
            when, src.id, src.type, src.start_time, etype, phase,
            params(observer.mode) if callable(params) else params,
        )
        if not observer.flush_pending:
            _schedule_flush(observer)


def put_headers(
    rec: Recorder, when: int, src: Source, etype: int, first: str | None, headers: Any, line: str | None
) -> None:
    """Write a headers event of ``src``, formatted and elided per capture mode by the writer."""
    for observer in rec.observers:
        observer.writer.add_headers(
            when, src.id, src.type, src.start_time, etype, PHASE_NONE, observer.mode, first, headers, line
        )
        if not observer.flush_pending:
            _schedule_flush(observer)


class Source:
    """A NetLog source: one request, socket, job ... whose events share an id."""

    __slots__ = ("id", "recorder", "start_time", "type")

    def __init__(self, recorder: Recorder, kind: int, source_id: int, start_time: int) -> None:
        self.recorder = recorder
        self.type = kind
        self.id = source_id
        self.start_time = start_time

    def begin(self, event_type: str, params: Params = None) -> None:
        """Log the BEGIN of ``event_type``."""
        if self.recorder.active:
            self.recorder.add(self, _event_type(event_type), PHASE_BEGIN, params)

    def end(self, event_type: str, params: Params = None) -> None:
        """Log the END of ``event_type``."""
        if self.recorder.active:
            self.recorder.add(self, _event_type(event_type), PHASE_END, params)

    def event(self, event_type: str, params: Params = None) -> None:
        """Log a point event (phase NONE)."""
        if self.recorder.active:
            self.recorder.add(self, _event_type(event_type), PHASE_NONE, params)

    def end_with_net_error(self, event_type: str, net_error: int) -> None:
        """Log an END carrying ``{"net_error": code}`` when ``net_error`` is negative."""
        if self.recorder.active:
            params = {"net_error": net_error} if net_error < 0 else None
            self.recorder.add(self, _event_type(event_type), PHASE_END, params)

    def event_with_net_error(self, event_type: str, net_error: int) -> None:
        """Log a point event carrying ``{"net_error": code}`` (``CANCELLED``, ``FAILED``)."""
        if self.recorder.active:
            params = {"net_error": net_error} if net_error < 0 else None
            self.recorder.add(self, _event_type(event_type), PHASE_NONE, params)

    def dependency(self) -> dict[str, Any]:
        """Return ``{"source_dependency": {"id", "type"}}`` naming this source in another's event."""
        return {"source_dependency": {"id": self.id, "type": self.type}}

    def bytes_transferred(self, event_type: str, data: bytes) -> None:
        """Log ``SOCKET_BYTES_SENT``/``RECEIVED``: ``byte_count``, plus ``bytes`` in everything."""
        if self.recorder.active:
            self.recorder.add(self, _event_type(event_type), PHASE_NONE, _bytes_params(data))

    def bytes_read(self, data: bytes, event_type: str = "URL_REQUEST_JOB_FILTERED_BYTES_READ") -> None:
        """Log body bytes read by a request; only a log in ``everything`` mode records them."""
        # url_request_job.cc logs these only while some observer captures bytes.
        if self.recorder.active and self.recorder.capture_mode >= EVERYTHING:
            self.recorder.add(self, _event_type(event_type), PHASE_NONE, _bytes_params(data))


def byte_count_params(chunk: bytes, everything: bool) -> dict[str, Any]:
    """Params of a bytes event: ``byte_count``, and the ``bytes`` when a log captures them."""
    if everything:
        return {"byte_count": len(chunk), "bytes": bytes(chunk)}
    return {"byte_count": len(chunk)}


def _bytes_params(data: bytes) -> Callable[[int], dict[str, Any]]:
    return lambda mode: byte_count_params(data, mode >= EVERYTHING)


# -- params of the common events -------------------------------------------------------------

elide_header_value = _netlog_py.elide_header_value


def strip_url_credentials(mode: int, url: str) -> str:
    """Return ``url`` without its ``user:password@`` in ``default`` mode (``GURL`` sanitising)."""
    if mode >= INCLUDE_SENSITIVE or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


def _header_lines(mode: int, headers: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{name}: {elide_header_value(mode, name, value)}" for name, value in headers]


def request_headers_params(
    line: str, headers: Iterable[tuple[str, str]]
) -> Callable[[int], dict[str, Any]]:
    """Params of ``HTTP_TRANSACTION_SEND_REQUEST_HEADERS``: ``line`` (CRLF-terminated request
    line, ``"GET /p HTTP/1.1\\r\\n"``) and ``headers`` (``"Name: value"`` strings)."""
    pairs = list(headers)

    def make(mode: int) -> dict[str, Any]:
        return {"headers": _header_lines(mode, pairs), "line": line}

    return make


def response_headers_params(
    status_line: str, headers: Iterable[tuple[str, str]]
) -> Callable[[int], dict[str, Any]]:
    """Params of ``HTTP_TRANSACTION_READ_RESPONSE_HEADERS``: ``headers``, the status line first
    (``"HTTP/1.1 200 OK"``) as ``HttpResponseHeaders::NetLogParams`` writes it."""
    pairs = list(headers)

    def make(mode: int) -> dict[str, Any]:
        return {"headers": [status_line, *_header_lines(mode, pairs)]}

    return make


def request_alive_params(
    url: str, priority: str = "MEDIUM", traffic_annotation: int = 0
) -> Callable[[int], dict[str, Any]]:
    """Params of ``REQUEST_ALIVE`` BEGIN (``NetLogURLRequestConstructorParams``)."""

    def make(mode: int) -> dict[str, Any]:
        return {
            "priority": priority,
            "traffic_annotation": traffic_annotation,
            "url": strip_url_credentials(mode, url),
        }

    return make


def start_job_params(
    url: str,
    method: str,
    load_flags: int = 0,
    *,
    initiator: str | None = None,
    request_type: str = "other",
    site_for_cookies: str = "SiteForCookies: {site=null; schemefully_same=false}",
    network_isolation_key: str = "null null",
    upload_id: int | None = None,
) -> Callable[[int], dict[str, Any]]:
    """Params of ``URL_REQUEST_START_JOB`` BEGIN (``NetLogURLRequestStartParams``)."""

    def make(mode: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "initiator": initiator if initiator is not None else "not an origin",
            "load_flags": load_flags,
            "method": method,
            "network_isolation_key": network_isolation_key,
            "request_type": request_type,
            "site_for_cookies": site_for_cookies,
            "url": strip_url_credentials(mode, url),
        }
        if upload_id is not None:
            params["upload_id"] = str(upload_id)
        return params

    return make


def redirect_params(location: str) -> Callable[[int], dict[str, Any]]:
    """Params of ``URL_REQUEST_REDIRECTED``: ``{"location": url}``."""
    return lambda mode: {"location": strip_url_credentials(mode, location)}


def host_resolve_params(
    scheme: str, host: str, port: int, *, allow_cached_response: bool = True
) -> dict[str, Any]:
    """Params of ``HOST_RESOLVER_MANAGER_REQUEST`` BEGIN."""
    return {
        "allow_cached_response": allow_cached_response,
        "dns_query_type": "UNSPECIFIED",
        "host": f"{scheme}://{host}:{port}",
        "is_speculative": False,
        "network_anonymization_key": "null",
        "secure_dns_policy": 0,
    }


def tls_params(version: str, cipher_suite: int, next_proto: str, is_resumed: bool) -> dict[str, Any]:
    """Params of ``SSL_CONNECT`` END: ``version`` is ``"TLS 1.3"``-style."""
    return {
        "cipher_suite": cipher_suite,
        "is_resumed": is_resumed,
        "next_proto": next_proto,
        "version": version,
    }


# -- the public NetLog -----------------------------------------------------------------------

_RECORDERS: weakref.WeakSet[Recorder] = weakref.WeakSet()
_APP_OBSERVERS: list[tuple[Observer, ...]] = [()]
_RUNNING: set[NetLog] = set()

# base::File::Error names (base/files/file.cc OSErrorToFileError), what Electron rejects with.
_FILE_ERRORS = {
    errno.EACCES: "FILE_ERROR_ACCESS_DENIED",
    errno.EISDIR: "FILE_ERROR_ACCESS_DENIED",
    errno.EROFS: "FILE_ERROR_ACCESS_DENIED",
    errno.EPERM: "FILE_ERROR_ACCESS_DENIED",
    errno.EBUSY: "FILE_ERROR_IN_USE",
    errno.ETXTBSY: "FILE_ERROR_IN_USE",
    errno.EEXIST: "FILE_ERROR_EXISTS",
    errno.EMFILE: "FILE_ERROR_TOO_MANY_OPENED",
    errno.ENOENT: "FILE_ERROR_NOT_FOUND",
    errno.ENAMETOOLONG: "FILE_ERROR_PATH_TOO_LONG",
    errno.ENOSPC: "FILE_ERROR_NO_SPACE",
    errno.ENOTDIR: "FILE_ERROR_NOT_A_DIRECTORY",
}

_SPEC = {"capture_mode": Opt(object), "max_file_size": Opt(object)}


def _max_file_size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("Invalid value for maxFileSize")
    if isinstance(value, float) and not value.is_integer():
        raise TypeError("Invalid value for maxFileSize")
    size = int(value)
    if not 0 <= size < 1 << 64:
        raise TypeError("Invalid value for maxFileSize")
    return size


class NetLog(CamelAliases):
    """Record a Chrome NetLog file: of one session, or (``NetLog(None)``) of every session."""

    def __init__(self, session: object | None = None) -> None:
        self._session = session
        self._recorder = Recorder()
        self._observer: Observer | None = None
        self._busy = False
        self.polled_data: Callable[[], Mapping[str, Any]] | None = None

    @property
    def currently_logging(self) -> bool:
        """Tell whether this NetLog is recording (true from the start of ``start_logging``)."""
        return self._busy or self._observer is not None

    async def start_logging(self, path: Any, *args: Any, **kwargs: Any) -> None:
        """Start recording network events to ``path`` (created or truncated).

        ``capture_mode`` is ``default`` (no cookie or credential values), ``includeSensitive``
        or ``everything`` (plus the bytes on sockets); ``max_file_size`` bounds the file as Chrome
        does, keeping the newest events (see ``_netlog_sink``); ``None`` is unbounded.
        """
        if not isinstance(path, str):
            raise TypeError(f"Error processing argument at index 0, conversion failure from {path!r}")
        if not path:
            raise TypeError("The first parameter must be a valid string")
        given = options("startLogging", _SPEC, args, kwargs)
        mode_name = given.get("capture_mode", "default")
        if not isinstance(mode_name, str) or mode_name not in CAPTURE_MODES:
            raise TypeError("Invalid value for captureMode")
        max_size = _max_file_size(given.get("max_file_size"))
        if self.currently_logging:
            raise TypeError("There is already a net log running")
        mode = CAPTURE_MODES[mode_name]
        self._busy = True
        try:
            netlog = core("netlog")
            constants = netlog.encode(net_constants(mode))
            try:
                sink = await asyncio.to_thread(_netlog_sink.FileSink, path, constants, max_size)
            except OSError as error:
                raise SessionError(_FILE_ERRORS.get(error.errno or 0, "FILE_ERROR_FAILED")) from error
            chunk = CHUNK_SIZE if max_size is None else max(1024, min(CHUNK_SIZE, max_size // 20))
            self._observer = netlog.Observer(path, mode, sink, netlog.Writer(sink, chunk))
        finally:
            self._busy = False
        _RUNNING.add(self)
        self._attach()

    async def stop_logging(self) -> str:
        """Stop recording, finish the file off the event loop, and return its path."""
        observer = self._observer
        if observer is None or self._busy:
            raise SessionError("No net log in progress")
        self._busy = True
        try:
            self._observer = None
            self._attach()
            _RUNNING.discard(self)
            observer.writer.flush()
            polled = core("netlog").encode(dict(self.polled_data() if self.polled_data else {}))
            await asyncio.to_thread(observer.sink.close, polled)
        finally:
            self._busy = False
        return observer.path

    def _attach(self) -> None:
        own = (self._observer,) if self._observer is not None else ()
        if self._session is None:
            _APP_OBSERVERS[0] = own
            for recorder in list(_RECORDERS):
                recorder._refresh()
        else:
            self._recorder._own = own
            self._recorder._refresh()

    def _finish_at_exit(self) -> None:
        observer = self._observer
        if observer is None:
            return
        self._observer = None
        self._attach()
        observer.writer.flush()
        observer.sink.close(core("netlog").encode({}))


def recorder_for(log: NetLog) -> Recorder:
    """Return the :class:`Recorder` the pipeline logs a session's events through."""
    return log._recorder


@atexit.register
def _stop_all_at_exit() -> None:
    # Electron: "If not called, net logging will automatically end when app quits."
    for log in list(_RUNNING):
        try:
            log._finish_at_exit()
        except Exception:  # a failing disk must not break interpreter exit
            logging.getLogger("websession").exception("could not finish the NetLog file")
    _RUNNING.clear()


net_log = NetLog(None)
"""The app-wide NetLog (Electron's ``netLog`` module): records the events of every session."""
