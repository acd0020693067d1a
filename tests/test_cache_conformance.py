"""Replay Mark Nottingham's HTTP cache conformance suite (cache-tests) against the session's cache.

The 300 tests browsers run (not ``cdn_only``, not ``browser_skip``) go through the cache to a
loopback aiohttp origin that answers as each test says, with the reference harness's semantics
(test-engine/client/test.mjs, test-engine/server/handle-test.mjs; see the corpus FORMAT.md).
The pass count is printed next to Chrome's, Firefox's and Safari's results from the corpus.

Requests go through ``session.from_partition(...).fetch`` when the session wires the cache in;
otherwise straight into ``HttpCache.fetch`` with a ``forward`` that performs a real aiohttp
request to the origin.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict
from support import CORPORA

from websession._errors import NetError
from websession._http import RequestState, Response
from websession._http_cache import HttpCache

SUITE = CORPORA / "http-cache" / "cache-tests.json"
RESULTS = CORPORA / "http-cache" / "results"
PAUSE = 3.0  # test-engine/client/utils.mjs pause()
TARGET = 244
DATE_HEADERS = {"date", "expires", "last-modified", "if-modified-since", "if-unmodified-since"}
LOCATION_HEADERS = {"location", "content-location"}
NO_BODY_STATUS = {204, 304}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Failure(Exception):
    """An assertion of the suite failed (``kind`` is ``Assertion`` or ``Setup``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def check(is_setup: bool, condition: bool, message: str) -> None:
    if not condition:
        raise Failure("Setup" if is_setup else "Assertion", message)


def setup_check(req: dict[str, Any], member: str) -> bool:
    return req.get("setup") is True or member in req.get("setup_tests", [])


def http_date(now_ms: int, delta: int, rfc850: bool = False) -> str:
    """test-engine/lib/utils.mjs httpDate: ``now + delta`` seconds as IMF-fixdate or RFC 850."""
    t = time.gmtime((now_ms + delta * 1000) // 1000)
    if rfc850:
        return (f"{_LONG_DAYS[t.tm_wday]}, {t.tm_mday:02d}-{_MONTHS[t.tm_mon - 1]}-"
                f"{t.tm_year % 100:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def fixup(header: list[Any], resp_headers: Any, req: dict[str, Any]) -> list[Any]:
    """test-engine/lib/header-fixup.mjs: magic dates and locations (mutates ``header``)."""
    name = header[0].lower()
    server_now = resp_headers.get("server-now")
    if name in DATE_HEADERS and isinstance(header[1], int) and not isinstance(header[1], bool):
        header[1] = http_date(int(server_now), header[1], name in req.get("rfc850date", []))
    if name in LOCATION_HEADERS and req.get("magic_locations"):
        base = resp_headers.get("server-base-url")
        header[1] = f"{base}/{header[1]}" if header[1] else f"{base}"
    return header


def joined(headers: Any, name: str) -> str | None:
    """Fetch's ``headers.get``: every value of ``name`` joined with ``", "``, or ``None``."""
    values = headers.getall(name, [])
    return ", ".join(values) if values else None


# -- the origin (test-engine/server/handle-test.mjs) ---------------------------------------------

class Origin:
    def __init__(self) -> None:
        self.configs: dict[str, list[dict[str, Any]]] = {}
        self.state: dict[str, list[dict[str, Any]]] = {}
        self.app = web.Application()
        self.app.router.add_route("*", "/test/{uuid}{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        uid = request.match_info["uuid"]
        requests = self.configs.get(uid)
        if requests is None:
            return web.Response(status=409, text=f"Requests not found for {uid}")
        server_state = self.state.setdefault(uid, [])
        try:
            cli_num = int(request.headers.get("req-num", ""))
        except ValueError:
            cli_num = 0
        req_num = cli_num or len(server_state) + 1
        if req_num > len(requests):
            return web.Response(status=409, text="config not found")
        config = requests[req_num - 1]
        if "response_pause" in config:
            await asyncio.sleep(config["response_pause"])
        await request.read()
        srv_num = len(server_state) + 1
        previous = requests[req_num - 2] if req_num >= 2 else {}
        now_ms = int(time.time() * 1000)

        status = list(config.get("response_status", [200, "OK"]))
        if config.get("expected_type", "").endswith("validated"):
            previous_lm = _config_header(previous, "last-modified")
            if previous_lm and request.headers.get("if-modified-since") == previous_lm:
                status = [304, "Not Modified"]
            previous_etag = _config_header(previous, "etag")
            if previous_etag and request.headers.get("if-none-match") == previous_etag:
                status = [304, "Not Modified"]
            if status[0] != 304:
                status = [999, "304 Not Generated"]

        out: CIMultiDict[str] = CIMultiDict()
        out["Server-Base-Url"] = request.path_qs
        out["Server-Request-Count"] = str(srv_num)
        out["Client-Request-Count"] = str(cli_num)
        out["Server-Now"] = str(now_ms)
        saved: dict[str, Any] = {}
        for header in config.get("response_headers", []):
            fixup(header, out, config)
            name, value = header[0], header[1]
            out.add(name, str(value))
            if len(header) < 3 or header[2] is True:
                values = out.getall(name)
                saved[name] = values[0] if len(values) == 1 else list(values)
        if "content-type" not in out:
            out["Content-Type"] = "text/plain"
        server_state.append({
            "request_num": cli_num,
            "request_method": request.method,
            "request_headers": {k.lower(): v for k, v in request.headers.items()},
            "response_headers": list(saved.items()),
        })
        out["Request-Numbers"] = " ".join(str(s["request_num"]) for s in server_state)

        if config.get("disconnect"):
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=200)
        body = b""
        if status[0] not in NO_BODY_STATUS:
            body = (config.get("response_body") or uid).encode()
            declared = out.get("content-length")
            if declared is not None and declared.isdigit():
                body = body[: int(declared)]
        if "transfer-encoding" in out:
            # An unknown transfer-coding: the body is delimited by closing the connection
            # (RFC 9112 §6.3), as Node's http server does when the header is set by hand.
            return self._raw(request, status, out, body)
        return web.Response(status=status[0], reason=status[1], headers=out, body=body)

    def _raw(
        self, request: web.Request, status: list[Any], headers: CIMultiDict[str], body: bytes
    ) -> web.StreamResponse:
        lines = [f"HTTP/1.1 {status[0]} {status[1]}"]
        if "date" not in headers:
            lines.append(f"Date: {http_date(int(time.time() * 1000), 0)}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append("Connection: close")
        transport = request.transport
        assert transport is not None
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        transport.close()
        return web.Response(status=200)


def _config_header(config: dict[str, Any], name: str) -> Any:
    for header in config.get("response_headers", []):
        if header[0].lower() == name:
            return header[1]
    return None


# -- the client ------------------------------------------------------------------------------------

Fetch = Callable[[str, dict[str, Any]], Awaitable[Response]]


def direct_fetcher(cache: HttpCache, client: aiohttp.ClientSession) -> Fetch:
    """Drive ``HttpCache.fetch`` with a real aiohttp request as ``forward``."""
    ids = itertools.count(1)

    async def forward(state: RequestState) -> Response:
        try:
            resp = await client.request(
                state.method, state.url, headers=list(state.headers.items()),
                data=state.body, allow_redirects=False, auto_decompress=False,
            )
        except aiohttp.ServerDisconnectedError as error:
            raise NetError("ERR_EMPTY_RESPONSE") from error
        except aiohttp.ClientError as error:
            raise NetError("ERR_CONNECTION_RESET") from error
        response = Response(headers=list(resp.headers.items()))
        response.status = resp.status
        response.status_text = resp.reason or ""
        if state.method == "HEAD" or resp.status in NO_BODY_STATUS:
            resp.release()
        else:
            response._set_stream(resp.content.iter_any(), resp.release)
        return response

    async def fetch(url: str, init: dict[str, Any]) -> Response:
        state = RequestState(next(ids), None, init.get("method", "GET"), url)
        state.headers = CIMultiDict(init.get("headers", []))
        body = init.get("body")
        state.body = body.encode() if isinstance(body, str) else body
        state.cache_mode = init.get("cache", "default")
        return await cache.fetch(state, forward)

    return fetch


def session_fetcher(ses: Any) -> Fetch:
    """Drive ``Session.fetch`` (the full pipeline, with the session's cache)."""

    async def fetch(url: str, init: dict[str, Any]) -> Response:
        options: dict[str, Any] = {"headers": init["headers"], "redirect": "manual"}
        for name in ("method", "body", "cache"):
            if name in init:
                options[name] = init[name]
        response: Response = await ses.fetch(url, **options)
        return response

    return fetch


def session_wired() -> bool:
    """Tell whether ``Session`` carries the HTTP cache (the lead's wiring of CacheSessionMixin)."""
    from websession._session import Session

    return hasattr(Session, "get_cache_size") and hasattr(Session, "_setup_cache")


async def run_test(test: dict[str, Any], base: str, origin: Origin, fetch: Fetch) -> Any:
    """Run one test as test-engine/client/test.mjs makeTest does; ``True`` or ``[kind, message]``."""
    uid = str(uuidlib.uuid4())
    requests = json.loads(json.dumps(test["requests"]))
    origin.configs[uid] = requests
    responses: list[tuple[Response, CIMultiDict[str]]] = []
    try:
        for idx, req in enumerate(requests):
            req_num = idx + 1
            url = f"{base}/test/{uid}"
            if "filename" in req:
                url += f"/{req['filename']}"
            if "query_arg" in req:
                url += f"?{req['query_arg']}"
            headers: list[list[Any]] = [list(h) for h in req.get("request_headers", [])]
            if req.get("magic_ims") and responses:
                previous = responses[-1][1]
                for header in headers:
                    if header[0].lower() == "if-modified-since":
                        fixup(header, previous, req)
            headers.append(["Test-Name", test["name"]])
            headers.append(["Test-ID", test["id"]])
            headers.append(["Req-Num", str(req_num)])
            init: dict[str, Any] = {"headers": [(h[0], str(h[1])) for h in headers]}
            if "request_method" in req:
                init["method"] = req["request_method"]
            if "request_body" in req:
                init["body"] = req["request_body"]
            if "cache" in req:
                init["cache"] = req["cache"]
            try:
                response = await asyncio.wait_for(fetch(url, init), 20)
                text = (await response.bytes()).decode("utf-8", "replace")
            except Exception as error:  # noqa: BLE001 - the reference records any fetch error
                return [type(error).__name__, str(error)]
            responses.append((response, response.headers))
            check_response(test, uid, req, req_num, response, text)
            if req.get("pause_after"):
                await asyncio.sleep(PAUSE)
        check_server_requests(requests, responses, origin.state.get(uid, []))
    except Failure as failure:
        return [failure.kind, str(failure)]
    return True


def check_response(
    test: dict[str, Any], uid: str, req: dict[str, Any], req_num: int, response: Response, text: str
) -> None:
    headers = response.headers
    try:
        res_num: float = int(headers.get("Server-Request-Count", ""))
    except ValueError:
        res_num = float("nan")
    numbers = headers.get("Request-Numbers")
    if numbers:
        seen = numbers.split(" ")
        check(True, len(seen) == len(set(seen)), "retry")
    if "expected_type" in req:
        type_setup = setup_check(req, "expected_type")
        # Some caches omit Server-Request-Count on a 304; the reference lets that pass.
        if req["expected_type"] == "cached" and not (response.status == 304 and math.isnan(res_num)):
            check(type_setup, res_num < req_num, f"Response {req_num} does not come from cache")
        if req["expected_type"] == "not_cached":
            check(type_setup, res_num == req_num, f"Response {req_num} comes from cache")
    if "expected_status" in req:
        if req["expected_status"] is not None:
            check(setup_check(req, "expected_status"), response.status == req["expected_status"],
                  f"Response {req_num} status is {response.status}, not {req['expected_status']}")
    elif "response_status" in req:
        check(True, response.status == req["response_status"][0],
              f"Response {req_num} status is {response.status}, not {req['response_status'][0]}")
    elif response.status == 999:
        check(setup_check(req, "expected_type"), False,
              f"Request {req_num} should have been conditional, but it was not.")
    else:
        check(True, response.status == 200, f"Response {req_num} status is {response.status}, not 200")

    present_setup = setup_check(req, "expected_response_headers")
    for header in req.get("expected_response_headers", []):
        if isinstance(header, str):
            check(present_setup, header in headers, f"Response {req_num} {header} header not present.")
        elif len(header) > 2:
            check(present_setup, header[0] in headers,
                  f"Response {req_num} {header[0]} header not present.")
            value = joined(headers, header[0])
            if header[1] == "=":
                ok = value == joined(headers, header[2])
            else:
                try:
                    ok = int(value or "") > header[2]
                except ValueError:
                    ok = False
            check(present_setup, ok, f"Response {req_num} header {header[0]} is {value}")
        else:
            expected = fixup(list(header), CIMultiDict((k.lower(), v) for k, v in headers.items()),
                             req)[1]
            got = joined(headers, header[0])
            check(present_setup, got == expected,
                  f'Response {req_num} header {header[0]} is "{got}", not "{expected}"')
    missing_setup = setup_check(req, "expected_response_headers_missing")
    for header in req.get("expected_response_headers_missing", []):
        if isinstance(header, str):
            check(missing_setup, header not in headers,
                  f"Response {req_num} includes unexpected header {header}")
        else:
            value = joined(headers, header[0]) or ""
            check(missing_setup, header[1] not in value,
                  f'Response {req_num} header {header[0]} still has value "{value}"')

    if req.get("check_body") is False:
        return
    if "expected_response_text" in req:
        if req["expected_response_text"] is not None:
            check(setup_check(req, "expected_response_text"), text == req["expected_response_text"],
                  f'Response body is "{text}", not "{req["expected_response_text"]}"')
    elif req.get("response_body") is not None:
        check(True, text == req["response_body"], f'Response body is "{text}", not "{req["response_body"]}"')
    elif response.status not in NO_BODY_STATUS and req.get("request_method") != "HEAD":
        check(True, text == uid, f'Response body is "{text}", not "{uid}"')


def check_server_requests(
    requests: list[dict[str, Any]],
    responses: list[tuple[Response, CIMultiDict[str]]],
    server_state: list[dict[str, Any]],
) -> None:
    test_idx = 0
    for i, req in enumerate(requests):
        req_num = i + 1
        validating: list[str] = []
        response_headers = responses[i][1]
        server_request = server_state[test_idx] if test_idx < len(server_state) else None
        type_setup = setup_check(req, "expected_type")
        if "expected_type" in req:
            if req["expected_type"] == "cached":
                continue
            if req["expected_type"] == "not_cached":
                check(type_setup, server_request is not None and server_request["request_num"] == req_num,
                      f"Response {req_num} comes from cache")
            if req["expected_type"] == "etag_validated":
                validating.append("if-none-match")
            if req["expected_type"] == "lm_validated":
                validating.append("if-modified-since")
        test_idx += 1
        for name in validating:
            check(type_setup, server_request is not None, f"request {req_num} wasn't sent to server")
            assert server_request is not None
            check(type_setup, name in server_request["request_headers"],
                  f"request {req_num} doesn't have {name} header")
        seen = server_request["request_headers"] if server_request else {}
        for header in req.get("expected_request_headers", []):
            setup = setup_check(req, "expected_request_headers")
            if isinstance(header, str):
                check(setup, header.lower() in seen, f"Request {req_num} {header} header not present.")
            else:
                got = seen.get(header[0].lower())
                check(setup, got == header[1], f'Request {req_num} header {header[0]} is "{got}"')
        for header in req.get("expected_request_headers_missing", []):
            setup = setup_check(req, "expected_request_headers_missing")
            if isinstance(header, str):
                check(setup, header.lower() not in seen, f"Request {req_num} {header} header present.")
            else:
                check(setup, seen.get(header[0].lower()) != header[1],
                      f"Request {req_num} header {header[0]} is {header[1]}")
        if server_request is not None:
            for name, value in server_request["response_headers"]:
                if name.lower() == "date":
                    continue
                got = joined(response_headers, name)
                if isinstance(value, list):
                    value = ", ".join(value)
                check(True, got == value, f'Response {req_num} header {name} is "{got}", not "{value}"')
        if "expected_method" in req:
            check(setup_check(req, "expected_method"), server_request is not None
                  and server_request["request_method"] == req["expected_method"],
                  f"Request {req_num} had the wrong method")


def browser_tests() -> list[tuple[str, dict[str, Any]]]:
    suites = json.loads(SUITE.read_text())
    return [
        (suite["id"], test)
        for suite in suites
        for test in suite["tests"]
        if not test.get("cdn_only") and not test.get("browser_skip")
    ]


async def run_suite(fetch: Fetch, base: str, origin: Origin) -> dict[str, Any]:
    tests = browser_tests()
    outcomes = await asyncio.gather(*(run_test(t, base, origin, fetch) for _, t in tests))
    return {t["id"]: outcome for (_, t), outcome in zip(tests, outcomes)}


def report(results: dict[str, Any]) -> tuple[int, list[str]]:
    """Print the table next to the browsers; return the pass count and required regressions."""
    browsers = {
        name: json.loads((RESULTS / f"{name}.json").read_text())
        for name in ("chrome", "firefox", "safari")
    }
    kinds = {t["id"]: t.get("kind", "required") for _, t in browser_tests()}
    passed = sum(1 for v in results.values() if v is True)
    any_browser = {k for k in results if any(b.get(k) is True for b in browsers.values())}
    must = sorted(k for k in any_browser if kinds[k] == "required" and results[k] is not True)
    lines = [f"{'implementation':<16}{'passed':>8}{'of':>6}"]
    lines.append(f"{'websession':<16}{passed:>8}{len(results):>6}")
    for name, data in browsers.items():
        lines.append(f"{name:<16}{sum(1 for k in results if data.get(k) is True):>8}{len(results):>6}")
    lines.append(f"{'any browser':<16}{len(any_browser):>8}{len(results):>6}")
    by_kind = {}
    for kind in ("required", "optimal", "check"):
        ids = [k for k in results if kinds[k] == kind]
        by_kind[kind] = (sum(1 for k in ids if results[k] is True), len(ids))
    lines.append("by kind: " + ", ".join(f"{k} {p}/{n}" for k, (p, n) in by_kind.items()))
    failed = [f"  {k} [{kinds[k]}]: {results[k]}" for k in results if results[k] is not True]
    print("\n".join(lines + ["failed:"] + failed))
    return passed, must


@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory", "disk"])
async def test_cache_conformance(store: str, serve: Any, tmp_path: Path) -> None:
    """The suite through ``ses.fetch`` when the session has the cache, else ``HttpCache.fetch``."""
    if not SUITE.is_file():
        pytest.fail(f"the http-cache corpus is missing: {SUITE}")
    origin = Origin()
    base = await serve(origin.app)
    if session_wired():
        from websession import session

        ses = (
            session.from_path(str(tmp_path / "profile"))
            if store == "disk"
            else session.from_partition(f"cache-conformance-{uuidlib.uuid4()}")
        )
        try:
            results = await run_suite(session_fetcher(ses), base, origin)
        finally:
            await ses.close()
    else:
        cache = HttpCache(tmp_path if store == "disk" else None)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as client:
            results = await run_suite(direct_fetcher(cache, client), base, origin)
        await cache.close()
    passed, must = report(results)
    assert not must, f"required tests a browser passes failed: {must}"
    assert passed >= TARGET, f"{passed} of {len(results)} passed, target {TARGET}"
