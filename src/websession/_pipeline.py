"""The request lifecycle every fetch, download and dictionary download goes through.

Read top-down: ``fetch`` validates its arguments and runs ``_run`` under the caller's
timeout and abort signal; ``_run`` loops over redirect hops; ``_one_hop`` takes one URL
through webRequest, the protocol handlers, cookies, the cache and the network, in Chromium's
order (DESIGN.md, "The request lifecycle").
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Coroutine, Mapping
from typing import Any

import yarl

from ._auth import remember_url_credentials
from ._cache_policy import apply_mode_headers
from ._errors import NetError, SessionError
from ._http import NULL_BODY_STATUSES, Request, RequestState, Response, make_headers
from ._naming import snake_case
from ._net_log import recorder_for
from ._protocol import file_url_to_path, serve_file

MAX_REDIRECTS = 20
_REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_HTTP_SCHEMES = frozenset(("http", "https"))
_UNSAFE_REDIRECT_SCHEMES = frozenset(("file", "data", "about", "blob", "filesystem", "javascript"))
_ACCEPT_ENCODING = "gzip, deflate, br, zstd"

_INIT_KEYS = frozenset((
    "method", "headers", "body", "redirect", "credentials", "cache", "signal", "timeout",
    "referrer", "referrer_policy", "mode", "integrity", "keepalive", "priority", "duplex",
    "bypass_custom_protocol_handlers", "window", "origin",
))
_REDIRECT_MODES = ("follow", "error", "manual")
_CREDENTIALS = ("omit", "same-origin", "include")
CACHE_MODES = ("default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached")


# -- arguments -------------------------------------------------------------------------------


_canonical: dict[str, tuple[str, str]] = {}
_CANONICAL_CACHE_SIZE = 4096


def canonical_url(url: str) -> tuple[str, str]:
    """Return ``(url, scheme)`` canonicalised as Chromium's GURL does for the scheme's kind."""
    found = _canonical.get(url)
    if found is None:
        found = _canonicalise(url)
        if len(_canonical) >= _CANONICAL_CACHE_SIZE:
            _canonical.clear()
        _canonical[url] = found
    return found


def clear_canonical_cache() -> None:
    """Forget canonicalised URLs (a scheme became standard)."""
    _canonical.clear()


def _canonicalise(url: str) -> tuple[str, str]:
    match = _SCHEME.match(url)
    if match is None:
        raise TypeError(f"fetch: invalid URL {url!r}: no scheme")
    scheme = match.group(1).lower()
    if scheme in _HTTP_SCHEMES or scheme in ("ws", "wss", "ftp") or scheme in STANDARD_SCHEMES:
        try:
            parsed = yarl.URL(url.strip())
        except (ValueError, TypeError) as exc:
            raise TypeError(f"fetch: invalid URL {url!r}: {exc}") from None
        if not parsed.host:
            raise TypeError(f"fetch: invalid URL {url!r}: no host")
        if "@" in url and (parsed.user is not None or parsed.password is not None):
            parsed = parsed.with_user(None)
        if not parsed.raw_path:
            parsed = parsed.with_path("/")
        if "#" in url:
            parsed = parsed.with_fragment(None)
        text = str(parsed)
        if scheme not in _HTTP_SCHEMES:
            # yarl leaves the implied "/" out for schemes it does not know; GURL writes it.
            start = len(scheme) + 3
            ends = [i for i in (text.find("?", start), text.find("#", start)) if i >= 0]
            end = min(ends) if ends else len(text)
            if "/" not in text[start:end]:
                text = text[:end] + "/" + text[end:]
        return text, scheme
    if scheme == "file":
        return url.split("#", 1)[0], scheme
    return url, scheme


# Custom schemes registered as standard (``protocol.register_schemes_as_privileged``) are parsed
# like http: host lowercased, path defaulted to "/".
STANDARD_SCHEMES: set[str] = set()


def _init(init: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in init.items():
        name = snake_case(key)
        if name not in _INIT_KEYS:
            raise TypeError(f"fetch: unknown option '{key}'")
        out[name] = value
    return out


def _choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise TypeError(f"fetch: option '{name}' must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def build_state(session: Any, input: str | Request, init: Mapping[str, Any]) -> RequestState:
    """Validate ``fetch``'s arguments into the state of a new request."""
    if not init and type(input) is str:
        # The crawler's common call, fetch(url): no options to read.
        url, scheme = canonical_url(input)
        state = RequestState(session._next_request_id(), session, "GET", url, session._default_headers.copy())
        state.timestamp = time.time() * 1000.0
        state.extra["scheme"] = scheme
        if "@" in input:
            remember_url_credentials(state, input)
        return state
    opts = _init(init) if init else {}
    if isinstance(input, Request):
        url, method, headers, body = input.url, input.method, input.headers, None
        if input.body is not None and "body" not in opts:
            body = input._data if input._data is not None else input._stream
    elif isinstance(input, str):
        url, method, headers, body = input, "GET", None, None
    else:
        raise TypeError(f"fetch: input must be a URL string or a Request, not {type(input).__name__}")
    url, scheme = canonical_url(url)
    if "method" in opts:
        m = opts["method"]
        if not isinstance(m, str) or not m:
            raise TypeError(f"fetch: option 'method' must be a non-empty string, not {m!r}")
        method = m.upper() if m.upper() in ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT") else m
    state = RequestState(session._next_request_id(), session, method, url)
    state.timestamp = time.time() * 1000.0
    given = opts["headers"] if "headers" in opts else headers
    if given is None:
        state.headers = session._default_headers.copy()
    else:
        state.headers = make_headers(given, "fetch: headers")
        for name, value in session._default_headers.items():
            if name not in state.headers:
                state.headers[name] = value
    if "body" in opts:
        body = opts["body"]
    if body is not None:
        if method in ("GET", "HEAD"):
            raise TypeError("fetch: a GET or HEAD request cannot have a body")
        checked = Request("http://body.invalid/", method="POST", body=body)
        body = checked._data if checked._data is not None else checked._stream
    state.body = body
    if "redirect" in opts:
        state.redirect_mode = _choice(opts["redirect"], _REDIRECT_MODES, "redirect")
    if "credentials" in opts:
        state.credentials = _choice(opts["credentials"], _CREDENTIALS, "credentials")
    if "cache" in opts:
        state.cache_mode = _choice(opts["cache"], CACHE_MODES, "cache")
    if opts.get("referrer"):
        ref = opts["referrer"]
        if not isinstance(ref, str):
            raise TypeError("fetch: option 'referrer' must be a string")
        if ref != "about:client":
            state.referrer = canonical_url(ref)[0]
    if "bypass_custom_protocol_handlers" in opts:
        flag = opts["bypass_custom_protocol_handlers"]
        if not isinstance(flag, bool):
            raise TypeError("fetch: option 'bypassCustomProtocolHandlers' must be a bool")
        state.bypass_custom_protocol_handlers = flag
    signal = opts.get("signal")
    if signal is not None and not callable(getattr(signal, "is_set", None)):
        raise TypeError("fetch: option 'signal' must have an is_set() method (an asyncio.Event)")
    state.signal = signal
    timeout = opts.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise TypeError(f"fetch: option 'timeout' must be a positive number of seconds, not {timeout!r}")
        state.deadline = time.monotonic() + float(timeout)
    state.has_origin = "origin" in state.headers
    state.extra["scheme"] = scheme
    remember_url_credentials(state, input)
    return state


