"""Send a request through the proxies the session chose: HTTP, HTTPS, SOCKS4/4a/5, or DIRECT.

``send_via`` tries the proxies of a ``ProxyList`` in order (those marked bad recently go last,
as ``ProxyList::DeprioritizeBadProxyChains``), falls back to the next one on the errors
Chromium falls back on (``CanFalloverToNextProxy``), and remembers a failed proxy as bad for
five minutes (``ProxyRetryInfo``). HTTP and HTTPS proxies go through aiohttp's own proxy
support (absolute-form requests for ``http:``, ``CONNECT`` tunnels for ``https:``, TLS to an
HTTPS proxy); SOCKS proxies through a connector per proxy built on python-socks, SOCKS5 with
the destination name resolved by the proxy, SOCKS4 with it resolved by the session's resolver.
Proxy credentials come from the session's ``login`` handling and are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ._errors import NetError
from ._proxy_rules import DIRECT, HTTP, HTTPS, QUIC, SOCKS4, SOCKS5, ProxyServer

log = logging.getLogger("websession.proxy")

SOCKS4A = "socks4a"
BAD_PROXY_RETRY = 300.0  # net/proxy_resolution/proxy_resolution_service.cc: five minutes

# CanFalloverToNextProxy (net/http/proxy_fallback.cc)
_FALLBACK_ERRORS = frozenset({
    "ERR_PROXY_CONNECTION_FAILED", "ERR_NAME_NOT_RESOLVED", "ERR_INTERNET_DISCONNECTED",
    "ERR_ADDRESS_UNREACHABLE", "ERR_CONNECTION_CLOSED", "ERR_CONNECTION_TIMED_OUT",
    "ERR_CONNECTION_RESET", "ERR_CONNECTION_REFUSED", "ERR_CONNECTION_ABORTED", "ERR_TIMED_OUT",
    "ERR_SOCKS_CONNECTION_FAILED", "ERR_PROXY_CERTIFICATE_INVALID", "ERR_SSL_PROTOCOL_ERROR",
    "ERR_NOT_IMPLEMENTED",
})

Credentials = tuple[str, str]
LoginAsker = Callable[[str, dict[str, Any]], Awaitable[Credentials | None]]


@dataclass
class ProxyRetryInfo:
    """When a proxy failed and until when it counts as bad."""

    bad_until: float
    error: str


@dataclass
class ProxyConnectState:
    """Per-session proxying state: bad proxies, proxy credentials, SOCKS pools."""

    retry: dict[ProxyServer, ProxyRetryInfo] = field(default_factory=dict)
    credentials: dict[tuple[str, int], Credentials] = field(default_factory=dict)
    socks_clients: dict[tuple[ProxyServer, int], aiohttp.ClientSession] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    retry_delay: float = BAD_PROXY_RETRY

    def order(self, proxies: Sequence[ProxyServer]) -> list[ProxyServer]:
        """Return ``proxies`` with those still marked bad moved to the end."""
        now = self.clock()
        good: list[ProxyServer] = []
        bad: list[ProxyServer] = []
        for server in proxies:
            info = self.retry.get(server)
            if info is not None and info.bad_until > now:
                bad.append(server)
            else:
                if info is not None:
                    del self.retry[server]
                good.append(server)
        return good + bad

    def mark_bad(self, server: ProxyServer, error: str) -> None:
        """Remember ``server`` as bad for the retry delay."""
        self.retry[server] = ProxyRetryInfo(self.clock() + self.retry_delay, error)

    def bad_proxies(self) -> dict[str, str]:
        """Return the proxies currently marked bad, as PAC strings, with their errors."""
        now = self.clock()
        return {s.to_pac(): i.error for s, i in self.retry.items() if i.bad_until > now}

    async def close(self) -> None:
        """Close the SOCKS connection pools."""
        clients = list(self.socks_clients.values())
        self.socks_clients.clear()
        for client in clients:
            await client.close()


def _net_error(exc: BaseException) -> NetError:
    from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

    from ._transport import map_error

    if isinstance(exc, NetError):
        return exc
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        if exc.status == 407:
            return NetError("ERR_PROXY_AUTH_UNSUPPORTED", "proxy authentication was not given")
        return NetError("ERR_TUNNEL_CONNECTION_FAILED", f"proxy answered CONNECT with {exc.status}")
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return NetError("ERR_PROXY_CONNECTION_FAILED", str(exc))
    if isinstance(exc, ProxyTimeoutError):
        return NetError("ERR_TIMED_OUT", str(exc))
    if isinstance(exc, ProxyConnectionError):
        return NetError("ERR_PROXY_CONNECTION_FAILED", str(exc))
    if isinstance(exc, ProxyError):
        code = getattr(exc, "error_code", None)
        if code in (3, 4):  # SOCKS5 network/host unreachable
            return NetError("ERR_ADDRESS_UNREACHABLE", str(exc))
        return NetError("ERR_SOCKS_CONNECTION_FAILED", str(exc))
    return map_error(exc)


class SocksConnector(aiohttp.TCPConnector):
    """A connection pool whose connections are tunnelled through one SOCKS proxy."""

    def __init__(self, server: ProxyServer, *, proxy_address: str,
                 credentials: Credentials | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server = server
        self._proxy_address = proxy_address
        self._credentials = credentials
        # SOCKS5 and SOCKS4a send the destination name; SOCKS4 needs an address.
        self._remote_dns = server.scheme in (SOCKS5, SOCKS4A)

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> Any:
        if self._remote_dns:
            return [{"hostname": host, "host": host, "port": port, "family": socket.AF_INET,
                     "proto": 0, "flags": 0}]
        results = await super()._resolve_host(host, port, traces=traces)
        # SOCKS4 carries IPv4 destinations only.
        return [r for r in results if r["family"] == socket.AF_INET] or results

    async def _wrap_create_connection(self, *args: Any, addr_infos: Any, req: Any,
                                      timeout: Any, client_error: Any = None,
                                      **kwargs: Any) -> Any:
        from python_socks import ProxyType
        from python_socks.async_.asyncio import Proxy

        kind = ProxyType.SOCKS5 if self._server.scheme == SOCKS5 else ProxyType.SOCKS4
        user, password = self._credentials or (None, None)
        proxy = Proxy(kind, self._proxy_address, self._server.port, username=user,
                      password=password, rdns=self._remote_dns)
        if self._remote_dns:
            dest_host = str(req.url.raw_host)
        else:
            dest_host = str(addr_infos[0][4][0])
        connect_timeout = getattr(timeout, "sock_connect", None) or 30.0
        try:
            sock = await proxy.connect(dest_host, int(req.port), timeout=connect_timeout)
        except Exception as exc:
            raise _net_error(exc) from exc
        loop = asyncio.get_running_loop()
        ssl_context = kwargs.get("ssl")
        return await loop.create_connection(
            args[0], sock=sock, ssl=ssl_context or None,
            server_hostname=kwargs.get("server_hostname") if ssl_context else None,
        )


async def _socks_client(state: ProxyConnectState, server: ProxyServer, resolver: Any,
                        ssl_context: Any) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    key = (server, id(loop))
    client = state.socks_clients.get(key)
    if client is not None and not client.closed:
        return client
    # The proxy's own name goes through the session's resolver, like every host.
    try:
        if resolver is not None:
            addresses = await resolver.lookup(server.host)
        else:
            infos = await loop.getaddrinfo(server.host, None, type=socket.SOCK_STREAM)
            addresses = [str(i[4][0]) for i in infos]
    except OSError as exc:
        raise NetError("ERR_PROXY_CONNECTION_FAILED", f"cannot resolve the proxy: {exc}") from exc
    except NetError as exc:
        raise NetError("ERR_PROXY_CONNECTION_FAILED", f"cannot resolve the proxy: {exc.name}") from exc
    connector = SocksConnector(server, proxy_address=addresses[0],
                               credentials=state.credentials.get((server.host, server.port)),
                               ssl=ssl_context if ssl_context is not None else True,
                               resolver=resolver, use_dns_cache=False)
    client = aiohttp.ClientSession(
        connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30))
    state.socks_clients[key] = client
    return client


def _proxy_url(server: ProxyServer) -> URL:
    return URL.build(scheme="https" if server.scheme == HTTPS else "http",
                     host=server.host, port=server.port)


async def send_via(
    client: aiohttp.ClientSession,
    proxies: Sequence[ProxyServer],
    method: str,
    url: str,
    *,
    state: ProxyConnectState,
    resolver: Any = None,
    ssl_context: Any = None,
    ask_login: LoginAsker | None = None,
    **request: Any,
) -> aiohttp.ClientResponse:
    """Send one request through the first working proxy of ``proxies`` and return aiohttp's response.

    ``client`` is the session's direct pool; ``request`` holds the rest of aiohttp's
    ``_request`` arguments (headers, data, allow_redirects...).
    """
    if not proxies:
        proxies = [ProxyServer(DIRECT)]
    ordered = state.order(proxies)
    last: NetError | None = None
    for server in ordered:
        try:
            response = await _send_one(client, server, method, url, state=state,
                                       resolver=resolver, ssl_context=ssl_context,
                                       ask_login=ask_login, **request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = _net_error(exc)
            if server.is_direct or error.name[5:] not in _FALLBACK_ERRORS:
                if not server.is_direct and error.name == "net::ERR_SOCKS_CONNECTION_HOST_UNREACHABLE":
                    raise NetError("ERR_ADDRESS_UNREACHABLE") from exc
                raise error from exc
            log.info("proxy %s failed with %s; trying the next one", server.to_pac(), error.name)
            state.mark_bad(server, error.name)
            last = error
            continue
        return response
    assert last is not None
    raise last


async def _send_one(client: aiohttp.ClientSession, server: ProxyServer, method: str, url: str,
                    *, state: ProxyConnectState, resolver: Any, ssl_context: Any,
                    ask_login: LoginAsker | None, **request: Any) -> aiohttp.ClientResponse:
    if server.is_direct:
        return await client._request(method, URL(url, encoded=True), **request)
    if server.scheme == QUIC:
        raise NetError("ERR_NOT_IMPLEMENTED", "QUIC proxies are not supported")
    if server.scheme in (SOCKS4, SOCKS4A, SOCKS5):
        socks = await _socks_client(state, server, resolver, ssl_context)
        return await socks._request(method, URL(url, encoded=True), **request)
    if server.scheme not in (HTTP, HTTPS):
        raise NetError("ERR_NOT_IMPLEMENTED", f"unknown proxy scheme {server.scheme}")
    key = (server.host, server.port)
    proxy = _proxy_url(server)
    for attempt in range(2):
        credentials = state.credentials.get(key)
        extra = dict(request)
        if credentials:
            value = aiohttp.encode_basic_auth(*credentials)
            if url[:6].lower() in ("https:", "wss://"):
                extra["proxy_headers"] = {"Proxy-Authorization": value}
            else:
                # Absolute-form requests carry the proxy's credentials themselves.
                headers = CIMultiDict(extra.get("headers") or {})
                headers["Proxy-Authorization"] = value
                extra["headers"] = headers
        try:
            response = await client._request(method, URL(url, encoded=True), proxy=proxy,
                                             **extra)
        except aiohttp.ClientHttpProxyError as exc:
            if exc.status == 407 and attempt == 0 and ask_login is not None:
                realm = _realm(exc.headers)
                if await _login(state, key, server, url, realm, ask_login):
                    continue
            raise
        if response.status == 407 and attempt == 0 and ask_login is not None:
            realm = _realm(response.headers)
            if await _login(state, key, server, url, realm, ask_login):
                response.release()
                continue
        return response
    raise NetError("ERR_PROXY_AUTH_UNSUPPORTED")


def _realm(headers: Any) -> str:
    if not headers:
        return ""
    value = str(headers.get("Proxy-Authenticate", ""))
    marker = 'realm="'
    start = value.find(marker)
    if start == -1:
        return ""
    end = value.find('"', start + len(marker))
    return value[start + len(marker): end if end != -1 else None]


async def _login(state: ProxyConnectState, key: tuple[str, int], server: ProxyServer, url: str,
                 realm: str, ask_login: LoginAsker) -> bool:
    auth_info = {"isProxy": True, "scheme": "basic", "host": server.host, "port": server.port,
                 "realm": realm}
    credentials = await ask_login(url, auth_info)
    if not credentials:
        return False
    state.credentials[key] = credentials
    return True
