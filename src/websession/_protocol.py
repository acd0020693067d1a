"""``ses.protocol``: custom schemes and intercepted built-in ones, plus the ``file:`` scheme.

``handle(scheme, fn)`` takes a handler that receives a :class:`Request` and returns a
:class:`Response` (or an awaitable of one). The deprecated ``register*Protocol`` /
``intercept*Protocol`` families keep Electron's callback shapes.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import mimetypes
import os
import re
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from ._errors import NetError, SessionError
from ._handlers import ask
from ._http import Request, RequestState, Response, make_headers
from ._naming import CamelAliases, snake_case
from ._structures import Structure, field, structure

log = logging.getLogger("websession")

BUILTIN_SCHEMES = frozenset(("http", "https", "file"))
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*$")
_LEGACY_KINDS = ("file", "buffer", "string", "http", "stream")
_FILE_CHUNK = 256 * 1024


@structure
class ProtocolRequest(Structure):
    """What a deprecated ``register*Protocol`` handler receives."""

    url: str = ""
    referrer: str = ""
    method: str = "GET"
    headers: dict[str, str] = field(default=None)
    upload_data: list[Any] | None = field(default=None)


def _check_scheme(scheme: object) -> str:
    if not isinstance(scheme, str) or not _SCHEME.match(scheme):
        raise TypeError(f"scheme must be a URL scheme such as 'app' or 'https', not {scheme!r}")
    return scheme.lower()


class _Entry:
    __slots__ = ("kind", "fn")

    def __init__(self, kind: str, fn: Callable[..., Any]) -> None:
        self.kind = kind
        self.fn = fn


class Protocol(CamelAliases):
    """The session's protocol handlers."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._registered: dict[str, _Entry] = {}
        self._intercepted: dict[str, _Entry] = {}

    # -- protocol.handle -------------------------------------------------------------------------

    def handle(self, scheme: str, handler: Callable[[Request], Any]) -> None:
        """Answer every request for ``scheme`` with ``handler(request) -> Response``."""
        scheme = _check_scheme(scheme)
        if not callable(handler):
            raise TypeError("handler must be a function")
        table = self._intercepted if scheme in BUILTIN_SCHEMES else self._registered
        if scheme in table:
            raise SessionError(f"Failed to register protocol: {scheme}")
        table[scheme] = _Entry("handle", handler)

    def unhandle(self, scheme: str) -> None:
        """Remove the handler installed by :meth:`handle`."""
        scheme = _check_scheme(scheme)
        table = self._intercepted if scheme in BUILTIN_SCHEMES else self._registered
        entry = table.get(scheme)
        if entry is None or entry.kind != "handle":
            raise SessionError(f"Failed to unhandle protocol: {scheme}")
        del table[scheme]

    def is_protocol_handled(self, scheme: str) -> bool:
        """Tell whether :meth:`handle` (or a deprecated registration) serves ``scheme``."""
        scheme = _check_scheme(scheme)
        return scheme in self._registered or scheme in self._intercepted

    # -- the deprecated families --------------------------------------------------------------

    def _register(self, table: dict[str, _Entry], kind: str, scheme: str, handler: Any) -> bool:
        scheme = _check_scheme(scheme)
        if not callable(handler):
            raise TypeError("handler must be a function")
        if scheme in table:
            return False
        table[scheme] = _Entry(kind, handler)
        return True

    def register_file_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Serve ``scheme`` from files: the handler calls back with a path or ``{"path": ...}``."""
        return self._register(self._registered, "file", scheme, handler)

    def register_buffer_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Serve ``scheme`` from bytes: the handler calls back with bytes or ``{"data": ...}``."""
        return self._register(self._registered, "buffer", scheme, handler)

    def register_string_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Serve ``scheme`` from strings: the handler calls back with a str or ``{"data": ...}``."""
        return self._register(self._registered, "string", scheme, handler)

    def register_http_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Serve ``scheme`` by fetching another URL: the handler calls back with ``{"url": ...}``."""
        return self._register(self._registered, "http", scheme, handler)

    def register_stream_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Serve ``scheme`` from a stream: an async iterable, a binary file or ``{"data": ...}``."""
        return self._register(self._registered, "stream", scheme, handler)

    def unregister_protocol(self, scheme: str) -> bool:
        """Remove a registration; ``False`` when there was none."""
        return self._registered.pop(_check_scheme(scheme), None) is not None

    def is_protocol_registered(self, scheme: str) -> bool:
        """Tell whether ``scheme`` has a registered handler."""
        return _check_scheme(scheme) in self._registered

    def intercept_file_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Intercept ``scheme`` with a file handler."""
        return self._register(self._intercepted, "file", scheme, handler)

    def intercept_buffer_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Intercept ``scheme`` with a buffer handler."""
        return self._register(self._intercepted, "buffer", scheme, handler)

    def intercept_string_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Intercept ``scheme`` with a string handler."""
        return self._register(self._intercepted, "string", scheme, handler)

    def intercept_http_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Intercept ``scheme`` with an HTTP handler."""
        return self._register(self._intercepted, "http", scheme, handler)

    def intercept_stream_protocol(self, scheme: str, handler: Callable[..., Any]) -> bool:
        """Intercept ``scheme`` with a stream handler."""
        return self._register(self._intercepted, "stream", scheme, handler)

    def unintercept_protocol(self, scheme: str) -> bool:
        """Remove an interception; ``False`` when there was none."""
        return self._intercepted.pop(_check_scheme(scheme), None) is not None

    def is_protocol_intercepted(self, scheme: str) -> bool:
        """Tell whether ``scheme`` is intercepted."""
        return _check_scheme(scheme) in self._intercepted

    # -- serving (called by the pipeline) ----------------------------------------------------------

    def lookup(self, scheme: str) -> _Entry | None:
        """Return the entry that serves ``scheme``, interceptions first."""
        return self._intercepted.get(scheme) or self._registered.get(scheme)

    async def respond(self, entry: _Entry, state: RequestState) -> Response:
        """Ask ``entry``'s handler for the response to ``state``."""
        if entry.kind == "handle":
            return await self._respond_handle(entry.fn, state)
        return await self._respond_legacy(entry, state)

    async def _respond_handle(self, fn: Callable[[Request], Any], state: RequestState) -> Response:
        headers = make_headers(state.headers)
        if headers.get("Origin") == "null":
            del headers["Origin"]
        body = state.body if state.method not in ("GET", "HEAD") else None
        request = Request(state.url, method=state.method, headers=headers, body=body)
        try:
            result = fn(request)
            if inspect.isawaitable(result):
                result = await result
        except NetError:
            raise
        except Exception as exc:
            log.exception("protocol handler for %s raised", state.url)
            raise NetError("ERR_UNEXPECTED", f"the protocol handler raised {type(exc).__name__}") from exc
        if not isinstance(result, Response):
            raise NetError(
                "ERR_UNEXPECTED", f"the protocol handler returned {type(result).__name__}, not a Response"
            )
        if result.type == "error":
            raise NetError("ERR_FAILED")
        return result

    async def _respond_legacy(self, entry: _Entry, state: RequestState) -> Response:
        request = ProtocolRequest(
            url=state.url, referrer=state.referrer, method=state.method,
            headers={k: v for k, v in state.headers.items()},
            upload_data=[{"bytes": state.body}] if isinstance(state.body, bytes) else None,
        )
        answer = await ask(entry.fn, request, default=None, what=f"{entry.kind} protocol handler")
        return await self._legacy_response(entry.kind, answer, state)

    async def _legacy_response(self, kind: str, answer: Any, state: RequestState) -> Response:
        if isinstance(answer, Structure):
            answer = answer.to_dict()
        spec: dict[str, Any] = {}
        if isinstance(answer, Mapping):
            spec = {snake_case(k): v for k, v in answer.items()}
        elif kind in ("file",) and isinstance(answer, (str, os.PathLike)):
            spec = {"path": os.fspath(answer)}
        elif kind == "http" and isinstance(answer, str):
            spec = {"url": answer}
        elif answer is not None:
            spec = {"data": answer}
        if isinstance(spec.get("error"), int) and spec["error"] != 0:
            raise NetError(spec["error"])
        status = spec.get("status_code", 200)
        headers = make_headers(
            {k: ", ".join(v) if isinstance(v, (list, tuple)) else v for k, v in (spec.get("headers") or {}).items()}
        )
        if kind == "http":
            return await self._upstream(spec, state)
        if kind != "stream":
            # Electron gives registered string/buffer/file responses a permissive CORS header.
            headers.setdefault("Access-Control-Allow-Origin", "*")
        if kind == "file":
            path = spec.get("path")
            if not isinstance(path, str) or not os.path.isabs(path):
                raise NetError("ERR_FILE_NOT_FOUND" if path is None else "ERR_INVALID_URL")
            file_response = await serve_file(Path(path), state.method)
            for name, value in headers.items():
                file_response.headers[name] = value
            file_response.status = status
            return file_response
        data = spec.get("data")
        if "content-type" not in headers:
            mime = spec.get("mime_type") or "text/html"
            charset = spec.get("charset") or ("utf-8" if kind == "string" else None)
            headers["Content-Type"] = f"{mime}; charset={charset}" if charset else mime
        if kind == "string" and data is not None and not isinstance(data, str):
            raise NetError("ERR_UNEXPECTED", "a string protocol handler must answer a str")
        if kind == "buffer" and data is not None and not isinstance(data, (bytes, bytearray, memoryview, str)):
            raise NetError("ERR_UNEXPECTED", "a buffer protocol handler must answer bytes")
        if kind == "stream" and data is None:
            raise NetError("ERR_UNEXPECTED", "a stream protocol handler answered no stream")
        try:
            return Response(data, status=status, headers=headers)
        except (TypeError, ValueError) as exc:
            raise NetError("ERR_UNEXPECTED", str(exc)) from exc

    async def _upstream(self, spec: dict[str, Any], state: RequestState) -> Response:
        url = spec.get("url")
        if not isinstance(url, str):
            raise NetError("ERR_UNEXPECTED", "an http protocol handler must answer a url")
        session = spec.get("session") or self._session
        method = spec.get("method") or state.method
        upload = spec.get("upload_data")
        body = None
        if isinstance(upload, Mapping):
            body = upload.get("data")
        response: Response = await session.fetch(
            url, method=method, body=body, referrer=spec.get("referrer") or state.referrer or None,
            bypass_custom_protocol_handlers=session is self._session,
        )
        return response