# -- the lifecycle ---------------------------------------------------------------------------


def fetch(session: Any, input: str | Request, init: Mapping[str, Any]) -> Coroutine[Any, Any, Response]:
    """Validate a request and return the coroutine that runs it through the pipeline."""
    state = build_state(session, input, init)
    rec = recorder_for(session.net_log)
    if rec.active:
        state.net_source = rec.request_log(rec, state)
    if state.signal is None and state.deadline is None:
        return _run(session, state)
    return _guarded(session, state)


async def _guarded(session: Any, state: RequestState) -> Response:
    if state.signal is not None and state.signal.is_set():
        raise NetError("ERR_ABORTED")
    task = asyncio.ensure_future(_run(session, state))
    waiters: list[asyncio.Future[Any]] = [task]
    watcher = asyncio.ensure_future(_wait_signal(state.signal)) if state.signal is not None else None
    if watcher is not None:
        waiters.append(watcher)
    try:
        remaining = None if state.deadline is None else max(0.0, state.deadline - time.monotonic())
        done, _ = await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
    if task in done:
        response = task.result()
        if state.deadline is not None or state.signal is not None:
            response._stream = _guard_body(response._stream, state) if response._stream is not None else None
        return response
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    error = NetError("ERR_ABORTED") if watcher is not None and watcher in done else NetError("ERR_TIMED_OUT")
    _report_error(session, state, error)
    raise error


