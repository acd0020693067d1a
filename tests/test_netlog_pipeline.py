"""NetLog files of real loopback traffic through the whole pipeline: plain, redirect, TLS,
connection failure, cache hit, webRequest cancel, a dead pooled connection, a dropped response;
capture modes; the app-wide log."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import gzip
import json
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import websession
from websession._errors import NetError

Serve = Callable[..., Awaitable[str]]
BODY = bytes(range(256)) * 4
COOKIE = "sid=req-c00kie-v4lue"
AUTH = "Bearer s3cret-t0ken"
SET_COOKIE = "token=resp-s3t-c00kie; Path=/"
SECRETS = ("req-c00kie-v4lue", "s3cret-t0ken", "resp-s3t-c00kie", "hunter2")
GZIPPED = gzip.compress(BODY, mtime=0)  # no timestamp in the header: the same bytes every run


async def stall(request: web.Request) -> web.StreamResponse:
    """Send the headers and part of the body; the rest never comes (cancelled when the client
    closes)."""
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(BODY)
    await asyncio.sleep(5)
    return response


def app(hits: list[int] | None = None) -> web.Application:
    async def plain(request: web.Request) -> web.Response:
        return web.Response(body=BODY, headers={"Set-Cookie": SET_COOKIE})

    async def cached(request: web.Request) -> web.Response:
        if hits is not None:
            hits.append(1)
        return web.Response(body=BODY, headers={"Cache-Control": "max-age=60"})

    async def redirect(request: web.Request) -> web.Response:
        hops = int(request.match_info["n"])
        raise web.HTTPFound(f"/redirect/{hops - 1}" if hops > 1 else "/plain")

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(body=GZIPPED, headers={"Content-Encoding": "gzip"})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=BODY)

    application = web.Application()
    application.router.add_get("/plain", plain)
    application.router.add_get("/gzip", gzipped)
    application.router.add_get("/slow", slow)
    application.router.add_get("/cached", cached)
    application.router.add_get("/redirect/{n}", redirect)
    return application


async def record(ses: Any, path: Path, mode: str, traffic: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """Log ``traffic`` with every connection closed before the file ends, and load the file."""
    await ses.net_log.start_logging(str(path), capture_mode=mode)
    try:
        await traffic()
    finally:
        await ses.close_all_connections()
        await asyncio.sleep(0.01)  # connection_lost runs on the next loop iterations
        await ses.net_log.stop_logging()
    return load(path)


def load(path: Path) -> dict[str, Any]:
    log = json.loads(path.read_bytes())
    assert list(log) == ["constants", "events", "polledData"]
    return log


class Events:
    """A parsed log checked the way the viewer reads it, with lookups by name."""

    def __init__(self, log: dict[str, Any]) -> None:
        constants = log["constants"]
        self.types = {v: k for k, v in constants["logEventTypes"].items()}
        self.source_types = {v: k for k, v in constants["logSourceType"].items()}
        phases = constants["logEventPhase"]
        begin, end = phases["PHASE_BEGIN"], phases["PHASE_END"]
        self.events = log["events"]
        self.sources: dict[int, str] = {}
        stacks: dict[int, list[int]] = {}
        for event in self.events:
            assert event["type"] in self.types, event
            source = event["source"]
            assert source["type"] in self.source_types, event
            assert isinstance(event["time"], str) and isinstance(source["start_time"], str)
            assert self.sources.setdefault(source["id"], self.source_types[source["type"]]) == self.source_types[source["type"]]
            stack = stacks.setdefault(source["id"], [])
            if event["phase"] == begin:
                stack.append(event["type"])
            elif event["phase"] == end:
                assert stack and stack[-1] == event["type"], f"END out of order: {event} open: {stack}"
                stack.pop()
        unclosed = {sid: [self.types[t] for t in s] for sid, s in stacks.items() if s}
        assert not unclosed, f"BEGIN without END: {unclosed}"
        for event in self.events:
            dep = (event.get("params") or {}).get("source_dependency")
            if dep is not None:
                assert self.sources[dep["id"]] == self.source_types[dep["type"]]

    def of(self, source_type: str) -> list[int]:
        return [sid for sid, kind in self.sources.items() if kind == source_type]

    def names(self, source_id: int) -> list[str]:
        return [self.types[e["type"]] for e in self.events if e["source"]["id"] == source_id]

    def find(self, name: str, source_id: int | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.events
            if self.types[e["type"]] == name and (source_id is None or e["source"]["id"] == source_id)
        ]

    def net_error(self, name: str, source_id: int) -> int | None:
        ends = [e for e in self.find(name, source_id) if e["phase"] == 2]
        return (ends[-1].get("params") or {}).get("net_error")


def sockets_of(events: Events, request: int) -> set[int]:
    return {
        e["params"]["source_dependency"]["id"]
        for e in events.find("SOCKET_POOL_BOUND_TO_SOCKET", request)
    }


async def test_plain_request(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())

    async def traffic() -> None:
        response = await ses.fetch(f"{base}/plain")
        assert await response.bytes() == BODY

    events = Events(await record(ses, tmp_path / "plain.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    names = events.names(req)
    assert names[0] == "REQUEST_ALIVE" and names[-1] == "REQUEST_ALIVE"
    for step in ("URL_REQUEST_START_JOB", "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
                 "HTTP_TRANSACTION_READ_RESPONSE_HEADERS", "SOCKET_POOL_BOUND_TO_SOCKET"):
        assert step in names
    assert events.find("REQUEST_ALIVE", req)[0]["params"]["url"] == f"{base}/plain"
    assert events.net_error("REQUEST_ALIVE", req) is None
    # The request names its socket; the socket names the request back.
    [sock] = sockets_of(events, req)
    assert events.sources[sock] == "SOCKET"
    assert events.find("SOCKET_ALIVE", sock)[0]["params"]["source_dependency"]["id"] == req
    assert events.find("SOCKET_IN_USE", sock)[0]["params"]["source_dependency"]["id"] == req
    port = int(base.rsplit(":", 1)[1])
    assert events.find("TCP_CONNECT", sock)[0]["params"] == {"address_list": [f"127.0.0.1:{port}"]}
    assert events.find("TCP_CONNECT", sock)[1]["params"]["source_address"].startswith("127.0.0.1:")
    assert sum(e["params"]["byte_count"] for e in events.find("SOCKET_BYTES_RECEIVED", sock)) == len(BODY)
    assert events.names(sock)[-2:] == ["SOCKET_CLOSED", "SOCKET_ALIVE"]
    [sent] = events.find("HTTP_TRANSACTION_SEND_REQUEST_HEADERS", req)
    assert sent["params"]["line"] == "GET /plain HTTP/1.1\r\n"
    assert f"Host: 127.0.0.1:{port}" in sent["params"]["headers"]
    [received] = events.find("HTTP_TRANSACTION_READ_RESPONSE_HEADERS", req)
    assert received["params"]["headers"][0] == "HTTP/1.1 200 OK"


async def test_redirect_chain(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())

    async def traffic() -> None:
        response = await ses.fetch(f"{base}/redirect/3")
        assert response.redirected and await response.bytes() == BODY

    events = Events(await record(ses, tmp_path / "redirect.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    locations = [e["params"]["location"] for e in events.find("URL_REQUEST_REDIRECTED", req)]
    assert locations == [f"{base}/redirect/2", f"{base}/redirect/1", f"{base}/plain"]
    jobs = [e["params"]["url"] for e in events.find("URL_REQUEST_START_JOB", req) if e["phase"] == 1]
    assert jobs == [f"{base}/redirect/3", *locations]
    assert len(events.find("URL_REQUEST_DELEGATE_RECEIVED_REDIRECT", req)) == 6
    statuses = [e["params"]["headers"][0] for e in events.find("HTTP_TRANSACTION_READ_RESPONSE_HEADERS", req)]
    assert statuses == ["HTTP/1.1 302 Found"] * 3 + ["HTTP/1.1 200 OK"]
    assert sockets_of(events, req)  # every hop is bound to a socket of the pool


async def test_tls(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app(), tls=True)

    async def traffic() -> None:
        assert await (await ses.fetch(f"{base}/plain")).bytes() == BODY

    events = Events(await record(ses, tmp_path / "tls.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    [sock] = sockets_of(events, req)
    names = events.names(sock)
    assert names.index("TCP_CONNECT") < names.index("SSL_CONNECT")
    tls = events.find("SSL_CONNECT", sock)[-1]["params"]
    assert tls["version"].startswith("TLS 1.") and tls["cipher_suite"] > 0
    assert tls["is_resumed"] is False and isinstance(tls["next_proto"], str)
    tcp_end = events.find("TCP_CONNECT", sock)[-1]
    assert tcp_end["phase"] == 2 and tcp_end["params"]["source_address"].startswith("127.0.0.1:")
    assert int(tcp_end["time"]) <= int(events.find("SSL_CONNECT", sock)[0]["time"])


async def test_failed_tls_handshake_ends_ssl_connect_not_tcp(
    ses: Any, serve: Serve, tmp_path: Path
) -> None:
    """A certificate the session does not trust fails the handshake: the TCP connect succeeded,
    SSL_CONNECT ends with the certificate error."""
    import ssl

    base = await serve(app(), tls=True)
    ses._transport.ssl_context = ssl.create_default_context()  # the test CA is not trusted

    async def traffic() -> None:
        with pytest.raises(NetError) as caught:
            await ses.fetch(f"{base}/plain")
        assert caught.value.name == "net::ERR_CERT_AUTHORITY_INVALID"

    events = Events(await record(ses, tmp_path / "badcert.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    [sock] = [sid for sid, kind in events.sources.items() if kind == "SOCKET"]
    tcp_end = [e for e in events.find("TCP_CONNECT", sock) if e["phase"] == 2]
    assert tcp_end and "net_error" not in (tcp_end[0].get("params") or {})
    assert (events.net_error("SSL_CONNECT", sock) or 0) < 0
    assert (events.net_error("REQUEST_ALIVE", req) or 0) < 0


async def test_connection_failure(ses: Any, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def traffic() -> None:
        with pytest.raises(NetError) as caught:
            await ses.fetch(f"http://127.0.0.1:{port}/")
        assert caught.value.code == -102

    events = Events(await record(ses, tmp_path / "fail.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    [sock] = events.of("SOCKET")
    assert events.net_error("TCP_CONNECT", sock) == -102
    assert events.net_error("SOCKET_ALIVE", sock) == -102
    assert events.find("FAILED", req)[0]["params"] == {"net_error": -102}
    assert events.net_error("URL_REQUEST_START_JOB", req) == -102
    assert events.net_error("REQUEST_ALIVE", req) == -102


async def test_cache_hit(ses: Any, serve: Serve, tmp_path: Path) -> None:
    hits: list[int] = []
    base = await serve(app(hits))

    async def traffic() -> None:
        for _ in range(2):
            assert await (await ses.fetch(f"{base}/cached")).bytes() == BODY

    events = Events(await record(ses, tmp_path / "cache.json", "default", traffic))
    assert len(hits) == 1
    first, second = events.of("URL_REQUEST")
    results = lambda req: [e["params"]["result"] for e in events.find("HTTP_CACHE_OPEN_OR_CREATE_ENTRY", req) if e["phase"] == 2]
    assert results(first) == ["created"] and results(second) == ["opened"]
    assert events.find("HTTP_CACHE_READ_INFO", second) and not events.find("HTTP_CACHE_READ_INFO", first)
    assert sockets_of(events, first) and not sockets_of(events, second)
    assert "HTTP_TRANSACTION_SEND_REQUEST" not in events.names(second)
    assert events.net_error("REQUEST_ALIVE", second) is None


async def test_web_request_cancel(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())
    ses.web_request.on_before_request(lambda details, callback: callback({"cancel": True}))

    async def traffic() -> None:
        with pytest.raises(NetError):
            await ses.fetch(f"{base}/plain")

    events = Events(await record(ses, tmp_path / "cancel.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    assert events.names(req) == [
        "REQUEST_ALIVE", "NETWORK_DELEGATE_BEFORE_URL_REQUEST", "NETWORK_DELEGATE_BEFORE_URL_REQUEST",
        "CANCELLED", "REQUEST_ALIVE",
    ]
    assert events.net_error("NETWORK_DELEGATE_BEFORE_URL_REQUEST", req) == -20
    assert events.find("CANCELLED", req)[0]["params"] == {"net_error": -20}
    assert not events.of("SOCKET")


async def test_web_request_delegate_steps(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())
    ses.web_request.on_before_send_headers(lambda details, callback: callback({}))
    ses.web_request.on_headers_received(lambda details, callback: callback({}))

    async def traffic() -> None:
        assert await (await ses.fetch(f"{base}/plain")).bytes() == BODY

    events = Events(await record(ses, tmp_path / "delegate.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    names = events.names(req)
    start = names.index("NETWORK_DELEGATE_BEFORE_START_TRANSACTION")
    assert start < names.index("HTTP_TRANSACTION_SEND_REQUEST") < names.index("NETWORK_DELEGATE_HEADERS_RECEIVED")


async def sensitive_traffic(ses: Any, base: str) -> None:
    url = base.replace("http://", "http://user:hunter2@")
    response = await ses.fetch(f"{url}/plain", headers={"Cookie": COOKIE, "Authorization": AUTH})
    assert await response.bytes() == BODY


async def test_default_mode_strips_cookies_and_credentials(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())
    path = tmp_path / "default.json"
    events = Events(await record(ses, path, "default", lambda: sensitive_traffic(ses, base)))
    data = path.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in data
    assert f"Cookie: [{len(COOKIE)} bytes were stripped]".encode() in data
    assert f"Authorization: [{len(AUTH)} bytes were stripped]".encode() in data
    assert f"Set-Cookie: [{len(SET_COOKIE)} bytes were stripped]".encode() in data
    assert b'"bytes"' not in data
    assert not events.find("URL_REQUEST_JOB_FILTERED_BYTES_READ")


async def test_include_sensitive_keeps_them(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())
    path = tmp_path / "sensitive.json"
    await record(ses, path, "includeSensitive", lambda: sensitive_traffic(ses, base))
    data = path.read_bytes()
    for secret in ("req-c00kie-v4lue", "s3cret-t0ken", "resp-s3t-c00kie"):
        assert secret.encode() in data
    assert b'"bytes"' not in data


async def test_everything_has_bytes(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())
    path = tmp_path / "everything.json"
    events = Events(await record(ses, path, "everything", lambda: sensitive_traffic(ses, base)))
    [req] = events.of("URL_REQUEST")
    read = b"".join(base64.b64decode(e["params"]["bytes"]) for e in events.find("URL_REQUEST_JOB_FILTERED_BYTES_READ", req))
    assert read == BODY
    [sock] = sockets_of(events, req)
    received = b"".join(base64.b64decode(e["params"]["bytes"]) for e in events.find("SOCKET_BYTES_RECEIVED", sock))
    assert received == BODY


async def test_app_wide_log_records_every_session(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())
    other = websession.session.from_partition(f"{ses.partition}-other")
    other._transport.ssl_context = ses._transport.ssl_context
    path = tmp_path / "app.json"
    own = tmp_path / "own.json"
    try:
        await websession.net_log.start_logging(str(path))
        await ses.net_log.start_logging(str(own))
        for each in (ses, other):
            assert await (await each.fetch(f"{base}/plain")).bytes() == BODY
            await each.close_all_connections()
        await asyncio.sleep(0.01)
        await ses.net_log.stop_logging()
        await websession.net_log.stop_logging()
    finally:
        await other.close()
    everything, mine = Events(load(path)), Events(load(own))
    assert len(everything.of("URL_REQUEST")) == 2 and len(mine.of("URL_REQUEST")) == 1
    assert set(mine.sources) < set(everything.sources)
    assert websession.NetLog is type(websession.net_log)


async def test_logging_off_leaves_no_trace(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())
    await record(ses, tmp_path / "on.json", "default", lambda: sensitive_traffic(ses, base))
    client = ses._transport.client()
    assert not client.trace_configs  # the trace config is only there while a logged request is sent
    response = await ses.fetch(f"{base}/plain")
    assert await response.bytes() == BODY
    assert not client.trace_configs


async def wait_until(condition: Callable[[], bool], what: str, bound: float = 5.0) -> None:
    """Let the loop run until ``condition()`` holds (a bounded wait, not a timing assertion)."""
    for _ in range(int(bound / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"gave up waiting until {what}")


class DroppingServer:
    """HTTP/1.1 on a raw socket: each answer has a Content-Length and keeps the connection alive
    until :meth:`drop` closes, from the server's side, every connection open at that moment."""

    def __init__(self) -> None:
        self.connections = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.handlers: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.connections += 1
        self.writers.add(writer)
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(BODY)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")  # a GET: no body follows its headers
                writer.write(head + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass  # the connection was closed, by the client or by drop()
        finally:
            self.writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    def drop(self) -> None:
        """Close every open connection (each is between requests when the tests call this)."""
        for writer in self.writers:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in self.handlers:
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)


