"""``Request`` and ``Response``, shaped like the Fetch API's, and the pipeline's per-request state."""

from __future__ import annotations

import json as _json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import IO, Any, Union

from multidict import CIMultiDict, CIMultiDictProxy

from ._errors import NetError
from ._naming import CamelAliases

BodyInit = Union[bytes, bytearray, memoryview, str, IO[bytes], AsyncIterable[bytes], None]
HeadersInit = Union[Mapping[str, Any], Iterable[tuple[str, str]], CIMultiDict[str], None]

_CHUNK = 64 * 1024
# Fetch spec: a null body status has no body whatever the server sends.
NULL_BODY_STATUSES = frozenset((101, 103, 204, 205, 304))


def make_headers(init: HeadersInit, where: str = "headers") -> CIMultiDict[str]:
    """Build a case-insensitive multi-valued header map; lists in a mapping give repeated headers."""
    headers: CIMultiDict[str] = CIMultiDict()
    if init is None:
        return headers
    if isinstance(init, (CIMultiDict, CIMultiDictProxy)):
        return CIMultiDict(init)
    items: Iterable[Any] = init.items() if isinstance(init, Mapping) else init
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError(f"{where}: each header must be a (name, value) pair, not {item!r}") from None
        if not isinstance(name, str):
            raise TypeError(f"{where}: header names must be strings, not {name!r}")
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise TypeError(f"{where}: value of header {name!r} must be a string, not {type(v).__name__}")
            headers.add(name, str(v))
    return headers


def valid_header(name: str, value: str) -> bool:
    """Tell whether a header survives Chromium's validation (token name, no CR/LF/NUL in value)."""
    if not name or any(c in name for c in ' \t\r\n:"(),/;<=>?@[\\]{}\x00') or not name.isascii():
        return False
    return not any(c in value for c in "\r\n\x00")


async def _iterate_sync(source: IO[bytes]) -> AsyncIterator[bytes]:
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return
        yield chunk


async def _one(data: bytes) -> AsyncIterator[bytes]:
    if data:
        yield data


class _Body(CamelAliases):
    """Body reading shared by Request and Response: once, as a stream or whole."""

    _data: bytes | None
    _stream: AsyncIterable[bytes] | None
    _used: bool

    def _init_body(self, body: BodyInit, where: str) -> None:
        self._used = False
        self._stream = None
        self._data = None
        if body is None:
            return
        if isinstance(body, str):
            self._data = body.encode()
        elif isinstance(body, (bytes, bytearray, memoryview)):
            self._data = bytes(body)
        elif hasattr(body, "__aiter__"):
            self._stream = body
        elif hasattr(body, "read"):
            self._stream = _iterate_sync(body)
        else:
            raise TypeError(
                f"{where}: body must be bytes, str, a binary file or an async iterable of bytes, "
                f"not {type(body).__name__}"
            )

    @property
    def body_used(self) -> bool:
        return self._used

    @property
    def body(self) -> AsyncIterator[bytes] | None:
        """The body as an async iterator of ``bytes`` chunks, or ``None`` when there is none."""
        if self._data is None and self._stream is None:
            return None
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._used:
            raise TypeError("Body has already been consumed.")
        self._used = True
        if self._data is not None:
            if self._data:
                yield self._data
            return
        assert self._stream is not None
        async for chunk in self._stream:
            if chunk:
                yield chunk if type(chunk) is bytes else bytes(chunk)

    async def bytes(self) -> bytes:
        """Read the whole body."""
        if self._data is not None and not self._used:
            self._used = True
            return self._data
        if self._data is None and self._stream is None:
            if self._used:
                raise TypeError("Body has already been consumed.")
            self._used = True
            return b""
        read_all = getattr(self._stream, "read_all", None)
        if read_all is not None and not self._used:
            self._used = True
            return bytes(await read_all())
        parts = [chunk async for chunk in self._chunks()]
        return b"".join(parts)

    read = bytes
    array_buffer = bytes

    async def text(self, encoding: str = "utf-8") -> str:
        """Read the whole body as text (UTF-8 with replacement, as the Fetch API decodes)."""
        return (await self.bytes()).decode(encoding, errors="replace")

    async def json(self) -> Any:
        """Read the whole body as JSON."""
        return _json.loads(await self.bytes())


