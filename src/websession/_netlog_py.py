"""Encode NetLog events as the JSON lines Chrome writes, and buffer them for a sink (reference).

One event is one line, serialised as Chromium's ``base::JSONWriter`` serialises
``NetLogEntry::ToDict()`` (``net/log/net_log_entry.cc``, ``base/json/json_writer.cc``,
``base/json/string_escape.cc``)::

    {"params":{...},"phase":1,"source":{"id":7,"start_time":"123","type":1},"time":"130","type":2}

* Dictionary keys come out sorted (``base::Value::Dict`` is a sorted map); ``params`` is left
  out when empty; ``time`` and ``start_time`` are strings of integer milliseconds.
* Strings: ``"`` ``\\`` and control characters escaped (``\\b \\f \\n \\r \\t``, the others
  ``\\u00XX`` upper-case), ``<`` as ``\\u003C``, U+2028/U+2029 as ``\\u2028``/``\\u2029``, all
  else raw UTF-8; a lone surrogate becomes U+FFFD (Chrome's replacement for invalid UTF-8).
* Integers: as decimals up to 2**53 in magnitude, beyond that as decimal strings
  (``NetLogNumberValue``). Floats: integral ones within int64 as integers
  (``OPTIONS_OMIT_DOUBLE_TYPE_PRESERVATION``), others in ECMAScript's shortest form, NaN and
  infinities as ``null``. ``bytes``-like values as base64 strings (``NetLogBinaryValue``).
* Lists and tuples are arrays; nothing else is accepted (``TypeError``); nesting deeper than
  :data:`MAX_DEPTH` raises ``ValueError``.

:class:`Writer` appends ``line + ",\\n"`` to a buffer and hands the buffer to its sink (see
``_netlog_sink``) once it holds ``chunk_size`` bytes, or on :meth:`Writer.flush`. Besides one event
(:meth:`Writer.add`) it buffers, in one call, a headers event formatted from ``(name, value)``
pairs with default-mode elision (:meth:`Writer.add_headers`), the nine events of one
request/response exchange (:meth:`Writer.add_exchange`) and runs of events without params
(:meth:`Writer.add_plain`), so the request pipeline builds no params dicts for them. The compiled
twin ``_netlog_c`` produces the same bytes and raises the same errors.
"""

from __future__ import annotations

import base64
import math
import operator
import re
from collections.abc import Iterable
from typing import Any, Protocol

from ._netlog_constants import EVENT_TYPES

MAX_DEPTH = 64
_REUSED = EVENT_TYPES["SOCKET_POOL_REUSED_AN_EXISTING_SOCKET"]
_BOUND = EVENT_TYPES["SOCKET_POOL_BOUND_TO_SOCKET"]
_SOCKET_IN_USE = EVENT_TYPES["SOCKET_IN_USE"]
_SEND_REQUEST = EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST"]
_SEND_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST_HEADERS"]
_READ_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_HEADERS"]
_RESPONSE_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"]
_index = operator.index
_SAFE_INTEGER = 1 << 53
_INT64 = 1 << 63


class Sink(Protocol):
    """Takes chunks of complete event lines."""

    def submit(self, chunk: bytes) -> None: ...


