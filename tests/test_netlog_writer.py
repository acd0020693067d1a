"""The NetLog writer cores: Chrome's JSON bytes, twins byte-identical, bounded and cut-short files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import load_core

from websession import _netlog_sink
from websession._netlog_constants import EVENT_TYPES, SOURCE_TYPES, net_constants

PY = load_core("netlog", "python")
C = load_core("netlog", "c")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.binary(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)
params = st.none() | st.dictionaries(st.text(max_size=10), values, max_size=6)
ints = st.integers(min_value=0, max_value=1 << 40)
events = st.tuples(ints, ints, st.integers(0, 44), ints, st.integers(0, 603), st.integers(0, 2), params)


class Collect:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def submit(self, chunk: bytes) -> None:
        self.chunks.append(chunk)


def _normal(value: Any) -> Any:
    """What Chrome's JSON of ``value`` reads back as."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) <= 1 << 53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if any(
            0xD800 <= ord(c) <= 0xDFFF for c in value
        ) else value
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return {_normal(k): _normal(v) for k, v in value.items()}


def test_compiled_core_loaded() -> None:
    assert C.__name__ == "websession._netlog_c"
    assert C.__file__ is not None and C.__file__.endswith(".so")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None]}, b'{"a":[true,null],"b":1}'),
        ("<\u2028\x01\x1f\n\"\\é", b'"\\u003C\\u2028\\u0001\\u001F\\n\\"\\\\\xc3\xa9"'),
        ("\ud800x", b'"\xef\xbf\xbdx"'),
        (1 << 53, b"9007199254740992"),
        ((1 << 53) + 1, b'"9007199254740993"'),
        (2.0, b"2"),
        (-0.0, b"0"),
        (0.1, b"0.1"),
        (1e21, b"1e+21"),
        (1.5e-7, b"1.5e-7"),
        (123456.789, b"123456.789"),
        (float("inf"), b"null"),
        (b"\x00\xff", b'"AP8="'),
    ],
)
def test_values_as_chrome_writes_them(implementation: str, value: Any, expected: bytes) -> None:
    assert load_core("netlog", implementation).encode(value) == expected


def test_event_line_shape(implementation: str) -> None:
    core = load_core("netlog", implementation)
    line = core.encode_event(130, 7, 1, 123, 2, 1, {"url": "http://x/", "method": "GET"})
    assert line == (
        b'{"params":{"method":"GET","url":"http://x/"},"phase":1,'
        b'"source":{"id":7,"start_time":"123","type":1},"time":"130","type":2}'
    )
    assert core.encode_event(1, 2, 3, 4, 5, 0, {}) == core.encode_event(1, 2, 3, 4, 5, 0)
    assert b"params" not in core.encode_event(1, 2, 3, 4, 5, 0, {})


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({1: "x"}, TypeError),
        ({"a": object()}, TypeError),
        ({"a": {2: 3}}, TypeError),
        ([1], TypeError),
        ("x", TypeError),
    ],
)
def test_bad_params_raise_and_leave_nothing(implementation: str, bad: Any, error: type) -> None:
    core = load_core("netlog", implementation)
    sink = Collect()
    writer = core.Writer(sink)
    writer.add(1, 1, 1, 1, 1, 0, {"ok": 1})
    with pytest.raises(error):
        writer.add(1, 1, 1, 1, 1, 0, bad)
    writer.flush()
    assert b"".join(sink.chunks).count(b",\n") == 1


def test_too_deep_nesting_is_an_error(implementation: str) -> None:
    core = load_core("netlog", implementation)
    deep: Any = 1
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match="nest deeper"):
        core.encode(deep)