class Request(_Body):
    """A request: ``Request(url, method="GET", headers=None, body=None)``."""

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: HeadersInit = None,
        body: BodyInit = None,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"Request: url must be a string, not {type(url).__name__}")
        if not isinstance(method, str) or not method or not method.isascii():
            raise TypeError(f"Request: method must be a non-empty string, not {method!r}")
        self.url = url
        upper = method.upper()
        # Fetch normalises only these methods' case.
        self.method = upper if upper in ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT") else method
        self.headers = make_headers(headers, "Request: headers")
        if body is not None and self.method in ("GET", "HEAD"):
            raise TypeError("Request with GET/HEAD method cannot have body.")
        self._init_body(body, "Request")

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class Response(_Body):
    """A response: ``Response(body=None, status=200, status_text="", headers=None)``."""

    def __init__(
        self,
        body: BodyInit = None,
        *,
        status: int = 200,
        status_text: str = "",
        headers: HeadersInit = None,
    ) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            if not (isinstance(status, int) and status in (101, 103)):
                raise ValueError(f"Response: status must be an integer from 200 to 599, not {status!r}")
        if not isinstance(status_text, str):
            raise TypeError(f"Response: status_text must be a string, not {type(status_text).__name__}")
        self.status = status
        self.status_text = status_text
        self.headers = make_headers(headers, "Response: headers")
        self.url = ""
        self.redirected = False
        self.url_chain: list[str] = []
        self.type = "default"
        self.from_cache = False
        self._remote: Any = None
        self._release: Any = None
        self._init_body(body, "Response")

    @classmethod
    def error(cls) -> Response:
        """Return a network-error response (a protocol handler returning it fails the request)."""
        response = cls()
        response.type = "error"
        response.status = 0
        return response

    @property
    def remote_address(self) -> str | None:
        """The IP address of the server that answered (``None`` when not from the network)."""
        remote = self._remote
        if remote is None or type(remote) is str:
            return remote
        # A network response keeps its connection's protocol; the peer is read on demand.
        transport = getattr(getattr(remote, "_protocol", None), "transport", None)
        peer = transport.get_extra_info("peername") if transport is not None else None
        address = str(peer[0]) if peer else None
        self._remote = address
        return address

    @remote_address.setter
    def remote_address(self, value: str | None) -> None:
        self._remote = value

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299

    def _set_stream(self, stream: AsyncIterable[bytes] | None, release: Any = None) -> None:
        self._data = None
        self._stream = stream
        self._release = release

    def close(self) -> None:
        """Release the connection behind an unread body."""
        release, self._release = self._release, None
        if release is not None:
            release()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.url}>"


class RequestState:
    """What the pipeline knows about one request as it moves through the lifecycle."""

    __slots__ = (
        "id", "session", "method", "url", "headers", "body", "redirect_mode", "credentials",
        "cache_mode", "referrer", "resource_type", "url_chain", "timestamp", "signal",
        "bypass_custom_protocol_handlers", "from_cache", "cache_validating", "net_source", "ip",
        "load_flags", "upload_data", "has_origin", "deadline", "extra",
    )

    def __init__(
        self, request_id: int, session: Any, method: str, url: str,
        headers: CIMultiDict[str] | None = None,
    ) -> None:
        self.id = request_id
        self.session = session
        self.method = method
        self.url = url
        self.headers: CIMultiDict[str] = CIMultiDict() if headers is None else headers
        self.body: bytes | AsyncIterable[bytes] | None = None
        self.redirect_mode = "follow"
        self.credentials = "same-origin"
        self.cache_mode = "default"
        self.referrer = ""
        self.resource_type = "other"
        self.url_chain: list[str] = [url]
        self.timestamp = 0.0
        self.signal: Any = None
        self.bypass_custom_protocol_handlers = False
        self.from_cache = False
        # True while the HTTP cache sends the hop with validators of its own (a revalidation).
        self.cache_validating = False
        self.net_source: Any = None
        self.ip: str | None = None
        self.load_flags = 0
        self.upload_data: list[dict[str, Any]] | None = None
        self.has_origin = False
        self.deadline: float | None = None
        self.extra: dict[str, Any] = {}


def raise_for_network_error(response: Response) -> None:
    """Turn an error response from a protocol handler into ``net::ERR_FAILED``."""
    if response.type == "error":
        raise NetError("ERR_FAILED")
