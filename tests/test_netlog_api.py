"""``NetLog`` (``ses.net_log`` / ``websession.net_log``): Electron's API and errors, capture modes,
and logs written through the instrumentation the pipeline uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from websession import _impl
from websession._errors import SessionError
from websession._net_log import (
    NetLog,
    Recorder,
    elide_header_value,
    net_log,
    recorder_for,
    redirect_params,
    request_alive_params,
    request_headers_params,
    response_headers_params,
    start_job_params,
    tls_params,
)

SECRETS = ("sessionid=s3cr3t", "Basic dXNlcjpwYXNz", "Bearer tok3n", "hunter2", "NTLM TlRMTVNTUAAB")


@pytest.fixture(autouse=True)
def _use(implementation: str) -> Any:
    _impl.use(implementation)
    yield
    _impl.use("auto")


def drive(rec: Recorder, url: str = "http://user:hunter2@127.0.0.1:8080/a") -> None:
    """One request with a redirect, a TLS socket and a failure, as the pipeline logs it."""
    req = rec.new_source("URL_REQUEST")
    req.begin("REQUEST_ALIVE", request_alive_params(url))
    req.begin("NETWORK_DELEGATE_BEFORE_URL_REQUEST")
    req.end("NETWORK_DELEGATE_BEFORE_URL_REQUEST")
    req.begin("URL_REQUEST_START_JOB", start_job_params(url, "GET"))
    req.begin("HOST_RESOLVER_MANAGER_REQUEST")
    req.end_with_net_error("HOST_RESOLVER_MANAGER_REQUEST", 0)
    sock = rec.new_source("SOCKET")
    sock.begin("SOCKET_ALIVE", req.dependency())
    sock.begin("TCP_CONNECT", {"address_list": ["127.0.0.1:8080"]})
    sock.end("TCP_CONNECT", {"source_address": "127.0.0.1:50000"})
    sock.begin("SSL_CONNECT")
    sock.end("SSL_CONNECT", tls_params("TLS 1.3", 4865, "http/1.1", False))
    req.event("SOCKET_POOL_BOUND_TO_SOCKET", sock.dependency())
    req.begin("HTTP_TRANSACTION_SEND_REQUEST")
    req.event(
        "HTTP_TRANSACTION_SEND_REQUEST_HEADERS",
        request_headers_params(
            "GET /a HTTP/1.1\r\n",
            [("Host", "127.0.0.1"), ("Cookie", SECRETS[0]), ("Authorization", SECRETS[1]),
             ("Proxy-Authorization", SECRETS[2])],
        ),
    )
    sock.bytes_transferred("SOCKET_BYTES_SENT", b"GET /a HTTP/1.1\r\n\r\n")
    req.end("HTTP_TRANSACTION_SEND_REQUEST")
    req.begin("HTTP_TRANSACTION_READ_HEADERS")
    req.event(
        "HTTP_TRANSACTION_READ_RESPONSE_HEADERS",
        response_headers_params(
            "HTTP/1.1 302 Found",
            [("Location", "/b"), ("Set-Cookie", SECRETS[0] + "; Path=/"),
             ("WWW-Authenticate", SECRETS[4])],
        ),
    )
    req.end_with_net_error("HTTP_TRANSACTION_READ_HEADERS", 0)
    req.end_with_net_error("URL_REQUEST_START_JOB", 0)
    req.event("URL_REQUEST_REDIRECTED", redirect_params("http://user:hunter2@127.0.0.1:8080/b"))
    req.begin("URL_REQUEST_START_JOB", start_job_params("http://127.0.0.1:8080/b", "GET"))
    sock.bytes_transferred("SOCKET_BYTES_RECEIVED", b"HTTP/1.1 200 OK\r\n\r\nbody-bytes")
    req.bytes_read(b"body-bytes")
    req.end_with_net_error("URL_REQUEST_START_JOB", -101)
    req.event_with_net_error("FAILED", -101)
    req.end_with_net_error("REQUEST_ALIVE", -101)
    sock.event("SOCKET_CLOSED")
    sock.end("SOCKET_ALIVE")


def load(path: Path) -> dict[str, Any]:
    log = json.loads(path.read_bytes())
    assert set(log) == {"constants", "events", "polledData"}
    return log


def check_consistent(log: dict[str, Any]) -> None:
    types = set(log["constants"]["logEventTypes"].values())
    sources = set(log["constants"]["logSourceType"].values())
    phases = log["constants"]["logEventPhase"]
    open_: dict[tuple[int, int], int] = {}
    for event in log["events"]:
        assert event["type"] in types and event["source"]["type"] in sources
        assert isinstance(event["time"], str) and isinstance(event["source"]["start_time"], str)
        key = (event["source"]["id"], event["type"])
        if event["phase"] == phases["PHASE_BEGIN"]:
            open_[key] = open_.get(key, 0) + 1
        elif event["phase"] == phases["PHASE_END"]:
            assert open_.get(key), f"END without BEGIN: {event}"
            open_[key] -= 1
    assert not any(open_.values()), "BEGIN without END"


async def test_default_mode_strips_secrets(tmp_path: Path) -> None:
    log_ = NetLog(object())
    path = tmp_path / "default.json"
    assert not log_.currently_logging
    await log_.start_logging(str(path))
    assert log_.currently_logging and log_.currentlyLogging
    drive(recorder_for(log_))
    assert await log_.stop_logging() == str(path)
    assert not log_.currently_logging
    data = path.read_text()
    for secret in SECRETS:
        assert secret not in data
    log = load(path)
    check_consistent(log)
    assert log["constants"]["logCaptureMode"] == "Default"
    assert "Cookie: [16 bytes were stripped]" in data
    assert "Set-Cookie: [24 bytes were stripped]" in data
    assert "WWW-Authenticate: NTLM [12 bytes were stripped]" in data
    assert "http://127.0.0.1:8080/a" in data and '"bytes"' not in data
    bytes_events = [e for e in log["events"] if e["type"] == log["constants"]["logEventTypes"]["SOCKET_BYTES_RECEIVED"]]
    assert bytes_events[0]["params"] == {"byte_count": 29}


async def test_include_sensitive_keeps_secrets_and_everything_adds_bytes(tmp_path: Path) -> None:
    log_ = NetLog(object())
    await log_.start_logging(str(tmp_path / "s.json"), {"captureMode": "includeSensitive"})
    drive(recorder_for(log_))
    data = Path(await log_.stop_logging()).read_text()
    assert all(secret in data for secret in SECRETS) and '"bytes"' not in data
    await log_.startLogging(str(tmp_path / "e.json"), captureMode="everything")
    drive(recorder_for(log_))
    log = load(Path(await log_.stopLogging()))
    check_consistent(log)
    assert log["constants"]["logCaptureMode"] == "Everything"
    read = log["constants"]["logEventTypes"]["URL_REQUEST_JOB_FILTERED_BYTES_READ"]
    assert [e["params"]["bytes"] for e in log["events"] if e["type"] == read] == ["Ym9keS1ieXRlcw=="]


async def test_app_wide_log_sees_every_session(tmp_path: Path) -> None:
    one, two = NetLog(object()), NetLog(object())
    await net_log.start_logging(str(tmp_path / "app.json"))
    await one.start_logging(str(tmp_path / "one.json"))
    drive(recorder_for(one))
    drive(recorder_for(two))
    await one.stop_logging()
    await net_log.stop_logging()
    assert not recorder_for(two).active
    ids = lambda log: {e["source"]["id"] for e in log["events"]}
    app, own = load(tmp_path / "app.json"), load(tmp_path / "one.json")
    assert ids(own) < ids(app) and len(ids(app)) == 4
    check_consistent(app)


async def test_source_ids_and_times_as_chrome_allocates(tmp_path: Path) -> None:
    log_ = NetLog(object())
    rec = recorder_for(log_)
    before = rec.new_source("NONE").id
    await log_.start_logging(str(tmp_path / "ids.json"))
    a, b = rec.new_source("URL_REQUEST"), rec.new_source("SOCKET")
    a.event("CANCELLED")
    b.event("SOCKET_CLOSED")
    log = load(Path(await log_.stop_logging()))
    assert [e["source"]["id"] for e in log["events"]] == [before + 1, before + 2]
    offset = log["constants"]["timeTickOffset"]
    import time

    assert abs(int(log["events"][0]["time"]) + offset - time.time() * 1000) < 60_000
    assert log["constants"]["clientInfo"]["name"] == "websession"


async def test_errors_are_electrons(tmp_path: Path) -> None:
    log_ = NetLog(object())
    with pytest.raises(TypeError, match="^The first parameter must be a valid string$"):
        await log_.start_logging("")
    with pytest.raises(TypeError, match="conversion failure"):
        await log_.start_logging(None)
    with pytest.raises(TypeError, match="^Invalid value for captureMode$"):
        await log_.start_logging(str(tmp_path / "x"), capture_mode="all")
    for bad in (-1, "10", 1.5, True):
        with pytest.raises(TypeError, match="^Invalid value for maxFileSize$"):
            await log_.start_logging(str(tmp_path / "x"), {"maxFileSize": bad})
    with pytest.raises(TypeError, match="unknown option"):
        await log_.start_logging(str(tmp_path / "x"), colour="red")
    with pytest.raises(SessionError, match="^No net log in progress$"):
        await log_.stop_logging()
    with pytest.raises(SessionError, match="^FILE_ERROR_NOT_FOUND$"):
        await log_.start_logging(str(tmp_path / "missing" / "x.json"))
    assert not log_.currently_logging
    await log_.start_logging(str(tmp_path / "ok.json"), max_file_size=1_000_000)
    with pytest.raises(TypeError, match="^There is already a net log running$"):
        await log_.start_logging(str(tmp_path / "other.json"))
    await log_.stop_logging()
    assert load(tmp_path / "ok.json")["events"] == []


async def test_max_file_size_is_respected(tmp_path: Path) -> None:
    log_ = NetLog(object())
    path = tmp_path / "bounded.json"
    await log_.start_logging(str(path), max_file_size=20_000)
    rec = recorder_for(log_)
    for _ in range(200):
        drive(rec)
    await log_.stop_logging()
    data = path.read_bytes()
    log = json.loads(data)
    events = data[data.index(b'"events": [\n') :]
    longest = max(len(json.dumps(e, separators=(",", ":"))) for e in log["events"]) + 2
    assert len(events) <= 20_000 + 10 * longest + 100
    assert log["events"][-1]["type"] == log["constants"]["logEventTypes"]["SOCKET_ALIVE"]


async def test_nothing_recorded_while_off() -> None:
    rec = recorder_for(NetLog(object()))
    assert not rec.active
    src = rec.new_source("URL_REQUEST")
    called = []
    src.event("FAILED", lambda mode: called.append(mode) or {})
    assert not called
    with pytest.raises(ValueError, match="unknown NetLog source type"):
        rec.new_source("NOPE")


def test_elision_rules() -> None:
    assert elide_header_value(0, "cOoKiE", "name=value") == "[10 bytes were stripped]"
    assert elide_header_value(1, "Cookie", "name=value") == "name=value"
    assert elide_header_value(0, "WWW-Authenticate", 'Basic realm="x"') == 'Basic realm="x"'
    assert elide_header_value(0, "Proxy-Authenticate", "Negotiate abc") == "Negotiate [3 bytes were stripped]"
    assert elide_header_value(0, "Accept", "*/*") == "*/*"
