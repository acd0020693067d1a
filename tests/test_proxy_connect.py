"""send_via on its own: SOCKS4a, proxy authentication through 'login', retry memory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from proxy_fixtures import free_port, pproxy, wait_for  # noqa: F401

from websession._errors import NetError
from websession._proxy_connect import SOCKS4A, ProxyConnectState, send_via
from websession._proxy_rules import DIRECT_SERVER, ProxyServer


@pytest.fixture
async def target(serve) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=f"ok {request.path}")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    yield await serve(app)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _socks4a_server(names: list[str]) -> asyncio.AbstractServer:
    """A minimal SOCKS4a server (pproxy has no 4a): logs the name it was asked for, then pipes."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readexactly(8)
        port = int.from_bytes(head[2:4], "big")
        await reader.readuntil(b"\0")  # user id
        assert head[4:7] == b"\0\0\0" and head[7] != 0, "not a SOCKS4a request"
        name = (await reader.readuntil(b"\0"))[:-1].decode()
        names.append(f"{name}:{port}")
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\0\x5a" + b"\0" * 6)
        await writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def test_socks4a_sends_the_name(target, client) -> None:  # type: ignore[no-untyped-def]
    names: list[str] = []
    server_4a = await _socks4a_server(names)
    state = ProxyConnectState()
    port = target.rsplit(":", 1)[1]
    server = ProxyServer(SOCKS4A, "127.0.0.1", server_4a.sockets[0].getsockname()[1])
    try:
        response = await send_via(client, [server], "GET", f"http://name-only.test:{port}/a4",
                                  state=state)
        assert await response.text() == "ok /a4"
        assert names == [f"name-only.test:{port}"]
    finally:
        await state.close()
        server_4a.close()


async def test_proxy_auth_asks_login_and_never_logs_secrets(pproxy, target, client,  # type: ignore[no-untyped-def]  # noqa: F811
                                                            caplog: pytest.LogCaptureFixture,
                                                            serve) -> None:
    proxy = pproxy("http", auth="alice:s3cret")
    proxy_port = proxy.port
    try:
        asked: list[dict] = []

        async def ask(url: str, info: dict) -> tuple[str, str] | None:
            asked.append(info)
            return ("alice", "s3cret")

        state = ProxyConnectState()
        server = ProxyServer("http", "127.0.0.1", proxy_port)
        caplog.set_level(logging.DEBUG)
        response = await send_via(client, [server], "GET", target + "/auth", state=state,
                                  ask_login=ask)
        assert response.status == 200 and await response.text() == "ok /auth"
        assert asked and asked[0]["isProxy"] is True and asked[0]["port"] == proxy_port
        # Credentials are remembered per proxy: no second question.
        response = await send_via(client, [server], "GET", target + "/again", state=state,
                                  ask_login=ask)
        assert await response.text() == "ok /again"
        assert len(asked) == 1
        assert "s3cret" not in caplog.text
    finally:
        await state.close()


async def test_proxy_auth_refused(pproxy, target, client) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    proxy = pproxy("http", auth="bob:pw")
    server = ProxyServer("http", "127.0.0.1", proxy.port)

    async def refuse(url: str, info: dict) -> None:
        return None

    # Without credentials the proxy's 407 comes back as the response (http: absolute form)...
    response = await send_via(client, [server], "GET", target + "/x",
                              state=ProxyConnectState(), ask_login=refuse)
    assert response.status == 407
    response.release()


async def test_fallback_rules(client, target) -> None:  # type: ignore[no-untyped-def]
    state = ProxyConnectState()
    dead = ProxyServer("http", "127.0.0.1", free_port())
    dead_socks = ProxyServer("socks5", "127.0.0.1", free_port())
    quic = ProxyServer("quic", "127.0.0.1", 443)
    response = await send_via(client, [dead, dead_socks, quic, DIRECT_SERVER], "GET",
                              target + "/d", state=state)
    assert await response.text() == "ok /d"
    assert set(state.bad_proxies()) == {dead.to_pac(), dead_socks.to_pac(), quic.to_pac()}
    assert state.order([dead, DIRECT_SERVER]) == [DIRECT_SERVER, dead]
    with pytest.raises(NetError) as info:
        await send_via(client, [dead], "GET", target + "/d", state=state)
    assert info.value.name == "net::ERR_PROXY_CONNECTION_FAILED"
    # A DIRECT failure is final.
    with pytest.raises(NetError) as info:
        await send_via(client, [DIRECT_SERVER, dead], "GET",
                       f"http://127.0.0.1:{free_port()}/", state=state)
    assert info.value.name == "net::ERR_CONNECTION_REFUSED"
    await state.close()


async def test_proxy_auth_for_connect_tunnels(pproxy, client, serve, tls_ca) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import ssl

    proxy = pproxy("http", auth="carol:pw2")

    async def secure(request: web.Request) -> web.Response:
        return web.Response(text="tunnelled")

    app = web.Application()
    app.router.add_get("/", secure)
    tls_base = await serve(app, tls=True)
    context = ssl.create_default_context()
    tls_ca.configure_trust(context)
    asked: list[str] = []

    async def ask(url: str, info: dict) -> tuple[str, str]:
        asked.append(url)
        return ("carol", "pw2")

    state = ProxyConnectState()
    server = ProxyServer("http", "127.0.0.1", proxy.port)
    response = await send_via(client, [server], "GET", tls_base + "/", state=state,
                              ask_login=ask, ssl=context)
    assert await response.text() == "tunnelled"
    assert asked == [tls_base + "/"]
