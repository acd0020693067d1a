"""Downloads against loopback servers: events, states, byte counts, resumption and safe files."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from websession import SessionError, session
from websession._download_item import DownloadItem

DATA = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)  # 1 MiB, not compressible by accident
DATA2 = hashlib.sha256(b"other").digest() * (1024 * 1024 // 32)
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha(path: str | Path) -> str:
    return sha(Path(path).read_bytes())


@pytest.fixture
async def ses(tmp_path: Path) -> AsyncIterator[Any]:
    s: Any = session.from_partition(f"downloads-{uuid.uuid4().hex}")
    s.set_download_path(tmp_path / "dl")
    yield s
    await s.close()


class Origin:
    """A loopback server: ranges with If-Range, optional drops, ETag changes, errors, redirects."""

    def __init__(self) -> None:
        self.data = DATA
        self.etag = '"v1"'
        self.honor_range = True
        self.drops = 0  # how many next responses end halfway
        self.drop_always = False
        self.requests: list[dict[str, str]] = []
        self.chunk = 64 * 1024
        self.delay = 0.0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/file.bin", self.ranged)
        app.router.add_get("/plain", self.ranged)
        app.router.add_get("/401", self.status)
        app.router.add_get("/404", self.status)
        app.router.add_get("/redirect", self.redirect)
        app.router.add_get("/named", self.named)
        app.router.add_get("/pdf/", self.pdf)
        return app

    async def status(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=int(request.path[1:]), text="no")

    async def pdf(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"%PDF-1.4", content_type="application/pdf",
                            headers={"Content-Disposition": "inline"})

    async def redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/file.bin")

    async def named(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"named", headers={"Content-Disposition": request.query["cd"]})

    async def ranged(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        data, start, status = self.data, 0, 200
        headers = {"ETag": self.etag, "Last-Modified": LAST_MODIFIED, "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        rng = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        if self.honor_range and rng and (if_range is None or if_range == self.etag):
            start = int(rng.split("=", 1)[1].split("-", 1)[0])
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        drop = self.drop_always or self.drops > 0
        if self.drops > 0:
            self.drops -= 1
        limit = len(body) // 2 if drop else len(body)
        for i in range(0, limit, self.chunk):
            await response.write(body[i:min(i + self.chunk, limit)])
            if self.delay:
                await asyncio.sleep(self.delay)
        if drop:
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response


@pytest.fixture
async def origin(serve: Callable[..., Awaitable[str]]) -> tuple[Origin, str]:
    o = Origin()
    return o, await serve(o.app())


class Recorder:
    """Record the session's downloads: items, every event in order, and completion futures."""

    def __init__(self, ses: Any) -> None:
        self.events: list[tuple[str, str]] = []
        self.items: list[DownloadItem] = []
        loop = asyncio.get_running_loop()
        self.done: asyncio.Future[str] = loop.create_future()
        self.interrupted: asyncio.Future[None] = loop.create_future()
        self.on_will_download: Callable[[Any, DownloadItem], None] | None = None
        ses.on("will-download", self._will_download)

    def _will_download(self, event: Any, item: DownloadItem, web_contents: Any) -> None:
        assert web_contents is None
        self.events.append(("will-download", item.get_state()))
        self.items.append(item)
        item.on("updated", lambda e, state: self._updated(state))
        item.on("done", lambda e, state: self._done(state))
        if self.on_will_download is not None:
            self.on_will_download(event, item)

    def _updated(self, state: str) -> None:
        self.events.append(("updated", state))
        if state == "interrupted" and not self.interrupted.done():
            self.interrupted.set_result(None)

    def _done(self, state: str) -> None:
        self.events.append(("done", state))
        if not self.done.done():
            self.done.set_result(state)

    def assert_order(self, final: str) -> None:
        names = [name for name, _ in self.events]
        assert names[0] == "will-download"
        assert names.count("done") == 1 and names[-1] == "done", self.events
        assert self.events[-1] == ("done", final)
        assert all(name == "updated" for name in names[1:-1]), self.events


