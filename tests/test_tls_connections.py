"""Network emulation, preconnect and close_all_connections against loopback servers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web

from websession import NetError


def app_with(peers: list[Any], release: asyncio.Event | None = None) -> web.Application:
    app = web.Application()
    gate = release if release is not None else asyncio.Event()

    async def wait() -> None:
        try:
            await asyncio.wait_for(gate.wait(), 10)
        except asyncio.TimeoutError:
            pass

    async def small(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername")[:2])
        return web.Response(text="ok")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * int(request.match_info["n"]))

    async def upload(request: web.Request) -> web.Response:
        data = await request.read()
        return web.Response(text=str(len(data)))

    async def hang(request: web.Request) -> web.StreamResponse:
        await wait()
        return web.Response(text="late")

    async def hang_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100"})
        await response.prepare(request)
        await response.write(b"first")
        await wait()
        return response

    app.router.add_get("/small", small)
    app.router.add_get("/big/{n}", big)
    app.router.add_post("/upload", upload)
    app.router.add_get("/hang", hang)
    app.router.add_get("/hang-body", hang_body)
    return app


async def counting_server(peers: list[Any]) -> tuple[str, list[Any], web.AppRunner]:
    """An aiohttp app on 127.0.0.1 that records every connection it accepts."""
    accepted: list[Any] = []
    runner = web.AppRunner(app_with(peers), access_log=None)
    await runner.setup()
    server = runner.server
    assert server is not None
    original = server.connection_made

    def made(handler: Any, transport: Any) -> None:
        accepted.append(transport.get_extra_info("peername")[:2])
        original(handler, transport)

    server.connection_made = made  # type: ignore[method-assign]
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"http://127.0.0.1:{port}", accepted, runner


# -- emulation -------------------------------------------------------------------------------


async def test_offline(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(app_with([]))
    ses.enable_network_emulation(offline=True)
    with pytest.raises(NetError) as info:
        await ses.fetch(base + "/small")
    assert info.value.name == "net::ERR_INTERNET_DISCONNECTED"
    ses.disable_network_emulation()
    assert (await ses.fetch(base + "/small")).status == 200


async def test_latency_floor(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(app_with([]))
    ses.enableNetworkEmulation({"latency": 300})
    start = time.monotonic()
    await (await ses.fetch(base + "/small")).bytes()
    assert time.monotonic() - start >= 0.3


async def test_download_throughput_ceiling(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(app_with([]))
    ses.enable_network_emulation(download_throughput=40_000)
    start = time.monotonic()
    data = await (await ses.fetch(base + "/big/40000")).bytes()
    elapsed = time.monotonic() - start
    assert len(data) == 40_000
    assert elapsed >= (40_000 - 2_000) / 40_000  # all but one burst at 40 kB/s


async def test_upload_throughput_ceiling(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(app_with([]))
    ses.enable_network_emulation(upload_throughput=40_000)
    start = time.monotonic()
    response = await ses.fetch(base + "/upload", method="POST", body=b"y" * 30_000)
    assert await response.text() == "30000"
    assert time.monotonic() - start >= (30_000 - 2_000) / 40_000


async def test_emulation_options_are_checked(ses) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="offline"):
        ses.enable_network_emulation(offline="yes")
    with pytest.raises(ValueError, match="latency"):
        ses.enable_network_emulation(latency=-1)
    with pytest.raises(TypeError, match="unknown option 'speed'"):
        ses.enable_network_emulation(speed=1)
    assert ses._emulation is None


# -- preconnect --------------------------------------------------------------------------------


async def test_preconnect_socket_serves_the_next_request(ses) -> None:  # type: ignore[no-untyped-def]
    peers: list[Any] = []
    base, accepted, listener = await counting_server(peers)
    events: list[Any] = []
    ses.on("preconnect", lambda event, url, allow: events.append((url, allow)))
    try:
        ses.preconnect(url=base + "/some/path?q")
        assert events == [(base + "/", True)]
        response = await ses.fetch(base + "/small")
        assert await response.text() == "ok"
        assert len(accepted) == 1 and peers == accepted
    finally:
        await listener.cleanup()


async def test_preconnect_num_sockets(ses) -> None:  # type: ignore[no-untyped-def]
    base, accepted, listener = await counting_server([])
    try:
        ses.preconnect({"url": base, "numSockets": 4})
        await ses._await_preconnect(base + "/")
        assert len(accepted) == 4
        await asyncio.gather(*(ses.fetch(base + "/small") for _ in range(3)))
        assert len(accepted) == 4  # served by the warm sockets
    finally:
        await listener.cleanup()


@pytest.mark.parametrize("bad", [0, 7, 2.5, "2", True])
async def test_preconnect_bad_count(ses, bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=r"numSocketsToPreconnect is outside range \[1,6\]"):
        ses.preconnect(url="http://127.0.0.1:9/", num_sockets=bad)


@pytest.mark.parametrize("bad", ["", "not a url", None, 5, "/relative"])
async def test_preconnect_bad_url(ses, bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="Must pass non-empty valid url to session.preconnect."):
        ses.preconnect(url=bad)


# -- close_all_connections -----------------------------------------------------------------------


async def test_close_all_connections_closes_pooled_sockets(ses) -> None:  # type: ignore[no-untyped-def]
    base, accepted, listener = await counting_server([])
    try:
        await (await ses.fetch(base + "/small")).bytes()
        await (await ses.fetch(base + "/small")).bytes()
        assert len(accepted) == 1
        await ses.closeAllConnections()
        await (await ses.fetch(base + "/small")).bytes()
        assert len(accepted) == 2
    finally:
        await listener.cleanup()


async def test_close_all_connections_fails_requests_in_flight(ses, serve) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()
    base = await serve(app_with([], release))
    waiting = asyncio.ensure_future(ses.fetch(base + "/hang"))
    reading = await ses.fetch(base + "/hang-body")
    body = reading.body
    assert await body.__anext__() == b"first"
    await asyncio.sleep(0.1)
    await ses.close_all_connections()
    with pytest.raises(NetError) as info:
        await asyncio.wait_for(waiting, 5)
    assert info.value.name == "net::ERR_ABORTED"
    with pytest.raises(NetError) as info:
        await asyncio.wait_for(body.__anext__(), 5)
    assert info.value.name == "net::ERR_ABORTED"
    assert (await ses.fetch(base + "/big/10")).status == 200  # the session still works
    release.set()
