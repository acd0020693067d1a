"""Differential tests of the request log's two implementations (``_netlog_request_py`` and the
compiled ``_netlog_request_c``): the same real loopback traffic, recorded once by each, must give
the same event stream once the values that change from run to run are masked."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from test_netlog_pipeline import (
    AUTH,
    BODY,
    COOKIE,
    DroppingServer,
    Events,
    drop_unread,
    pool_a_dead_connection,
    record,
    stall,
)
from test_netlog_pipeline import app as pipeline_app

import websession
from websession import _impl
from websession._errors import NetError
from websession._net_log import recorder_for
from websession._netlog_transport import _origin

Serve = Callable[..., Awaitable[str]]
Traffic = Callable[[Any, str], Awaitable[None]]
Normalised = tuple[str, int, str, int, Any]

ETAG = '"v1"'
CHUNKS = [BODY[:300], BODY[300:700], BODY[700:]]

_runs = itertools.count()


def app() -> web.Application:
    """The pipeline tests' app (plain, cached, redirect, gzip, slow) and the routes only these
    scenarios use."""

    def conditional(cache_control: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """A route serving BODY under ETAG with ``cache_control``, 304 to a matching request."""

        async def respond(request: web.Request) -> web.Response:
            headers = {"ETag": ETAG, "Cache-Control": cache_control}
            if request.headers.get("If-None-Match") == ETAG:
                return web.Response(status=304, headers=headers)
            return web.Response(body=BODY, headers=headers)

        return respond

    validated = conditional("no-cache")
    stale = conditional("max-age=0, stale-while-revalidate=60")

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i, chunk in enumerate(CHUNKS):
            if i:
                await asyncio.sleep(0.02)  # each chunk reaches the client on its own
            await response.write(chunk)
        await response.write_eof()
        return response

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    async def truncated(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 2 * len(BODY)
        await response.prepare(request)
        await response.write(BODY)
        assert request.transport is not None
        request.transport.close()  # half the promised body, then the connection ends
        return response

    async def no_content(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def userinfo_redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{request.scheme}://user:hunter2@{request.host}/plain")

    async def basic_auth(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(b"alice:s3cret").decode():
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Zone"'}, text="who?")
        return web.Response(body=BODY)

    application = pipeline_app()
    application.router.add_get("/validated", validated)
    application.router.add_get("/chunked", chunked)
    application.router.add_get("/stall", stall)
    application.router.add_post("/echo", echo)
    application.router.add_get("/stale", stale)
    application.router.add_get("/truncated", truncated)
    application.router.add_get("/no-content", no_content)
    application.router.add_get("/userinfo-redirect", userinfo_redirect)
    application.router.add_get("/auth", basic_auth)
    return application


# -- the traffic of each scenario ------------------------------------------------------------


async def get_plain(ses: Any, base: str) -> None:
    assert await (await ses.fetch(f"{base}/plain")).bytes() == BODY


async def get_twice(ses: Any, base: str) -> None:
    await get_plain(ses, base)
    await get_plain(ses, base)


async def get_redirected(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/redirect/3")
    assert response.redirected and await response.bytes() == BODY


async def get_cached_twice(ses: Any, base: str) -> None:
    for from_cache in (False, True):
        response = await ses.fetch(f"{base}/cached")
        assert await response.bytes() == BODY and response.from_cache is from_cache


async def get_revalidated(ses: Any, base: str) -> None:
    for _ in range(2):  # the second is answered 304 and served from the cache
        assert await (await ses.fetch(f"{base}/validated")).bytes() == BODY


async def get_gzip(ses: Any, base: str) -> None:
    assert await (await ses.fetch(f"{base}/gzip")).bytes() == BODY


async def get_refused(ses: Any, base: str) -> None:
    with pytest.raises(NetError) as caught:
        await ses.fetch(f"{base}/plain")
    assert caught.value.code == -102  # ERR_CONNECTION_REFUSED


async def get_cancelled(ses: Any, base: str) -> None:
    ses.web_request.on_before_request(lambda details, callback: callback({"cancel": True}))
    with pytest.raises(NetError) as caught:
        await ses.fetch(f"{base}/plain")
    assert caught.value.code == -20  # ERR_BLOCKED_BY_CLIENT


async def get_timed_out(ses: Any, base: str) -> None:
    with pytest.raises(NetError) as caught:
        await ses.fetch(f"{base}/slow", timeout=0.2)
    assert caught.value.code == -7  # ERR_TIMED_OUT


async def get_with_userinfo(ses: Any, base: str) -> None:
    url = base.replace("://", "://user:hunter2@")
    assert await (await ses.fetch(f"{url}/plain")).bytes() == BODY


async def get_with_secrets(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/plain", headers={"Cookie": COOKIE, "Authorization": AUTH})
    assert await response.bytes() == BODY


async def get_in_chunks(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/chunked")
    assert response.body is not None
    chunks = [chunk async for chunk in response.body]
    assert b"".join(chunks) == BODY


async def post_body(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/echo", method="POST", body=BODY * 3)
    assert await response.bytes() == BODY * 3


async def head_only(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/plain", method="HEAD")
    assert response.status == 200 and await response.bytes() == b""


async def get_missing(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/missing")
    assert response.status == 404 and await response.bytes()


async def get_through_delegates(ses: Any, base: str) -> None:
    ses.web_request.on_before_send_headers(lambda details, callback: callback({}))
    ses.web_request.on_headers_received(lambda details, callback: callback({}))
    await get_plain(ses, base)


async def get_redirected_by_before_request(ses: Any, base: str) -> None:
    ses.web_request.on_before_request(
        {"urls": ["*://*/other"]}, lambda details, callback: callback({"redirectURL": f"{base}/plain"})
    )
    response = await ses.fetch(f"{base}/other")
    assert response.redirected and await response.bytes() == BODY


async def drop_unread_body(ses: Any, base: str) -> None:
    await drop_unread(ses, f"{base}/stall")
    await asyncio.sleep(0.01)


async def get_timed_out_in_body(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/stall", timeout=0.15)
    assert response.body is not None
    with pytest.raises(NetError) as caught:
        async for _ in response.body:
            pass
    assert caught.value.code == -7


async def get_aborted_by_signal(ses: Any, base: str) -> None:
    signal = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, signal.set)
    with pytest.raises(NetError) as caught:
        await ses.fetch(f"{base}/slow", signal=signal)
    assert caught.value.code == -3


async def get_in_cancelled_task(ses: Any, base: str) -> None:
    task = asyncio.ensure_future(ses.fetch(f"{base}/slow"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def get_too_many_redirects(ses: Any, base: str) -> None:
    with pytest.raises(NetError) as caught:
        await ses.fetch(f"{base}/redirect/25")
    assert caught.value.code == -310  # ERR_TOO_MANY_REDIRECTS


async def get_stale_while_revalidate(ses: Any, base: str) -> None:
    for _ in range(2):  # the second is served stale while the cache revalidates unlogged
        assert await (await ses.fetch(f"{base}/stale")).bytes() == BODY
    await asyncio.sleep(0.05)  # the background revalidation ends before the log does


async def get_truncated(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/truncated")
    with pytest.raises(NetError):
        await response.bytes()


async def get_no_content(ses: Any, base: str) -> None:
    response = await ses.fetch(f"{base}/no-content")
    assert response.status == 204 and await response.bytes() == b""


async def get_redirected_to_userinfo(ses: Any, base: str) -> None:
    assert await (await ses.fetch(f"{base}/userinfo-redirect")).bytes() == BODY


async def get_with_login(ses: Any, base: str) -> None:
    def on_login(event: Any, details: Any, auth_info: Any, callback: Any) -> None:
        event.prevent_default()
        callback("alice", "s3cret")

    ses.on("login", on_login)
    for _ in range(2):  # the second is answered preemptively from the auth cache
        assert await (await ses.fetch(f"{base}/auth")).bytes() == BODY


async def get_by_hostname(ses: Any, base: str) -> None:
    await get_plain(ses, base.replace("127.0.0.1", "localhost"))


@dataclass(frozen=True)
class Scenario:
    traffic: Traffic
    mode: str = "default"
    tls: bool = False
    before: Traffic | None = None  # unlogged traffic first (a pooled connection the log never saw)
    # "app" (aiohttp), "refused" (a port nothing listens on) or "dropping": the raw keep-alive
    # server of test_netlog_pipeline, which closes the connection pooled before the log starts
    server: str = "app"


SCENARIOS = {
    "fresh-get": Scenario(get_plain),
    "fresh-get-everything": Scenario(get_plain, mode="everything"),
    "reuse-pooled": Scenario(get_twice),
    "reuse-unlogged-connection": Scenario(get_plain, before=get_plain),
    "redirect-chain": Scenario(get_redirected),
    "cache-hit": Scenario(get_cached_twice),
    "revalidated-304": Scenario(get_revalidated),
    "gzip": Scenario(get_gzip),
    "gzip-everything": Scenario(get_gzip, mode="everything"),
    "connection-refused": Scenario(get_refused, server="refused"),
    "web-request-cancel": Scenario(get_cancelled),
    "timeout": Scenario(get_timed_out),
    "tls": Scenario(get_plain, tls=True),
    "tls-reuse-everything": Scenario(get_twice, tls=True, mode="everything"),
    "userinfo": Scenario(get_with_userinfo),
    "userinfo-include-sensitive": Scenario(get_with_userinfo, mode="includeSensitive"),
    "secrets-include-sensitive": Scenario(get_with_secrets, mode="includeSensitive"),
    "chunked-read": Scenario(get_in_chunks),
    "chunked-read-everything": Scenario(get_in_chunks, mode="everything"),
    "post-body": Scenario(post_body),
    "post-body-everything": Scenario(post_body, mode="everything"),
    "head": Scenario(head_only),
    "not-found": Scenario(get_missing),
    "web-request-delegate-steps": Scenario(get_through_delegates),
    "web-request-redirect": Scenario(get_redirected_by_before_request),
    "dropped-unread-body": Scenario(drop_unread_body),
    "dead-pooled-connection": Scenario(get_plain, server="dropping"),
    "dead-pooled-connection-tls": Scenario(get_plain, server="dropping", tls=True),
    "timeout-in-body": Scenario(get_timed_out_in_body),
    "signal-abort": Scenario(get_aborted_by_signal),
    "task-cancelled": Scenario(get_in_cancelled_task),
    "too-many-redirects": Scenario(get_too_many_redirects),
    "stale-while-revalidate": Scenario(get_stale_while_revalidate),
    "truncated-body": Scenario(get_truncated),
    "no-content": Scenario(get_no_content),
    "redirect-to-userinfo": Scenario(get_redirected_to_userinfo),
    "redirect-to-userinfo-include-sensitive": Scenario(get_redirected_to_userinfo, mode="includeSensitive"),
    "login": Scenario(get_with_login),
    "hostname": Scenario(get_by_hostname),
    "hostname-tls": Scenario(get_by_hostname, tls=True),
}


# -- recording and normalising ---------------------------------------------------------------


async def run(
    implementation: str, scenario: Scenario, base: str, path: Path, tls_client_context: ssl.SSLContext
) -> dict[str, Any]:
    """Record ``scenario`` on a fresh session of ``implementation``; return the loaded log."""
    previous = _impl.implementation()
    _impl.use(implementation)
    try:
        ses = websession.session.from_partition(f"twins-{next(_runs)}-{implementation}")
        ses._transport.ssl_context = tls_client_context
        try:
            if scenario.before is not None:
                await scenario.before(ses, base)

            async def traffic() -> None:
                chosen = recorder_for(ses.net_log).request_log
                assert chosen.__module__ == f"websession._netlog_request_{'py' if implementation == 'python' else 'c'}"
                await scenario.traffic(ses, base)

            log = await record(ses, path, scenario.mode, traffic)
        finally:
            await ses.close()
    finally:
        _impl.use(previous)
    Events(log)  # well formed: every BEGIN ended, every dependency names a source of its type
    return log


_PORT = re.compile(r":\d+$")


def _mask(value: Any, renumber: Callable[[int], int]) -> Any:
    if isinstance(value, dict):
        masked = {key: _mask(item, renumber) for key, item in value.items()}
        dependency = value.get("source_dependency")
        if isinstance(dependency, dict):
            masked["source_dependency"] = {**dependency, "id": renumber(dependency["id"])}
        address = value.get("source_address")
        if isinstance(address, str):  # the client's ephemeral port
            masked["source_address"] = _PORT.sub(":<port>", address)
        return masked
    if isinstance(value, list):
        return [_mask(item, renumber) for item in value]
    if isinstance(value, str) and value.startswith("Date: "):  # a response header
        return "Date: <date>"
    return value


def normalise(log: dict[str, Any]) -> list[Normalised]:
    """The events in file order as (source type, source id renumbered by first appearance, event
    type, phase, params) with times, start times, source ids and client ports masked."""
    constants = log["constants"]
    types = {v: k for k, v in constants["logEventTypes"].items()}
    source_types = {v: k for k, v in constants["logSourceType"].items()}
    ids: dict[int, int] = {}

    def renumber(source_id: int) -> int:
        return ids.setdefault(source_id, len(ids))

    events: list[Normalised] = []
    for event in log["events"]:
        source = event["source"]
        number = renumber(source["id"])
        events.append((
            source_types[source["type"]], number, types[event["type"]], event["phase"],
            _mask(event.get("params"), renumber),
        ))
    return events


def first_difference(
    first: list[Normalised], second: list[Normalised], names: tuple[str, str] = ("python", "c")
) -> str | None:
    """Describe where the two streams first differ, with the events leading up to it."""
    for i, (a, b) in enumerate(itertools.zip_longest(first, second)):
        if a != b:
            context = "\n".join(f"    {e}" for e in first[max(0, i - 3):i])
            return (
                f"event {i} differs ({names[0]}: {len(first)} events, {names[1]}: {len(second)})\n"
                f"  after:\n{context}\n  {names[0]}: {a}\n  {names[1]}: {b}"
            )
    return None


def closed_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_both_implementations_write_the_same_events(
    name: str, serve: Serve, tmp_path: Path, tls_client_context: ssl.SSLContext,
    tls_server_context: ssl.SSLContext,
) -> None:
    scenario = SCENARIOS[name]
    dropping = DroppingServer()
    if scenario.server == "refused":
        base = f"http://127.0.0.1:{closed_port()}"
    elif scenario.server == "dropping":
        base = await dropping.start(tls_server_context if scenario.tls else None)

        async def before(ses: Any, base: str) -> None:
            await pool_a_dead_connection(ses, f"{base}/plain", dropping)

        scenario = replace(scenario, before=before)
    else:
        base = await serve(app(), tls=scenario.tls)
    try:
        logs = {
            implementation: await run(implementation, scenario, base, tmp_path / f"{implementation}.json", tls_client_context)
            for implementation in ("python", "c")
        }
    finally:
        await dropping.stop()
    python, compiled = normalise(logs["python"]), normalise(logs["c"])
    assert python, "nothing was logged"
    assert any(kind == "URL_REQUEST" for kind, *_ in python)
    difference = first_difference(python, compiled)
    assert difference is None, difference
    constants = [{**logs[i]["constants"], "timeTickOffset": 0} for i in ("python", "c")]
    assert constants[0] == constants[1]
    assert logs["python"]["polledData"] == logs["c"]["polledData"]


async def test_the_same_implementation_twice_is_stable(
    serve: Serve, tmp_path: Path, tls_client_context: ssl.SSLContext
) -> None:
    """The masking leaves nothing volatile: two runs on one implementation compare equal too,
    so a difference reported above is one between the implementations."""
    base = await serve(app(), tls=True)
    scenario = Scenario(get_twice, tls=True, mode="everything")
    first = normalise(await run("c", scenario, base, tmp_path / "first.json", tls_client_context))
    second = normalise(await run("c", scenario, base, tmp_path / "second.json", tls_client_context))
    difference = first_difference(first, second, ("first run", "second run"))
    assert difference is None, difference


@pytest.mark.parametrize("app_wide", ["python", "c"])
@pytest.mark.parametrize(
    "name", ["fresh-get-everything", "redirect-chain", "cache-hit", "userinfo", "chunked-read", "tls", "timeout"]
)
async def test_one_request_log_writes_the_same_to_both_writers(
    name: str, app_wide: str, serve: Serve, tmp_path: Path, tls_client_context: ssl.SSLContext
) -> None:
    """A process that mixes implementations: the app-wide log started on one (its writer), the
    session's log on the other. The session's request log writes each event to both files, one
    through its own writer and one through the other writer's methods: the files must agree."""
    scenario = SCENARIOS[name]
    base = await serve(app(), tls=scenario.tls)
    session_side = "c" if app_wide == "python" else "python"
    everything, own = tmp_path / "app.json", tmp_path / "own.json"
    previous = _impl.implementation()
    try:
        _impl.use(app_wide)
        await websession.net_log.start_logging(str(everything), capture_mode=scenario.mode)
        try:
            _impl.use(session_side)
            ses = websession.session.from_partition(f"twins-{next(_runs)}-mixed")
            ses._transport.ssl_context = tls_client_context
            try:
                await ses.net_log.start_logging(str(own), capture_mode=scenario.mode)
                try:
                    chosen = recorder_for(ses.net_log).request_log
                    assert chosen.__module__.endswith("_py" if session_side == "python" else "_c")
                    await scenario.traffic(ses, base)
                finally:
                    await ses.close_all_connections()
                    await asyncio.sleep(0.01)  # connection_lost runs on the next loop iterations
                    await ses.net_log.stop_logging()
            finally:
                await ses.close()
        finally:
            await websession.net_log.stop_logging()
    finally:
        _impl.use(previous)
    logs = [json.loads(path.read_bytes()) for path in (everything, own)]
    for log in logs:
        Events(log)
    app_events, own_events = normalise(logs[0]), normalise(logs[1])
    assert any(kind == "URL_REQUEST" for kind, *_ in own_events)
    difference = first_difference(app_events, own_events, (f"{app_wide} writer", f"{session_side} writer"))
    assert difference is None, difference


_URL_TEXT = st.text(alphabet=st.sampled_from("ahstpw:/?#[]@.0123456789-é"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(url=st.one_of(_URL_TEXT, st.builds(lambda scheme, rest: scheme + "://" + rest,
                                          st.sampled_from(["http", "https", "ws", "wss", "ftp", "HTTPS"]),
                                          _URL_TEXT)))
def test_the_compiled_idle_connection_check_reads_origins_as_the_reference(url: str) -> None:
    """The compiled log finds an idle connection for a hop by parsing the URL's origin in C;
    it must read the same host, port and scheme as the reference's ``_origin``."""
    compiled = pytest.importorskip("websession._netlog_request_c")
    assert compiled.origin(url) == _origin.__wrapped__(url)
