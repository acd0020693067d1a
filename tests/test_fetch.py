"""``ses.fetch`` against real loopback HTTP and HTTPS servers."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import brotli
import pytest
import zstandard
from aiohttp import web

import websession
from websession import NetError, Request, Response, SessionError


def echo_app() -> web.Application:
    app = web.Application()

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {"method": request.method, "path": request.path_qs, "body": body.decode("latin-1"),
             "headers": {k: v for k, v in request.headers.items()}}
        )

    async def redirect(request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        return web.Response(status=status, headers={"Location": "/echo"})

    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return web.Response(status=302, headers={"Location": f"/chain/{n - 1}" if n else "/echo"})

    async def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    async def encoded(request: web.Request) -> web.Response:
        coding = request.match_info["coding"]
        data = b"decoded body " * 100
        packed = {
            "gzip": gzip.compress(data),
            "deflate": zlib.compress(data),
            "rawdeflate": zlib.compress(data)[2:-4],
            "br": brotli.compress(data),
            "zstd": zstandard.ZstdCompressor().compress(data),
            "gzip-br": brotli.compress(gzip.compress(data)),
        }[coding]
        header = {"rawdeflate": "deflate", "gzip-br": "gzip, br"}.get(coding, coding)
        return web.Response(body=packed, headers={"Content-Encoding": header})

    async def multi(request: web.Request) -> web.Response:
        response = web.Response(text="x")
        response.headers.add("X-Multi", "one")
        response.headers.add("X-Multi", "two")
        return response

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def slow_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first")
        await asyncio.sleep(5)
        return response

    async def truncated(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100"})
        await response.prepare(request)
        await response.write(b"only part")
        assert request.transport is not None
        request.transport.close()
        return response

    async def nocontent(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def file_redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "file:///etc/passwd"})

    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/redirect/{status}", redirect)
    app.router.add_post("/redirect/{status}", redirect)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/loop", loop)
    app.router.add_get("/encoded/{coding}", encoded)
    app.router.add_get("/multi", multi)
    app.router.add_get("/slow", slow)
    app.router.add_get("/slow-body", slow_body)
    app.router.add_get("/truncated", truncated)
    app.router.add_get("/nocontent", nocontent)
    app.router.add_get("/file-redirect", file_redirect)
    return app


@pytest.fixture
async def base(serve: Any) -> str:
    return str(await serve(echo_app()))


async def test_get_reads_status_headers_and_body(ses: Any, base: str) -> None:
    response = await ses.fetch(base + "/echo?x=1")
    assert isinstance(response, Response)
    assert response.status == 200 and response.ok and response.status_text == "OK"
    assert response.url == base + "/echo?x=1" and not response.redirected
    assert response.headers["content-type"].startswith("application/json")
    data = await response.json()
    assert data["method"] == "GET" and data["path"] == "/echo?x=1"
    assert data["headers"]["User-Agent"] == ses.get_user_agent()
    assert data["headers"]["Accept-Language"] == ses.get_accept_languages()
    assert "gzip" in data["headers"]["Accept-Encoding"]
    with pytest.raises(TypeError, match="already been consumed"):
        await response.bytes()


async def test_multi_valued_headers(ses: Any, base: str) -> None:
    response = await ses.fetch(base + "/multi")
    assert response.headers.getall("x-multi") == ["one", "two"]
    await response.read()


async def test_streaming_body(ses: Any, base: str) -> None:
    response = await ses.fetch(base + "/encoded/gzip")
    chunks = [chunk async for chunk in response.body]
    assert b"".join(chunks) == b"decoded body " * 100


@pytest.mark.parametrize("coding", ["gzip", "deflate", "rawdeflate", "br", "zstd", "gzip-br"])
async def test_content_decoding(ses: Any, base: str, coding: str) -> None:
    response = await ses.fetch(f"{base}/encoded/{coding}")
    assert await response.bytes() == b"decoded body " * 100


async def _async_chunks() -> Any:
    for part in (b"str", b"eam"):
        yield part


@pytest.mark.parametrize(
    "body, expected",
    [(b"raw bytes", "raw bytes"), ("text", "text"), (_async_chunks, "stream"), ("file", "from a file")],
)
async def test_request_bodies(ses: Any, base: str, tmp_path: Path, body: Any, expected: str) -> None:
    if body == "file":
        path = tmp_path / "upload.txt"
        path.write_bytes(b"from a file")
        body = path.open("rb")
    elif callable(body):
        body = body()
    response = await ses.fetch(base + "/echo", method="POST", body=body, headers={"Content-Type": "text/plain"})
    data = await response.json()
    assert data["method"] == "POST" and data["body"] == expected


async def test_request_object_and_camel_case_options(ses: Any, base: str) -> None:
    request = Request(base + "/echo", method="put", headers={"X-Test": "1"}, body=b"payload")
    data = await (await ses.fetch(request)).json()
    assert data["method"] == "PUT" and data["body"] == "payload" and data["headers"]["X-Test"] == "1"
    response = await ses.fetch(base + "/redirect/302", redirect="manual", bypassCustomProtocolHandlers=True)
    assert response.status == 302


@pytest.mark.parametrize(
    "status, method, expect_method, expect_body",
    [(301, "POST", "GET", ""), (302, "POST", "GET", ""), (303, "POST", "GET", ""),
     (307, "POST", "POST", "data"), (308, "POST", "POST", "data"), (302, "GET", "GET", "")],
)
async def test_redirect_methods(
    ses: Any, base: str, status: int, method: str, expect_method: str, expect_body: str
) -> None:
    body = b"data" if method == "POST" else None
    response = await ses.fetch(f"{base}/redirect/{status}", method=method, body=body)
    data = await response.json()
    assert response.redirected and response.url == base + "/echo"
    assert data["method"] == expect_method and data["body"] == expect_body


async def test_redirect_modes_and_limits(ses: Any, base: str) -> None:
    manual = await ses.fetch(base + "/redirect/301", redirect="manual")
    assert manual.status == 301 and manual.headers["Location"] == "/echo"
    with pytest.raises(SessionError, match="Attempted to redirect, but redirect policy was 'error'"):
        await ses.fetch(base + "/redirect/301", redirect="error")
    twenty = await ses.fetch(base + "/chain/19")
    assert twenty.status == 200 and twenty.redirected
    with pytest.raises(NetError) as info:
        await ses.fetch(base + "/loop")
    assert info.value.code == -310 and info.value.name == "net::ERR_TOO_MANY_REDIRECTS"
    with pytest.raises(NetError, match="ERR_UNSAFE_REDIRECT"):
        await ses.fetch(base + "/file-redirect")


async def test_no_body_statuses_and_head(ses: Any, base: str) -> None:
    assert (await ses.fetch(base + "/nocontent")).body is None
    head = await ses.fetch(base + "/echo", method="HEAD")
    assert head.status == 200 and head.body is None


async def test_network_errors(ses: Any, base: str) -> None:
    with pytest.raises(NetError) as info:
        await ses.fetch("http://127.0.0.1:9/")
    assert info.value.name == "net::ERR_CONNECTION_REFUSED" and info.value.code == -102
    response = await ses.fetch(base + "/truncated")
    with pytest.raises(NetError) as info:
        await response.bytes()
    assert info.value.name in ("net::ERR_CONTENT_LENGTH_MISMATCH", "net::ERR_CONNECTION_CLOSED")


async def test_timeout_and_abort_signal(ses: Any, base: str) -> None:
    with pytest.raises(NetError, match="ERR_TIMED_OUT"):
        await ses.fetch(base + "/slow", timeout=0.2)
    signal = asyncio.Event()
    asyncio.get_running_loop().call_later(0.1, signal.set)
    with pytest.raises(NetError) as info:
        await ses.fetch(base + "/slow", signal=signal)
    assert info.value.name == "net::ERR_ABORTED"
    response = await ses.fetch(base + "/slow-body", timeout=0.5)
    with pytest.raises(NetError, match="ERR_TIMED_OUT"):
        await response.bytes()
    with pytest.raises(NetError, match="ERR_ABORTED"):
        await ses.fetch(base + "/echo", signal=signal)
    # The session keeps serving after failures.
    assert (await ses.fetch(base + "/echo")).status == 200


async def test_cancelling_the_task_aborts(ses: Any, base: str) -> None:
    task = asyncio.ensure_future(ses.fetch(base + "/slow"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_https_with_trusted_and_untrusted_ca(ses: Any, serve: Any, partition_name: str) -> None:
    tls_base = await serve(echo_app(), tls=True)
    assert (await ses.fetch(tls_base + "/echo")).status == 200
    stranger = websession.session.from_partition(partition_name + "-untrusting")
    try:
        with pytest.raises(NetError) as info:
            await stranger.fetch(tls_base + "/echo")
        assert info.value.name == "net::ERR_CERT_AUTHORITY_INVALID"
    finally:
        await stranger.close()


async def test_file_urls(ses: Any, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<p>local</p>")
    response = await ses.fetch(path.as_uri())
    assert await response.text() == "<p>local</p>"
    assert response.headers["Content-Type"] == "text/html"
    with pytest.raises(NetError) as info:
        await ses.fetch((tmp_path / "missing.txt").as_uri())
    assert info.value.name == "net::ERR_FILE_NOT_FOUND"
    listing = await (await ses.fetch(tmp_path.as_uri())).text()
    assert "page.html" in listing


@pytest.mark.parametrize("url", ["data:text/plain,hello", "gopher://host/"])
async def test_unsupported_schemes(ses: Any, url: str) -> None:
    with pytest.raises(NetError) as info:
        await ses.fetch(url)
    assert info.value.name == "net::ERR_UNKNOWN_URL_SCHEME"


async def test_blob_urls_come_from_the_session_registry(ses: Any) -> None:
    uuid = ses.blobs.register(b"blob bytes", "text/plain")
    response = await ses.fetch(f"blob:http://app.local/{uuid}")
    assert await response.bytes() == b"blob bytes"
    assert response.headers["Content-Type"] == "text/plain"
    with pytest.raises(NetError) as info:
        await ses.fetch("blob:http://app.local/00000000-0000-0000-0000-000000000000")
    assert info.value.name == "net::ERR_FILE_NOT_FOUND"


async def test_bad_input_is_a_clear_error(ses: Any, base: str) -> None:
    with pytest.raises(TypeError, match="invalid URL"):
        await ses.fetch("not a url")
    with pytest.raises(TypeError, match="invalid URL"):
        await ses.fetch("http://")
    with pytest.raises(TypeError, match="unknown option 'methd'"):
        await ses.fetch(base + "/echo", methd="POST")
    with pytest.raises(TypeError, match="'redirect' must be one of"):
        await ses.fetch(base + "/echo", redirect="sometimes")
    with pytest.raises(TypeError, match="'cache' must be one of"):
        await ses.fetch(base + "/echo", cache="forever")
    with pytest.raises(TypeError, match="cannot have a body"):
        await ses.fetch(base + "/echo", body=b"x")
    with pytest.raises(TypeError, match="header"):
        await ses.fetch(base + "/echo", headers={"X": object()})
    with pytest.raises(TypeError, match="'timeout'"):
        await ses.fetch(base + "/echo", timeout=-1)
    with pytest.raises(TypeError, match="input must be"):
        await ses.fetch(42)
    assert (await ses.fetch(base + "/echo")).status == 200


async def test_connections_are_pooled(ses: Any, serve: Any) -> None:
    peers: set[Any] = set()

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    url = await serve(app)
    for _ in range(5):
        await (await ses.fetch(url + "/")).read()
    assert len(peers) == 1


async def test_net_fetch_uses_the_default_session(base: str) -> None:
    response = await websession.net.fetch(base + "/echo")
    assert json.loads(await response.text())["method"] == "GET"


async def test_dropped_unfinished_body_frees_its_connection(ses: Any, serve: Any) -> None:
    """A response dropped before its body ends closes its connection (Chrome closes the socket
    of a request cancelled mid-body) instead of holding it until the server finishes."""
    import gc

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"first part")
        await asyncio.sleep(5)  # the rest never comes: cancelled when the client closes
        return response

    application = web.Application()
    application.router.add_get("/stall", stall)
    base = await serve(application)
    response = await ses.fetch(f"{base}/stall")
    proto = response._remote._protocol
    del response
    gc.collect()
    for _ in range(200):  # a bounded wait for the close to reach the protocol
        if proto.transport is None:
            break
        await asyncio.sleep(0.005)
    assert proto.transport is None
    assert not ses._transport.client().connector._acquired


async def test_dropped_unread_complete_body_keeps_its_connection(ses: Any, base: str) -> None:
    """A response dropped unread whose body had all arrived gives its connection back to the
    pool (keep-alive), as aiohttp's own release would."""
    import gc

    response = await ses.fetch(f"{base}/multi")
    proto = response._remote._protocol
    await asyncio.sleep(0.05)  # the small body arrives with the headers or just after
    del response
    gc.collect()
    await asyncio.sleep(0)
    assert proto.transport is not None
    second = await ses.fetch(f"{base}/multi")
    assert second._remote._protocol is proto
    await second.bytes()