async def _wait_signal(signal: Any) -> None:
    wait = getattr(signal, "wait", None)
    if wait is not None and asyncio.iscoroutinefunction(wait):
        await wait()
        return
    while not signal.is_set():
        await asyncio.sleep(0.02)


async def _guard_body(stream: AsyncIterable[bytes], state: RequestState) -> AsyncIterator[bytes]:
    iterator = stream.__aiter__()
    while True:
        if state.signal is not None and state.signal.is_set():
            raise NetError("ERR_ABORTED")
        remaining = None if state.deadline is None else state.deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise NetError("ERR_TIMED_OUT")
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), remaining)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise NetError("ERR_TIMED_OUT") from None
        yield chunk


def _report_error(session: Any, state: RequestState, error: NetError) -> None:
    wr = session._web_request
    if wr is not None and wr.active:
        wr.error_occurred(state, error, wr.match(state.url))


async def _run(session: Any, state: RequestState) -> Response:
    try:
        for _ in range(MAX_REDIRECTS + 1):
            response, location = await _one_hop(session, state)
            if location is None:
                return response
        raise NetError("ERR_TOO_MANY_REDIRECTS")
    except NetError as error:
        if state.net_source is not None:
            state.net_source.failed(error)
        _report_error(session, state, error)
        raise
    except SessionError:
        if state.net_source is not None:
            state.net_source.failed(NetError("ERR_FAILED"))
        raise
    except asyncio.CancelledError:
        if state.net_source is not None:
            state.net_source.failed(NetError("ERR_ABORTED"))
        _report_error(session, state, NetError("ERR_ABORTED"))
        raise


