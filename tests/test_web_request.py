"""``ses.web_request``: every event, in Chromium's order, with filters, answers and bad listeners."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from websession import NetError, WebRequestDetails


def app() -> web.Application:
    application = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.json_response(
            {"headers": dict(request.headers)}, headers={"X-Server": "yes", "Set-Cookie": "s=1"}
        )

    async def hop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return web.Response(status=302, headers={"Location": f"/hop/{n - 1}" if n else "/page"})

    application.router.add_get("/page", page)
    application.router.add_get("/other", page)
    application.router.add_get("/hop/{n}", hop)
    return application


@pytest.fixture
async def base(serve: Any) -> str:
    return str(await serve(app()))


def record_all(ses: Any, log: list[tuple[str, Any]], filt: Any = None) -> None:
    wr = ses.web_request
    for name in ("on_before_request", "on_before_send_headers", "on_headers_received"):
        def blocking(details: Any, callback: Any, name: str = name) -> None:
            log.append((name, details))
            callback({})

        getattr(wr, name)(*((filt,) if filt else ()), blocking)
    for name in ("on_send_headers", "on_response_started", "on_before_redirect", "on_completed", "on_error_occurred"):
        def observe(details: Any, name: str = name) -> None:
            log.append((name, details))

        getattr(wr, name)(*((filt,) if filt else ()), observe)


async def test_event_order_for_a_plain_request(ses: Any, base: str) -> None:
    log: list[tuple[str, Any]] = []
    record_all(ses, log)
    response = await ses.fetch(base + "/page")
    await response.read()
    names = [name for name, _ in log]
    assert names == [
        "on_before_request", "on_before_send_headers", "on_send_headers",
        "on_headers_received", "on_response_started", "on_completed",
    ]
    ids = {details.id for _, details in log}
    assert len(ids) == 1
    details = dict(log)
    assert isinstance(details["on_before_request"], WebRequestDetails)
    assert details["on_before_request"].url == base + "/page"
    assert details["on_before_request"]["resourceType"] == "other"
    assert details["on_before_send_headers"].request_headers["User-Agent"] == ses.get_user_agent()
    received = details["on_headers_received"]
    assert received.status_code == 200 and received.status_line == "HTTP/1.1 200 OK"
    assert received.response_headers["X-Server"] == ["yes"]
    completed = details["on_completed"]
    assert completed.from_cache is False and completed.error == "net::OK"
    assert completed.ip == "127.0.0.1"
    assert completed.to_dict()["statusCode"] == 200 and "fromCache" in completed.to_dict()


async def test_event_order_for_a_redirect_chain(ses: Any, base: str) -> None:
    log: list[tuple[str, Any]] = []
    record_all(ses, log)
    await (await ses.fetch(base + "/hop/2")).read()
    names = [name for name, _ in log]
    hop = ["on_before_request", "on_before_send_headers", "on_send_headers", "on_headers_received", "on_before_redirect"]
    assert names == hop * 3 + ["on_before_request", "on_before_send_headers", "on_send_headers",
                               "on_headers_received", "on_response_started", "on_completed"]
    redirects = [d for n, d in log if n == "on_before_redirect"]
    assert [d.redirect_url for d in redirects] == [base + "/hop/1", base + "/hop/0", base + "/page"]
    assert all(d.status_code == 302 for d in redirects)
    assert len({d.id for _, d in log}) == 1


async def test_cancelled_request(ses: Any, base: str) -> None:
    log: list[tuple[str, Any]] = []
    record_all(ses, log)
    ses.web_request.on_before_request(lambda details, callback: callback({"cancel": True}))
    with pytest.raises(NetError) as info:
        await ses.fetch(base + "/page")
    assert info.value.name == "net::ERR_BLOCKED_BY_CLIENT" and info.value.code == -20
    assert [name for name, _ in log] == ["on_error_occurred"]
    assert log[0][1].error == "net::ERR_BLOCKED_BY_CLIENT"


async def test_failed_connection(ses: Any) -> None:
    log: list[tuple[str, Any]] = []
    record_all(ses, log)
    with pytest.raises(NetError):
        await ses.fetch("http://127.0.0.1:9/")
    assert [name for name, _ in log] == [
        "on_before_request", "on_before_send_headers", "on_send_headers", "on_error_occurred"
    ]
    assert log[-1][1].error == "net::ERR_CONNECTION_REFUSED"


async def test_modified_headers_reach_the_server(ses: Any, base: str) -> None:
    def add_header(details: Any, callback: Any) -> None:
        headers = dict(details.request_headers)
        headers["X-Added"] = "by listener"
        headers["Bad Name"] = "dropped"
        del headers["Accept-Language"]
        callback({"requestHeaders": headers})

    ses.web_request.on_before_send_headers(add_header)
    seen: list[dict[str, str]] = []
    ses.web_request.on_send_headers(lambda d: seen.append(d.request_headers))
    data = await (await ses.fetch(base + "/page")).json()
    assert data["headers"]["X-Added"] == "by listener"
    assert "Accept-Language" not in data["headers"] and "Bad Name" not in data["headers"]
    assert seen[0]["X-Added"] == "by listener"


async def test_response_headers_and_status_line_replaced(ses: Any, base: str) -> None:
    def rewrite(details: Any) -> dict[str, Any]:
        headers = dict(details.response_headers)
        headers["X-Injected"] = ["a", "b"]
        return {"responseHeaders": headers, "statusLine": "HTTP/1.1 203 Rewritten"}

    ses.web_request.on_headers_received(rewrite)
    response = await ses.fetch(base + "/page")
    assert response.status == 203 and response.status_text == "Rewritten"
    assert response.headers.getall("X-Injected") == ["a", "b"]


async def test_redirect_url_from_before_request(ses: Any, base: str) -> None:
    redirects: list[Any] = []
    ses.web_request.on_before_request(
        {"urls": ["*://*/other"]}, lambda d, cb: cb({"redirectURL": base + "/page"})
    )
    ses.web_request.on_before_redirect(redirects.append)
    response = await ses.fetch(base + "/other")
    assert response.url == base + "/page" and response.redirected
    assert redirects[0].status_code == 307
    assert redirects[0].status_line == "HTTP/1.1 307 Internal Redirect"


async def test_filters_urls_excludes_and_types(ses: Any, base: str) -> None:
    seen: list[str] = []
    ses.web_request.on_before_request(
        {"urls": ["http://127.0.0.1/*"], "exclude_urls": ["*://*/other"]},
        lambda d: seen.append(d.url.rsplit("/", 1)[-1]),
    )
    await (await ses.fetch(base + "/page")).read()
    await (await ses.fetch(base + "/other")).read()
    assert seen == ["page"]
    typed: list[str] = []
    ses.web_request.on_before_request({"urls": ["<all_urls>"], "types": ["image"]}, lambda d: typed.append(d.url))
    await (await ses.fetch(base + "/page")).read()
    assert typed == []


async def test_one_listener_per_event_and_none_removes(ses: Any, base: str) -> None:
    first: list[str] = []
    second: list[str] = []
    ses.web_request.on_completed(lambda d: first.append(d.url))
    ses.web_request.onCompleted(lambda d: second.append(d.url))
    await (await ses.fetch(base + "/page")).read()
    ses.web_request.on_completed(None)
    await (await ses.fetch(base + "/page")).read()
    assert first == [] and len(second) == 1


async def test_async_listener_and_callback_later(ses: Any, base: str) -> None:
    async def later(details: Any, callback: Any) -> None:
        asyncio.get_running_loop().call_later(0.05, callback, {"cancel": False})

    ses.web_request.on_before_request(later)
    assert (await ses.fetch(base + "/page")).status == 200

    async def returns(details: Any) -> dict[str, bool]:
        await asyncio.sleep(0)
        return {"cancel": True}

    ses.web_request.on_before_request(returns)
    with pytest.raises(NetError, match="ERR_BLOCKED_BY_CLIENT"):
        await ses.fetch(base + "/page")


async def test_bad_listeners_do_not_break_requests(ses: Any, base: str, caplog: Any) -> None:
    def raises(details: Any, callback: Any) -> None:
        raise RuntimeError("listener bug")

    ses.web_request.on_before_request(raises)
    ses.web_request.on_before_send_headers(lambda d, cb: cb("not a dict"))
    ses.web_request.on_completed(lambda d: 1 / 0)
    response = await ses.fetch(base + "/page")
    assert response.status == 200
    await response.read()
    assert "listener bug" in caplog.text or "raised" in caplog.text

    def twice(details: Any, callback: Any) -> None:
        callback({})
        with pytest.raises(RuntimeError, match="already called"):
            callback({})

    ses.web_request.on_before_request(twice)
    assert (await ses.fetch(base + "/page")).status == 200


def test_registration_errors(ses: Any) -> None:
    wr = ses.web_request
    with pytest.raises(TypeError, match="Must pass null or a Function"):
        wr.on_before_request(42)
    with pytest.raises(TypeError, match="Parameter 'filter' must have property 'urls'."):
        wr.on_before_request({"types": []}, lambda d: None)
    with pytest.raises(TypeError, match="Invalid type other"):
        wr.on_before_request({"urls": ["<all_urls>"], "types": ["other"]}, lambda d: None)
    with pytest.raises(TypeError, match=r"Invalid url pattern \*://www.googleapis.com: Empty path."):
        wr.on_before_request({"urls": ["*://www.googleapis.com"]}, lambda d: None)
    with pytest.raises(TypeError, match="Invalid url pattern a: Missing scheme separator."):
        wr.on_before_request({"urls": ["b", "a"]}, lambda d: None)
    with pytest.warns(DeprecationWarning, match="The urls array in WebRequestFilter is empty"):
        wr.on_before_request({"urls": []}, lambda d: None)


async def test_same_events_for_custom_protocols_and_files(ses: Any, tmp_path: Any) -> None:
    from websession import Response

    ses.protocol.handle("app", lambda request: Response("custom"))
    log: list[tuple[str, Any]] = []
    record_all(ses, log)
    await (await ses.fetch("app://bundle/index.html")).read()
    path = tmp_path / "f.txt"
    path.write_text("file")
    await (await ses.fetch(path.as_uri())).read()
    names = [name for name, _ in log]
    one = ["on_before_request", "on_before_send_headers", "on_send_headers", "on_headers_received",
           "on_response_started", "on_completed"]
    assert names == one * 2