async def serve_file(path: Path, method: str = "GET") -> Response:
    """Serve a local file (or a directory listing) as a ``file:`` URL loader does."""
    try:
        info = await asyncio.to_thread(os.stat, path)
    except FileNotFoundError:
        raise NetError("ERR_FILE_NOT_FOUND") from None
    except PermissionError:
        raise NetError("ERR_ACCESS_DENIED") from None
    except OSError as exc:
        raise NetError("ERR_FILE_NOT_FOUND", str(exc)) from None
    if os.path.isdir(path):
        return Response(await asyncio.to_thread(_listing, path), headers={"Content-Type": "text/html; charset=utf-8"})
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(headers={"Content-Type": mime, "Content-Length": str(info.st_size)})
    if method != "HEAD":
        response._set_stream(_read_file(path))
    return response


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    try:
        handle = await asyncio.to_thread(open, path, "rb")
    except PermissionError:
        raise NetError("ERR_ACCESS_DENIED") from None
    except OSError:
        raise NetError("ERR_FILE_NOT_FOUND") from None
    try:
        while True:
            chunk = await asyncio.to_thread(handle.read, _FILE_CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        handle.close()


def _listing(path: Path) -> str:
    rows = []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        name = entry.name + ("/" if entry.is_dir() else "")
        rows.append(f'<li><a href="{urllib.parse.quote(name)}">{html.escape(name)}</a></li>')
    title = html.escape(str(path))
    return f"<!DOCTYPE html><title>Index of {title}</title><h1>Index of {title}</h1><ul>{''.join(rows)}</ul>"


def file_url_to_path(url: str) -> Path:
    """Return the local path of a ``file:`` URL."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.netloc not in ("", "localhost"):
        raise NetError("ERR_FILE_NOT_FOUND", "file URLs on other hosts are not served")
    return Path(urllib.parse.unquote(parsed.path) or "/")
