"""Put NetLog bytes in a file from a background thread, bounded the way Chrome bounds it.

The writer cores (``_netlog_py`` / ``_netlog_c``) encode events into chunks of complete event
lines, each line ``<event JSON>,\\n``; a :class:`FileSink` takes those chunks from any thread
without blocking (:meth:`FileSink.submit`) and a thread of its own writes them, so the event
loop never waits for the disk. The bytes on disk are those Chromium's ``FileNetLogObserver``
writes (``net/log/file_net_log_observer.cc``)::

    {"constants":<constants>,
    "events": [
    <event>,
    <event>],
    "polledData": <polled data>
    }

**Unbounded** (``max_file_size=None``): the header and then every event line go straight to the
file, so a log cut short by a crash ends in a complete ``<event>,\\n`` (or in part of one). Chrome's
NetLog viewer repairs such a file itself: it cuts after the last ``,\\n`` and appends ``]}``;
:func:`repair` does the same for other readers.

**Bounded** (``max_file_size=N``): as Chrome's ``FileNetLogObserver::CreateBounded``, events go
to a ring of 10 files ``<path>.inprogress/event_file_<i>.json`` of ``N // 10`` bytes each. The
limit is soft: an event is written to the current file while the file is smaller than ``N // 10``,
then the next file is started, and the 11th file reuses the oldest one. On stop the constants,
the retained event files (oldest first) and the polled data are stitched into ``path``.
**Kept: the newest events** — the last 9 full event files plus the current one, so at least
``0.9 * N`` bytes of the most recent events whenever more than that was logged; the oldest are
dropped. The event bytes in the final file are at most ``N`` plus one event per ring file;
the constants and the polled data are not counted (as in Chrome). Events waiting for the
writer thread are capped at ``2 * N`` bytes, dropping the oldest chunks first. While logging,
``path`` holds a note naming the ``.inprogress`` folder; after a crash :func:`stitch` assembles
the file from it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import deque
from typing import BinaryIO, Protocol

EVENTS_OPEN = b',\n"events": [\n'
NUM_EVENT_FILES = 10  # file_net_log_observer.cc: kDefaultNumFiles


class Sink(Protocol):
    """What a writer core hands its chunks of event lines to."""

    def submit(self, chunk: bytes) -> None: ...


def header(constants_json: bytes) -> bytes:
    """Return the bytes before the first event: the constants and the opened events array."""
    return b'{"constants":' + constants_json + EVENTS_OPEN


def tail(polled_json: bytes | None) -> bytes:
    """Return the bytes after the last event (whose ``,\\n`` is rewound first)."""
    out = b"]"
    if polled_json:
        out += b',\n"polledData": ' + polled_json + b"\n"
    return out + b"}\n"


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def repair(data: bytes) -> bytes:
    """Return a log cut short by a crash as complete JSON, as Chrome's NetLog viewer repairs it.

    The viewer keeps everything up to the last ``,\\n`` (the end of the last whole event line)
    and closes the events array and the object with ``]}``. A complete log is returned as is.
    """
    if _is_json(data):
        return data
    end = max(data.rfind(b",\n"), data.rfind(b",\r"))
    if end == -1:
        raise ValueError("not a NetLog file: no complete event line to keep")
    return data[:end] + b"]}"


def _inprogress(path: str) -> str:
    return path + ".inprogress"


def _event_file(folder: str, index: int) -> str:
    return os.path.join(folder, f"event_file_{index}.json")


def stitch(path: str) -> bool:
    """Assemble ``path`` from its ``.inprogress`` folder left by a bounded log that never stopped.

    Return False when there is no such folder. The result ends like a cut-short log (the viewer
    and :func:`repair` close it).
    """
    folder = _inprogress(path)
    if not os.path.isdir(folder):
        return False
    numbered = []
    for name in os.listdir(folder):
        if name.startswith("event_file_") and name.endswith(".json"):
            full = os.path.join(folder, name)
            numbered.append((os.stat(full).st_mtime_ns, int(name[11:-5]), full))
    with open(path, "wb") as out:
        for part in [os.path.join(folder, "constants.json")] + [f for *_, f in sorted(numbered)]:
            if os.path.exists(part):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
        closing = os.path.join(folder, "end_netlog.json")
        if os.path.exists(closing):
            out.seek(-2, os.SEEK_END)
            with open(closing, "rb") as f:
                shutil.copyfileobj(f, out)
    shutil.rmtree(folder, ignore_errors=True)
    return True


class FileSink:
    """Write chunks of event lines to a NetLog file from a thread of its own.

    Construct it off the event loop (it opens and truncates ``path`` and writes the constants);
    :meth:`submit` from anywhere; :meth:`close` off the event loop (it waits for the thread).
    """

    def __init__(
        self,
        path: str,
        constants_json: bytes,
        max_file_size: int | None,
        queue_limit: int | None = None,
    ) -> None:
        self.path = path
        self.max_file_size = max_file_size
        # file_net_log_observer.cc WriteQueue: at most 2 * max bytes wait; oldest go first.
        self.queue_limit = (
            queue_limit if queue_limit is not None or max_file_size is None else 2 * max_file_size
        )
        self.write_error: OSError | None = None
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._closing = False
        self._wrote_events = False
        self._final = open(path, "wb")  # noqa: SIM115 - base::File::FLAG_CREATE_ALWAYS, kept open
        if max_file_size is None:
            self._per_file = -1
            self._final.write(header(constants_json))
        else:
            self._per_file = max_file_size // NUM_EVENT_FILES
            self._folder = _inprogress(path)
            shutil.rmtree(self._folder, ignore_errors=True)
            os.makedirs(self._folder)
            with open(os.path.join(self._folder, "constants.json"), "wb") as f:
                f.write(header(constants_json))
            self._final.write(
                b"Logging is in progress; the events are in\n    "
                + os.fsencode(self._folder)
                + b"\nand are stitched into this file when logging stops. If logging was\n"
                b"interrupted, websession._netlog_sink.stitch(path) assembles this file.\n"
            )
            self._final.flush()
            self._file_number = 0
            self._file_size = 0
            self._current: BinaryIO | None = None
        self._thread = threading.Thread(target=self._run, name="websession-netlog", daemon=True)
        self._thread.start()

    def submit(self, chunk: bytes) -> None:
        """Queue one chunk of complete event lines for the writer thread; never blocks on I/O."""
        with self._cond:
            self._queue.append(chunk)
            self._queued += len(chunk)
            if self.queue_limit is not None:
                while self._queued > self.queue_limit and len(self._queue) > 1:
                    self._queued -= len(self._queue.popleft())
            self._cond.notify()

    def close(self, polled_json: bytes | None) -> None:
        """Write what is queued, close the events array, add the polled data and finish the file."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()
        try:
            if self.max_file_size is None:
                if self._wrote_events:
                    self._final.seek(-2, os.SEEK_END)
                self._final.write(tail(polled_json))
                self._final.truncate()
            else:
                self._close_event_file()
                with open(os.path.join(self._folder, "end_netlog.json"), "wb") as f:
                    f.write(tail(polled_json))
                self._stitch()
        finally:
            self._final.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                chunks = list(self._queue)
                self._queue.clear()
                self._queued = 0
                done = self._closing
            for chunk in chunks:
                try:
                    self._write(chunk)
                except OSError as error:  # Chrome ignores failed writes; remember the first.
                    self.write_error = self.write_error or error
            if done:
                with self._cond:
                    if not self._queue:
                        return

    def _write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._wrote_events = True
        if self.max_file_size is None:
            self._final.write(chunk)
            self._final.flush()
            return
        limit = self._per_file
        while chunk:
            if self._file_number == 0 or self._file_size >= limit:
                self._next_event_file()
            room = limit - self._file_size
            if len(chunk) < room:
                cut = len(chunk)
            else:
                # An event is written while the file is below the limit (a soft limit), so
                # this file takes every event that starts before `room`.
                cut = chunk.find(b"\n", max(room - 1, 0)) + 1 or len(chunk)
            assert self._current is not None
            self._current.write(chunk[:cut])
            self._file_size += cut
            chunk = chunk[cut:]

    def _next_event_file(self) -> None:
        self._close_event_file()
        self._file_number += 1
        index = (self._file_number - 1) % NUM_EVENT_FILES
        self._current = open(_event_file(self._folder, index), "wb")  # noqa: SIM115
        self._file_size = 0

    def _close_event_file(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def _stitch(self) -> None:
        out = self._final
        out.seek(0)
        out.truncate()
        with open(os.path.join(self._folder, "constants.json"), "rb") as f:
            shutil.copyfileobj(f, out)
        end = self._file_number + 1
        begin = 1 if self._file_number <= NUM_EVENT_FILES else end - NUM_EVENT_FILES
        for number in range(begin, end):
            with open(_event_file(self._folder, (number - 1) % NUM_EVENT_FILES), "rb") as f:
                shutil.copyfileobj(f, out)
        if self._wrote_events:
            out.seek(-2, os.SEEK_END)
        with open(os.path.join(self._folder, "end_netlog.json"), "rb") as f:
            shutil.copyfileobj(f, out)
        out.truncate()
        shutil.rmtree(self._folder, ignore_errors=True)
