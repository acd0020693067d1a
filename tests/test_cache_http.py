"""The HTTP cache end to end: a loopback origin, real aiohttp requests as ``forward``, memory and
disk stores, both index implementations."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from websession import _impl
from websession._cache_policy import format_http_date, headers_size
from websession._errors import NetError
from websession._http import RequestState, Response
from websession._http_cache import HttpCache

_ids = itertools.count(1)


def make_forward(client: aiohttp.ClientSession) -> Callable[[RequestState], Any]:
    """One network hop with aiohttp, returning the raw (still encoded) response, streamed."""

    async def forward(state: RequestState) -> Response:
        try:
            resp = await client.request(
                state.method, state.url, headers=list(state.headers.items()), data=state.body,
                allow_redirects=False, auto_decompress=False,
            )
        except aiohttp.ClientError as error:
            raise NetError("ERR_CONNECTION_REFUSED") from error
        response = Response(status=resp.status, status_text=resp.reason or "",
                            headers=list(resp.headers.items()))
        if state.method == "HEAD" or resp.status in (204, 304):
            resp.release()
        else:
            response._set_stream(resp.content.iter_chunked(16 * 1024), resp.release)
        return response

    return forward


class Origin:
    """A loopback origin whose routes are plain functions; counts what it saw."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[web.Request], Any]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self.handle)

    def count(self, path: str, method: str = "GET") -> int:
        return sum(1 for m, p, _ in self.seen if p == path and m == method)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.seen.append((request.method, "/" + request.match_info["path"], dict(request.headers)))
        route = self.routes.get("/" + request.match_info["path"])
        if route is None:
            return web.Response(status=404, text="no route")
        result = route(request)
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, web.StreamResponse)
        return result


@pytest.fixture(params=["memory", "disk"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def env(
    serve: Any, tmp_path: Path, store: str, implementation: str
) -> AsyncIterator[Env]:
    previous = _impl.implementation()
    _impl.use("c" if implementation == "c" else "python")
    origin = Origin()
    base = await serve(origin.app)
    async with aiohttp.ClientSession(auto_decompress=False) as client:
        environment = Env(origin, base, client, tmp_path / "profile" if store == "disk" else None)
        yield environment
        await environment.cache.close()
    _impl.use(previous)


class Env:
    def __init__(self, origin: Origin, base: str, client: aiohttp.ClientSession,
                 storage: Path | None) -> None:
        self.origin = origin
        self.base = base
        self.forward = make_forward(client)
        self.storage = storage
        self.cache = HttpCache(storage)

    def reopen(self, **kwargs: Any) -> HttpCache:
        self.cache = HttpCache(self.storage, **kwargs)
        return self.cache

    async def fetch(self, path: str, *, method: str = "GET", headers: Any = (),
                    cache: str = "default", body: bytes | None = None) -> tuple[Response, bytes]:
        state = RequestState(next(_ids), None, method, self.base + path)
        state.headers = CIMultiDict(headers)
        state.cache_mode = cache
        state.body = body
        response = await self.cache.fetch(state, self.forward)
        data = await response.bytes()
        return response, data


def counter_route(body: bytes | Callable[[], bytes], **headers: str) -> Callable[[web.Request], Any]:
    def route(request: web.Request) -> web.Response:
        data = body() if callable(body) else body
        return web.Response(body=data, headers=headers, content_type="text/plain")

    return route


def charge(url: str, response: Response, body: bytes) -> int:
    """What the cache charges for an entry, computed from what the caller saw."""
    hop = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
           "proxy-authenticate", "proxy-authorization", "proxy-connection",
           "proxy-authentication-info", "age"}
    pairs = [(k, v) for k, v in response.headers.items() if k.lower() not in hop]
    return len(body) + headers_size(url, pairs)


async def test_miss_then_fresh_hit(env: Env) -> None:
    env.origin.routes["/a"] = counter_route(b"alpha", **{"Cache-Control": "max-age=100"})
    first, body = await env.fetch("/a")
    assert body == b"alpha" and not first.from_cache and "Age" not in first.headers
    second, body = await env.fetch("/a")
    assert body == b"alpha" and second.from_cache and second.status == 200
    assert int(second.headers["Age"]) >= 0 and second.headers["Cache-Control"] == "max-age=100"
    assert env.origin.count("/a") == 1
    third, body = await env.fetch("/a#fragment")
    assert third.from_cache and body == b"alpha"


async def test_revalidation_304_merges_headers(env: Env) -> None:
    state = {"n": 0}

    def route(request: web.Request) -> web.Response:
        state["n"] += 1
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"', "X-Seen": str(state["n"]),
                                                     "Cache-Control": "max-age=0"})
        return web.Response(body=b"payload", headers={"ETag": '"v1"', "X-Seen": "1",
                                                      "Cache-Control": "max-age=0"})

    env.origin.routes["/v"] = route
    await env.fetch("/v")
    response, body = await env.fetch("/v")
    assert body == b"payload" and response.status == 200 and response.from_cache
    assert response.headers["X-Seen"] == "2"
    assert env.origin.seen[-1][2].get("If-None-Match") == '"v1"'
    response, body = await env.fetch("/v")
    assert response.headers["X-Seen"] == "3" and body == b"payload"


