"""``ses.web_request``: the eight hooks of Electron's WebRequest, with filters matched in one pass.

Each event has at most one listener (a new one replaces the old; ``None`` removes it). The
filters of all eight listeners live in one native URL pattern set: a request's URL is matched
once and the resulting bit mask says which listeners apply (bit ``2e`` for event ``e``'s
``urls``, bit ``2e+1`` for its ``exclude_urls``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from multidict import CIMultiDict

from ._errors import NetError
from ._handlers import ask
from ._http import RequestState, Response, valid_header
from ._impl import core
from ._naming import CamelAliases, snake_case
from ._structures import Structure, field, structure

log = logging.getLogger("websession")

EVENTS = (
    "on_before_request",
    "on_before_send_headers",
    "on_send_headers",
    "on_headers_received",
    "on_response_started",
    "on_before_redirect",
    "on_completed",
    "on_error_occurred",
)
(BEFORE_REQUEST, BEFORE_SEND_HEADERS, SEND_HEADERS, HEADERS_RECEIVED, RESPONSE_STARTED,
 BEFORE_REDIRECT, COMPLETED, ERROR_OCCURRED) = range(8)

FILTER_TYPES = frozenset((
    "mainFrame", "subFrame", "stylesheet", "script", "image", "font", "object", "xhr", "ping",
    "cspReport", "media", "webSocket",
))


@structure
class UploadData(Structure):
    """One part of a request body as webRequest reports it."""

    bytes: Any = field(default=None)
    file: str | None = field(default=None)
    blob_uuid: str | None = field(key="blobUUID", default=None)


@structure
class WebRequestDetails(Structure):
    """The ``details`` a webRequest listener receives; fields absent for an event are ``None``."""

    id: int = 0
    url: str = ""
    method: str = ""
    resource_type: str = "other"
    referrer: str = ""
    timestamp: float = 0.0
    web_contents_id: int | None = field(default=None)
    upload_data: list[UploadData] | None = field(default=None)
    request_headers: dict[str, str] | None = field(default=None)
    response_headers: dict[str, list[str]] | None = field(default=None)
    status_line: str | None = field(default=None)
    status_code: int | None = field(default=None)
    ip: str | None = field(default=None)
    from_cache: bool | None = field(default=None)
    redirect_url: str | None = field(key="redirectURL", default=None)
    error: str | None = field(default=None)
    frame: Any = field(default=None)


# _SQUEEZE[b] gathers the even bits of a byte (event e's "urls" bit 2e) into bits 0..3.
_SQUEEZE = tuple(sum(1 << k for k in range(4) if b >> (2 * k) & 1) for b in range(256))


class _Listener:
    __slots__ = ("fn", "types")

    def __init__(self, fn: Callable[..., Any], types: frozenset[str]) -> None:
        self.fn = fn
        self.types = types


def _parse_filter(filt: Any) -> tuple[list[str], list[str], frozenset[str]]:
    if isinstance(filt, Structure):
        filt = filt.to_dict()
    if not isinstance(filt, Mapping):
        raise TypeError("Parameter 'filter' must be an object with property 'urls'.")
    keys = {snake_case(k): v for k, v in filt.items()}
    unknown = set(keys) - {"urls", "exclude_urls", "types"}
    if unknown:
        raise TypeError(f"WebRequestFilter: unknown property '{sorted(unknown)[0]}'")
    if "urls" not in keys:
        raise TypeError("Parameter 'filter' must have property 'urls'.")
    urls = _string_list(keys["urls"], "urls")
    if not urls:
        warnings.warn(
            "The urls array in WebRequestFilter is empty, which is deprecated. Please use "
            "'<all_urls>' to match all URLs.",
            DeprecationWarning,
            stacklevel=4,
        )
    excludes = _string_list(keys.get("exclude_urls", []), "excludeUrls")
    types = _string_list(keys.get("types", []), "types")
    for t in types:
        if t not in FILTER_TYPES:
            raise TypeError(f"Invalid type {t}")
    return urls, excludes, frozenset(types)


def _string_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"WebRequestFilter: '{name}' must be a list of strings")
    for v in value:
        if not isinstance(v, str):
            raise TypeError(f"WebRequestFilter: '{name}' must be a list of strings, found {v!r}")
    return list(value)


def _header_dict(headers: CIMultiDict[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name in out:
            out[name] = f"{out[name]}, {value}"
        else:
            out[name] = value
    return out


def _response_header_dict(headers: CIMultiDict[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers.items():
        out.setdefault(name, []).append(value)
    return out


def status_line(response: Response) -> str:
    reason = response.status_text
    return f"HTTP/1.1 {response.status} {reason}" if reason else f"HTTP/1.1 {response.status}"


def _answer(answer: Any, what: str) -> dict[str, Any]:
    if answer is None:
        return {}
    if isinstance(answer, Structure):
        answer = answer.to_dict()
    if not isinstance(answer, Mapping):
        log.error("%s listener answered %r, not a dict; the request continues unchanged", what, answer)
        return {}
    return {snake_case(k): v for k, v in answer.items()}


class WebRequest(CamelAliases):
    """The session's request hooks: ``on_before_request([filter, ]listener)`` and seven more."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._listeners: list[_Listener | None] = [None] * 8
        self._patterns = core("urlpattern").URLPatternSet()
        self._always = 0
        self._present = 0
        self.active = False

    # -- registration ------------------------------------------------------------------------

    def _set(self, event: int, args: tuple[Any, ...]) -> None:
        if len(args) == 1:
            filt, fn = None, args[0]
        elif len(args) == 2:
            filt, fn = args
        else:
            raise TypeError(f"{EVENTS[event]}([filter, ]listener) takes 1 or 2 arguments, got {len(args)}")
        if fn is not None and not callable(fn):
            raise TypeError("Must pass null or a Function")
        if fn is None:
            self._listeners[event] = None
            self._patterns.remove_tag(2 * event)
            self._patterns.remove_tag(2 * event + 1)
            self._always &= ~(1 << (2 * event))
        else:
            urls, excludes, types = _parse_filter(filt) if filt is not None else ([], [], frozenset())
            self._replace_patterns(event, urls, excludes)
            self._listeners[event] = _Listener(fn, types)
        self.active = any(x is not None for x in self._listeners)
        self._present = sum(1 << e for e, x in enumerate(self._listeners) if x is not None)

    def _replace_patterns(self, event: int, urls: list[str], excludes: list[str]) -> None:
        include, exclude = 2 * event, 2 * event + 1
        fresh = core("urlpattern").URLPatternSet()
        # Chromium validates the de-duplicated patterns in sorted order (std::set), so the
        # error names the lexicographically first bad pattern.
        for pattern in sorted(set(urls) | set(excludes)):
            try:
                fresh.add(pattern, 0)
            except ValueError as exc:
                raise TypeError(f"Invalid url pattern {pattern}: {exc}") from None
        self._patterns.remove_tag(include)
        self._patterns.remove_tag(exclude)
        self._always &= ~(1 << include)
        if not urls:
            self._always |= 1 << include
        for pattern in urls:
            self._patterns.add(pattern, include)
        for pattern in excludes:
            self._patterns.add(pattern, exclude)

    def on_before_request(self, *args: Any) -> None:
        """Hook a request before it starts: ``{"cancel": True}`` or ``{"redirect_url": u}``."""
        self._set(BEFORE_REQUEST, args)

    def on_before_send_headers(self, *args: Any) -> None:
        """Hook the request headers: ``{"request_headers": {...}}`` replaces them all."""
        self._set(BEFORE_SEND_HEADERS, args)

    def on_send_headers(self, *args: Any) -> None:
        """Observe the headers just before they are sent."""
        self._set(SEND_HEADERS, args)

    def on_headers_received(self, *args: Any) -> None:
        """Hook the response headers: ``response_headers``, ``status_line``, ``cancel``."""
        self._set(HEADERS_RECEIVED, args)

    def on_response_started(self, *args: Any) -> None:
        """Observe the first byte of the response body."""
        self._set(RESPONSE_STARTED, args)

    def on_before_redirect(self, *args: Any) -> None:
        """Observe a redirect about to be followed."""
        self._set(BEFORE_REDIRECT, args)

    def on_completed(self, *args: Any) -> None:
        """Observe a request that completed."""
        self._set(COMPLETED, args)

    def on_error_occurred(self, *args: Any) -> None:
        """Observe a request that failed."""
        self._set(ERROR_OCCURRED, args)

    # -- dispatch (called by the pipeline) ------------------------------------------------------

    def match(self, url: str) -> int:
        """Return the bit mask of events whose filter matches ``url`` (bit ``e`` for event ``e``)."""
        bits = self._patterns.match_mask(url) | self._always
        included = bits & ~(bits >> 1) & 0x5555
        mask: int = (_SQUEEZE[included & 0xFF] | _SQUEEZE[included >> 8 & 0xFF] << 4) & self._present
        return mask

    def _listener(self, event: int, state: RequestState, mask: int) -> _Listener | None:
        if not mask >> event & 1:
            return None
        listener = self._listeners[event]
        if listener is None:
            return None
        if listener.types and state.resource_type not in listener.types:
            return None
        return listener

    @staticmethod
    def _details(state: RequestState, **extra: Any) -> WebRequestDetails:
        return WebRequestDetails(
            id=state.id, url=state.url, method=state.method, resource_type=state.resource_type,
            referrer=state.referrer, timestamp=time.time() * 1000.0, **extra,
        )

    async def before_request(self, state: RequestState, mask: int) -> str | None:
        """Run ``onBeforeRequest``; return a redirect URL, raise on cancel."""
        listener = self._listener(BEFORE_REQUEST, state, mask)
        if listener is None:
            return None
        details = self._details(state, upload_data=_upload_data(state))
        answer = _answer(await ask(listener.fn, details, default=None, what="onBeforeRequest"), "onBeforeRequest")
        if answer.get("cancel"):
            raise NetError("ERR_BLOCKED_BY_CLIENT")
        redirect = answer.get("redirect_url")
        if isinstance(redirect, str) and redirect and redirect != state.url:
            return redirect
        return None

    async def before_send_headers(self, state: RequestState, mask: int) -> None:
        """Run ``onBeforeSendHeaders``; apply replaced headers, raise on cancel."""
        listener = self._listener(BEFORE_SEND_HEADERS, state, mask)
        if listener is None:
            return
        details = self._details(state, upload_data=_upload_data(state), request_headers=_header_dict(state.headers))
        answer = _answer(await ask(listener.fn, details, default=None, what="onBeforeSendHeaders"), "onBeforeSendHeaders")
        if answer.get("cancel"):
            raise NetError("ERR_BLOCKED_BY_CLIENT")
        replaced = answer.get("request_headers")
        if isinstance(replaced, Mapping):
            headers: CIMultiDict[str] = CIMultiDict()
            for name, value in replaced.items():
                if isinstance(value, (list, tuple)):
                    value = ", ".join(str(v) for v in value)
                if isinstance(name, str) and isinstance(value, (str, int, float)) and valid_header(name, str(value)):
                    headers[name] = str(value)
            state.headers = headers

    def send_headers(self, state: RequestState, mask: int) -> None:
        """Run ``onSendHeaders``."""
        listener = self._listener(SEND_HEADERS, state, mask)
        if listener is not None:
            self._observe(listener, self._details(state, request_headers=_header_dict(state.headers)))

    async def headers_received(self, state: RequestState, response: Response, mask: int) -> None:
        """Run ``onHeadersReceived``; apply replaced headers or status line, raise on cancel."""
        listener = self._listener(HEADERS_RECEIVED, state, mask)
        if listener is None:
            return
        details = self._details(
            state, status_line=status_line(response), status_code=response.status,
            response_headers=_response_header_dict(response.headers),
        )
        answer = _answer(await ask(listener.fn, details, default=None, what="onHeadersReceived"), "onHeadersReceived")
        if answer.get("cancel"):
            raise NetError("ERR_BLOCKED_BY_CLIENT")
        replaced = answer.get("response_headers")
        if isinstance(replaced, Mapping):
            headers: CIMultiDict[str] = CIMultiDict()
            for name, value in replaced.items():
                for v in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(name, str) and isinstance(v, (str, int, float)) and valid_header(name, str(v)):
                        headers.add(name, str(v))
            response.headers = headers
        line = answer.get("status_line")
        if isinstance(line, str):
            parts = line.split(" ", 2)
            if len(parts) >= 2 and parts[1].isdigit():
                response.status = int(parts[1])
                response.status_text = parts[2] if len(parts) > 2 else ""

    def response_started(self, state: RequestState, response: Response, mask: int) -> None:
        """Run ``onResponseStarted``."""
        listener = self._listener(RESPONSE_STARTED, state, mask)
        if listener is not None:
            self._observe(listener, self._response_details(state, response))

    def before_redirect(self, state: RequestState, response: Response, location: str, mask: int) -> None:
        """Run ``onBeforeRedirect``."""
        listener = self._listener(BEFORE_REDIRECT, state, mask)
        if listener is not None:
            self._observe(listener, self._response_details(state, response, redirect_url=location))

    def completed(self, state: RequestState, response: Response, mask: int) -> None:
        """Run ``onCompleted``."""
        listener = self._listener(COMPLETED, state, mask)
        if listener is not None:
            self._observe(listener, self._response_details(state, response, error="net::OK"))

    def error_occurred(self, state: RequestState, error: NetError, mask: int) -> None:
        """Run ``onErrorOccurred``."""
        listener = self._listener(ERROR_OCCURRED, state, mask)
        if listener is not None:
            self._observe(listener, self._details(state, from_cache=state.from_cache, error=error.name, ip=state.ip))

    def _response_details(self, state: RequestState, response: Response, **extra: Any) -> WebRequestDetails:
        return self._details(
            state, status_line=status_line(response), status_code=response.status,
            response_headers=_response_header_dict(response.headers), from_cache=response.from_cache,
            ip=state.ip, **extra,
        )

    @staticmethod
    def _observe(listener: _Listener, details: WebRequestDetails) -> None:
        try:
            result = listener.fn(details)
        except Exception:
            log.exception("webRequest listener raised")
            return
        if hasattr(result, "__await__"):
            asyncio.ensure_future(result)


def _upload_data(state: RequestState) -> list[UploadData] | None:
    if state.body is None:
        return None
    if isinstance(state.body, (bytes, bytearray)):
        return [UploadData(bytes=bytes(state.body))]
    return [UploadData(bytes=b"")]
