"""Connection control: ``preconnect`` (warm sockets) and ``close_all_connections``.

Electron: ``Session::Preconnect`` (``predictors::PreconnectManager``) and
``Session::CloseAllConnections``; Chromium's ``NetworkContext::CloseAllConnections`` flushes
the socket pools with ``ERR_ABORTED``, so requests in flight fail with that error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import yarl

from ._errors import NetError
from ._events import Event
from ._naming import CamelAliases
from ._options import Opt, options
from ._tls import close_retired

log = logging.getLogger("websession.connections")

_PRECONNECT = {"url": Opt(object), "num_sockets": Opt(object)}
_BAD_URL = "Must pass non-empty valid url to session.preconnect."
_BAD_COUNT = "numSocketsToPreconnect is outside range [1,6]"


def preconnect_origin(url: Any) -> str:
    """Return the origin (``scheme://host[:port]/``) ``preconnect`` opens sockets to."""
    if not isinstance(url, str) or not url:
        raise TypeError(_BAD_URL)
    try:
        parsed = yarl.URL(url.strip())
    except (ValueError, TypeError):
        raise TypeError(_BAD_URL) from None
    if not parsed.scheme or not parsed.host or not parsed.is_absolute():
        raise TypeError(_BAD_URL)
    return str(parsed.origin()) + "/"


async def open_sockets(transport: Any, origin: str, count: int) -> int:
    """Open ``count`` connections to ``origin`` in the session's pool; return how many opened."""
    client: aiohttp.ClientSession = transport.client()
    connector = client.connector
    assert connector is not None
    loop = asyncio.get_running_loop()
    url = yarl.URL(origin)

    async def one() -> Any:
        request = aiohttp.ClientRequest("GET", url, loop=loop, ssl=True)
        return await connector.connect(request, [], client.timeout)

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    opened = 0
    for result in results:
        if isinstance(result, BaseException):
            log.info("preconnect to %s failed: %s", origin, result)
            continue
        result.release()  # into the pool, idle and warm
        opened += 1
    return opened


def abort_in_flight(client: aiohttp.ClientSession | None) -> None:
    """Fail every request using a connection of ``client``'s pool with ``ERR_ABORTED``."""
    if client is None or client.closed or client.connector is None:
        return
    for proto in list(getattr(client.connector, "_acquired", ())):
        error = NetError("ERR_ABORTED", "all connections were closed")
        # The body being read, then the response still awaited on the connection.
        payload = getattr(proto, "_payload", None)
        if payload is not None and hasattr(payload, "set_exception"):
            payload.set_exception(error)
        set_exception = getattr(proto, "set_exception", None)
        if set_exception is not None:
            set_exception(error)


class ConnectionsSessionMixin(CamelAliases):
    """``preconnect`` and ``close_all_connections`` for a Session."""

    _transport: Any
    _preconnecting: dict[str, asyncio.Future[int]]

    def _setup_connections(self) -> None:
        self._preconnecting = {}

    async def _teardown_connections(self) -> None:
        for task in list(self._preconnecting.values()):
            task.cancel()
        self._preconnecting.clear()

    def preconnect(self, *args: Any, **kwargs: Any) -> None:
        """Open ``num_sockets`` (1 to 6) connections to the origin of ``url`` for later requests."""
        given = options("preconnect", _PRECONNECT, args, kwargs)
        origin = preconnect_origin(given.get("url"))
        count = given.get("num_sockets", 1)
        if isinstance(count, bool) or not isinstance(count, (int, float)) or count != int(count):
            raise TypeError(_BAD_COUNT)
        if not 1 <= count <= 6:
            raise TypeError(_BAD_COUNT)
        emitter: Any = self
        emitter.emit("preconnect", Event(self), origin, True)
        if not origin.startswith(("http://", "https://")):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            log.info("preconnect outside an event loop: no pool to warm")
            return
        task = asyncio.ensure_future(open_sockets(self._transport, origin, int(count)))
        self._preconnecting[origin] = task

        def done(_: Any) -> None:
            if self._preconnecting.get(origin) is task:
                del self._preconnecting[origin]

        task.add_done_callback(done)

    async def _await_preconnect(self, url: str) -> None:
        """Let a request wait for the warm sockets being opened to its origin."""
        task = self._preconnecting.get(str(yarl.URL(url, encoded=True).origin()) + "/")
        if task is not None:
            try:
                await asyncio.shield(task)
            except Exception:  # a failed preconnect leaves the request to connect itself
                log.debug("preconnect failed", exc_info=True)

    async def close_all_connections(self) -> None:
        """Close every pooled connection; requests in flight fail with ``ERR_ABORTED``."""
        for task in list(self._preconnecting.values()):
            task.cancel()
        transport = self._transport
        abort_in_flight(getattr(transport, "_client", None))
        policy = getattr(self, "_tls", None)
        if policy is not None:
            for client in policy.retired:
                abort_in_flight(client)
            await close_retired(policy)
        await transport.close_all()


__all__ = ["ConnectionsSessionMixin", "abort_in_flight", "open_sockets", "preconnect_origin"]