def only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_download_completes(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    rec = Recorder(ses)
    seen: dict[str, Any] = {}

    def check(event: Any, item: DownloadItem) -> None:
        seen.update(filename=item.get_filename(), total=item.get_total_bytes(), mime=item.get_mime_type(),
                    received=item.get_received_bytes(), state=item.get_state())

    rec.on_will_download = check
    ses.download_url(f"{base}/file.bin")
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    rec.assert_order("completed")
    assert seen == {"filename": "file.bin", "total": len(DATA), "mime": "application/octet-stream",
                    "received": 0, "state": "progressing"}
    item = rec.items[0]
    assert item.get_state() == "completed"
    assert item.get_received_bytes() == item.get_total_bytes() == len(DATA)
    assert item.get_percent_complete() == 100
    assert item.get_current_bytes_per_second() == 0
    assert item.get_save_path() == item.save_path == str(tmp_path / "dl" / "file.bin")
    assert file_sha(item.get_save_path()) == sha(DATA)
    assert only_files(tmp_path / "dl") == ["file.bin"]
    assert item.get_etag() == '"v1"' and item.get_last_modified_time() == LAST_MODIFIED
    assert item.get_url() == f"{base}/file.bin" and item.get_url_chain() == [f"{base}/file.bin"]
    assert item.get_end_time() >= item.get_start_time() > 0
    assert not item.has_user_gesture() and not item.is_paused() and not item.can_resume()
    assert item.getURL() == item.get_url() and item.getETag() == item.get_etag()  # camelCase aliases


async def test_same_name_is_made_unique(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    rec = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    await asyncio.wait_for(rec.done, 30)
    rec2 = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    await asyncio.wait_for(rec2.done, 30)
    assert only_files(tmp_path / "dl") == ["file (1).bin", "file.bin"]
    assert file_sha(tmp_path / "dl" / "file (1).bin") == sha(DATA)


async def test_headers_are_sent_and_validated(ses: Any, origin: tuple[Origin, str]) -> None:
    server, base = origin
    with pytest.raises(TypeError, match="Invalid value for headers - must be an object"):
        ses.download_url(f"{base}/file.bin", headers={"X-Test": 1})
    with pytest.raises(TypeError, match="Invalid value for headers - must be an object"):
        ses.download_url(f"{base}/file.bin", {"headers": "x"})
    with pytest.raises(TypeError, match="url must be a string"):
        ses.download_url(3)
    rec = Recorder(ses)
    ses.downloadURL(f"{base}/file.bin", {"headers": {"X-Test": "yes"}})
    await asyncio.wait_for(rec.done, 30)
    assert server.requests[-1]["X-Test"] == "yes"


async def test_redirect_url_chain(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    rec = Recorder(ses)
    ses.download_url(f"{base}/redirect")
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    item = rec.items[0]
    assert item.get_url_chain() == [f"{base}/redirect", f"{base}/file.bin"]
    assert item.get_url() == f"{base}/file.bin"
    assert item.get_filename() == "file.bin"
    assert file_sha(tmp_path / "dl" / "file.bin") == sha(DATA)


@pytest.mark.parametrize("path", ["/401", "/404"])
async def test_http_errors_interrupt(ses: Any, origin: tuple[Origin, str], tmp_path: Path, path: str) -> None:
    _, base = origin
    rec = Recorder(ses)
    ses.download_url(base + path)
    assert await asyncio.wait_for(rec.done, 30) == "interrupted"
    rec.assert_order("interrupted")
    item = rec.items[0]
    assert item.get_state() == "interrupted"
    assert item.get_received_bytes() == 0 and item.get_total_bytes() == 0
    assert not item.can_resume()
    assert only_files(tmp_path / "dl") == []


async def test_connection_refused_is_resumable(ses: Any, origin: tuple[Origin, str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rec = Recorder(ses)
    ses.download_url(f"http://127.0.0.1:{port}/x.bin")
    await asyncio.wait_for(rec.interrupted, 30)
    item = rec.items[0]
    assert item.get_state() == "interrupted" and item.can_resume()
    assert rec.events == [("will-download", "progressing"), ("updated", "interrupted")]


async def test_drop_halfway_resumes_with_if_range(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    server, base = origin
    server.drops = 1
    server.delay = 0.005  # aiohttp drops what it buffered when the body fails: let some arrive
    rec = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    rec.assert_order("completed")
    assert len(server.requests) == 2
    resumed = server.requests[1]
    assert resumed["Range"].startswith("bytes=") and int(resumed["Range"][6:-1]) > 0
    assert resumed["If-Range"] == '"v1"'
    assert file_sha(rec.items[0].get_save_path()) == sha(DATA)
    assert rec.items[0].get_received_bytes() == len(DATA)


async def test_server_ignoring_range_restarts_from_zero(
    ses: Any, origin: tuple[Origin, str], tmp_path: Path
) -> None:
    server, base = origin
    server.drops = 1
    server.delay = 0.005
    server.honor_range = False
    rec = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    assert "Range" in server.requests[1]
    assert file_sha(rec.items[0].get_save_path()) == sha(DATA)
    assert rec.items[0].get_received_bytes() == rec.items[0].get_total_bytes() == len(DATA)


async def test_changed_etag_restarts_from_zero(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    server, base = origin
    server.drops = 1
    server.delay = 0.005
    rec = Recorder(ses)

    def change_file(event: Any, item: DownloadItem) -> None:
        def swap(e: Any, state: str) -> None:
            server.data, server.etag = DATA2, '"v2"'

        item.once("updated", swap)

    rec.on_will_download = change_file
    ses.download_url(f"{base}/file.bin")
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    assert server.requests[1]["If-Range"] == '"v1"'
    item = rec.items[0]
    assert file_sha(item.get_save_path()) == sha(DATA2)
    assert item.get_etag() == '"v2"'


async def test_network_failure_leaves_resumable_then_resume(
    ses: Any, origin: tuple[Origin, str], tmp_path: Path
) -> None:
    server, base = origin
    server.drop_always = True
    server.delay = 0.005
    rec = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    await asyncio.wait_for(rec.interrupted, 30)
    item = rec.items[0]
    assert item.get_state() == "interrupted" and item.can_resume()
    assert len(server.requests) == 6  # the first try and Chromium's five automatic resumptions
    assert 0 < item.get_received_bytes() < len(DATA)
    partial = tmp_path / "dl" / "file.bin.crdownload"
    assert partial.stat().st_size == item.get_received_bytes()
    assert not (tmp_path / "dl" / "file.bin").exists()
    server.drop_always = False
    item.resume()
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    rec.assert_order("completed")
    assert ("updated", "interrupted") in rec.events
    assert file_sha(tmp_path / "dl" / "file.bin") == sha(DATA)
    assert only_files(tmp_path / "dl") == ["file.bin"]


async def test_pause_stops_reading_and_resume_continues(
    ses: Any, origin: tuple[Origin, str], tmp_path: Path
) -> None:
    server, base = origin
    rec = Recorder(ses)
    rec.on_will_download = lambda event, item: item.pause()
    ses.download_url(f"{base}/file.bin")
    for _ in range(200):
        await asyncio.sleep(0.01)
        if rec.items and ("updated", "progressing") in rec.events[1:]:
            break
    item = rec.items[0]
    await asyncio.sleep(0.2)
    assert item.is_paused() and item.can_resume()
    assert item.get_received_bytes() == 0
    assert item.get_current_bytes_per_second() == 0
    assert item.get_state() == "progressing"
    item.resume()
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    rec.assert_order("completed")
    assert len(server.requests) == 1
    assert file_sha(item.get_save_path()) == sha(DATA)


async def test_cancel_removes_partial_file(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    server, base = origin
    server.delay = 0.01
    rec = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    for _ in range(500):
        await asyncio.sleep(0.01)
        if rec.items and rec.items[0].get_received_bytes() > 0:
            break
    item = rec.items[0]
    item.cancel()
    assert rec.done.done() and rec.done.result() == "cancelled"
    assert item.get_state() == "cancelled" and not item.can_resume()
    await item._wait()
    assert only_files(tmp_path / "dl") == []
    item.cancel()  # cancelling twice is harmless
    rec.assert_order("cancelled")


async def test_cancel_before_data(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    rec = Recorder(ses)
    rec.on_will_download = lambda event, item: item.cancel()
    ses.download_url(f"{base}/file.bin")
    assert await asyncio.wait_for(rec.done, 30) == "cancelled"
    item = rec.items[0]
    assert item.get_received_bytes() == 0 and item.get_total_bytes() == len(DATA)
    assert only_files(tmp_path / "dl") == []


async def test_prevent_default_destroys_item(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    rec = Recorder(ses)
    rec.on_will_download = lambda event, item: event.prevent_default()
    ses.download_url(f"{base}/file.bin")
    await asyncio.wait_for(rec.done, 30)
    item = rec.items[0]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    for method in (item.get_url, item.get_state, item.pause, item.resume, item.cancel, item.get_filename):
        with pytest.raises(SessionError, match="DownloadItem used after being destroyed"):
            method()
    item.set_save_path("/tmp/x")  # Electron-side fields never throw
    assert item.get_save_path() == "/tmp/x" and item.save_path == "/tmp/x"
    item.set_save_dialog_options({"title": "t", "filters": [{"name": "a", "extensions": ["b"]}]})
    assert item.get_save_dialog_options() == {"title": "t", "filters": [{"name": "a", "extensions": ["b"]}]}
    assert only_files(tmp_path / "dl") == []
    assert item not in ses._download_items()


async def test_listener_save_path_is_honoured(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    target = tmp_path / "elsewhere" / "deep" / "chosen.dat"
    rec = Recorder(ses)
    rec.on_will_download = lambda event, item: item.set_save_path(str(target))
    ses.download_url(f"{base}/file.bin")
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    assert rec.items[0].get_save_path() == str(target)
    assert file_sha(target) == sha(DATA)
    assert only_files(tmp_path / "dl") == []


async def test_inline_pdf_gets_download_pdf(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    rec = Recorder(ses)
    ses.download_url(f"{base}/pdf/")
    await asyncio.wait_for(rec.done, 30)
    assert rec.items[0].get_filename() == "download.pdf"
    assert only_files(tmp_path / "dl") == ["download.pdf"]


HOSTILE_RAW = [
    b"attachment; filename=../../escape.txt",
    b"attachment; filename=\"..\\\\..\\\\escape.txt\"",
    b"attachment; filename=/etc/passwd",
    b"attachment; filename*=UTF-8''..%2F..%2Fescape.txt",
    b"attachment; filename=..",
    b"attachment; filename=.hidden",
    b"attachment; filename=caf\xe9\x01%0A%00.txt",
    b"attachment; filename*=UTF-8''%E2%80%AEtxt.exe",
    b"attachment; filename=CON.txt",
    b"attachment; filename=" + b"x" * 300 + b".txt",
]


async def test_hostile_content_disposition(ses: Any, tmp_path: Path) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        index = int(request.split(b" ", 2)[1].rsplit(b"/", 1)[1])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n"
                     b"Content-Disposition: " + HOSTILE_RAW[index] + b"\r\n\r\nbody")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    folder = tmp_path / "dl"
    try:
        for index in range(len(HOSTILE_RAW)):
            rec = Recorder(ses)
            ses.download_url(f"http://127.0.0.1:{port}/x/{index}")
            assert await asyncio.wait_for(rec.done, 30) == "completed"
            saved = Path(rec.items[0].get_save_path())
            assert saved.parent == folder and saved.read_bytes() == b"body"
            assert not saved.name.startswith(".") and ".." != saved.name
            assert len(saved.name.encode()) <= 244
    finally:
        server.close()
        await server.wait_closed()
    everything = {p.resolve() for p in tmp_path.rglob("*")}
    assert all(str(p).startswith(str(folder.resolve())) for p in everything if p != folder.resolve())
    assert len(only_files(folder)) == len(HOSTILE_RAW)


async def test_create_interrupted_download_validation(ses: Any) -> None:
    with pytest.raises(SessionError, match=r"^Must pass non-empty path, urlChain and length\.$"):
        ses.create_interrupted_download(path="", url_chain=["http://a.test/x"], length=10)
    with pytest.raises(SessionError, match=r"^Must pass non-empty path, urlChain and length\.$"):
        ses.createInterruptedDownload({"path": "/tmp/x", "urlChain": [], "length": 10})
    with pytest.raises(SessionError, match=r"^Must pass non-empty path, urlChain and length\.$"):
        ses.create_interrupted_download(path="/tmp/x", url_chain=["http://a.test/x"], offset=0)
    with pytest.raises(SessionError, match=r"^Must pass an offset value less than length\.$"):
        ses.create_interrupted_download(path="/tmp/x", url_chain=["http://a.test/x"], offset=10, length=10)
    with pytest.raises(TypeError, match="offset"):
        ses.create_interrupted_download(path="/tmp/x", url_chain=["http://a.test/x"], offset="1", length=10)
    with pytest.raises(TypeError, match="unknown option 'bogus'"):
        ses.create_interrupted_download(path="/tmp/x", url_chain=["http://a.test/x"], length=10, bogus=1)


@pytest.mark.parametrize("partial", ["crdownload", "target", "missing"])
async def test_create_interrupted_download_resumes(
    ses: Any, origin: tuple[Origin, str], tmp_path: Path, partial: str
) -> None:
    server, base = origin
    target = tmp_path / "resumed" / "file.bin"
    target.parent.mkdir()
    half = len(DATA) // 3
    if partial == "crdownload":
        (target.parent / "file.bin.crdownload").write_bytes(DATA[:half])
    elif partial == "target":
        target.write_bytes(DATA[:half])
    rec = Recorder(ses)
    item = ses.create_interrupted_download({
        "path": str(target), "urlChain": [f"{base}/file.bin"], "mimeType": "application/octet-stream",
        "offset": half, "length": len(DATA), "lastModified": LAST_MODIFIED, "eTag": '"v1"',
        "startTime": 1700000000.5,
    })
    assert rec.events == [("will-download", "interrupted")]
    assert item is rec.items[0]
    assert item.get_state() == "interrupted" and item.can_resume()
    assert item.get_received_bytes() == half and item.get_total_bytes() == len(DATA)
    assert item.get_start_time() == 1700000000.5 and item.get_save_path() == str(target)
    await asyncio.sleep(0.05)
    assert server.requests == []  # starts only on resume()
    item.resume()
    assert await asyncio.wait_for(rec.done, 30) == "completed"
    assert file_sha(target) == sha(DATA)
    assert item.get_received_bytes() == item.get_total_bytes() == len(DATA)
    if partial == "missing":
        assert "Range" not in server.requests[0]
    else:
        assert server.requests[0]["Range"] == f"bytes={half}-"
        assert server.requests[0]["If-Range"] == '"v1"'
    assert only_files(target.parent) == ["file.bin"]


async def test_history_and_clear(ses: Any, origin: tuple[Origin, str], tmp_path: Path) -> None:
    _, base = origin
    rec = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    await asyncio.wait_for(rec.done, 30)
    rec2 = Recorder(ses)
    ses.download_url(f"{base}/404")
    await asyncio.wait_for(rec2.done, 30)
    items = ses._download_items()
    assert [i.get_state() for i in items] == ["completed", "interrupted"]
    assert ses._clear_downloads() == 2
    assert ses._download_items() == []
    with pytest.raises(SessionError, match="DownloadItem used after being destroyed"):
        items[0].get_state()
    assert (tmp_path / "dl" / "file.bin").exists()  # clearing history never deletes files


async def test_close_leaves_running_download_resumable(origin: tuple[Origin, str], tmp_path: Path) -> None:
    server, base = origin
    server.delay = 0.02
    ses: Any = session.from_partition(f"downloads-{uuid.uuid4().hex}")
    ses.set_download_path(tmp_path / "dl")
    rec = Recorder(ses)
    ses.download_url(f"{base}/file.bin")
    for _ in range(500):
        await asyncio.sleep(0.01)
        if rec.items and rec.items[0].get_received_bytes() > 0:
            break
    await ses.close()
    item = rec.items[0]
    assert item.get_state() == "interrupted" and item.can_resume()
    partial = tmp_path / "dl" / "file.bin.crdownload"
    assert partial.stat().st_size == item.get_received_bytes() > 0
    assert not (tmp_path / "dl" / "file.bin").exists()


async def test_save_dialog_options_and_save_path_types(ses: Any, origin: tuple[Origin, str]) -> None:
    _, base = origin
    rec = Recorder(ses)
    captured: list[Exception] = []

    def listener(event: Any, item: DownloadItem) -> None:
        for bad in (lambda: item.set_save_path(3), lambda: item.set_save_dialog_options("x")):  # type: ignore[arg-type]
            try:
                bad()
            except TypeError as exc:
                captured.append(exc)
        event.prevent_default()

    rec.on_will_download = listener
    ses.download_url(f"{base}/file.bin")
    await asyncio.wait_for(rec.done, 30)
    assert len(captured) == 2
    assert os.path.basename(str(captured[0])).startswith("set_save_path")


async def test_cli_download_and_continue(
    origin: tuple[Origin, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from websession import _cli_download

    server, base = origin
    made: list[Any] = []
    real_from_partition = session.from_partition

    def from_partition(name: str) -> Any:
        s: Any = real_from_partition(f"downloads-cli-{uuid.uuid4().hex}")
        made.append(s)
        return s

    monkeypatch.setattr(session, "from_partition", from_partition)
    out = tmp_path / "out.bin"
    server.drop_always = True
    server.delay = 0.005
    assert await _cli_download.download(f"{base}/file.bin", str(out), "", False) == 1
    meta = Path(str(out) + ".crdownload.json")
    assert meta.exists() and Path(str(out) + ".crdownload").exists() and not out.exists()
    server.drop_always = False
    server.requests.clear()
    assert await _cli_download.download(f"{base}/file.bin", str(out), "", True) == 0
    assert server.requests[0]["If-Range"] == '"v1"' and "Range" in server.requests[0]
    assert file_sha(out) == sha(DATA)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert len(made) == 2