async def test_last_modified_validation(env: Env) -> None:
    modified = format_http_date(time.time() - 3600)

    def route(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since") == modified:
            return web.Response(status=304)
        return web.Response(body=b"lm", headers={"Last-Modified": modified,
                                                 "Cache-Control": "no-cache"})

    env.origin.routes["/lm"] = route
    await env.fetch("/lm")
    response, body = await env.fetch("/lm")
    assert body == b"lm" and response.from_cache and env.origin.count("/lm") == 2


async def test_vary(env: Env) -> None:
    env.origin.routes["/vary"] = lambda r: web.Response(
        text=r.headers.get("Accept-Language", "none"),
        headers={"Vary": "Accept-Language", "Cache-Control": "max-age=100"})
    _, body = await env.fetch("/vary", headers={"Accept-Language": "en, de"})
    response, body = await env.fetch("/vary", headers={"Accept-Language": "de,en"})
    assert response.from_cache and body == b"en, de"
    response, body = await env.fetch("/vary", headers={"Accept-Language": "fr"})
    assert not response.from_cache and body == b"fr"
    env.origin.routes["/star"] = counter_route(b"s", Vary="*", **{"Cache-Control": "max-age=100"})
    await env.fetch("/star")
    response, _ = await env.fetch("/star")
    assert not response.from_cache


async def test_invalidation_by_unsafe_methods(env: Env) -> None:
    for path in ("/inv", "/loc", "/cl"):
        env.origin.routes[path] = counter_route(path.encode(), **{"Cache-Control": "max-age=100"})
        await env.fetch(path)
    env.origin.routes["/post"] = lambda r: web.Response(
        text="done", headers={"Location": "/loc", "Content-Location": env.base + "/cl"})
    await env.fetch("/inv", method="POST", body=b"x")
    response, _ = await env.fetch("/inv")
    assert not response.from_cache
    await env.fetch("/post", method="PUT", body=b"x")
    for path in ("/loc", "/cl"):
        response, _ = await env.fetch(path)
        assert not response.from_cache, path
    # A failed unsafe request invalidates nothing.
    env.origin.routes["/fail"] = lambda r: web.Response(status=500)
    response, _ = await env.fetch("/inv")
    assert response.from_cache
    env.origin.routes["/inv"] = lambda r: (
        web.Response(status=500) if r.method == "DELETE" else web.Response(text="x"))
    await env.fetch("/inv", method="DELETE")
    response, _ = await env.fetch("/inv")
    assert response.from_cache


async def test_fetch_cache_modes(env: Env) -> None:
    env.origin.routes["/m"] = counter_route(b"m", ETag='"e"', **{"Cache-Control": "max-age=100"})
    with pytest.raises(NetError) as failure:
        await env.fetch("/m", cache="only-if-cached")
    assert failure.value.name == "net::ERR_CACHE_MISS" and env.origin.count("/m") == 0
    response, _ = await env.fetch("/m", cache="no-store")
    assert env.origin.count("/m") == 1 and await env.cache.size() == 0
    await env.fetch("/m")  # default: stored
    response, _ = await env.fetch("/m")
    assert response.from_cache and env.origin.count("/m") == 2
    response, _ = await env.fetch("/m", cache="reload")
    assert not response.from_cache and env.origin.count("/m") == 3
    assert env.origin.seen[-1][2].get("Cache-Control") == "no-cache"
    assert env.origin.seen[-1][2].get("Pragma") == "no-cache"
    response, _ = await env.fetch("/m", cache="no-cache")
    assert env.origin.count("/m") == 4 and env.origin.seen[-1][2].get("If-None-Match") == '"e"'
    response, _ = await env.fetch("/m", cache="no-store")
    assert not response.from_cache and env.origin.count("/m") == 5
    # force-cache and only-if-cached take a stale entry without asking the origin.
    env.origin.routes["/old"] = counter_route(b"old", **{"Cache-Control": "max-age=0",
                                                         "Last-Modified": format_http_date(0)})
    await env.fetch("/old")
    response, body = await env.fetch("/old", cache="force-cache")
    assert response.from_cache and body == b"old"
    response, body = await env.fetch("/old", cache="only-if-cached")
    assert response.from_cache and body == b"old" and env.origin.count("/old") == 1
    response, _ = await env.fetch("/old")
    assert env.origin.count("/old") == 2
    with pytest.raises(ValueError, match="cache"):
        await env.fetch("/old", cache="sometimes")


async def test_request_directives(env: Env) -> None:
    env.origin.routes["/r"] = counter_route(b"r", **{"Cache-Control": "max-age=100"})
    await env.fetch("/r")
    response, _ = await env.fetch("/r", headers={"Cache-Control": "max-age=0"})
    assert not response.from_cache
    response, _ = await env.fetch("/r", headers={"Pragma": "no-cache"})
    assert not response.from_cache
    response, _ = await env.fetch("/r", headers={"Cache-Control": "only-if-cached"})
    assert response.from_cache
    response, _ = await env.fetch("/nothing", headers={"Cache-Control": "only-if-cached"})
    assert response.status == 504


async def test_range_from_a_stored_response(env: Env) -> None:
    env.origin.routes["/range"] = counter_route(b"0123456789", **{"Cache-Control": "max-age=100"})
    await env.fetch("/range")
    response, body = await env.fetch("/range", headers={"Range": "bytes=2-4"})
    assert response.status == 206 and body == b"234" and response.from_cache
    assert response.headers["Content-Range"] == "bytes 2-4/10"
    response, body = await env.fetch("/range", headers={"Range": "bytes=-3"})
    assert body == b"789"


async def test_stale_while_revalidate(env: Env) -> None:
    versions = iter([b"one", b"two", b"three"])
    env.origin.routes["/swr"] = lambda r: web.Response(
        body=next(versions), headers={"Cache-Control": "max-age=0, stale-while-revalidate=100"})
    await env.fetch("/swr")
    response, body = await env.fetch("/swr")
    assert response.from_cache and body == b"one"
    await env.cache.size()  # waits for the background refresh
    assert env.origin.count("/swr") == 2
    response, body = await env.fetch("/swr")
    assert body == b"two"


async def test_size_is_exact(env: Env) -> None:
    env.cache.set_max_size(3000)
    expected: dict[str, int] = {}

    async def add(path: str, size: int) -> None:
        env.origin.routes[path] = counter_route(b"x" * size, **{"Cache-Control": "max-age=100"})
        response, body = await env.fetch(path, cache="reload")
        expected[path] = charge(env.base + path, response, body)

    await add("/s1", 100)
    await add("/s2", 200)
    assert await env.cache.size() == sum(expected.values())
    await add("/s1", 700)  # replacement
    assert await env.cache.size() == sum(expected.values())
    await add("/s3", 1800)  # evicts /s2, the least recently used
    del expected["/s2"]
    assert await env.cache.size() == sum(expected.values())
    with pytest.raises(NetError):
        await env.fetch("/s2", cache="only-if-cached")
    await env.cache.clear()
    assert await env.cache.size() == 0


async def test_too_large_is_not_cached_and_evicts_nothing(env: Env) -> None:
    env.cache.set_max_size(10_000)
    env.origin.routes["/small"] = counter_route(b"s" * 1000, **{"Cache-Control": "max-age=100"})
    await env.fetch("/small")
    before = await env.cache.size()

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Cache-Control": "max-age=100"})
        await response.prepare(request)
        for _ in range(20):
            await response.write(b"b" * 1000)
        await response.write_eof()
        return response

    env.origin.routes["/big"] = big
    _, body = await env.fetch("/big")
    assert len(body) == 20_000
    assert await env.cache.size() == before
    response, _ = await env.fetch("/small")
    assert response.from_cache
    response, _ = await env.fetch("/big")
    assert not response.from_cache


async def test_abandoned_body_is_not_stored(env: Env) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Cache-Control": "max-age=100"})
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"z" * 32768)
        await response.write_eof()
        return response

    env.origin.routes["/slow"] = slow
    state = RequestState(next(_ids), None, "GET", env.base + "/slow")
    response = await env.cache.fetch(state, env.forward)
    stream = response.body
    assert stream is not None
    first = await stream.__anext__()
    assert first
    await stream.aclose()  # type: ignore[attr-defined]
    response.close()
    assert await env.cache.size() == 0


