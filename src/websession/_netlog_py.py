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
``_netlog_sink``) once it holds ``chunk_size`` bytes, or on :meth:`Writer.flush`. The compiled
twin ``_netlog_c`` produces the same bytes and raises the same errors.
"""

from __future__ import annotations

import base64
import math
import operator
import re
from typing import Any, Protocol

MAX_DEPTH = 64
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
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"NetLog params must be a dict or None, not {type(params).__name__}")
    return _utf8(_event(time, source_id, source_type, source_start, event_type, phase, params))


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
        if params is not None and not isinstance(params, dict):
            raise TypeError(f"NetLog params must be a dict or None, not {type(params).__name__}")
        line = _utf8(_event(time, source_id, source_type, source_start, event_type, phase, params))
        self._buffer += line
        self._buffer += b",\n"
        self.events += 1
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

