"""``ses.protocol`` and the ``protocol`` module: handle, the deprecated families, privileged schemes."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import websession
from websession import NetError, Request, Response, SessionError


async def test_handle_custom_scheme(ses: Any) -> None:
    seen: list[Request] = []

    async def handler(request: Request) -> Response:
        seen.append(request)
        return Response(f"{request.method} {request.url}", status=201, headers={"X-From": "handler"})

    ses.protocol.handle("app", handler)
    assert ses.protocol.is_protocol_handled("app") and ses.protocol.isProtocolHandled("APP")
    response = await ses.fetch("app://bundle/index.html?q=1", headers={"Origin": "null"})
    assert response.status == 201 and response.headers["X-From"] == "handler"
    assert await response.text() == "GET app://bundle/index.html?q=1"
    assert "Origin" not in seen[0].headers
    with pytest.raises(SessionError, match="Failed to register protocol: app"):
        ses.protocol.handle("app", handler)
    ses.protocol.unhandle("app")
    with pytest.raises(SessionError, match="Failed to unhandle protocol: app"):
        ses.protocol.unhandle("app")
    with pytest.raises(NetError, match="ERR_UNKNOWN_URL_SCHEME"):
        await ses.fetch("app://bundle/")


async def test_handler_reads_the_request_body(ses: Any) -> None:
    async def echo(request: Request) -> Response:
        return Response(await request.bytes())

    ses.protocol.handle("echo", echo)
    response = await ses.fetch("echo://x/", method="POST", body=b"payload")
    assert await response.bytes() == b"payload"


@pytest.mark.parametrize(
    "answer, code",
    [(lambda r: "not a response", "ERR_UNEXPECTED"), (lambda r: Response.error(), "ERR_FAILED"),
     (lambda r: 1 / 0, "ERR_UNEXPECTED")],
)
async def test_bad_handler_answers(ses: Any, answer: Any, code: str) -> None:
    ses.protocol.handle("bad", answer)
    with pytest.raises(NetError, match=code):
        await ses.fetch("bad://x/")
    ses.protocol.unhandle("bad")
    ses.protocol.handle("bad", lambda r: Response("fine"))
    assert await (await ses.fetch("bad://x/")).text() == "fine"


async def test_intercept_https(ses: Any, serve: Any) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="from the server")

    app = web.Application()
    app.router.add_get("/", page)
    base = await serve(app, tls=True)

    async def intercept(request: Request) -> Response:
        if request.url.endswith("/mock"):
            return Response("intercepted")
        return await ses.fetch(request.url, bypass_custom_protocol_handlers=True)

    ses.protocol.handle("https", intercept)
    assert await (await ses.fetch(base + "/mock")).text() == "intercepted"
    assert await (await ses.fetch(base + "/")).text() == "from the server"
    ses.protocol.unhandle("https")
    assert (await ses.fetch(base + "/mock")).status == 404


async def test_deprecated_families(ses: Any, tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("file body")
    protocol = ses.protocol
    assert protocol.register_string_protocol("str", lambda req, cb: cb("<b>hi</b>"))
    assert not protocol.register_string_protocol("str", lambda req, cb: cb("again"))
    assert protocol.registerBufferProtocol("buf", lambda req, cb: cb({"data": b"\x00\x01", "mimeType": "application/x-test"}))
    assert protocol.register_file_protocol("fil", lambda req, cb: cb(str(path)))
    assert protocol.register_stream_protocol("stm", lambda req, cb: cb({"statusCode": 202, "data": io.BytesIO(b"streamed")}))
    assert protocol.register_string_protocol("err", lambda req, cb: cb({"error": -6}))

    def later(request: Any, callback: Any) -> None:
        asyncio.get_running_loop().call_later(0.01, callback, {"data": request.method + " " + request.url})

    assert protocol.register_string_protocol("late", later)
    text = await ses.fetch("str://x/")
    assert await text.text() == "<b>hi</b>"
    assert text.headers["Content-Type"] == "text/html; charset=utf-8"
    assert text.headers["Access-Control-Allow-Origin"] == "*"
    buf = await ses.fetch("buf://x/")
    assert await buf.bytes() == b"\x00\x01" and buf.headers["Content-Type"] == "application/x-test"
    assert await (await ses.fetch("fil://x/")).text() == "file body"
    stream = await ses.fetch("stm://x/")
    assert stream.status == 202 and await stream.bytes() == b"streamed"
    with pytest.raises(NetError, match="ERR_FILE_NOT_FOUND"):
        await ses.fetch("err://x/")
    assert await (await ses.fetch("late://x/")).text() == "GET late://x/"
    assert protocol.is_protocol_registered("str") and protocol.unregister_protocol("str")
    assert not protocol.unregister_protocol("str")


async def test_intercept_string_protocol_and_http_upstream(ses: Any, serve: Any) -> None:
    async def upstream(request: web.Request) -> web.Response:
        return web.Response(text="upstream body")

    app = web.Application()
    app.router.add_get("/upstream", upstream)
    base = await serve(app)
    assert ses.protocol.intercept_string_protocol("http", lambda req, cb: cb("intercepted http"))
    assert await (await ses.fetch(base + "/anything")).text() == "intercepted http"
    assert ses.protocol.is_protocol_intercepted("http") and ses.protocol.unintercept_protocol("http")
    assert ses.protocol.register_http_protocol("up", lambda req, cb: cb({"url": base + "/upstream"}))
    assert await (await ses.fetch("up://x/")).text() == "upstream body"


def test_bad_registrations(ses: Any) -> None:
    with pytest.raises(TypeError, match="scheme must be"):
        ses.protocol.handle("not a scheme!", lambda r: Response())
    with pytest.raises(TypeError, match="handler must be a function"):
        ses.protocol.handle("ok", "nope")


async def test_privileged_standard_scheme_and_module_functions(ses: Any) -> None:
    websession.protocol.register_schemes_as_privileged(
        [{"scheme": "stdapp", "privileges": {"standard": True, "supportFetchAPI": True}}]
    )
    assert websession.protocol.get_privileges("stdapp") == {"standard": True, "support_fetch_api": True}
    urls: list[str] = []
    ses.protocol.handle("stdapp", lambda request: urls.append(request.url) or Response("ok"))
    await (await ses.fetch("stdapp://Bundle")).read()
    assert urls == ["stdapp://bundle/"]
    matched: list[str] = []
    ses.web_request.on_before_request({"urls": ["stdapp://bundle/*"]}, lambda d: matched.append(d.url))
    await (await ses.fetch("stdapp://bundle/x")).read()
    assert matched == ["stdapp://bundle/x"]
    with pytest.raises(TypeError, match="unknown privilege 'fly'"):
        websession.protocol.registerSchemesAsPrivileged([{"scheme": "x", "privileges": {"fly": True}}])
    default = websession.session.default_session
    websession.protocol.handle("modapp", lambda request: Response("module"))
    try:
        assert default.protocol.is_protocol_handled("modapp")
        assert websession.protocol.isProtocolHandled("modapp")
    finally:
        websession.protocol.unhandle("modapp")