async def pool_a_dead_connection(ses: Any, url: str, server: DroppingServer) -> Any:
    """Leave in ``ses``'s pool an idle keep-alive connection to ``url`` that the server has
    closed since, as the client has seen; return that connection's protocol."""
    assert await (await ses.fetch(url)).bytes() == BODY
    connector = ses._transport.client().connector
    [[(dead, _)]] = connector._conns.values()  # the connection is back in the pool
    server.drop()
    await wait_until(lambda: not dead.is_connected(), "the client saw the server close")
    assert [[p for p, _ in idle] for idle in connector._conns.values()] == [[dead]]  # still pooled
    return dead


@pytest.mark.parametrize("tls", [False, True])
async def test_new_connection_seen_without_traces(
    ses: Any, tmp_path: Path, tls_server_context: ssl.SSLContext, tls: bool
) -> None:
    """A hop that expected an idle connection but opened one: the protocol factory still shows
    the connect (and the TLS handshake), with no aiohttp trace installed.

    The real situation: a keep-alive connection pooled before logging started, closed since by
    the server. aiohttp keeps it in the pool (``connection_lost`` does not touch the pool; only
    the keep-alive cleanup, 15 s later, or the next ``_get`` drops it), so the log sees an idle
    connection and installs no trace; ``_get`` finds it dead, closes it and opens a new one.
    """
    from websession import _netlog_transport

    server = DroppingServer()
    base = await server.start(tls_server_context if tls else None)
    url = f"{base}/plain"
    try:
        await pool_a_dead_connection(ses, url, server)
        client = ses._transport.client()
        assert _netlog_transport.idle_connection(client.connector, url)  # the log will expect reuse

        traced_when_connecting: list[bool] = []

        async def on_create_start(session: Any, ctx: Any, params: Any) -> None:
            traced_when_connecting.append(_netlog_transport._TRACE in session.trace_configs)

        # An observer of our own, to see that a connection is made and that the log's trace
        # is not installed when it is.
        observer = aiohttp.TraceConfig()
        observer.on_connection_create_start.append(on_create_start)
        observer.freeze()
        client._trace_configs.append(observer)

        async def traffic() -> None:
            assert await (await ses.fetch(url)).bytes() == BODY
            assert not client.trace_configs[:-1]

        events = Events(await record(ses, tmp_path / "untraced.json", "default", traffic))
    finally:
        await server.stop()
    assert traced_when_connecting == [False]
    assert server.connections == 2
    [req] = events.of("URL_REQUEST")
    [sock] = sockets_of(events, req)
    assert events.of("SOCKET") == [sock]  # the dead connection was opened before logging
    names = events.names(sock)
    assert names[:2] == ["SOCKET_ALIVE", "TCP_CONNECT"]
    assert ("SSL_CONNECT" in names) is tls
    assert names[-2:] == ["SOCKET_CLOSED", "SOCKET_ALIVE"]
    assert "SOCKET_POOL_REUSED_AN_EXISTING_SOCKET" not in events.names(req)
    assert events.find("TCP_CONNECT", sock)[1]["params"]["source_address"].startswith("127.0.0.1:")
    if tls:
        assert names.index("TCP_CONNECT") < names.index("SSL_CONNECT")
        assert events.find("SSL_CONNECT", sock)[-1]["params"]["version"].startswith("TLS 1.")
    assert sum(e["params"]["byte_count"] for e in events.find("SOCKET_BYTES_RECEIVED", sock)) == len(BODY)