async def _one_hop(session: Any, state: RequestState) -> tuple[Response, str | None]:
    """Take the current URL through one hop; return the response and the next URL, if any."""
    wr = session._web_request
    mask = wr.match(state.url) if wr is not None and wr.active else 0
    scheme = state.extra["scheme"]
    nl = state.net_source

    if mask:
        if nl is not None:
            nl.begin("NETWORK_DELEGATE_BEFORE_URL_REQUEST")
        redirect = await wr.before_request(state, mask)
        if nl is not None:
            nl.end("NETWORK_DELEGATE_BEFORE_URL_REQUEST")
        if redirect is not None:
            return _internal_redirect(session, state, redirect, mask)
    if nl is not None:
        nl.start_job(state)

    entry = None
    if not state.bypass_custom_protocol_handlers or scheme in _HTTP_SCHEMES or scheme == "file":
        protocol = session._protocol
        if protocol is not None:
            entry = protocol.lookup(scheme)
            if entry is not None and state.bypass_custom_protocol_handlers:
                entry = None

    headers = state.headers
    network = entry is None and scheme in _HTTP_SCHEMES
    use_cookies = (scheme in _HTTP_SCHEMES) and (
        state.credentials == "include" or (state.credentials == "same-origin" and not state.has_origin)
    )
    jar = session._cookie_jar() if use_cookies else None
    if jar is not None:
        cookie = jar.cookie_header(state.url, method=state.method)
        if cookie:
            headers["Cookie"] = cookie
    if network:
        if state.cache_mode != "default":
            apply_mode_headers(state.cache_mode, headers)
        if "accept-encoding" not in headers:
            headers["Accept-Encoding"] = _ACCEPT_ENCODING
        if state.referrer and "referer" not in headers:
            headers["Referer"] = state.referrer

    if mask:
        if nl is not None:
            nl.begin("NETWORK_DELEGATE_BEFORE_START_TRANSACTION")
        await wr.before_send_headers(state, mask)
        wr.send_headers(state, mask)
        if nl is not None:
            nl.end("NETWORK_DELEGATE_BEFORE_START_TRANSACTION")

    if entry is not None:
        response = await session._protocol.respond(entry, state)
    elif network:
        cache = session._http_cache if session._cache_enabled else None
        if cache is None:
            if state.cache_mode == "only-if-cached":
                raise NetError("ERR_CACHE_MISS")
            response = await session._network_send(state)
        elif nl is not None:
            response = await nl.through_cache(cache, state, session._network_send)
        else:
            response = await cache.fetch(state, session._network_send)
    elif scheme == "file":
        response = await serve_file(file_url_to_path(state.url), state.method)
    elif scheme == "blob":
        data, mime = session.blobs.resolve(state.url)
        response = Response(data, headers={"Content-Type": mime, "Content-Length": str(len(data))})
    else:
        raise NetError("ERR_UNKNOWN_URL_SCHEME")
    response.url = state.url
    if mask:
        state.ip = response.remote_address
    state.from_cache = response.from_cache

    if mask:
        if nl is not None:
            nl.begin("NETWORK_DELEGATE_HEADERS_RECEIVED")
        await wr.headers_received(state, response, mask)
        if nl is not None:
            nl.end("NETWORK_DELEGATE_HEADERS_RECEIVED")
    if nl is not None:
        nl.job_started()
    if jar is not None:
        set_cookies = response.headers.getall("Set-Cookie", ())
        if set_cookies:
            jar.set_from_response(state.url, set_cookies)

    if response.status in _REDIRECT_STATUSES and state.redirect_mode != "manual":
        location = response.headers.get("Location")
        if location is not None:
            return _follow(session, state, response, location, mask)

    return _finish(session, state, response, mask), None


def _internal_redirect(session: Any, state: RequestState, location: str, mask: int) -> tuple[Response, str]:
    """Report an ``onBeforeRequest`` redirect the way Chromium does: a 307 Internal Redirect."""
    response = Response(status=307, status_text="Internal Redirect", headers={"Location": location})
    response.url = state.url
    _move(session, state, response, location, mask)
    return response, state.url


def _follow(session: Any, state: RequestState, response: Response, location: str, mask: int) -> tuple[Response, str]:
    if state.redirect_mode == "error":
        response.close()
        raise SessionError("Attempted to redirect, but redirect policy was 'error'")
    try:
        target = str(yarl.URL(state.url).join(yarl.URL(location)))
    except (ValueError, TypeError):
        response.close()
        raise NetError("ERR_INVALID_REDIRECT") from None
    response.close()
    _move(session, state, response, target, mask)
    return response, state.url


def _move(session: Any, state: RequestState, response: Response, target: str, mask: int) -> None:
    try:
        url, scheme = canonical_url(target)
    except TypeError:
        raise NetError("ERR_INVALID_REDIRECT") from None
    if scheme in _UNSAFE_REDIRECT_SCHEMES and state.extra["scheme"] in _HTTP_SCHEMES:
        raise NetError("ERR_UNSAFE_REDIRECT")
    if len(state.url_chain) > MAX_REDIRECTS:
        raise NetError("ERR_TOO_MANY_REDIRECTS")
    if state.net_source is not None:
        state.net_source.redirect(state, url)
    if mask:
        session._web_request.before_redirect(state, response, url, mask)
    status = response.status
    # Fetch §4.4 HTTP-redirect fetch: 301/302 turn POST into GET, 303 turns all but HEAD into GET.
    if (status in (301, 302) and state.method == "POST") or (status == 303 and state.method not in ("GET", "HEAD")):
        state.method = "GET"
        state.body = None
        for name in ("Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location"):
            state.headers.popall(name, None)
    if state.body is not None and not isinstance(state.body, (bytes, bytearray)):
        raise NetError("ERR_UPLOAD_STREAM_REWIND_NOT_SUPPORTED")
    if scheme != state.extra["scheme"] or yarl.URL(url).origin() != yarl.URL(state.url).origin():
        state.headers.popall("Authorization", None)
    state.headers.popall("Cookie", None)
    state.headers.popall("Referer", None)
    state.url = url
    state.extra["scheme"] = scheme
    state.url_chain.append(url)


