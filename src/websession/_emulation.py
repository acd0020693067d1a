"""Network emulation: offline, added latency and throttled throughput, as DevTools emulates.

Chromium: ``services/network/throttling/`` (``NetworkConditions``, ``ThrottlingController``,
``ThrottlingNetworkInterceptor``): offline fails requests with ``ERR_INTERNET_DISCONNECTED``;
latency delays each request by the RTT; the download and upload throughputs are shared by the
session's requests. Emulation sits under the HTTP cache, so cache hits are not throttled.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from ._errors import NetError
from ._http import RequestState, Response
from ._naming import CamelAliases, camel_case
from ._options import Opt, options

_EMULATION = {
    "offline": Opt(bool),
    "latency": Opt((int, float)),
    "download_throughput": Opt((int, float)),
    "upload_throughput": Opt((int, float)),
}
_PIECE = 16 * 1024


class TokenBucket:
    """Bytes per second with a small burst: ``await take(n)`` waits until ``n`` bytes may pass."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        # A twentieth of a second of traffic (at least one byte) may pass at once.
        self.capacity = max(1.0, min(self.rate / 20.0, float(_PIECE)))
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.piece = max(1, int(self.capacity))

    async def take(self, count: int) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= count
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / self.rate)


class NetworkConditions:
    """The emulated conditions of a session."""

    __slots__ = ("download", "latency", "offline", "upload")

    def __init__(self, offline: bool, latency: float, download: float, upload: float) -> None:
        self.offline = offline
        self.latency = latency / 1000.0
        self.download = TokenBucket(download) if download > 0 else None
        self.upload = TokenBucket(upload) if upload > 0 else None


async def throttle(stream: AsyncIterable[bytes], bucket: TokenBucket) -> AsyncIterator[bytes]:
    """Pass ``stream`` through ``bucket`` in pieces no larger than its burst."""
    piece = bucket.piece
    async for chunk in stream:
        view = memoryview(chunk)
        for start in range(0, len(view), piece):
            part = bytes(view[start:start + piece])
            await bucket.take(len(part))
            yield part


async def emulated_send(transport: Any, state: RequestState,
                        conditions: NetworkConditions) -> Response:
    """Send one hop under ``conditions``."""
    if conditions.offline:
        raise NetError("ERR_INTERNET_DISCONNECTED")
    if conditions.latency > 0:
        await asyncio.sleep(conditions.latency)
    body, headers = state.body, state.headers
    if conditions.upload is not None and body is not None:
        if isinstance(body, (bytes, bytearray, memoryview)):
            data = bytes(body)
            state.headers = headers.copy()
            state.headers["Content-Length"] = str(len(data))

            async def once() -> AsyncIterator[bytes]:
                yield data

            state.body = throttle(once(), conditions.upload)
        else:
            state.body = throttle(body, conditions.upload)
    try:
        response: Response = await transport.send(state)
    finally:
        state.body, state.headers = body, headers
    if conditions.download is not None and response._stream is not None:
        response._stream = throttle(response._stream, conditions.download)
    return response


class EmulationSessionMixin(CamelAliases):
    """``enable_network_emulation`` / ``disable_network_emulation`` for a Session."""

    _emulation: NetworkConditions | None
    _transport: Any

    def _setup_emulation(self) -> None:
        self._emulation = None

    def enable_network_emulation(self, *args: Any, **kwargs: Any) -> None:
        """Emulate ``offline``, ``latency`` (ms RTT), ``download_throughput``/``upload_throughput``
        (bytes per second; 0 means unthrottled); replaces the conditions set before."""
        given = options("enableNetworkEmulation", _EMULATION, args, kwargs)
        for name in ("latency", "download_throughput", "upload_throughput"):
            value = given.get(name, 0)
            if value < 0 or math.isnan(value):
                raise ValueError(f"enableNetworkEmulation: option '{camel_case(name)}' must be a "
                                 f"non-negative number, not {value!r}")
        self._emulation = NetworkConditions(
            bool(given.get("offline", False)), float(given.get("latency", 0)),
            float(given.get("download_throughput", 0)), float(given.get("upload_throughput", 0)))

    def disable_network_emulation(self) -> None:
        """Stop emulating: the network as it is."""
        self._emulation = None

    async def _hop(self, state: RequestState) -> Response:
        conditions = self._emulation
        if conditions is None:
            response: Response = await self._transport.send(state)
            return response
        return await emulated_send(self._transport, state, conditions)


__all__ = ["EmulationSessionMixin", "NetworkConditions", "TokenBucket", "emulated_send", "throttle"]
