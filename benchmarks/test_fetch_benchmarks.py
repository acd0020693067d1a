"""Fetch throughput: websession's full pipeline vs bare aiohttp, curl_cffi and httpx.

Each round sends 2,000 GETs for a 1 KiB body at 64 concurrent requests to a uvloop server in
another process. websession runs with 1,000 webRequest filter patterns registered (none of them
matching the benchmark host, as an ad-blocking list would), so every request pays the filter
match. Requests per second = 2,000 / the round's median time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

REQUESTS = 2000
CONCURRENCY = 64


def drive(benchmark: Any, make_loop: Callable[[], asyncio.AbstractEventLoop],
          setup: Callable[[], Awaitable[Any]], one: Callable[[Any], Awaitable[None]],
          teardown: Callable[[Any], Awaitable[None]]) -> None:
    loop = make_loop()
    asyncio.set_event_loop(loop)
    client = loop.run_until_complete(setup())

    async def round_() -> None:
        remaining = iter(range(REQUESTS))

        async def worker() -> None:
            for _ in remaining:
                await one(client)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    loop.run_until_complete(round_())  # warm the pool
    benchmark.pedantic(lambda: loop.run_until_complete(round_()), rounds=7, iterations=1)
    benchmark.extra_info["requests_per_second"] = REQUESTS / benchmark.stats.stats.median
    loop.run_until_complete(teardown(client))
    loop.close()
    asyncio.set_event_loop(None)


def loops() -> list[Any]:
    params = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop

        params.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    except ImportError:
        pass
    return params


def filter_patterns(n: int = 1000) -> list[str]:
    kinds = ("*://*.ads{i}.example/*", "https://tracker{i}.example/path/*", "http://cdn{i}.example:8080/*.js")
    return [kinds[i % 3].format(i=i) for i in range(n)]


@pytest.mark.parametrize("make_loop", loops())
def test_websession(benchmark: Any, fast_server: str, make_loop: Any) -> None:
    from websession import session

    benchmark.group = f"fetch 1 KiB x{REQUESTS} at {CONCURRENCY} concurrent ({make_loop.__module__.split('.')[0]})"
    state: dict[str, Any] = {}

    async def setup() -> Any:
        ses = session.from_partition(f"bench-{id(state)}", cache=False)
        ses.web_request.on_before_request({"urls": filter_patterns()}, lambda details: None)
        state["ses"] = ses
        return ses

    async def one(ses: Any) -> None:
        response = await ses.fetch(fast_server + "/")
        await response.read()

    async def teardown(ses: Any) -> None:
        await ses.close()

    drive(benchmark, make_loop, setup, one, teardown)


@pytest.mark.parametrize("make_loop", loops())
def test_bare_aiohttp(benchmark: Any, fast_server: str, make_loop: Any) -> None:
    benchmark.group = f"fetch 1 KiB x{REQUESTS} at {CONCURRENCY} concurrent ({make_loop.__module__.split('.')[0]})"

    async def setup() -> Any:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))

    async def one(client: aiohttp.ClientSession) -> None:
        async with client.get(fast_server + "/") as response:
            await response.read()

    async def teardown(client: aiohttp.ClientSession) -> None:
        await client.close()

    drive(benchmark, make_loop, setup, one, teardown)


def test_curl_cffi(benchmark: Any, fast_server: str) -> None:
    from curl_cffi.requests import AsyncSession

    benchmark.group = f"fetch 1 KiB x{REQUESTS} at {CONCURRENCY} concurrent (asyncio)"

    async def setup() -> Any:
        return AsyncSession(max_clients=CONCURRENCY)

    async def one(client: Any) -> None:
        response = await client.get(fast_server + "/")
        assert len(response.content) == 1024

    async def teardown(client: Any) -> None:
        await client.close()

    drive(benchmark, asyncio.new_event_loop, setup, one, teardown)


def test_httpx(benchmark: Any, fast_server: str) -> None:
    import httpx

    benchmark.group = f"fetch 1 KiB x{REQUESTS} at {CONCURRENCY} concurrent (asyncio)"

    async def setup() -> Any:
        return httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY))

    async def one(client: Any) -> None:
        response = await client.get(fast_server + "/")
        assert len(response.content) == 1024

    async def teardown(client: Any) -> None:
        await client.aclose()

    drive(benchmark, asyncio.new_event_loop, setup, one, teardown)


@pytest.mark.parametrize("make_loop", loops())
def test_alternating_ratio(benchmark: Any, fast_server: str, make_loop: Any) -> None:
    """websession and bare aiohttp rounds alternated in one loop: a ratio robust to machine load.

    ``extra_info["ratio_vs_aiohttp"]`` is aiohttp's median round time over websession's
    (1.0 = as fast as bare aiohttp); the timed function is one pair of rounds.
    """
    import statistics

    from websession import session

    benchmark.group = f"fetch, alternating pairs of {REQUESTS}-request rounds"
    loop = make_loop()
    ses = session.from_partition(f"bench-alternating-{make_loop.__module__}", cache=False)
    ses.web_request.on_before_request({"urls": filter_patterns()}, lambda details: None)
    client = loop.run_until_complete(_client())
    times: dict[str, list[float]] = {"websession": [], "aiohttp": []}

    async def websession_one() -> None:
        response = await ses.fetch(fast_server + "/")
        await response.read()

    async def aiohttp_one() -> None:
        async with client.get(fast_server + "/") as response:
            await response.read()

    async def timed(one: Callable[[], Awaitable[None]]) -> float:
        remaining = iter(range(REQUESTS))

        async def worker() -> None:
            for _ in remaining:
                await one()

        started = loop.time()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return loop.time() - started

    def pair() -> None:
        times["websession"].append(loop.run_until_complete(timed(websession_one)))
        times["aiohttp"].append(loop.run_until_complete(timed(aiohttp_one)))

    pair()
    times = {"websession": [], "aiohttp": []}
    benchmark.pedantic(pair, rounds=10, iterations=1)
    ratio = statistics.median(times["aiohttp"]) / statistics.median(times["websession"])
    benchmark.extra_info["ratio_vs_aiohttp"] = round(ratio, 3)
    benchmark.extra_info["websession_rps"] = round(REQUESTS / statistics.median(times["websession"]))
    benchmark.extra_info["aiohttp_rps"] = round(REQUESTS / statistics.median(times["aiohttp"]))
    print(f"\nalternating ({make_loop.__module__.split('.')[0]}): websession/aiohttp = {ratio:.3f}")
    loop.run_until_complete(client.close())
    loop.run_until_complete(ses.close())
    loop.close()


async def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