def _finish(session: Any, state: RequestState, response: Response, mask: int) -> Response:
    """Start the body: decoding, then ``onResponseStarted`` and ``onCompleted``/``onErrorOccurred``."""
    response.redirected = len(state.url_chain) > 1
    response.url_chain = state.url_chain
    if response.status in NULL_BODY_STATUSES or state.method == "HEAD":
        response.close()
        response._stream = None
        response._data = None
    elif response._stream is not None:
        encoding = response.headers.get("Content-Encoding")
        if encoding and state.net_source is not None:
            state.net_source.raw_body(response)
        if encoding and state.extra["scheme"] in _HTTP_SCHEMES:
            response._stream = decode_body(response._stream, encoding)
    if state.net_source is not None:
        state.net_source.finish(response)
    if mask:
        wr = session._web_request
        wr.response_started(state, response, mask)
        if response._stream is None:
            wr.completed(state, response, mask)
        else:
            response._stream = _observe_body(response._stream, state, response, mask)
    return response


async def _observe_body(
    stream: AsyncIterable[bytes], state: RequestState, response: Response, mask: int
) -> AsyncIterator[bytes]:
    wr = state.session._web_request
    try:
        async for chunk in stream:
            yield chunk
    except NetError as error:
        wr.error_occurred(state, error, mask)
        raise
    wr.completed(state, response, mask)


# -- content decoding ------------------------------------------------------------------------


class _Deflate:
    """``deflate`` as browsers decode it: zlib-wrapped, or raw when the header is missing."""

    def __init__(self) -> None:
        self._decoder: Any = None
        self._first = b""

    def decompress(self, data: bytes) -> bytes:
        if self._decoder is None:
            self._first += data
            if len(self._first) < 2:
                return b""
            data, self._first = self._first, b""
            is_zlib = (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS)
        return bytes(self._decoder.decompress(data))

    def flush(self) -> bytes:
        return b"" if self._decoder is None else bytes(self._decoder.flush())


class _Brotli:
    def __init__(self) -> None:
        import brotli

        self._decoder = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._decoder.process(data))

    def flush(self) -> bytes:
        if not self._decoder.is_finished():
            raise NetError("ERR_CONTENT_DECODING_FAILED", "truncated brotli stream")
        return b""


def _decoder(coding: str) -> Any:
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _Deflate()
    if coding == "br":
        return _Brotli()
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()
    return None


async def decode_body(stream: AsyncIterable[bytes], encoding: str) -> AsyncIterator[bytes]:
    """Undo ``Content-Encoding`` (gzip, deflate, br, zstd; several in order) while streaming."""
    codings = [c.strip().lower() for c in encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    decoders = [_decoder(c) for c in reversed(codings)]
    if not decoders or any(d is None for d in decoders):
        # Chromium passes an unknown coding through undecoded.
        async for chunk in stream:
            yield chunk
        return
    try:
        async for chunk in stream:
            for decoder in decoders:
                chunk = decoder.decompress(chunk) if chunk else b""
            if chunk:
                yield chunk
        tail = b""
        for decoder in decoders:
            tail = (decoder.decompress(tail) if tail else b"") + decoder.flush()
        if tail:
            yield tail
    except NetError:
        raise
    except Exception as exc:
        raise NetError("ERR_CONTENT_DECODING_FAILED", str(exc)) from exc
