"""NetLog writer: events per second of the compiled core, its twin, json/orjson per event, and
raw writes of pre-encoded bytes (the limit). One round = one request's worth of events (16).

Fetch throughput with logging off / default / everything (one group per event loop), and
off / default (compiled request log and writer) / default (their twins) alternated round by round
in one process (``test_fetch_logging_overhead_interleaved``: its ``extra_info`` has the three
rates and the throughput drops).

Run: ``python -m pytest benchmarks/test_netlog_benchmarks.py --benchmark-only
--benchmark-columns=median,ops``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from websession import _netlog_c, _netlog_py, _netlog_sink

ROUNDS = 200  # requests per benchmark call → 3200 events

EVENTS: list[tuple[int, int, int, int, int, int, dict[str, Any] | None]] = [
    (1000, 7, 1, 1000, 2, 1, {"priority": "MEDIUM", "traffic_annotation": 0, "url": "https://example.com/a/b?c=d"}),
    (1000, 7, 1, 1000, 126, 1, None),
    (1000, 7, 1, 1000, 126, 2, None),
    (1001, 7, 1, 1000, 124, 1, {"initiator": "not an origin", "load_flags": 0, "method": "GET",
                                 "network_isolation_key": "null null", "request_type": "other",
                                 "site_for_cookies": "null", "url": "https://example.com/a/b?c=d"}),
    (1001, 7, 1, 1000, 3, 1, None),
    (1002, 7, 1, 1000, 3, 2, None),
    (1002, 8, 9, 1002, 42, 1, {"source_dependency": {"id": 7, "type": 1}}),
    (1002, 8, 9, 1002, 48, 1, {"address_list": ["93.184.216.34:443"]}),
    (1010, 8, 9, 1002, 48, 2, {"source_address": "10.0.0.2:51234"}),
    (1020, 8, 9, 1002, 62, 2, {"cipher_suite": 4865, "is_resumed": False, "next_proto": "h2", "version": "TLS 1.3"}),
    (1020, 7, 1, 1000, 223, 0, {"headers": ["Host: example.com", "Connection: keep-alive",
                                            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) websession",
                                            "Accept: */*", "Accept-Encoding: gzip, deflate, br",
                                            "Accept-Language: en-US", "Cookie: [36 bytes were stripped]"],
                                "line": "GET /a/b?c=d HTTP/1.1\r\n"}),
    (1030, 8, 9, 1002, 80, 0, {"byte_count": 16384}),
    (1030, 7, 1, 1000, 228, 0, {"headers": ["HTTP/1.1 200 OK", "Content-Type: text/html; charset=utf-8",
                                            "Content-Length: 16384", "Cache-Control: max-age=60",
                                            "Date: Mon, 01 Jan 2024 00:00:00 GMT"]}),
    (1031, 7, 1, 1000, 124, 2, None),
    (1040, 7, 1, 1000, 2, 2, None),
    (1040, 8, 9, 1002, 85, 0, None),
]


def _as_dict(event: tuple[Any, ...]) -> dict[str, Any]:
    time, sid, stype, sstart, etype, phase, params = event
    out: dict[str, Any] = {"phase": phase, "source": {"id": sid, "start_time": str(sstart), "type": stype},
                           "time": str(time), "type": etype}
    if params:
        out["params"] = params
    return out


DICTS = [_as_dict(e) for e in EVENTS]
ENCODED = [_netlog_c.encode_event(*e) + b",\n" for e in EVENTS]


def _sink(tmp_path: Path) -> _netlog_sink.FileSink:
    return _netlog_sink.FileSink(str(tmp_path / "bench.json"), b"{}", None)


@pytest.mark.parametrize("implementation", ["c", "python"])
def test_writer(benchmark: Any, tmp_path: Path, implementation: str) -> None:
    benchmark.group = "netlog: 3200 events to a file"
    core = _netlog_c if implementation == "c" else _netlog_py
    sink = _sink(tmp_path)
    writer = core.Writer(sink, 1 << 16)
    add = writer.add

    def run() -> None:
        for _ in range(ROUNDS):
            for t, sid, st, ss, et, ph, p in EVENTS:
                add(t, sid, st, ss, et, ph, p)
        writer.flush()

    benchmark(run)
    sink.close(b"{}")


def test_json_dumps_per_event(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "netlog: 3200 events to a file"
    with open(tmp_path / "json.json", "wb") as f:
        write, dumps = f.write, json.dumps

        def run() -> None:
            for _ in range(ROUNDS):
                for event in DICTS:
                    write(dumps(event, sort_keys=True, separators=(",", ":")).encode() + b",\n")

        benchmark(run)


def test_orjson_dumps_per_event(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "netlog: 3200 events to a file"
    with open(tmp_path / "orjson.json", "wb") as f:
        write, dumps, opt = f.write, orjson.dumps, orjson.OPT_SORT_KEYS

        def run() -> None:
            for _ in range(ROUNDS):
                for event in DICTS:
                    write(dumps(event, option=opt) + b",\n")

        benchmark(run)


def test_raw_buffered_write_of_encoded_bytes(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "netlog: 3200 events to a file"
    with open(tmp_path / "raw.json", "wb") as f:
        write = f.write

        def run() -> None:
            for _ in range(ROUNDS):
                for line in ENCODED:
                    write(line)

        benchmark(run)


def test_raw_os_write_of_encoded_bytes(benchmark: Any, tmp_path: Path) -> None:
    """One write(2) per event, as Chrome's FileWriter does (WriteAtCurrentPos per event)."""
    benchmark.group = "netlog: 3200 events to a file"
    fd = os.open(tmp_path / "os.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        write = os.write

        def run() -> None:
            for _ in range(ROUNDS):
                for line in ENCODED:
                    write(fd, line)

        benchmark(run)
    finally:
        os.close(fd)


# -- fetch throughput with logging off vs on -------------------------------------------------
# 2,000 GETs of a 1 KiB body at 64 concurrent through a full session (HTTP cache on) to the
# uvloop server of ``fast_server``; requests per second = 2,000 / the round's median time.

from test_fetch_benchmarks import loops  # noqa: E402  (same event loops as the fetch benchmarks)

FETCHES = 2000
FETCH_CONCURRENCY = 64


@pytest.mark.parametrize("make_loop", loops())
@pytest.mark.parametrize("capture", ["off", "default", "everything"])
def test_fetch_with_logging(
    benchmark: Any, fast_server: str, tmp_path: Path, make_loop: Any, capture: str
) -> None:
    import asyncio

    from websession import session

    loop_name = make_loop.__module__.split(".")[0]
    benchmark.group = f"netlog: fetch 1 KiB x{FETCHES} at {FETCH_CONCURRENCY} concurrent ({loop_name})"
    loop = make_loop()
    asyncio.set_event_loop(loop)
    ses = session.from_partition(f"bench-netlog-{capture}-{loop_name}")
    url = fast_server + "/"

    async def round_() -> None:
        remaining = iter(range(FETCHES))

        async def worker() -> None:
            for _ in remaining:
                response = await ses.fetch(url)
                await response.read()

        await asyncio.gather(*(worker() for _ in range(FETCH_CONCURRENCY)))

    path = tmp_path / "fetch.json"
    if capture != "off":
        loop.run_until_complete(ses.net_log.start_logging(str(path), capture_mode=capture))
    loop.run_until_complete(round_())  # warm the pool
    benchmark.pedantic(lambda: loop.run_until_complete(round_()), rounds=7, iterations=1)
    benchmark.extra_info["requests_per_second"] = FETCHES / benchmark.stats.stats.median
    if capture != "off":
        loop.run_until_complete(ses.net_log.stop_logging())
        benchmark.extra_info["log_bytes"] = path.stat().st_size
    loop.run_until_complete(ses.close())
    loop.close()
    asyncio.set_event_loop(None)


def test_fetch_logging_overhead_interleaved(benchmark: Any, fast_server: str, tmp_path: Path) -> None:
    """Rounds with logging off, in default mode through the compiled request log and writer, and
    through their pure-Python twins, alternated in one process so machine load hits all alike;
    ``extra_info`` holds the medians and the overheads (the target is at most 10% for the
    compiled log)."""
    import asyncio
    import statistics
    import time

    from websession import _impl, session

    benchmark.group = f"netlog: fetch 1 KiB x{FETCHES}, off/default alternated"
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ses = session.from_partition("bench-netlog-interleaved")
    url = fast_server + "/"
    path = str(tmp_path / "interleaved.json")

    async def round_() -> float:
        remaining = iter(range(FETCHES))

        async def worker() -> None:
            for _ in remaining:
                response = await ses.fetch(url)
                await response.read()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(FETCH_CONCURRENCY)))
        return time.perf_counter() - start

    async def logged(implementation: str) -> float:
        previous = _impl.implementation()
        _impl.use(implementation)  # the writer and the request log are chosen as logging starts
        try:
            await ses.net_log.start_logging(path)
        finally:
            _impl.use(previous)
        try:
            return await round_()
        finally:
            await ses.net_log.stop_logging()

    loop.run_until_complete(round_())  # warm the pool
    times: dict[str, list[float]] = {"off": [], "c": [], "python": []}
    order = ["off", "c", "python"]

    def rounds() -> None:
        # Each round runs all three, in an order that rotates so none always follows another;
        # its ratios compare rounds a second apart, and the medians of the ratios are reported.
        for kind in order:
            times[kind].append(loop.run_until_complete(round_() if kind == "off" else logged(kind)))
        order.append(order.pop(0))

    benchmark.pedantic(rounds, rounds=45, iterations=1)  # many: this is a ratio of noisy rounds
    on_ratio = statistics.median(c / o for c, o in zip(times["c"], times["off"]))
    twin_ratio = statistics.median(p / o for p, o in zip(times["python"], times["off"]))
    benchmark.extra_info["off_requests_per_second"] = FETCHES / statistics.median(times["off"])
    benchmark.extra_info["default_requests_per_second"] = FETCHES / statistics.median(times["c"])
    benchmark.extra_info["twin_default_requests_per_second"] = FETCHES / statistics.median(times["python"])
    benchmark.extra_info["overhead_percent"] = 100 * (on_ratio - 1)
    benchmark.extra_info["throughput_drop_percent"] = 100 * (1 - 1 / on_ratio)
    benchmark.extra_info["twin_throughput_drop_percent"] = 100 * (1 - 1 / twin_ratio)
    loop.run_until_complete(ses.close())
    loop.close()
    asyncio.set_event_loop(None)
