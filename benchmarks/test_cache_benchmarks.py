"""HTTP cache: a fresh hit through websession next to a loopback miss and the peers' hits, and the
cache index core (get/put/evict) compiled vs its twin.

One benchmark call = ``BATCH`` requests (the async ones inside one ``run_until_complete``), so
divide the medians by ``BATCH`` for the time of one request. The origin runs on 127.0.0.1 in a
background thread; every contender talks to it over real sockets.

Run: ``python -m pytest benchmarks/test_cache_benchmarks.py --benchmark-only
--benchmark-columns=median,ops,rounds``.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from websession import _cacheindex_c, _cacheindex_py
from websession._http import RequestState, Response
from websession._http_cache import HttpCache

BATCH = 100
BODY = b"x" * 2048
HEADERS = {"Cache-Control": "max-age=3600", "Content-Type": "text/plain", "ETag": '"bench"'}


@pytest.fixture(scope="module")
def origin() -> Iterator[dict[str, Any]]:
    """An aiohttp origin in its own thread: ``/hit`` is cacheable, ``/miss`` is not."""
    info: dict[str, Any] = {"count": 0}
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    async def hit(request: web.Request) -> web.Response:
        info["count"] += 1
        return web.Response(body=BODY, headers=HEADERS)

    async def miss(request: web.Request) -> web.Response:
        return web.Response(body=BODY, headers={"Cache-Control": "no-store"})

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/hit", hit)
        app.router.add_get("/miss", miss)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        info["base"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        info["runner"] = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    yield info
    asyncio.run_coroutine_threadsafe(info["runner"].cleanup(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


def _forward(client: aiohttp.ClientSession) -> Callable[[RequestState], Any]:
    async def forward(state: RequestState) -> Response:
        resp = await client.request(state.method, state.url, headers=list(state.headers.items()),
                                    auto_decompress=False)
        response = Response(status=resp.status, headers=list(resp.headers.items()))
        response._set_stream(resp.content.iter_any(), resp.release)
        return response

    return forward


def _session() -> Any:
    """A fresh in-memory session: the cache behind the whole ``ses.fetch`` pipeline."""
    from websession import session

    return session.from_partition(f"cache-benchmark-{uuid.uuid4().hex}")


@pytest.mark.benchmark(group="fresh hit (per BATCH requests)")
def test_hit_websession_session_fetch(benchmark: Any, origin: dict[str, Any],
                                      loop: asyncio.AbstractEventLoop) -> None:
    ses = _session()
    url = origin["base"] + "/hit"

    async def batch() -> None:
        for _ in range(BATCH):
            response = await ses.fetch(url)
            await response.bytes()

    loop.run_until_complete(batch())
    before = origin["count"]
    benchmark(lambda: loop.run_until_complete(batch()))
    assert origin["count"] == before
    loop.run_until_complete(ses.close())


@pytest.mark.benchmark(group="fresh hit (per BATCH requests)")
def test_hit_websession_http_cache(benchmark: Any, origin: dict[str, Any],
                                   loop: asyncio.AbstractEventLoop) -> None:
    cache = HttpCache(None)
    url = origin["base"] + "/hit"
    ids = itertools.count()

    async def setup() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(auto_decompress=False)

    client = loop.run_until_complete(setup())
    forward = _forward(client)

    async def batch() -> None:
        for _ in range(BATCH):
            state = RequestState(next(ids), None, "GET", url)
            state.headers = CIMultiDict({"User-Agent": "bench"})
            response = await cache.fetch(state, forward)
            await response.bytes()

    loop.run_until_complete(batch())
    before = origin["count"]
    benchmark(lambda: loop.run_until_complete(batch()))
    assert origin["count"] == before
    loop.run_until_complete(client.close())


@pytest.mark.benchmark(group="fresh hit (per BATCH requests)")
def test_miss_websession_session_fetch(benchmark: Any, origin: dict[str, Any],
                                       loop: asyncio.AbstractEventLoop) -> None:
    ses = _session()
    url = origin["base"] + "/miss"

    async def batch() -> None:
        for _ in range(BATCH):
            response = await ses.fetch(url)
            await response.bytes()

    loop.run_until_complete(batch())
    benchmark(lambda: loop.run_until_complete(batch()))
    loop.run_until_complete(ses.close())


@pytest.mark.benchmark(group="fresh hit (per BATCH requests)")
def test_hit_hishel_async(benchmark: Any, origin: dict[str, Any], tmp_path: Path,
                          loop: asyncio.AbstractEventLoop) -> None:
    import hishel
    from hishel.httpx import AsyncCacheClient

    url = origin["base"] + "/hit"

    async def setup() -> Any:
        storage = hishel.AsyncSqliteStorage(database_path=str(tmp_path / "hishel-async.db"))
        return AsyncCacheClient(storage=storage)

    client = loop.run_until_complete(setup())

    async def batch() -> None:
        for _ in range(BATCH):
            response = await client.get(url)
            response.read()

    loop.run_until_complete(batch())
    before = origin["count"]
    benchmark(lambda: loop.run_until_complete(batch()))
    assert origin["count"] == before
    loop.run_until_complete(client.aclose())


@pytest.mark.benchmark(group="fresh hit (per BATCH requests)")
def test_hit_hishel_sync(benchmark: Any, origin: dict[str, Any], tmp_path: Path) -> None:
    import hishel
    from hishel.httpx import CacheClient

    url = origin["base"] + "/hit"
    client = CacheClient(storage=hishel.SqliteStorage(database_path=str(tmp_path / "hishel.db")))

    def batch() -> None:
        for _ in range(BATCH):
            client.get(url).read()

    batch()
    before = origin["count"]
    benchmark(batch)
    assert origin["count"] == before
    client.close()


@pytest.mark.benchmark(group="fresh hit (per BATCH requests)")
def test_hit_requests_cache(benchmark: Any, origin: dict[str, Any], tmp_path: Path) -> None:
    import requests_cache

    url = origin["base"] + "/hit"
    client = requests_cache.CachedSession(str(tmp_path / "requests-cache"), backend="sqlite",
                                          cache_control=True)

    def batch() -> None:
        for _ in range(BATCH):
            client.get(url).content  # noqa: B018

    batch()
    before = origin["count"]
    benchmark(batch)
    assert origin["count"] == before
    client.close()


# -- the index core --------------------------------------------------------------------------------

INDEX_KEYS = [f"https://example.com/page/{i}?q={i * 7}" for i in range(10_000)]
CORES = {"c": _cacheindex_c, "python": _cacheindex_py}


@pytest.mark.parametrize("impl", ["c", "python"])
@pytest.mark.benchmark(group="index get (per 10,000 lookups)")
def test_index_get(benchmark: Any, impl: str) -> None:
    index = CORES[impl].CacheIndex()
    for key in INDEX_KEYS:
        index.put(key, 1000, None)
    get = index.get
    keys = INDEX_KEYS

    def run() -> None:
        for key in keys:
            get(key)

    benchmark(run)


@pytest.mark.parametrize("impl", ["c", "python"])
@pytest.mark.benchmark(group="index put (per 10,000 inserts)")
def test_index_put(benchmark: Any, impl: str) -> None:
    module = CORES[impl]
    keys = INDEX_KEYS

    def run() -> None:
        index = module.CacheIndex()
        put = index.put
        for key in keys:
            put(key, 1000, None, 1.0, 1.0)

    benchmark(run)


@pytest.mark.parametrize("impl", ["c", "python"])
@pytest.mark.benchmark(group="index put with eviction (per 10,000 inserts)")
def test_index_evict(benchmark: Any, impl: str) -> None:
    module = CORES[impl]
    keys = INDEX_KEYS
    index = module.CacheIndex(1000 * 1000)  # room for 1,000 entries: every put evicts one
    for key in keys[:1000]:
        index.put(key, 1000, None)
    put = index.put

    def run() -> None:
        for key in keys:
            put(key, 1000, None, 1.0, 1.0)

    benchmark(run)
