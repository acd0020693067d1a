"""Download throughput: a 256 MiB file over loopback, websession vs aiohttp streaming to disk.

Run: ``python -m pytest benchmarks/test_downloads_benchmarks.py --benchmark-only``.
The server runs in its own process (aiohttp ``FileResponse``); each round downloads the whole
file. ``extra_info`` holds MiB/s and the peak RSS growth during the download (sampled from
``/proc/self/statm``); the target is >= 0.9x aiohttp's throughput with growth < 32 MiB.
``test_download_alternating`` runs the two in turn in one process and reports their paired ratio
(``ratio_vs_aiohttp``), which other work on the machine does not skew.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from websession import session

SIZE = 256 * 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")

_SERVER = """
import sys
from aiohttp import web
path, port = sys.argv[1], int(sys.argv[2])
app = web.Application()
async def handler(request):
    return web.FileResponse(path)
app.router.add_get("/big.bin", handler)
web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
"""


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("big")
    path = folder / "big.bin"
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(SIZE >> 20):
            chunk = block[i % 7:] + block[:i % 7]
            f.write(chunk)
            digest.update(chunk)
    yield path, digest.hexdigest()
    # Removed, not left to pytest's retention: gigabytes of dirty pages written back later would
    # slow whatever runs next on the machine.
    path.unlink()


@pytest.fixture(scope="module")
def server(big_file: tuple[Path, str]) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(big_file[0]), str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/big.bin"
    proc.kill()
    proc.wait()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class _Peak:
    """Sample the resident set size while a download runs."""

    def __init__(self) -> None:
        self.start = _rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> _Peak:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


async def _websession_download(url: str, folder: Path) -> Path:
    ses: Any = session.from_partition(f"bench-{uuid.uuid4().hex}")
    ses.set_download_path(folder)
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_will_download(event: Any, item: Any, web_contents: Any) -> None:
        item.on("done", lambda e, state: done.set_result((item, state)))

    ses.on("will-download", on_will_download)
    ses.download_url(url)
    item, state = await done
    await ses.close()
    assert state == "completed"
    return Path(item.get_save_path())


async def _aiohttp_download(url: str, folder: Path) -> Path:
    target = folder / "big.bin"
    # The usual way to stream a body to disk with aiohttp: blocking writes on the loop.
    async with aiohttp.ClientSession(auto_decompress=False) as client, client.get(url) as response:
        response.raise_for_status()
        with open(target, "wb") as f:  # noqa: ASYNC230
            async for chunk in response.content.iter_chunked(1 << 16):
                f.write(chunk)
    return target


def _once(fn: Callable[[str, Path], Any], url: str, tmp_path: Path, paths: list[Path], growths: list[int]) -> float:
    """Download once into a fresh folder; keep only the newest file; return the seconds taken."""
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    with _Peak() as peak:
        started = time.perf_counter()
        path = asyncio.run(fn(url, folder))
        elapsed = time.perf_counter() - started
    growths.append(peak.growth)
    paths.append(path)
    if len(paths) > 1:
        paths.pop(0).unlink()
    return elapsed


def _check(path: Path, digest: str, *others: Path) -> None:
    """Compare the file's SHA-256 with the server's, then remove it and ``others``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    for p in (path, *others):
        p.unlink()
    assert h.hexdigest() == digest


def _run(benchmark: Any, fn: Callable[[str, Path], Any], url: str, tmp_path: Path, digest: str) -> None:
    growths: list[int] = []
    paths: list[Path] = []
    benchmark.pedantic(lambda: _once(fn, url, tmp_path, paths, growths), rounds=5, iterations=1, warmup_rounds=1)
    _check(paths[-1], digest)
    median = benchmark.stats.stats.median
    benchmark.extra_info["MiB_per_s"] = round(SIZE / (1 << 20) / median, 1)
    benchmark.extra_info["peak_rss_growth_MiB"] = round(max(growths) / (1 << 20), 1)


def test_download_websession(benchmark: Any, server: str, big_file: tuple[Path, str], tmp_path: Path) -> None:
    benchmark.group = "download 256 MiB over loopback"
    _run(benchmark, _websession_download, server, tmp_path, big_file[1])
    assert benchmark.extra_info["peak_rss_growth_MiB"] < 32


def test_download_aiohttp(benchmark: Any, server: str, big_file: tuple[Path, str], tmp_path: Path) -> None:
    benchmark.group = "download 256 MiB over loopback"
    _run(benchmark, _aiohttp_download, server, tmp_path, big_file[1])


def test_download_alternating(benchmark: Any, server: str, big_file: tuple[Path, str], tmp_path: Path) -> None:
    """websession rounds (timed) with an aiohttp download before or after each, in turn.

    Both see the same machine load, so the paired ratio holds when other work shares the CPUs.
    ``extra_info["ratio_vs_aiohttp"]`` is the median over rounds of websession's throughput
    divided by the aiohttp download's next to it (target >= 0.9).
    """
    benchmark.group = "download 256 MiB over loopback, alternating with aiohttp"
    ws_times: list[float] = []
    aio_times: list[float] = []
    growths: list[int] = []
    paths: list[Path] = []
    aio_paths: list[Path] = []
    rounds = [0]

    def aiohttp_round() -> None:
        aio_times.append(_once(_aiohttp_download, server, tmp_path, aio_paths, []))

    def setup() -> None:
        rounds[0] += 1
        if rounds[0] % 2:
            aiohttp_round()

    def teardown() -> None:
        if not rounds[0] % 2:
            aiohttp_round()

    def websession_round() -> None:
        ws_times.append(_once(_websession_download, server, tmp_path, paths, growths))

    benchmark.pedantic(websession_round, setup=setup, teardown=teardown, rounds=8, iterations=1, warmup_rounds=1)
    _check(paths[-1], big_file[1], *aio_paths)
    ws, aio = ws_times[1:], aio_times[1:]  # without the warm-up round
    ratios = sorted(a / w for a, w in zip(aio, ws))
    middle = len(ratios) // 2
    median_ratio = ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2
    benchmark.extra_info["MiB_per_s"] = round(SIZE / (1 << 20) / benchmark.stats.stats.median, 1)
    benchmark.extra_info["aiohttp_MiB_per_s"] = round(SIZE / (1 << 20) / sorted(aio)[len(aio) // 2], 1)
    benchmark.extra_info["ratio_vs_aiohttp"] = round(median_ratio, 3)
    benchmark.extra_info["websession_s"] = [round(t, 3) for t in ws]
    benchmark.extra_info["aiohttp_s"] = [round(t, 3) for t in aio]
    benchmark.extra_info["peak_rss_growth_MiB"] = round(max(growths) / (1 << 20), 1)
    assert benchmark.extra_info["peak_rss_growth_MiB"] < 32
