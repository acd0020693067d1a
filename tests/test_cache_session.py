"""The cache through a Session: ``ses.fetch``, ``get_cache_size``, ``clear_cache``, ``cache=False``
and a persistent partition across a process restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from websession import session

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
async def origin(serve: Any) -> tuple[str, dict[str, int]]:
    hits: dict[str, int] = {}

    async def handle(request: web.Request) -> web.Response:
        hits[request.path] = hits.get(request.path, 0) + 1
        return web.Response(text=request.path * 10, headers={"Cache-Control": "max-age=600"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return await serve(app), hits


async def test_hit_size_and_clear(origin: tuple[str, dict[str, int]]) -> None:
    base, hits = origin
    ses = session.from_partition(f"cache-{uuid.uuid4()}")
    try:
        assert await ses.get_cache_size() == 0
        first = await ses.fetch(base + "/a")
        assert await first.text() == "/a" * 10 and not first.from_cache
        second = await ses.fetch(base + "/a")
        assert await second.text() == "/a" * 10 and second.from_cache and hits["/a"] == 1
        size = await ses.get_cache_size()
        assert size > 20
        await ses.clear_cache()
        assert await ses.get_cache_size() == 0
        third = await ses.fetch(base + "/a")
        await third.text()
        assert not third.from_cache and hits["/a"] == 2
        assert await ses.getCacheSize() == size
    finally:
        await ses.close()


async def test_cache_false_bypasses_the_cache(origin: tuple[str, dict[str, int]]) -> None:
    base, hits = origin
    ses = session.from_partition(f"nocache-{uuid.uuid4()}", cache=False)
    try:
        for _ in range(2):
            response = await ses.fetch(base + "/b")
            await response.text()
            assert not response.from_cache
        assert hits["/b"] == 2 and await ses.get_cache_size() == 0
    finally:
        await ses.close()


async def test_persistent_partition_survives_a_restart(
    origin: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    base, hits = origin
    child = textwrap.dedent(
        """
        import asyncio, sys
        import websession
        from websession import session

        websession.set_user_data_path(sys.argv[3])

        async def main():
            ses = session.from_path(sys.argv[1])
            response = await ses.fetch(sys.argv[2])
            await response.text()
            print(await ses.get_cache_size())
            await ses.close()

        asyncio.run(main())
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    profile = tmp_path / "profile"
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", child, str(profile), base + "/p", str(tmp_path / "user-data")],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    size = int(result.stdout.split()[-1])
    assert list((profile / "Cache").glob("*.entry"))
    ses = session.from_path(str(profile))
    try:
        assert await ses.get_cache_size() == size
        response = await ses.fetch(base + "/p", cache="only-if-cached")
        assert await response.text() == "/p" * 10 and response.from_cache and hits["/p"] == 1
    finally:
        await ses.close()
