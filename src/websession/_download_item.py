"""``DownloadItem``: one download, with Electron's methods, events and states.

The transfer follows Chromium's download code (``components/download``): the body goes to
``<target>.crdownload`` and is renamed into place only when it is whole (its length checked
against the server's); ``pause`` stops reading; resuming sends ``Range`` with ``If-Range`` (ETag,
else Last-Modified), and a server that ignores the range or changed the file restarts the
download from zero; interruptions carry Chromium's interrupt reasons and resume modes
(``download_item_utils.cc`` GetDownloadResumeMode), including the automatic resumption of a
response that ended short.
"""

from __future__ import annotations

import contextlib
import asyncio
import copy
import email.utils
import os
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._download_names import INTERMEDIATE_SUFFIX, generate_file_name, unique_path
from ._errors import NetError, SessionError
from ._events import Event, EventEmitter

PROGRESSING = "progressing"
COMPLETED = "completed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"

DESTROYED_MESSAGE = "DownloadItem used after being destroyed"
MAX_AUTO_RESUME_ATTEMPTS = 5  # DownloadItemImpl::kMaxAutoResumeAttempts
WRITE_BATCH = 1 << 20
# A batch written on the event loop that takes longer sends the next ones to a thread.
INLINE_WRITE_SECONDS = 0.004

# Resume modes (components/download/public/common/resume_mode.h).
INVALID = "INVALID"
IMMEDIATE_CONTINUE = "IMMEDIATE_CONTINUE"
IMMEDIATE_RESTART = "IMMEDIATE_RESTART"
USER_CONTINUE = "USER_CONTINUE"
USER_RESTART = "USER_RESTART"

_RESTART_REASONS = frozenset(("SERVER_NO_RANGE", "FILE_HASH_MISMATCH", "FILE_TOO_SHORT"))
_USER_REASONS = frozenset((
    "NETWORK_FAILED", "NETWORK_DISCONNECTED", "NETWORK_SERVER_DOWN", "SERVER_FAILED",
    "SERVER_UNREACHABLE", "USER_SHUTDOWN", "CRASH", "FILE_NO_SPACE",
))
_USER_RESTART_REASONS = frozenset((
    "FILE_FAILED", "FILE_ACCESS_DENIED", "FILE_NAME_TOO_LONG", "FILE_TOO_LARGE",
))
_CONTINUE_REASONS = frozenset((
    "FILE_TRANSIENT_ERROR", "NETWORK_TIMEOUT", "SERVER_CONTENT_LENGTH_MISMATCH",
))

_writer: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _writer
    if _writer is None:
        _writer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="websession-download")
    return _writer


def resume_mode(url: str, reason: str, restart_required: bool, user_action_required: bool) -> str:
    """Chromium's GetDownloadResumeMode."""
    if not url.lower().startswith(("http:", "https:")):
        return INVALID
    if reason in _RESTART_REASONS:
        restart_required = True
    elif reason in _USER_REASONS:
        user_action_required = True
    elif reason in _USER_RESTART_REASONS:
        user_action_required = restart_required = True
    elif reason not in _CONTINUE_REASONS:
        return INVALID
    if user_action_required and restart_required:
        return USER_RESTART
    if restart_required:
        return IMMEDIATE_RESTART
    if user_action_required:
        return USER_CONTINUE
    return IMMEDIATE_CONTINUE


def net_error_reason(error: NetError) -> str:
    """ConvertNetErrorToInterruptReason for a failure that came from the network."""
    name = error.name[len("net::"):]
    return {
        "ERR_TIMED_OUT": "NETWORK_TIMEOUT",
        "ERR_NETWORK_CHANGED": "NETWORK_DISCONNECTED",
        "ERR_INTERNET_DISCONNECTED": "NETWORK_DISCONNECTED",
        "ERR_CONNECTION_FAILED": "NETWORK_SERVER_DOWN",
        "ERR_REQUEST_RANGE_NOT_SATISFIABLE": "SERVER_NO_RANGE",
        "ERR_CONTENT_LENGTH_MISMATCH": "SERVER_CONTENT_LENGTH_MISMATCH",
        "ERR_INVALID_URL": "NETWORK_INVALID_REQUEST",
        "ERR_UNKNOWN_URL_SCHEME": "NETWORK_INVALID_REQUEST",
        "ERR_DISALLOWED_URL_SCHEME": "NETWORK_INVALID_REQUEST",
        "ERR_ABORTED": "USER_CANCELED",
        "ERR_BLOCKED_BY_CLIENT": "NETWORK_INVALID_REQUEST",
    }.get(name, "SERVER_CERT_PROBLEM" if name.startswith("ERR_CERT_") else "NETWORK_FAILED")