_ESCAPES = {chr(c): f"\\u{c:04X}" for c in range(0x20)}
_ESCAPES.update(
    {
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        '"': '\\"',
        "\\": "\\\\",
        "<": "\\u003C",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\<\u2028\u2029]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_match(match: re.Match[str]) -> str:
    return _ESCAPES[match.group()]


def fix_surrogates(text: str) -> str:
    """Return ``text`` with each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def float_json(value: float) -> str:
    """Return a float as Chrome's JSON writer prints it (non-integral, finite)."""
    if not math.isfinite(value):
        return "null"
    # ECMAScript Number::toString on the shortest round-trip digits (base::NumberToString).
    text = repr(abs(value))
    mantissa, _, exp_text = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    stripped = digits.lstrip("0")
    point = len(whole) + (int(exp_text) if exp_text else 0) - (len(digits) - len(stripped))
    digits = stripped.rstrip("0") or "0"
    k = len(digits)
    if k <= point <= 21:
        out = digits + "0" * (point - k)
    elif 0 < point <= 21:
        out = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        out = "0." + "0" * -point + digits
    else:
        e = point - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + ("e+" if e >= 0 else "e-") + str(abs(e))
    return "-" + out if value < 0 else out


def _string(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return '"' + text + '"'
    return '"' + _NEEDS_ESCAPE.sub(_escape_match, text) + '"'


def _value(value: Any, out: list[str], depth: int) -> None:
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        text = str(int(value))
        out.append(text if -_SAFE_INTEGER <= value <= _SAFE_INTEGER else '"' + text + '"')
    elif isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and -_INT64 <= value < _INT64:
            out.append(str(int(value)))
        else:
            out.append(float_json(value))
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise ValueError(f"NetLog params nest deeper than {MAX_DEPTH} levels")
        _dict(value, out, depth + 1)
    elif isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise ValueError(f"NetLog params nest deeper than {MAX_DEPTH} levels")
        out.append("[")
        first = True
        for item in value:
            if not first:
                out.append(",")
            first = False
            _value(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out.append('"' + base64.b64encode(value).decode("ascii") + '"')
    else:
        raise TypeError(f"NetLog params cannot hold a {type(value).__name__}")


def _dict(value: dict[Any, Any], out: list[str], depth: int) -> None:
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"NetLog params keys must be str, not {type(key).__name__}")
    out.append("{")
    first = True
    for key in sorted(value):
        if not first:
            out.append(",")
        first = False
        out.append(_string(key))
        out.append(":")
        _value(value[key], out, depth)
    out.append("}")


# Headers whose values a default-mode log replaces (net/http/http_log_util.cc).
_STRIPPED_HEADERS = frozenset(
    {"cookie", "set-cookie", "set-cookie2", "authorization", "proxy-authorization"}
)


def _stripped(length: int) -> str:
    return f"[{length} bytes were stripped]"


def elide_header_value(mode: int, name: str, value: str) -> str:
    """Return a header value as Chrome logs it (``net/http/http_log_util.cc``).

    In ``default`` mode (0) cookie and credential values become ``[N bytes were stripped]``, and
    so do the parameters of a ``WWW-Authenticate``/``Proxy-Authenticate`` challenge whose scheme
    is neither Basic nor Digest and which carries a single token (Negotiate, NTLM rounds).
    """
    if mode >= 1:
        return value
    lower = name.lower()
    if lower in _STRIPPED_HEADERS:
        return _stripped(len(value.encode("utf-8", "surrogatepass")))
    if lower in ("www-authenticate", "proxy-authenticate"):
        scheme, sep, rest = value.strip().partition(" ")
        params = rest.strip()
        if sep and params and "," not in params and scheme.lower() not in ("basic", "digest"):
            start = value.index(params, value.index(scheme) + len(scheme))
            size = len(params.encode("utf-8", "surrogatepass"))
            return value[:start] + _stripped(size) + value[start + len(params) :]
    return value


def headers_params(
    mode: int, first: str | None, headers: Iterable[tuple[str, str]], line: str | None
) -> dict[str, Any]:
    """Return the params of a headers event: ``{"headers": [first, "Name: value", ...],
    "line": line}`` with values elided for ``mode`` (:func:`elide_header_value`); ``first``
    (a status line) and ``line`` (a request line) are left out when None."""
    for text in (first, line):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"NetLog params cannot hold a {type(text).__name__}")
    lines = [] if first is None else [first]
    for name, value in headers:
        if not isinstance(name, str):
            raise TypeError(f"NetLog header names must be str, not {type(name).__name__}")
        if not isinstance(value, str):
            raise TypeError(f"NetLog header values must be str, not {type(value).__name__}")
        lines.append(f"{name}: {elide_header_value(mode, name, value)}")
    params: dict[str, Any] = {"headers": lines}
    if line is not None:
        params["line"] = line
    return params


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return fix_surrogates(text).encode("utf-8")


def encode(value: Any) -> bytes:
    """Return ``value`` serialised as Chrome's JSON writer serialises NetLog values."""
    out: list[str] = []
    _value(value, out, 0)
    return _utf8("".join(out))


def _event(
    time: int,
    source_id: int,
    source_type: int,
    source_start: int,
    event_type: int,
    phase: int,
    params: dict[str, Any] | None,
) -> str:
    out: list[str] = []
    if params:
        out.append('{"params":')
        _dict(params, out, 1)
        out.append(',"phase":')
    elif params is None or isinstance(params, dict):
        out.append('{"phase":')
    else:
        raise TypeError(f"NetLog params must be a dict or None, not {type(params).__name__}")
    out.append(
        f'{_index(phase)},"source":{{"id":{_index(source_id)},'
        f'"start_time":"{_index(source_start)}","type":{_index(source_type)}}},'
        f'"time":"{_index(time)}","type":{_index(event_type)}}}'
    )
    return "".join(out)


def _check_params(params: object) -> None:
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"NetLog params must be a dict or None, not {type(params).__name__}")


def encode_event(
    time: int,
    source_id: int,
    source_type: int,
    source_start: int,
    event_type: int,
    phase: int,
    params: dict[str, Any] | None = None,
) -> bytes:
    """Return one event as its JSON line (without the ``,\\n`` that follows it in a file)."""
    _check_params(params)
    return _utf8(_event(time, source_id, source_type, source_start, event_type, phase, params))


class Observer:
    """One file being written: its writer core, sink and capture mode (``_net_log`` makes one
    per ``start_logging``)."""

    __slots__ = ("flush_pending", "mode", "path", "sink", "writer")

    def __init__(self, path: str, mode: int, sink: Any, writer: Any) -> None:
        self.path = path
        self.mode = mode
        self.sink = sink
        self.writer = writer
        self.flush_pending = False

    def flush(self) -> None:
        """Hand what the writer buffered to the sink (the periodic flush)."""
        self.flush_pending = False
        self.writer.flush()