@settings(max_examples=300, deadline=None)
@given(values)
def test_twins_encode_identically_and_as_json(value: Any) -> None:
    out = PY.encode(value)
    assert C.encode(value) == out
    # Chrome prints a float beyond int64 in ECMAScript form, which json reads back as an int.
    assert json.loads(out, parse_int=lambda s: int(s) if len(s) < 17 else float(s)) == _normal(value)


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=30), st.integers(1, 4096))
def test_twins_write_identical_streams(batch: list[tuple[Any, ...]], chunk: int) -> None:
    outs = []
    for core in (PY, C):
        sink = Collect()
        writer = core.Writer(sink, chunk)
        for event in batch:
            writer.add(*event)
        writer.flush()
        outs.append(b"".join(sink.chunks))
        assert writer.events == len(batch)
    assert outs[0] == outs[1]
    lines = outs[0].split(b",\n")
    assert lines[-1] == b"" and len(lines) == len(batch) + 1


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=4), st.one_of(values, st.builds(object)), max_size=4))
def test_twins_raise_the_same_errors(bad: dict[str, Any]) -> None:
    results = []
    for core in (PY, C):
        try:
            results.append(("ok", core.encode_event(1, 2, 3, 4, 5, 1, bad)))
        except (TypeError, ValueError) as error:
            results.append((type(error).__name__, str(error)))
    assert results[0] == results[1]


def _write_log(core: Any, path: Path, batch: list[tuple[Any, ...]], max_size: int | None) -> bytes:
    constants = core.encode({"logEventTypes": EVENT_TYPES, "logSourceType": SOURCE_TYPES})
    # No queue cap: what the ring keeps must not depend on how far the writer thread lags.
    sink = _netlog_sink.FileSink(str(path), constants, max_size, queue_limit=1 << 40)
    writer = core.Writer(sink, 512)
    for event in batch:
        writer.add(*event)
    writer.flush()
    sink.close(core.encode({}))
    return path.read_bytes()


def _batch(n: int) -> list[tuple[Any, ...]]:
    return [
        (1000 + i, i + 1, 1, 1000, EVENT_TYPES["URL_REQUEST_START_JOB"], i % 3, {"url": f"http://h/{i}", "n": i})
        for i in range(n)
    ]


def test_files_are_byte_identical_and_chrome_shaped(tmp_path: Path) -> None:
    batch = _batch(300)
    a = _write_log(PY, tmp_path / "py.json", batch, None)
    b = _write_log(C, tmp_path / "c.json", batch, None)
    assert a == b
    assert a.startswith(b'{"constants":{') and b',\n"events": [\n{"params":' in a
    assert a.endswith(b'}],\n"polledData": {}\n}\n')
    log = json.loads(a)
    assert [e["params"]["n"] for e in log["events"]] == list(range(300))


def test_no_events_is_an_empty_array(tmp_path: Path, implementation: str) -> None:
    data = _write_log(load_core("netlog", implementation), tmp_path / "e.json", [], None)
    assert b'"events": [\n]' in data
    assert json.loads(data)["events"] == []


@pytest.mark.parametrize("max_size", [0, 5_000, 40_000, 10**9])
def test_bounded_keeps_the_newest_within_the_bound(
    tmp_path: Path, implementation: str, max_size: int
) -> None:
    batch = _batch(2000)
    core = load_core("netlog", implementation)
    data = _write_log(core, tmp_path / "b.json", batch, max_size)
    assert not (tmp_path / "b.json.inprogress").exists()
    log = json.loads(data)
    kept = [e["params"]["n"] for e in log["events"]]
    longest = max(len(core.encode_event(*e)) + 2 for e in batch)
    start = data.index(b'"events": [\n') + len(b'"events": [\n')
    event_bytes = data.rindex(b"]") - start
    assert event_bytes <= max_size + _netlog_sink.NUM_EVENT_FILES * longest
    assert kept == list(range(kept[0], 2000))  # a contiguous run ending with the newest
    total = sum(len(core.encode_event(*e)) + 2 for e in batch)
    if max_size >= total:
        assert kept[0] == 0
    else:
        assert kept[0] > 0 and event_bytes >= max_size * 9 // 10 - longest


def test_bounded_twins_are_byte_identical(tmp_path: Path) -> None:
    batch = _batch(1500)
    assert _write_log(PY, tmp_path / "p", batch, 30_000) == _write_log(C, tmp_path / "c", batch, 30_000)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0))
def test_a_file_cut_short_is_repaired(fraction: float) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.json"
        data = _write_log(C, path, _batch(50), None)
    first_event = data.index(b'"events": [\n') + len(b'"events": [\n')
    end = data.rindex(b"]")
    cut = first_event + int((end - first_event) * fraction)
    if data[:cut].rfind(b",\n") < first_event - 2:
        return  # nothing complete to keep
    log = json.loads(_netlog_sink.repair(data[:cut]))
    assert [e["params"]["n"] for e in log["events"]] == list(range(len(log["events"])))
    assert json.loads(_netlog_sink.repair(data)) == json.loads(data)