def os_error_reason(error: OSError) -> str:
    """ConvertNetErrorToInterruptReason for a failure that came from the disk."""
    import errno

    return {
        errno.EACCES: "FILE_ACCESS_DENIED",
        errno.EPERM: "FILE_ACCESS_DENIED",
        errno.EROFS: "FILE_ACCESS_DENIED",
        errno.ENOSPC: "FILE_NO_SPACE",
        errno.EDQUOT: "FILE_NO_SPACE",
        errno.ENAMETOOLONG: "FILE_NAME_TOO_LONG",
        errno.EFBIG: "FILE_TOO_LARGE",
    }.get(error.errno or 0, "FILE_FAILED")


def status_reason(status: int) -> str | None:
    """HandleSuccessfulServerResponse's status switch: None when the status is downloadable."""
    if status in (200, 201, 202, 203, 206):
        return None
    if status in (204, 205, 404):
        return "SERVER_BAD_CONTENT"
    if status == 416:
        return "SERVER_NO_RANGE"
    if status in (401, 407):
        return "SERVER_UNAUTHORIZED"
    if status == 403:
        return "SERVER_FORBIDDEN"
    return "SERVER_FAILED"


def parse_content_range(value: str) -> tuple[int, int, int] | None:
    """HttpUtil::ParseContentRangeHeaderFor206: ``bytes first-last/length``."""
    value = value.strip(" \t")
    space = value.find(" ")
    if space < 0 or value[:space].strip(" \t").lower() != "bytes":
        return None
    rest = value[space + 1:]
    minus = rest.find("-")
    slash = rest.find("/", minus + 1) if minus >= 0 else -1
    if minus < 0 or slash < 0:
        return None
    try:
        first = int(rest[:minus].strip(" \t"))
        last = int(rest[minus + 1:slash].strip(" \t"))
        length = int(rest[slash + 1:].strip(" \t"))
    except ValueError:
        return None
    if first < 0 or last < first or length <= last:
        return None
    return first, last, length


def has_strong_validators(etag: str, last_modified: str, date: str) -> bool:
    """HttpUtil::HasStrongValidators for an HTTP/1.1 response."""
    if etag:
        slash = etag.find("/")
        if slash <= 0 or etag[:slash].strip(" \t").lower() != "w":
            return True
    if not last_modified or not date:
        return False
    try:
        modified = email.utils.parsedate_to_datetime(last_modified)
        served = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return False
    # Last-Modified is implicitly weak unless it is at least 60 seconds before the Date.
    return (served - modified).total_seconds() >= 60


def _mime_type(content_type: str) -> str:
    essence = content_type.split(";", 1)[0].strip(" \t").lower()
    return essence if "/" in essence and essence != "*/*" else ""


def _pwrite_all(fd: int, buffers: list[bytes], offset: int) -> float:
    """Write every buffer at ``offset``; return the seconds the writes took."""
    started = time.perf_counter()
    views = [memoryview(b) for b in buffers]
    while views:
        written = os.pwritev(fd, views[:1024], offset)
        offset += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]
    return time.perf_counter() - started