async def test_everything_logs_socket_bytes_before_decoding(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())

    async def traffic() -> None:
        assert await (await ses.fetch(f"{base}/gzip")).bytes() == BODY

    events = Events(await record(ses, tmp_path / "gzip.json", "everything", traffic))
    [req] = events.of("URL_REQUEST")
    [sock] = sockets_of(events, req)
    wire = b"".join(base64.b64decode(e["params"]["bytes"]) for e in events.find("SOCKET_BYTES_RECEIVED", sock))
    read = b"".join(base64.b64decode(e["params"]["bytes"]) for e in events.find("URL_REQUEST_JOB_FILTERED_BYTES_READ", req))
    assert gzip.decompress(wire) == BODY and read == BODY


async def test_timeout_ends_the_request_as_cancelled(ses: Any, serve: Serve, tmp_path: Path) -> None:
    base = await serve(app())

    async def traffic() -> None:
        with pytest.raises(NetError) as caught:
            await ses.fetch(f"{base}/slow", timeout=0.2)
        assert caught.value.code == -7  # ERR_TIMED_OUT

    events = Events(await record(ses, tmp_path / "timeout.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    assert events.find("CANCELLED", req)[0]["params"] == {"net_error": -3}
    assert events.net_error("REQUEST_ALIVE", req) == -3
    assert events.net_error("HTTP_TRANSACTION_READ_HEADERS", req) == -3


def stalling_app() -> web.Application:
    application = web.Application()
    application.router.add_get("/stall", stall)
    return application


async def drop_unread(ses: Any, url: str) -> Any:
    """Fetch ``url``, drop the response with its body unread; return its connection's protocol."""
    response = await ses.fetch(url)
    assert response.status == 200
    proto = response._remote._protocol  # the aiohttp protocol of the response's connection
    del response
    gc.collect()
    return proto


async def test_dropped_unread_body_cancels_the_request(ses: Any, serve: Serve, tmp_path: Path) -> None:
    """A response dropped with its body unread: the request ends CANCELLED (ERR_ABORTED), as
    Chrome cancels a URLRequest its consumer deletes."""
    base = await serve(stalling_app())

    async def traffic() -> None:
        await drop_unread(ses, f"{base}/stall")
        await asyncio.sleep(0.01)

    events = Events(await record(ses, tmp_path / "dropped.json", "default", traffic))
    [req] = events.of("URL_REQUEST")
    assert events.find("CANCELLED", req)[0]["params"] == {"net_error": -3}
    assert events.names(req)[-2:] == ["CANCELLED", "REQUEST_ALIVE"]
    assert events.net_error("REQUEST_ALIVE", req) == -3
    [sock] = sockets_of(events, req)
    assert events.names(sock)[-3:] == ["SOCKET_IN_USE", "SOCKET_CLOSED", "SOCKET_ALIVE"]


async def test_dropped_unread_body_closes_its_connection(ses: Any, serve: Serve, tmp_path: Path) -> None:
    """Dropping the response also closes its connection (Chrome closes the socket of a request
    cancelled mid-body), so the file stop_logging writes has every source ended."""
    base = await serve(stalling_app())
    path = tmp_path / "dropped.json"
    await ses.net_log.start_logging(str(path))
    try:
        proto = await drop_unread(ses, f"{base}/stall")
        await wait_until(lambda: proto.transport is None, "the dropped response's connection closed", 1.0)
        await asyncio.sleep(0.01)  # the protocol's closed future runs its callbacks
    finally:
        await ses.net_log.stop_logging()
        await ses.close_all_connections()  # so the server's handler is not left waiting
    events = Events(load(path))  # every BEGIN ended, the socket's included
    [req] = events.of("URL_REQUEST")
    assert events.find("CANCELLED", req)[0]["params"] == {"net_error": -3}
    assert events.net_error("REQUEST_ALIVE", req) == -3
    [sock] = sockets_of(events, req)
    assert events.names(sock)[-3:] == ["SOCKET_IN_USE", "SOCKET_CLOSED", "SOCKET_ALIVE"]


async def test_concurrent_new_connections_are_told_apart(ses: Any, serve: Serve, tmp_path: Path) -> None:
    """Hops sent at once by tasks that share a parent context each get the connection they
    opened: the protocol factory finds the log of the task that creates the connection."""
    bases = [await serve(app()) for _ in range(3)]

    async def first_request_of_the_parent() -> None:
        assert await (await ses.fetch(f"{bases[0]}/plain")).bytes() == BODY

    async def traffic() -> None:
        await first_request_of_the_parent()  # the parent task has sent a hop of its own
        await ses.close_all_connections()

        async def one(base: str) -> None:
            assert await (await ses.fetch(f"{base}/plain")).bytes() == BODY

        await asyncio.gather(*(one(base) for base in bases))

    events = Events(await record(ses, tmp_path / "concurrent.json", "default", traffic))
    requests = events.of("URL_REQUEST")
    assert len(requests) == 4
    ports = set()
    for req in requests[1:]:
        [sock] = sockets_of(events, req)
        names = events.names(sock)
        assert names[:2] == ["SOCKET_ALIVE", "TCP_CONNECT"]
        assert events.find("SOCKET_ALIVE", sock)[0]["params"]["source_dependency"]["id"] == req
        url = events.find("REQUEST_ALIVE", req)[0]["params"]["url"]
        ports.add(url.rsplit(":", 1)[1].split("/")[0])
    assert len(ports) == 3
