"""The disk store under real processes: persistence across a restart, and SIGKILL during writes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest

from websession._cache_store import DiskBackend
from websession._http import RequestState
from websession._http_cache import HttpCache

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"

# The child serves itself over loopback and writes entries through HttpCache until it is told
# to stop or killed: every body carries its own SHA-256 in the X-Check header.
CHILD = textwrap.dedent(
    """
    import asyncio, hashlib, itertools, os, sys
    import aiohttp
    from aiohttp import web
    from multidict import CIMultiDict
    from websession._http import RequestState
    from websession._http_cache import HttpCache
    from test_cache_http import make_forward

    async def main(folder, rounds, port):
        async def handle(request):
            n = int(request.match_info["n"])
            body = (request.match_info["n"] + ":" + os.urandom(4).hex()).encode() * (n * 997 % 9000)
            return web.Response(body=body, headers={
                "Cache-Control": "max-age=3600", "X-Check": hashlib.sha256(body).hexdigest()})
        app = web.Application()
        app.router.add_get("/e/{n}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        base = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
        cache = HttpCache(folder)
        async with aiohttp.ClientSession(auto_decompress=False) as client:
            forward = make_forward(client)
            for i in itertools.count():
                if rounds and i >= rounds:
                    break
                state = RequestState(i, None, "GET", base + "/e/%d" % (i % 40))
                state.cache_mode = "reload"
                response = await cache.fetch(state, forward)
                await response.bytes()
                if i == 5:
                    print("writing", flush=True)
        await cache.close()
        await runner.cleanup()
        print("done", flush=True)

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(folder: Path, rounds: int, port: int = 0) -> subprocess.Popen[str]:
    """Start a writer; children given the same ``port`` write the same 40 keys."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(SRC), str(TESTS), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), str(rounds), str(port)],
        stdout=subprocess.PIPE, text=True, env=env,
    )


async def verify(folder: Path) -> int:
    """Open the cache, read every entry, check each body against its checksum; return the count."""
    cache = HttpCache(folder)
    entries = await DiskBackend(folder / "Cache").load()
    assert await cache.size() == sum(meta.charge for meta, _ in entries)
    checked = 0
    for meta, _ in entries:
        state = RequestState(0, None, "GET", meta.key)
        state.cache_mode = "only-if-cached"

        async def offline(state: RequestState) -> None:
            raise AssertionError("only-if-cached never reaches the network")

        response = await cache.fetch(state, offline)  # type: ignore[arg-type]
        body = await response.bytes()
        assert response.from_cache
        assert hashlib.sha256(body).hexdigest() == response.headers["X-Check"], meta.key
        checked += 1
    await cache.close()
    return checked


async def test_persists_across_a_process_restart(tmp_path: Path) -> None:
    child = spawn(tmp_path, 60)
    out, _ = await asyncio.to_thread(child.communicate, timeout=60)
    assert child.returncode == 0 and "done" in out
    assert await verify(tmp_path) == 40
    index = (tmp_path / "Cache" / "index.json").read_bytes()
    assert index.startswith(b"WSCACHEINDEX1 ")
    assert len(json.loads(index.partition(b"\n")[2])) == 40


@pytest.mark.slow
async def test_sigkill_during_writes_leaves_only_whole_entries(tmp_path: Path) -> None:
    rng = random.Random(4)
    port = free_port()
    for _ in range(8):
        child = spawn(tmp_path, 0, port)
        assert child.stdout is not None
        line = await asyncio.to_thread(child.stdout.readline)
        assert line.strip() == "writing"
        await asyncio.sleep(rng.uniform(0.0, 0.6))
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait)
        assert child.returncode == -signal.SIGKILL
        assert await verify(tmp_path) <= 40  # the same keys, replaced again and again
    # A lost index is rebuilt from the entry files alone.
    (tmp_path / "Cache" / "index.json").unlink(missing_ok=True)
    assert await verify(tmp_path) > 0
    assert not list((tmp_path / "Cache").glob("*.tmp"))


async def test_torn_entry_files_are_dropped(tmp_path: Path) -> None:
    child = spawn(tmp_path, 10)
    await asyncio.to_thread(child.communicate, timeout=60)
    cache_dir = tmp_path / "Cache"
    entries = sorted(cache_dir.glob("*.entry"))
    victim = entries[0]
    victim.write_bytes(victim.read_bytes()[:-7])  # a torn write (as a crash without rename would)
    (cache_dir / "index.json").unlink()
    (cache_dir / "deadbeef.tmp").write_bytes(b"half")
    assert await verify(tmp_path) == len(entries) - 1
    assert not victim.exists() and not (cache_dir / "deadbeef.tmp").exists()


async def test_unreadable_folder_reports_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "profile"
    blocker.write_text("a file where the folder should be")
    cache = HttpCache(blocker)
    state = RequestState(0, None, "GET", "http://127.0.0.1:9/x")
    with pytest.raises(OSError):
        async with aiohttp.ClientSession() as client:
            from test_cache_http import make_forward

            await cache.fetch(state, make_forward(client))