class _Sink:
    """The intermediate file, written in batches.

    A batch the page cache absorbs at once (the usual case) is written on the event loop: handing
    it to a thread costs more than the copy itself. Once a write stalls (the disk falls behind and
    the kernel throttles writers), batches go to a worker thread, at most one in flight, until a
    write is quick again.
    """

    def __init__(self, fd: int, position: int) -> None:
        self.fd = fd
        self.position = position
        self._buffers: list[bytes] = []
        self._pending = 0
        self._inflight: asyncio.Future[float] | None = None
        self._inline = True

    async def write(self, chunk: bytes) -> None:
        self._buffers.append(chunk)
        self._pending += len(chunk)
        if self._pending >= WRITE_BATCH:
            await self._submit()

    async def _submit(self) -> None:
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            self._inline = await inflight < INLINE_WRITE_SECONDS / 2
        if not self._buffers:
            return
        buffers, self._buffers = self._buffers, []
        size, self._pending = self._pending, 0
        if self._inline:
            self._inline = _pwrite_all(self.fd, buffers, self.position) < INLINE_WRITE_SECONDS
        else:
            loop = asyncio.get_running_loop()
            self._inflight = loop.run_in_executor(_executor(), _pwrite_all, self.fd, buffers, self.position)
        self.position += size

    async def flush(self) -> None:
        await self._submit()
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            await inflight

    async def close(self) -> None:
        """Wait for the write in flight (ignoring its failure) and close the file."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await asyncio.shield(inflight)
        self._buffers = []
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


class _Interrupt(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DownloadItem(EventEmitter):
    """One download: Electron's ``DownloadItem`` (handed out by the session's ``'will-download'``).

    Events: ``'updated'`` ``(event, state)`` with ``'progressing'`` or ``'interrupted'`` while the
    download is not done, then exactly one ``'done'`` ``(event, state)`` with ``'completed'``,
    ``'cancelled'`` or ``'interrupted'`` (an interruption that cannot be resumed).
    """

    progress_interval = 0.5
    """Seconds between two progress ``'updated'`` events (Chromium's update period)."""

    def __init__(
        self,
        session: Any,
        url_chain: list[str],
        *,
        request_headers: dict[str, str] | None = None,
        state: str = PROGRESSING,
        save_path: str = "",
        mime_type: str = "",
        offset: int = 0,
        length: int = 0,
        last_modified: str = "",
        etag: str = "",
        start_time: float | None = None,
        reason: str = "",
    ) -> None:
        super().__init__()
        self._session = session
        self._url_chain = list(url_chain)
        self._request_headers = dict(request_headers or {})
        self._state = state
        self._last_reason = reason
        self._save_path = save_path
        self._target: Path | None = Path(save_path) if state == INTERRUPTED and save_path else None
        self._dialog_options: dict[str, Any] = {}
        self._mime_type = mime_type
        self._content_disposition = b""
        self._received = offset
        self._total = length
        self._last_modified = last_modified
        self._etag = etag
        self._start_time = time.time() if start_time is None else float(start_time)
        self._end_time = 0.0
        self._paused = False
        self._destroyed = False
        self._auto_resume_count = 0
        self._speed = 0
        self._task: asyncio.Task[None] | None = None
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self._response: Any = None
        self._sink: _Sink | None = None
        self._announced = state == INTERRUPTED

    # -- Electron-side fields: never throw, even after the item is destroyed ---------------------

    def set_save_path(self, path: str | os.PathLike[str]) -> None:
        """Set where the file is saved; effective when called from ``'will-download'``."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"set_save_path: path must be a string, not {type(path).__name__}")
        self._save_path = os.fspath(path)

    def get_save_path(self) -> str:
        """Return the path the file is (or will be) saved to; '' before one is known."""
        return self._save_path

    @property
    def save_path(self) -> str:
        """The save path (``set_save_path``/``get_save_path`` as a property)."""
        return self._save_path

    @save_path.setter
    def save_path(self, path: str | os.PathLike[str]) -> None:
        self.set_save_path(path)

    def set_save_dialog_options(self, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Store save-dialog options (there is no dialog; they round-trip unchanged)."""
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"set_save_dialog_options: options must be a dict, not {type(options).__name__}")
        merged = dict(options or {})
        merged.update(kwargs)
        self._dialog_options = copy.deepcopy(merged)

    def get_save_dialog_options(self) -> dict[str, Any]:
        """Return the options given to ``set_save_dialog_options`` (a copy)."""
        return copy.deepcopy(self._dialog_options)

    # -- state -------------------------------------------------------------------------------------

    def _alive(self) -> None:
        if self._destroyed:
            raise SessionError(DESTROYED_MESSAGE)

    def get_state(self) -> str:
        """Return ``'progressing'``, ``'completed'``, ``'cancelled'`` or ``'interrupted'``."""
        self._alive()
        return self._state

    def is_done(self) -> bool:
        """Tell whether the download reached a terminal state (Chromium's ``IsDone``)."""
        self._alive()
        return self._is_done()

    def _is_done(self) -> bool:
        if self._state in (COMPLETED, CANCELLED):
            return True
        if self._state == INTERRUPTED:
            return resume_mode(self._url(), self._last_reason, False, False) == INVALID
        return False

    def _resume_mode(self) -> str:
        restart = self._target is None or not (self._etag or self._last_modified)
        user = self._auto_resume_count >= MAX_AUTO_RESUME_ATTEMPTS or self._paused
        return resume_mode(self._url(), self._last_reason, restart, user)

    def is_paused(self) -> bool:
        """Tell whether the download is paused."""
        self._alive()
        return self._paused

    def can_resume(self) -> bool:
        """Tell whether ``resume()`` would continue the download now."""
        self._alive()
        if self._state == PROGRESSING:
            return self._paused
        if self._state == INTERRUPTED:
            return self._resume_mode() in (USER_CONTINUE, USER_RESTART)
        return False

    def _url(self) -> str:
        return self._url_chain[-1] if self._url_chain else ""

    def get_url(self) -> str:
        """Return the URL the item is downloaded from (the last of the URL chain)."""
        self._alive()
        return self._url()

    def get_url_chain(self) -> list[str]:
        """Return every URL of the download, redirects included."""
        self._alive()
        return list(self._url_chain)

    def get_mime_type(self) -> str:
        """Return the file's MIME type."""
        self._alive()
        return self._mime_type

    def has_user_gesture(self) -> bool:
        """Tell whether a user gesture started the download (never, for a session download)."""
        self._alive()
        return False

    def get_filename(self) -> str:
        """Return the file name Chromium generates from the URL, Content-Disposition and MIME type."""
        self._alive()
        return generate_file_name(
            self._url(), self._content_disposition, "", "", self._mime_type, "download"
        )

    def get_current_bytes_per_second(self) -> int:
        """Return the current speed; 0 when paused or not progressing."""
        self._alive()
        if self._state != PROGRESSING or self._paused:
            return 0
        return self._speed

    def get_total_bytes(self) -> int:
        """Return the size of the file, 0 when unknown."""
        self._alive()
        return self._total

    def get_received_bytes(self) -> int:
        """Return how many bytes have been received."""
        self._alive()
        return self._received

    def get_percent_complete(self) -> int:
        """Return the progress in percent, -1 when the size is unknown."""
        self._alive()
        if self._total <= 0:
            return -1
        return int(self._received * 100 // self._total)

    def get_content_disposition(self) -> str:
        """Return the response's Content-Disposition header."""
        self._alive()
        return self._content_disposition.decode("utf-8", errors="replace")

    def get_last_modified_time(self) -> str:
        """Return the Last-Modified header value (kept only when the validators are strong)."""
        self._alive()
        return self._last_modified

    def get_etag(self) -> str:
        """Return the ETag header value (kept only when the validators are strong)."""
        self._alive()
        return self._etag

    def get_start_time(self) -> float:
        """Return when the download started, in seconds since the epoch."""
        self._alive()
        return self._start_time

    def get_end_time(self) -> float:
        """Return when the download ended, in seconds since the epoch (0 while running)."""
        self._alive()
        return self._end_time

    # -- control -------------------------------------------------------------------------------------

    def pause(self) -> None:
        """Pause the download: no more body is read until ``resume()``."""
        self._alive()
        if self._paused or self._is_done():
            return
        self._paused = True
        self._unpaused.clear()
        self._speed = 0
        self._updated()

    def resume(self) -> None:
        """Resume a paused download, or restart an interrupted one with a range request."""
        self._alive()
        if self._state == PROGRESSING:
            if self._paused:
                self._paused = False
                self._unpaused.set()
                self._updated()
            return
        if self._state != INTERRUPTED:
            return
        self._paused = False
        self._unpaused.set()
        if self._resume_mode() == INVALID:
            return
        self._auto_resume_count = 0  # user input resets the counter
        self._state = PROGRESSING
        self._end_time = 0.0
        self._start()
        self._updated()

    def cancel(self) -> None:
        """Cancel the download and remove its partial file."""
        self._alive()
        if self._state in (COMPLETED, CANCELLED):
            return
        if self._state == INTERRUPTED and self._is_done():
            return
        self._state = CANCELLED
        self._last_reason = "USER_CANCELED"
        self._paused = False
        self._unpaused.set()
        self._end_time = time.time()
        self._stop_transfer()
        self._remove_partial()
        self._release()
        self._done()

    # -- events ----------------------------------------------------------------------------------------

    def _updated(self) -> None:
        if not self._destroyed:
            self.emit("updated", _event(self), self._state)

    def _done(self) -> None:
        if not self._destroyed:
            self.emit("done", _event(self), self._state)

    def _destroy_soon(self) -> None:
        """Make the item unusable from the next loop iteration on (Electron's Remove())."""
        try:
            asyncio.get_running_loop().call_soon(self._destroy)
        except RuntimeError:
            self._destroy()

    def _destroy(self) -> None:
        self._destroyed = True
        self.remove_all_listeners()

    # -- the transfer ----------------------------------------------------------------------------------

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._transfer())

    def _stop_transfer(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done() and task is not _current_task():
            task.cancel()
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def _temp_path(self) -> Path | None:
        return None if self._target is None else Path(str(self._target) + INTERMEDIATE_SUFFIX)

    def _remove_partial(self) -> None:
        temp = self._temp_path()
        if temp is not None:
            # A partial file that is already gone, or cannot be removed, leaves nothing to do.
            with contextlib.suppress(OSError):
                os.unlink(temp)

    def _release(self) -> None:
        release = getattr(self._session, "_release_download_path", None)
        if release is not None and self._target is not None:
            release(self._target)

    async def _wait(self) -> None:
        """Wait until the current transfer attempt has finished (tests and the CLI use it)."""
        task = self._task
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _transfer(self) -> None:
        try:
            while True:
                try:
                    await self._attempt()
                    return
                except _Interrupt as interrupt:
                    if not await self._interrupted(interrupt.reason):
                        return
        except asyncio.CancelledError:
            sink, self._sink = self._sink, None
            if sink is not None:
                if self._state != CANCELLED:
                    with contextlib.suppress(OSError):
                        await sink.flush()  # keep what was counted: the file stays resumable
                    self._received = sink.position
                await sink.close()
            if self._state == CANCELLED:
                await asyncio.to_thread(self._remove_partial)
            raise
        finally:
            response, self._response = self._response, None
            if response is not None:
                response.close()

    async def _interrupted(self, reason: str) -> bool:
        """Record an interruption; return True to retry at once (Chromium's automatic resume)."""
        response, self._response = self._response, None
        if response is not None:
            response.close()
        sink, self._sink = self._sink, None
        if sink is not None:
            with contextlib.suppress(OSError):
                await sink.flush()
            await sink.close()
            self._received = min(self._received, sink.position)
        if self._state != PROGRESSING or self._destroyed:
            return False
        self._last_reason = reason
        self._state = INTERRUPTED
        self._speed = 0
        mode = self._resume_mode()
        if mode in (IMMEDIATE_CONTINUE, IMMEDIATE_RESTART):
            self._auto_resume_count += 1
            if mode == IMMEDIATE_RESTART:
                self._received = 0
            self._state = PROGRESSING
            return True
        self._end_time = time.time()
        if mode == INVALID:
            await asyncio.to_thread(self._remove_partial)
            self._release()
            self._done()
        else:
            if mode == USER_RESTART:
                self._received = 0
            self._updated()
        return False

    def _request_headers_for(self, offset: int) -> dict[str, str]:
        headers = dict(self._request_headers)
        if offset > 0 and (self._etag or self._last_modified):
            # download_utils.cc GetAdditionalRequestHeaders: Range plus If-Range (RFC 7233 §3.2).
            headers["Range"] = f"bytes={offset}-"
            headers["If-Range"] = self._etag or self._last_modified
        return headers

    async def _prepare_offset(self) -> int:
        """Check the partial file before a resumption; return the offset to resume from."""
        offset = self._received
        if offset <= 0 or not (self._etag or self._last_modified):
            return 0
        temp = self._temp_path()
        if temp is None:
            return 0
        size = await asyncio.to_thread(_size_of, temp, self._target)
        # FILE_TOO_SHORT restarts from zero; a longer file is cut back to what was counted.
        return offset if size >= offset else 0

    async def _attempt(self) -> None:
        offset = await self._prepare_offset()
        self._received = offset
        headers = self._request_headers_for(offset)
        first = not self._announced
        try:
            response = await self._session.fetch(self._url(), headers=headers, cache="no-store")
        except NetError as error:
            await self._announce(None)
            raise _Interrupt(net_error_reason(error)) from error
        except TypeError as error:  # an invalid URL or header: Chromium's invalid request
            await self._announce(None)
            raise _Interrupt("NETWORK_INVALID_REQUEST") from error
        self._response = response
        if self._state != PROGRESSING:
            response.close()
            return
        reason = status_reason(response.status)
        if reason is None:
            offset = self._check_range(response, offset)
        if first:
            self._read_metadata(response, ok=reason is None)
        elif reason is None:
            self._read_validators(response, offset)
        self._extend_chain(response)
        if not await self._announce(response):
            return
        if reason is not None:
            raise _Interrupt(reason)
        await self._determine_target()
        if self._state != PROGRESSING:
            return
        await self._open_sink(offset)
        self._updated()
        await self._stream(response)
        await self._complete()

    def _check_range(self, response: Any, offset: int) -> int:
        """Validate a ranged answer; return the offset the body starts at."""
        if offset > 0:
            if response.status != 206:
                # Range ignored, or If-Range found the file changed: start again from zero.
                self._received = 0
                return 0
            parsed = parse_content_range(response.headers.get("Content-Range", ""))
            if parsed is None or parsed[0] != offset:
                raise _Interrupt("SERVER_BAD_CONTENT")
            return offset
        if response.status == 206:
            raise _Interrupt("SERVER_BAD_CONTENT")
        return 0

    def _read_metadata(self, response: Any, ok: bool) -> None:
        headers = response.headers
        self._content_disposition = _header_bytes(headers.get("Content-Disposition", ""))
        self._mime_type = _mime_type(headers.get("Content-Type", ""))
        if ok:
            self._read_validators(response, 0)

    def _read_validators(self, response: Any, offset: int) -> None:
        headers = response.headers
        etag = headers.get("ETag", "")
        last_modified = headers.get("Last-Modified", "")
        if has_strong_validators(etag, last_modified, headers.get("Date", "")):
            self._etag, self._last_modified = etag, last_modified
        else:
            self._etag = self._last_modified = ""
        self._total = _total_of(response, offset)

    def _extend_chain(self, response: Any) -> None:
        chain = getattr(response, "url_chain", None)
        if chain:
            hops = [str(u) for u in chain]
        elif getattr(response, "url", "") and response.url != self._url():
            hops = [self._url(), str(response.url)]
        else:
            return
        for url in hops[1:] if hops and hops[0] == self._url() else hops:
            if url != self._url():
                self._url_chain.append(url)

    async def _announce(self, response: Any) -> bool:
        """Emit ``'will-download'`` once; return False when a listener prevented it."""
        if self._announced:
            return True
        self._announced = True
        emitter = getattr(self._session, "_emit_will_download", None)
        prevented = emitter(self) if emitter is not None else False
        if prevented:
            if response is not None:
                response.close()
            self._response = None
            if self._state not in (COMPLETED, CANCELLED):
                self._state = CANCELLED
                self._last_reason = "USER_CANCELED"
                self._end_time = time.time()
                self._done()
            self._destroy_soon()
            return False
        return self._state == PROGRESSING

    async def _determine_target(self) -> None:
        if self._target is not None:
            return
        if self._save_path:
            target = Path(os.path.abspath(self._save_path))
            try:
                await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            except OSError as error:
                raise _Interrupt(os_error_reason(error)) from error
        else:
            folder = Path(self._session._get_download_path())
            try:
                await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            except OSError as error:
                raise _Interrupt(os_error_reason(error)) from error
            name = generate_file_name(self._url(), self._content_disposition, "", "", self._mime_type, "download")
            reserve = getattr(self._session, "_reserve_download_path", None)
            in_use = getattr(self._session, "_download_path_in_use", None)
            target = await asyncio.to_thread(unique_path, folder, name, in_use)
            if reserve is not None:
                reserve(target)
        self._target = target
        self._save_path = str(target)

    async def _open_sink(self, offset: int) -> None:
        temp = self._temp_path()
        assert temp is not None
        try:
            fd = await asyncio.to_thread(_open_intermediate, temp, offset)
        except OSError as error:
            raise _Interrupt(os_error_reason(error)) from error
        self._sink = _Sink(fd, offset)

    async def _stream(self, response: Any) -> None:
        body: AsyncIterator[bytes] | None = response.body
        if body is None:
            return
        sink = self._sink
        assert sink is not None
        iterator = body.__aiter__()
        interval = self.progress_interval
        last_time = time.monotonic()
        last_bytes = self._received
        while True:
            if self._paused:
                await self._pause_point(sink)
                last_time, last_bytes = time.monotonic(), self._received
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except NetError as error:
                raise _Interrupt(net_error_reason(error)) from error
            sink._buffers.append(chunk)
            sink._pending += len(chunk)
            if sink._pending >= WRITE_BATCH:
                try:
                    await sink._submit()
                except OSError as error:
                    raise _Interrupt(os_error_reason(error)) from error
            self._received += len(chunk)
            now = time.monotonic()
            if now - last_time >= interval:
                self._speed = int((self._received - last_bytes) / (now - last_time))
                last_time, last_bytes = now, self._received
                self._updated()
        try:
            await sink.flush()
        except OSError as error:
            raise _Interrupt(os_error_reason(error)) from error

    async def _pause_point(self, sink: _Sink) -> None:
        try:
            await sink.flush()
        except OSError as error:
            raise _Interrupt(os_error_reason(error)) from error
        await self._unpaused.wait()

    async def _complete(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.close()
        self._response = None
        if self._total > 0 and self._received != self._total:
            # The body ended short (or long): never rename a file that is not whole.
            raise _Interrupt("SERVER_CONTENT_LENGTH_MISMATCH")
        temp = self._temp_path()
        assert temp is not None and self._target is not None
        try:
            await asyncio.to_thread(os.replace, temp, self._target)
        except OSError as error:
            raise _Interrupt(os_error_reason(error)) from error
        if self._state != PROGRESSING:
            return
        self._total = self._received
        self._state = COMPLETED
        self._speed = 0
        self._end_time = time.time()
        self._release()
        self._done()

    async def _shutdown(self) -> None:
        """Stop a running transfer when the session closes: interrupted, resumable later."""
        task = self._task
        if self._state != PROGRESSING or task is None or task.done():
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self._state == PROGRESSING:
            self._state = INTERRUPTED
            self._last_reason = "USER_SHUTDOWN"
            self._end_time = time.time()
            self._speed = 0
            self._updated()

    def __repr__(self) -> str:
        url = self._url_chain[-1] if self._url_chain else ""
        return f"<DownloadItem {self._state} {url} {self._received}/{self._total}>"


def _event(item: DownloadItem) -> Event:
    return Event(item)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _header_bytes(value: str) -> bytes:
    # The transport hands header values over as UTF-8 with undecodable bytes kept as
    # surrogates (aiohttp's convention); Chromium parses the raw bytes.
    try:
        return value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", errors="replace")


def _total_of(response: Any, offset: int) -> int:
    headers = response.headers
    if response.status == 206:
        parsed = parse_content_range(headers.get("Content-Range", ""))
        if parsed is not None:
            return parsed[2]
    encoding = headers.get("Content-Encoding", "").strip().lower()
    if encoding and encoding != "identity":
        return 0  # the length counts encoded bytes; the file holds decoded ones
    try:
        length = int(headers.get("Content-Length", ""))
    except ValueError:
        return 0
    return offset + length if length >= 0 else 0


def _size_of(temp: Path, target: Path | None) -> int:
    with contextlib.suppress(FileNotFoundError):
        return os.stat(temp).st_size
    # An item from createInterruptedDownload may hold its partial data at the target itself.
    if target is not None and os.path.isfile(target):
        os.replace(target, temp)
        return os.stat(temp).st_size
    return 0


def _open_intermediate(temp: Path, offset: int) -> int:
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temp, flags, 0o666)
    try:
        # ext4's auto_da_alloc (Documentation/admin-guide/ext4.rst) flushes a file truncated to
        # zero when it is closed; a new, empty file is left alone so closing it does not wait.
        if os.fstat(fd).st_size != offset:
            os.ftruncate(fd, offset)
    except OSError:
        os.close(fd)
        raise
    return fd

