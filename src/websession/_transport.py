"""One aiohttp connection pool per session: send one request hop, map failures to net errors."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ssl
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ._errors import NetError
from ._http import RequestState, Response
from ._tls import SessionConnector, certificate_error_name, ssl_error_name

# aiohttp adds these when a request lacks them; the pipeline decides every header it sends,
# so a request without one (a listener removed it) tells aiohttp to skip it. The pipeline
# normally sets all three, which keeps aiohttp on its fast path.
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent")


def _oserror_code(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    return {
        errno.ECONNREFUSED: "ERR_CONNECTION_REFUSED",
        errno.ECONNRESET: "ERR_CONNECTION_RESET",
        errno.ECONNABORTED: "ERR_CONNECTION_ABORTED",
        errno.ETIMEDOUT: "ERR_CONNECTION_TIMED_OUT",
        errno.EHOSTUNREACH: "ERR_ADDRESS_UNREACHABLE",
        errno.ENETUNREACH: "ERR_INTERNET_DISCONNECTED",
        errno.EADDRNOTAVAIL: "ERR_ADDRESS_INVALID",
    }.get(code or 0, "ERR_CONNECTION_FAILED")


def map_error(exc: BaseException) -> NetError:
    """Translate an aiohttp or socket failure into Chromium's net error."""
    if isinstance(exc, NetError):
        return exc
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return NetError("ERR_NAME_NOT_RESOLVED", str(exc))
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return NetError(certificate_error_name(exc.certificate_error), str(exc))
    if isinstance(exc, aiohttp.ClientSSLError):
        return NetError(ssl_error_name(exc), str(exc))
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return NetError("ERR_PROXY_CONNECTION_FAILED", str(exc))
    if isinstance(exc, aiohttp.ClientConnectorError):
        return NetError(_oserror_code(exc.os_error), str(exc))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return NetError("ERR_EMPTY_RESPONSE", str(exc))
    if isinstance(exc, aiohttp.ClientPayloadError):
        text = str(exc)
        if "chunk" in text.lower():
            return NetError("ERR_INCOMPLETE_CHUNKED_ENCODING", text)
        return NetError("ERR_CONTENT_LENGTH_MISMATCH", text)
    if isinstance(exc, aiohttp.ClientResponseError):
        return NetError("ERR_INVALID_HTTP_RESPONSE", str(exc))
    if isinstance(exc, aiohttp.InvalidURL):
        return NetError("ERR_INVALID_URL", str(exc))
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return NetError("ERR_TIMED_OUT")
    if isinstance(exc, aiohttp.ClientOSError):
        return NetError(_oserror_code(exc), str(exc))
    if isinstance(exc, ConnectionResetError):
        return NetError("ERR_CONNECTION_RESET", str(exc))
    if isinstance(exc, OSError):
        return NetError(_oserror_code(exc), str(exc))
    return NetError("ERR_FAILED", f"{type(exc).__name__}: {exc}")


_default_context: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """Return the process's default client context (loading the system trust store takes ~15 ms).

    Shared by every session: nothing mutates it; TLS policy builds contexts of its own.
    """
    global _default_context
    if _default_context is None:
        _default_context = ssl.create_default_context()
    return _default_context