async def test_clear_origins(env: Env, serve: Any) -> None:
    other = await serve(env.origin.app, host="localhost")
    env.origin.routes["/o"] = counter_route(b"o", **{"Cache-Control": "max-age=100"})
    await env.fetch("/o")
    state = RequestState(next(_ids), None, "GET", other + "/o")
    await (await env.cache.fetch(state, env.forward)).bytes()
    assert env.origin.count("/o") == 2
    await env.cache.clear_origins([env.base], exclude=True)
    response, _ = await env.fetch("/o")
    assert response.from_cache
    await env.cache.clear_origins([env.base + "/any/path"], exclude=False)
    response, _ = await env.fetch("/o")
    assert not response.from_cache


async def test_doomed_entry_is_read_to_the_end(env: Env) -> None:
    versions = iter([b"A" * 300_000, b"B" * 300_000])
    env.origin.routes["/d"] = lambda r: web.Response(
        body=next(versions), headers={"Cache-Control": "max-age=100"})
    await env.fetch("/d")
    state = RequestState(next(_ids), None, "GET", env.base + "/d")
    reader = await env.cache.fetch(state, env.forward)
    assert reader.from_cache
    _, fresh = await env.fetch("/d", cache="reload")  # replaces the entry being read
    assert fresh == b"B" * 300_000
    assert await reader.bytes() == b"A" * 300_000
    response, body = await env.fetch("/d")
    assert response.from_cache and body == b"B" * 300_000
    if env.storage is not None:
        await env.cache.size()
        assert len(list((env.storage / "Cache").glob("*.entry"))) == 1


async def test_persistence_across_reopen(env: Env) -> None:
    if env.storage is None:
        pytest.skip("memory caches do not persist")
    env.origin.routes["/p"] = counter_route(b"persisted", **{"Cache-Control": "max-age=100"})
    await env.fetch("/p")
    size = await env.cache.size()
    await env.cache.close()
    env.reopen()
    assert await env.cache.size() == size
    response, body = await env.fetch("/p", cache="only-if-cached")
    assert response.from_cache and body == b"persisted"
    await env.cache.close()
    (env.storage / "Cache" / "index.json").write_bytes(b"WSCACHEINDEX1 torn\n[{")
    env.reopen()
    response, body = await env.fetch("/p", cache="only-if-cached")
    assert body == b"persisted" and await env.cache.size() == size