def test_unfinished_bounded_log_is_stitched(tmp_path: Path) -> None:
    path = tmp_path / "crash.json"
    sink = _netlog_sink.FileSink(str(path), C.encode(net_constants(0)), 50_000)
    writer = C.Writer(sink, 256)
    for event in _batch(400):
        writer.add(*event)
    writer.flush()
    sink._closing = True  # the process dies: the thread drains, nobody stitches
    with sink._cond:
        sink._cond.notify()
    sink._thread.join()
    sink._close_event_file()
    assert b"in progress" in path.read_bytes()
    assert _netlog_sink.stitch(str(path))
    log = json.loads(_netlog_sink.repair(path.read_bytes()))
    assert log["events"][-1]["params"]["n"] == 399
    assert not os.path.exists(str(path) + ".inprogress")


def test_write_queue_is_capped_dropping_the_oldest(tmp_path: Path) -> None:
    sink = _netlog_sink.FileSink(str(tmp_path / "q.json"), b"{}", 1000)
    with sink._cond:  # hold the writer thread back while chunks pile up
        for i in range(50):
            sink.submit(b'{"n":%d,"pad":"%s"},\n' % (i, b"x" * 90))
        assert 2 * 1000 - 110 <= sink._queued <= 2 * 1000
        assert sink._queue[-1].startswith(b'{"n":49,')
    sink.close(None)
    kept = [e["n"] for e in json.loads((tmp_path / "q.json").read_bytes())["events"]]
    assert kept[-1] == 49 and kept == list(range(kept[0], 50))


# -- headers events (formatted from (name, value) pairs by the writer) ------------------------

_HEADER_NAMES = st.sampled_from([
    "Cookie", "cookie", "SET-COOKIE", "Set-Cookie2", "Authorization", "proxy-authorization",
    "WWW-Authenticate", "Proxy-Authenticate", "Host", "Accept", "set-coo\u212aie", "X-\u00e9",
]) | st.text(max_size=12)
_HEADER_VALUES = st.sampled_from([
    "a=b", "Negotiate abc", "NTLM  tok ", "Basic realm=\"x\"", "Digest a", "Negotiate a, b", "",
]) | st.text(max_size=20)
_HEADERS = st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8)


def _headers_event(core: Any, mode: int, first: Any, headers: Any, line: Any) -> bytes:
    sink = Collect()
    writer = core.Writer(sink, 1 << 16)
    writer.add_headers(5, 7, 1, 3, EVENT_TYPES["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"], 0, mode,
                       first, headers, line)
    writer.flush()
    return b"".join(sink.chunks)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2), st.none() | st.text(max_size=12), _HEADERS, st.none() | st.text(max_size=12))
def test_twins_write_identical_headers_events(mode: int, first: Any, headers: Any, line: Any) -> None:
    compiled = _headers_event(C, mode, first, headers, line)
    assert compiled == _headers_event(PY, mode, first, headers, line)
    # The same bytes as the event written with the params dict Chrome's NetLogParams build.
    expected = PY.headers_params(mode, first, headers, line)
    assert compiled == PY.encode_event(5, 7, 1, 3, EVENT_TYPES["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"],
                                       0, expected) + b",\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=6), _HEADERS)
def test_header_lines_written_again_are_the_same_bytes(modes: list[int], headers: Any) -> None:
    """The compiled writer keeps the text of header objects it has seen twice; a line written
    from its kept text must be what the twin writes, in every capture mode."""
    def events(core: Any) -> bytes:
        sink = Collect()
        writer = core.Writer(sink, 1 << 16)
        for mode in modes + modes + modes:
            writer.add_headers(5, 7, 1, 3, EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST_HEADERS"], 0, mode,
                               None, headers, None)
        writer.flush()
        return b"".join(sink.chunks)

    assert events(C) == events(PY)