class Transport:
    """The session's connection pool; ``send`` performs one hop and returns a streaming Response."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.ssl_context: ssl.SSLContext = default_ssl_context()
        self.resolver: Any = None
        self.limit = 256
        self._client: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight: set[Response] = set()

    def client(self) -> aiohttp.ClientSession:
        """Return the pool of the running event loop, making it on first use."""
        loop = asyncio.get_running_loop()
        client = self._client
        if client is None or self._loop is not loop or client.closed:
            connector = SessionConnector(
                self.session,
                limit=self.limit,
                limit_per_host=0,
                ssl=self.ssl_context,
                resolver=self.resolver,
                # The session's host cache (its resolver) is the only DNS cache.
                use_dns_cache=self.resolver is None,
                enable_cleanup_closed=False,
            )
            client = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
            )
            self._client = client
            self._loop = loop
        return client

    async def send(self, state: RequestState, **extra: Any) -> Response:
        """Send one hop of ``state`` to the network."""
        client = self.client()
        if state.net_source is not None:
            extra = state.net_source.sending(client, extra)
        body = state.body
        try:
            proxies = None
            if not getattr(self.session, "_proxy_direct", True):
                proxies = await self.session.proxy_servers_for(state.url)
            headers = state.headers
            skip = [name for name in _AUTO_HEADERS if name not in headers]
            if body is not None and "content-type" not in headers:
                skip.append("Content-Type")
            if skip:
                extra["skip_auto_headers"] = skip
            if proxies is None or (len(proxies) == 1 and proxies[0].is_direct):
                raw = await client._request(
                    state.method,
                    URL(state.url, encoded=True),
                    headers=state.headers,
                    data=body,
                    allow_redirects=False,
                    **extra,
                )
            else:
                from ._proxy_connect import send_via

                raw = await send_via(
                    client, proxies, state.method, state.url,
                    state=self.session._proxy_state.connect, resolver=self.resolver,
                    ssl_context=self.ssl_context, ask_login=getattr(self.session, "_proxy_login", None),
                    headers=state.headers, data=body, allow_redirects=False, **extra,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise map_error(exc) from exc
        response = Response.__new__(Response)
        response.status = raw.status
        response.status_text = raw.reason or ""
        response.headers = CIMultiDict(raw.headers)
        response.url = state.url
        response.redirected = False
        response.url_chain = []
        response.type = "basic"
        response.from_cache = False
        response._used = False
        response._data = None
        response._remote = raw
        if state.net_source is not None:
            state.net_source.received(raw)
        if state.method == "HEAD" or raw.status in (204, 304) or 100 <= raw.status < 200:
            raw.release()
            response._stream = None
            response._release = None
        else:
            response._stream = _NetworkBody(raw)
            response._release = raw.close
        return response

    async def close_all(self) -> None:
        """Close every pooled connection; requests in flight fail with a connection error."""
        proxy_state = getattr(self.session, "_proxy_state", None)
        if proxy_state is not None:
            await proxy_state.connect.close()  # the SOCKS pools
        client = self._client
        if client is not None and not client.closed:
            connector = client.connector
            self._client = None
            if connector is not None:
                await connector.close()
            await client.close()

    async def close(self) -> None:
        await self.close_all()


class BodyWatcher(Protocol):
    """What a :class:`_NetworkBody` tells about its reading (a request's NetLog listens)."""

    def body_read(self, chunk: bytes) -> None: ...
    def body_done(self) -> None: ...
    def body_failed(self, error: NetError) -> None: ...
    def body_dropped(self) -> None: ...


class _NetworkBody:
    """A response body read from the connection: chunk by chunk, or whole in one call.

    ``watcher``, when set, hears of each chunk, the end, a failure (the error the reader gets;
    ``ERR_ABORTED`` for a cancellation) and a body dropped unfinished.
    """

    __slots__ = ("_raw", "watcher")

    def __init__(self, raw: aiohttp.ClientResponse) -> None:
        self._raw = raw
        self.watcher: BodyWatcher | None = None

    def __aiter__(self) -> _NetworkBody:
        return self

    async def _read(self, read: Any) -> bytes:
        raw = self._raw
        try:
            data: bytes = await read()
        except asyncio.CancelledError:
            raw.close()
            if self.watcher is not None:
                self.watcher.body_failed(NetError("ERR_ABORTED"))
            raise
        except Exception as exc:
            raw.close()
            error = map_error(exc)
            if self.watcher is not None:
                self.watcher.body_failed(error)
            raise error from exc
        except BaseException:
            if self.watcher is not None:
                self.watcher.body_failed(NetError("ERR_ABORTED"))
            raise
        return data

    async def __anext__(self) -> bytes:
        chunk = await self._read(self._raw.content.readany)
        watcher = self.watcher
        if not chunk:
            self._raw.release()
            if watcher is not None:
                watcher.body_done()
            raise StopAsyncIteration
        if watcher is not None:
            watcher.body_read(chunk)
        return chunk

    async def read_all(self) -> bytes:
        """Read the rest of the body in one call (the fast path of ``Response.bytes()``)."""
        data = await self._read(self._raw.read)
        self._raw.release()
        watcher = self.watcher
        if watcher is not None:
            if data:
                watcher.body_read(data)
            watcher.body_done()
        return data

    def __del__(self) -> None:
        # aiohttp's response outlives a body dropped unfinished (its payload reader holds it),
        # so its own finaliser never frees the connection. Releasing it here pools a connection
        # whose body had all arrived and closes one still receiving, as Chrome closes the
        # socket of a request cancelled mid-body.
        if self.watcher is not None:
            self.watcher.body_dropped()
        raw = self._raw
        if not raw.closed:
            with contextlib.suppress(RuntimeError):  # the event loop has closed
                raw.release()