class Writer:
    """Encode events into a buffer of ``<event>,\\n`` lines handed to ``sink`` in chunks."""

    def __init__(self, sink: Sink, chunk_size: int = 1 << 16) -> None:
        self.sink = sink
        self.chunk_size = int(chunk_size)
        self.events = 0
        self._buffer = bytearray()

    def add(
        self,
        time: int,
        source_id: int,
        source_type: int,
        source_start: int,
        event_type: int,
        phase: int,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Encode one event and buffer it; a failing event leaves nothing behind."""
        _check_params(params)
        line = _utf8(_event(time, source_id, source_type, source_start, event_type, phase, params))
        self._buffer += line
        self._buffer += b",\n"
        self.events += 1
        if len(self._buffer) >= self.chunk_size:
            self.flush()

    def add_headers(
        self,
        time: int,
        source_id: int,
        source_type: int,
        source_start: int,
        event_type: int,
        phase: int,
        mode: int,
        first: str | None,
        headers: Iterable[tuple[str, str]],
        line: str | None = None,
    ) -> None:
        """Buffer a headers event (``HTTP_TRANSACTION_SEND_REQUEST_HEADERS``,
        ``..._READ_RESPONSE_HEADERS``) with :func:`headers_params` as its params."""
        self.add(time, source_id, source_type, source_start, event_type, phase,
                 headers_params(_index(mode), first, headers, line))

    def add_exchange(
        self,
        sent_at: int,
        time: int,
        source_id: int,
        source_type: int,
        source_start: int,
        socket: tuple[int, int, int] | None,
        mode: int,
        line: str,
        request_headers: Iterable[tuple[str, str]],
        status_line: str,
        response_headers: Iterable[tuple[str, str]],
    ) -> None:
        """Buffer the events of one exchange of the ``URL_REQUEST`` source: sent at ``sent_at``,
        answered at ``time``; a failing exchange leaves nothing behind.

        With ``socket`` (``(id, type, start_time)`` of a pooled ``SOCKET`` it was bound to) first
        ``SOCKET_POOL_REUSED_AN_EXISTING_SOCKET``, ``SOCKET_POOL_BOUND_TO_SOCKET`` and the
        socket's ``SOCKET_IN_USE`` BEGIN, each naming the other source; then
        ``HTTP_TRANSACTION_SEND_REQUEST`` BEGIN, ``..._SEND_REQUEST_HEADERS`` (``line``,
        ``request_headers``), ``..._SEND_REQUEST`` END, ``HTTP_TRANSACTION_READ_HEADERS`` BEGIN,
        ``..._READ_RESPONSE_HEADERS`` (``status_line``, ``response_headers``) and its END.
        """
        sid, stype, sstart = source_id, source_type, source_start
        events: list[tuple[int, int, int, int, int, int, dict[str, Any] | None]] = []
        if socket is not None:
            sock_id, sock_type, sock_start = socket
            events += [
                (sent_at, sid, stype, sstart, _REUSED, 0, None),
                (sent_at, sid, stype, sstart, _BOUND, 0,
                 {"source_dependency": {"id": sock_id, "type": sock_type}}),
                (sent_at, sock_id, sock_type, sock_start, _SOCKET_IN_USE, 1,
                 {"source_dependency": {"id": sid, "type": stype}}),
            ]
        events += [
            (sent_at, sid, stype, sstart, _SEND_REQUEST, 1, None),
            (sent_at, sid, stype, sstart, _SEND_HEADERS, 0,
             headers_params(mode, None, request_headers, line)),
            (sent_at, sid, stype, sstart, _SEND_REQUEST, 2, None),
            (sent_at, sid, stype, sstart, _READ_HEADERS, 1, None),
            (time, sid, stype, sstart, _RESPONSE_HEADERS, 0,
             headers_params(mode, status_line, response_headers, None)),
            (time, sid, stype, sstart, _READ_HEADERS, 2, None),
        ]
        self._add_all(events)

    def add_plain(
        self, time: int, source_id: int, source_type: int, source_start: int,
        events: tuple[tuple[int, int], ...],
    ) -> None:
        """Buffer events without params: ``events`` holds ``(event_type, phase)`` pairs."""
        if not isinstance(events, tuple):
            raise TypeError(f"events must be a tuple, not {type(events).__name__}")
        self._add_all([(time, source_id, source_type, source_start, etype, phase, None)
                       for etype, phase in events])

    def _add_all(self, events: list[tuple[int, int, int, int, int, int, dict[str, Any] | None]]) -> None:
        lines = [_utf8(_event(*event)) + b",\n" for event in events]
        for line in lines:
            self._buffer += line
        self.events += len(lines)
        if len(self._buffer) >= self.chunk_size:
            self.flush()

    @property
    def buffered(self) -> int:
        """Return how many encoded bytes wait for the next :meth:`flush`."""
        return len(self._buffer)

    def flush(self) -> None:
        """Hand the buffered lines to the sink."""
        if self._buffer:
            chunk = bytes(self._buffer)
            self._buffer.clear()
            self.sink.submit(chunk)