def test_headers_events_strip_credentials_in_default_mode(implementation: str) -> None:
    core = load_core("netlog", implementation)
    headers = [("Cookie", "a=secret"), ("Set-Cookie", "b=s\u00e9"), ("Host", "h"),
               ("WWW-Authenticate", "Negotiate tok"), ("authorization", "Basic xyz")]
    event = json.loads(_headers_event(core, 0, "HTTP/1.1 200 OK", headers, "GET / HTTP/1.1\r\n")[:-2])
    assert event["params"] == {
        "headers": ["HTTP/1.1 200 OK", "Cookie: [8 bytes were stripped]",
                    "Set-Cookie: [5 bytes were stripped]", "Host: h",
                    "WWW-Authenticate: Negotiate [3 bytes were stripped]",
                    "authorization: [9 bytes were stripped]"],
        "line": "GET / HTTP/1.1\r\n",
    }
    kept = json.loads(_headers_event(core, 1, None, headers, None)[:-2])["params"]
    assert kept == {"headers": [f"{n}: {v}" for n, v in headers]}


@pytest.mark.parametrize("bad", [
    (None, [("a", 1)], None), (None, [(1, "a")], None), (3, [], None), (None, [], b"x"),
])
def test_headers_events_bad_input_raises_and_leaves_nothing(implementation: str, bad: Any) -> None:
    core = load_core("netlog", implementation)
    sink = Collect()
    writer = core.Writer(sink, 1 << 16)
    first, headers, line = bad
    with pytest.raises(TypeError) as caught:
        writer.add_headers(1, 2, 1, 1, 5, 0, 0, first, headers, line)
    with pytest.raises(TypeError) as twin:
        PY.Writer(Collect(), 1 << 16).add_headers(1, 2, 1, 1, 5, 0, 0, first, headers, line)
    assert str(caught.value) == str(twin.value)
    assert writer.buffered == 0 and writer.events == 0


def _exchange(core: Any, args: tuple[Any, ...], plain: tuple[tuple[int, int], ...]) -> tuple[bytes, int]:
    sink = Collect()
    writer = core.Writer(sink, 1 << 16)
    writer.add_exchange(*args)
    writer.add_plain(9, 7, 1, 3, plain)
    writer.flush()
    return b"".join(sink.chunks), writer.events


@settings(max_examples=150, deadline=None)
@given(
    ints, ints, st.none() | st.tuples(ints, st.integers(0, 44), ints), st.integers(0, 2),
    st.text(max_size=12), _HEADERS, st.text(max_size=12), _HEADERS,
    st.lists(st.tuples(st.integers(0, 603), st.integers(0, 2)), max_size=4).map(tuple),
)
def test_twins_write_identical_exchanges(
    sent_at: int, time: int, socket: Any, mode: int, line: str, sent: Any, status: str, received: Any,
    plain: tuple[tuple[int, int], ...],
) -> None:
    args = (sent_at, time, 7, 1, 3, socket, mode, line, sent, status, received)
    compiled, count = _exchange(C, args, plain)
    assert (compiled, count) == _exchange(PY, args, plain)
    # One exchange is the events the pipeline would write one by one.
    lines = [json.loads(x) for x in compiled.decode("utf-8", "replace").split(",\n") if x]
    assert count == len(lines) == (9 if socket is not None else 6) + len(plain)
    names = {v: k for k, v in EVENT_TYPES.items()}
    kinds = [names[e["type"]] for e in lines[: count - len(plain)]]
    assert kinds[-6:] == [
        "HTTP_TRANSACTION_SEND_REQUEST", "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
        "HTTP_TRANSACTION_SEND_REQUEST", "HTTP_TRANSACTION_READ_HEADERS",
        "HTTP_TRANSACTION_READ_RESPONSE_HEADERS", "HTTP_TRANSACTION_READ_HEADERS",
    ]
    if socket is not None:
        assert lines[1]["params"] == {"source_dependency": {"id": socket[0], "type": socket[1]}}
        assert lines[2]["source"]["id"] == socket[0]


def test_an_exchange_that_fails_leaves_nothing(implementation: str) -> None:
    core = load_core("netlog", implementation)
    writer = core.Writer(Collect(), 1 << 16)
    with pytest.raises(TypeError):
        writer.add_exchange(1, 2, 7, 1, 3, (8, 9, 1), 0, "GET / HTTP/1.1\r\n", [("a", "b")], "HTTP/1.1 200",
                            [("x", 3)])
    assert writer.buffered == 0 and writer.events == 0
